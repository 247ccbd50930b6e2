//! Several CPUs: affinity, where a thread that became ready must run, and which CPUs must
//! be told (kicks).
//!
//! # The guarantee
//!
//! After every operation, once every CPU named by [`take_kicks`](Scheduler::take_kicks) has
//! run [`preempt_check`](Scheduler::preempt_check) (and so on for the CPUs those checks name
//! in turn), there is no ready thread `T` and started CPU `c` with `c` in `T`'s affinity and
//! `T`'s priority above that of `c`'s running thread (an idle thread ranks below every
//! priority). That is global scheduling: the running threads are the best ready threads
//! allowed where they run. The interpreter (`interp`) checks it after every step.
//!
//! # How
//!
//! One global ready queue; each CPU takes the best thread *allowed on it* when it chooses.
//! Every path by which a thread enters the queue ([`place`](Scheduler::place)) picks the
//! CPU that must take it: among the started CPUs of its affinity that are not already
//! *pending* (kicked and not yet checked), the one running the lowest rank (an idle CPU
//! first, then the lowest index); if the thread outranks it, that CPU and no other is marked
//! pending (`check_due`) and kicked. A pending CPU will take the best thread allowed on it,
//! which is why it is not picked twice: a second thread goes to the next lowest CPU.
//! A CPU whose running thread is *lowered* is checked directly ([`check_cpu`]).
//!
//! A pending CPU may end up taking another thread than the one it was kicked for (a better
//! one arrived that may only run there, or another CPU took it first), so the one it was
//! kicked for may be left without a CPU. The check that consumes a pending bit therefore
//! ends by rechecking every other started, non-pending CPU against the best ready thread
//! allowed on it ([`recheck_others`]) and kicks those now outranked. Each consumed kick is
//! followed by such a recheck, so when the last kick has been handled, every CPU has been
//! compared with the queue after the last change: the guarantee holds.
//!
//! # Cost
//!
//! With one started CPU, placing is a few instructions and never rechecks. While no live
//! thread has a restricted affinity (`restricted == 0`), every CPU takes the head of the
//! queue as before. Otherwise the per-CPU choice walks the queue from the best level down,
//! skipping threads not allowed on the CPU: O(skipped threads + their levels), bounded by
//! the number of ready threads.
//!
//! [`check_cpu`]: Scheduler::check_cpu
//! [`recheck_others`]: Scheduler::recheck_others

use super::{Requeue, Scheduler};
use crate::thread::{State, Thread};
use crate::{CpuId, Next, Priority, SchedError, ThreadId, ALL_CPUS, MAX_CPUS};

impl<T, S: crate::StoreKind> Scheduler<T, S> {
    /// Creates a thread allowed on the CPUs of `affinity` (bit `n`: CPU `n`; bits of CPUs
    /// beyond [`MAX_CPUS`] are ignored), Ready at the back of its level. Follow with
    /// [`take_kicks`](Self::take_kicks) and [`preempt_check`](Self::preempt_check).
    ///
    /// # Errors
    /// [`SchedError::NoAllowedCpu`] if `affinity` names no started CPU (nothing is created).
    pub fn spawn_with_affinity(
        &mut self,
        priority: Priority,
        affinity: u32,
        data: T,
    ) -> Result<ThreadId, SchedError> {
        let affinity = affinity & ALL_CPUS;
        if affinity & self.started == 0 {
            return Err(SchedError::NoAllowedCpu);
        }
        let mut thread = Thread::new(data, priority, None);
        thread.affinity = affinity;
        let id = self.insert(thread);
        if affinity != ALL_CPUS {
            self.restricted += 1;
            self.update_simple();
        }
        self.make_ready(id);
        Ok(id)
    }

    /// Restricts the running thread of `cpu` to the CPUs of `mask` (bits beyond
    /// [`MAX_CPUS`] ignored). If `cpu` is still allowed it keeps running ([`Next::Keep`]);
    /// otherwise it goes back to the front of its level, a CPU it may use is kicked if it
    /// outranks what runs there, and `cpu` switches.
    ///
    /// # Errors
    /// [`SchedError::IdleThread`] for an idle thread, [`SchedError::NoAllowedCpu`] if `mask`
    /// names no started CPU (nothing changes).
    pub fn set_affinity(&mut self, cpu: CpuId, mask: u32) -> Result<Next, SchedError> {
        let cur = self.running(cpu);
        let mask = mask & ALL_CPUS;
        if self.entry(cur).is_idle() {
            return Err(SchedError::IdleThread);
        }
        if mask & self.started == 0 {
            return Err(SchedError::NoAllowedCpu);
        }
        let old = core::mem::replace(&mut self.entry_mut(cur).affinity, mask);
        if old != ALL_CPUS {
            self.restricted -= 1;
        }
        if mask != ALL_CPUS {
            self.restricted += 1;
        }
        self.update_simple();
        if mask & (1 << cpu) != 0 {
            return Ok(Next::Keep);
        }
        self.requeue_current(cpu, cur, Requeue::Head);
        Ok(self.switch_from(cpu, cur))
    }

