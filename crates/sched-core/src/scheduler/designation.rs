//! Which CPUs a ready thread is due on: the *designation* of `smp`'s module docs, computed
//! from the state at each release of the scheduler lock. Kept apart from `smp` (the affinity
//! API, the kicks and the per-CPU choice) because it is the one computation the guarantee
//! rests on: the fast form used on every release, and the walk of every ready thread that
//! the audit compares it with.

use super::Scheduler;
use crate::{CpuId, Priority, MAX_CPUS};

impl<T, S: crate::StoreKind> Scheduler<T, S> {
    /// The CPUs a ready thread is due on (see `smp`'s module docs): the ready threads, best first,
    /// each assigned to the lowest-ranked started CPU of its affinity not assigned yet (ties:
    /// the lowest index); a CPU is designated when the thread assigned to it outranks its
    /// running thread.
    #[inline(never)]
    pub(super) fn designated(&self) -> u32 {
        // Nothing ready: nothing is due anywhere (the common case after a thread was taken).
        if self.handoff.is_none() && self.ready.highest().is_none() {
            return 0;
        }
        // Only the CPUs some ready thread may use can be assigned one (see `pinned`).
        self.designated_among(self.ready_cpus())
    }

    /// [`designated`](Self::designated) once something is ready, given `may`, the started
    /// CPUs some ready thread may use ([`ready_cpus`](Self::ready_cpus)).
    #[inline(always)]
    pub(super) fn designated_among(&self, may: u32) -> u32 {
        if may & may.wrapping_sub(1) == 0 {
            // One such CPU (every thread pinned to one core, the others idle): every ready
            // thread may run there, so the best is assigned to it, and nothing else is.
            let Some(top) = self.ready_top() else {
                return 0;
            };
            let cpu = may.trailing_zeros() as usize % MAX_CPUS;
            return if u16::from(top) + 1 > self.cpu_rank(cpu) {
                may
            } else {
                0
            };
        }
        let mut d = Designation {
            free: may,
            out: 0,
            rank: [UNKNOWN_RANK; MAX_CPUS],
        };
        if let Some(h) = self.handoff {
            d.assign(self, self.entry(h).affinity, self.handoff_level);
        }
        if d.free != 0 {
            let threads = &self.threads;
            let _ = self.ready.first_where(threads.slots(), |i| {
                let t = threads.slot(i).entry();
                d.assign(self, t.affinity, t.priority);
                d.free == 0
            });
        }
        d.out
    }

    /// The designation as `smp`'s module docs state it, by a walk of every ready thread: what
    /// [`designated`](Self::designated) must equal (the audit compares them).
    pub(super) fn designated_by_walk(&self) -> u32 {
        let mut d = Designation {
            free: self.started,
            out: 0,
            rank: [UNKNOWN_RANK; MAX_CPUS],
        };
        if let Some(h) = self.handoff {
            d.assign(self, self.entry(h).affinity, self.handoff_level);
        }
        let threads = &self.threads;
        let _ = self.ready.first_where(threads.slots(), |i| {
            let t = threads.slot(i).entry();
            d.assign(self, t.affinity, t.priority);
            false
        });
        d.out
    }

    /// The [rank](crate::thread::Thread::rank) of the thread `cpu` runs (0 before it started).
    #[inline]
    pub(super) fn cpu_rank(&self, cpu: CpuId) -> u16 {
        self.current[cpu].map_or(0, |id| self.entry(id).rank())
    }
}

/// A rank no thread has (ranks are at most 256): "not read yet".
const UNKNOWN_RANK: u16 = u16::MAX;

/// A designation in progress (see [`Scheduler::designated`]).
struct Designation {
    /// Started CPUs not yet assigned and still possibly outranked.
    free: u32,
    /// The CPUs designated so far.
    out: u32,
    /// Each CPU's rank, read when first needed: a thread pinned to one CPU needs none to
    /// pick its CPU and one to compare.
    rank: [u16; MAX_CPUS],
}

impl Designation {
    /// The rank of `cpu`'s running thread.
    #[inline(always)]
    fn rank_of<T, S: crate::StoreKind>(&mut self, s: &Scheduler<T, S>, cpu: CpuId) -> u16 {
        if self.rank[cpu] == UNKNOWN_RANK {
            self.rank[cpu] = s.cpu_rank(cpu);
        }
        self.rank[cpu]
    }

    /// Assigns the next ready thread, best first, of `affinity` at `level`: the free CPU of
    /// its affinity with the lowest rank (the lowest index among equals) is designated if the
    /// thread outranks it. If it does not, no thread after it (of its priority or lower)
    /// outranks any CPU of its affinity either: those leave the walk. (With every thread
    /// allowed everywhere, that is every free CPU, and the walk ends.)
    #[inline(always)]
    fn assign<T, S: crate::StoreKind>(
        &mut self,
        s: &Scheduler<T, S>,
        affinity: u32,
        level: Priority,
    ) {
        let cands = self.free & affinity;
        if cands == 0 {
            return;
        }
        let mut rest = cands;
        let mut cpu = rest.trailing_zeros() as usize % MAX_CPUS;
        rest &= rest - 1;
        let mut lowest = self.rank_of(s, cpu);
        while rest != 0 {
            let c = rest.trailing_zeros() as usize % MAX_CPUS;
            rest &= rest - 1;
            let r = self.rank_of(s, c);
            if r < lowest {
                cpu = c;
                lowest = r;
            }
        }
        if u16::from(level) + 1 > lowest {
            self.out |= 1 << cpu;
            self.free &= !(1 << cpu);
        } else {
            self.free &= !cands;
        }
    }
}