    /// The CPUs `id` may run on; `None` for a stale id.
    #[must_use]
    pub fn affinity(&self, id: ThreadId) -> Option<u32> {
        self.threads.get(id).map(|t| t.affinity)
    }

    /// The CPUs [`start`](Self::start)ed so far (bit `n`: CPU `n`).
    #[must_use]
    pub fn started_cpus(&self) -> u32 {
        self.started
    }

    /// Returns and clears the CPUs that must run [`preempt_check`](Self::preempt_check)
    /// because a ready thread may now outrank their running one (bit `n`: CPU `n`). The
    /// caller interrupts each of them but itself and checks its own CPU directly.
    pub fn take_kicks(&mut self) -> u32 {
        core::mem::take(&mut self.kicks)
    }

    /// The CPUs [`take_kicks`](Self::take_kicks) would return, left in place.
    #[must_use]
    pub fn pending_kicks(&self) -> u32 {
        self.kicks
    }

    /// Recomputes `simple` after a CPU started or `restricted` changed. Leaving the one-CPU
    /// mode, where `check_due` was only "look when you next can", makes it exact: every
    /// started CPU is pending exactly if a ready thread allowed there outranks it.
    pub(super) fn update_simple(&mut self) {
        let simple = self.started & self.started.wrapping_sub(1) == 0 && self.restricted == 0;
        if self.simple && !simple {
            self.simple = false;
            self.check_due = 0;
            self.recheck(self.started);
        }
        self.simple = simple;
    }

    /// The [rank](Thread::rank) of the thread `cpu` runs (0 before it started).
    #[inline]
    fn cpu_rank(&self, cpu: CpuId) -> u16 {
        self.current[cpu].map_or(0, |id| self.entry(id).rank())
    }

    /// Marks `cpu` pending and kicks it.
    #[inline]
    fn kick(&mut self, cpu: CpuId) {
        let bit = 1 << cpu;
        self.check_due |= bit;
        self.kicks |= bit;
    }

    /// A thread of priority `level` allowed on `affinity` has just entered the ready queue:
    /// kick the started, non-pending CPU of `affinity` running the lowest rank, if the thread
    /// outranks it (see the module docs). With one CPU, only mark it pending, as a one-CPU
    /// scheduler does: its own check compares.
    #[inline]
    pub(super) fn place(&mut self, level: Priority, id: ThreadId) {
        if self.simple {
            self.check_due = u32::MAX;
            return;
        }
        let affinity = self.entry(id).affinity;
        self.place_smp(level, affinity);
    }

    /// [`place`](Self::place) for the thread `cpu` has just put back in the queue: `cpu`
    /// itself is about to run something at least as good, so only the other CPUs count, and
    /// with one CPU there is nothing to do.
    #[inline]
    pub(super) fn place_from(&mut self, cpu: CpuId, level: Priority, affinity: u32) {
        if !self.simple {
            self.place_smp(level, affinity & !(1 << cpu));
        }
    }

    #[inline(never)]
    fn place_smp(&mut self, level: Priority, affinity: u32) {
        let cands = affinity & self.started & !self.check_due;
        if cands == 0 {
            return;
        }
        let rank = u16::from(level) + 1;
        if cands & (cands - 1) == 0 {
            let cpu = cands.trailing_zeros() as usize % MAX_CPUS;
            if rank > self.cpu_rank(cpu) {
                self.kick(cpu);
            }
            return;
        }
        self.place_among(cands, rank);
    }

    /// Kicks the CPU of `cands` (not empty) running the lowest rank if `rank` outranks it.
    fn place_among(&mut self, cands: u32, rank: u16) {
        let mut rest = cands;
        let mut target = rest.trailing_zeros() as usize % MAX_CPUS;
        let mut low = self.cpu_rank(target);
        rest &= rest - 1;
        while rest != 0 {
            let c = rest.trailing_zeros() as usize % MAX_CPUS;
            rest &= rest - 1;
            if self.cpu_rank(c) < low {
                low = self.cpu_rank(c);
                target = c;
            }
        }
        if rank > low {
            self.kick(target);
        }
    }

    /// Kicks `cpu` if a ready thread allowed on it outranks its running thread (with one
    /// CPU: marks it pending, its check compares).
    pub(super) fn check_cpu(&mut self, cpu: CpuId) {
        if self.simple {
            self.check_due = u32::MAX;
        } else if self.outranked(cpu) {
            self.kick(cpu);
        }
    }

    /// Whether a ready thread allowed on `cpu` outranks `cpu`'s running thread.
    #[inline]
    pub(super) fn outranked(&self, cpu: CpuId) -> bool {
        self.top_for(cpu)
            .is_some_and(|top| u16::from(top) + 1 > self.cpu_rank(cpu))
    }

    /// [`chose_itself`](Self::chose_itself)'s rare half: `cpu` is no longer pending, and the
    /// other CPUs are rechecked as after its `preempt_check`.
    #[inline(never)]
    pub(super) fn consume_kick(&mut self, cpu: CpuId) {
        self.check_due &= !(1 << cpu);
        self.recheck_others(cpu);
    }

    /// After `cpu` consumed its pending bit: kicks every other started, non-pending CPU that
    /// a ready thread allowed there outranks (see the module docs).
    pub(super) fn recheck_others(&mut self, cpu: CpuId) {
        self.recheck(self.started & !self.check_due & !(1 << cpu));
    }

    /// Kicks each CPU of `cpus` that a ready thread allowed there outranks.
    fn recheck(&mut self, cpus: u32) {
        let mut rest = cpus;
        while rest != 0 {
            let c = rest.trailing_zeros() as usize % MAX_CPUS;
            rest &= rest - 1;
            if self.outranked(c) {
                self.kick(c);
            }
        }
    }

    /// The highest priority among ready threads allowed on `cpu`.
    #[inline]
    pub(super) fn top_for(&self, cpu: CpuId) -> Option<Priority> {
        if self.restricted == 0 {
            return self.ready_top();
        }
        self.allowed_top(cpu)
    }

    /// [`top_for`](Self::top_for) when some threads are restricted: the hand-off thread if
    /// allowed, else a walk of the queue.
    #[inline(never)]
    fn allowed_top(&self, cpu: CpuId) -> Option<Priority> {
        let bit = 1 << cpu;
        if let Some(h) = self.handoff {
            if self.entry(h).affinity & bit != 0 {
                return Some(self.handoff_level);
            }
        }
        let threads = &self.threads;
        self.ready
            .first_where(threads.slots(), |i| {
                threads.slot(i).entry().affinity & bit != 0
            })
            .map(|(_, level)| level)
    }

    /// Takes the best ready thread allowed on `cpu` off the queue (or names `cpu`'s idle
    /// thread): the dispatch when some threads are restricted.
    #[inline(never)]
    pub(super) fn take_allowed(&mut self, cpu: CpuId) -> ThreadId {
        self.flush_handoff();
        let bit = 1 << cpu;
        let threads = &self.threads;
        let found = self.ready.first_where(threads.slots(), |i| {
            threads.slot(i).entry().affinity & bit != 0
        });
        match found {
            Some((index, _)) => {
                self.ready.remove(self.threads.slots_mut(), index);
                self.id_of_slot(index)
            }
            None => self.idle[cpu]
                .unwrap_or_else(|| panic!("cpu {cpu} has nothing to run and no idle thread")),
        }
    }

    /// A thread that was restricted no longer counts (it exited).
    pub(super) fn forget_affinity(&mut self, id: ThreadId) {
        let t = self.entry_mut(id);
        if core::mem::replace(&mut t.affinity, ALL_CPUS) != ALL_CPUS {
            self.restricted -= 1;
            self.update_simple();
        }
    }

    /// Checks the SMP bookkeeping: started CPUs, ranks, the restricted count.
    pub(super) fn audit_smp(&self) -> Result<(), &'static str> {
        for cpu in 0..MAX_CPUS {
            let started = self.started & (1 << cpu) != 0;
            if started != self.current[cpu].is_some() {
                return Err("started mask disagrees with the cpus' current threads");
            }
        }
        let mut restricted = 0;
        for (_, t) in self.threads.iter() {
            if t.affinity & !ALL_CPUS != 0 || t.affinity == 0 {
                return Err("affinity names no cpu or a cpu beyond MAX_CPUS");
            }
            if !t.is_idle() && t.affinity != ALL_CPUS {
                if matches!(t.state, State::Zombie(_)) {
                    return Err("a zombie keeps a restricted affinity");
                }
                restricted += 1;
            }
            if let State::Running(cpu) = t.state {
                if t.affinity & (1 << cpu) == 0 {
                    return Err("thread runs on a cpu outside its affinity");
                }
            }
        }
        if restricted != self.restricted {
            return Err("restricted-thread count is off");
        }
        if self.simple != (self.started.count_ones() <= 1 && self.restricted == 0) {
            return Err("one-CPU mode flag is off");
        }
        Ok(())
    }
}
