//! Which CPUs the queued threads may use, kept as they are queued and unqueued.
//!
//! With restricted threads (an affinity other than every CPU), the per-CPU questions of
//! `smp` — which CPUs a ready thread is due on, which ready thread may run here, which CPU
//! has a peer — used to walk the ready queue. With every thread pinned to one core of four,
//! each release of the scheduler lock walked the whole queue to learn that the three other
//! cores get nothing: O(ready threads) per switch, quadratic for a round of yields.
//!
//! This keeps, per CPU, the number of *queued* restricted threads allowed there (a thread
//! allowed everywhere counts nowhere: there are then more queued threads than restricted
//! ones, and every CPU may take one). So "which CPUs may take a queued thread" is a length
//! comparison and a load, and a CPU for which nothing is queued leaves every walk at once.
//!
//! Only restricted threads are counted, and only in the queue proper (the hand-off slot is
//! looked at by the callers beside it): while no thread is restricted (`restricted == 0`,
//! the one-CPU paths) every count is 0 and the paths that know it skip the bookkeeping, so
//! the single-core switch pays nothing. The counts of a thread's CPUs change only while it
//! is queued, and its affinity cannot change then (only a running thread's can), so what a
//! push added the matching removal takes away. The audit recounts them from the queue.
//!
//! Rejected: a ready queue per CPU (or per affinity class). It makes the choice for a CPU
//! O(1) even when its one allowed thread sits behind a thousand others, but every queue move
//! then touches several queues and the global order across them must be merged at each
//! choice; the counts make the common shapes (threads pinned to a few cores, the rest idle)
//! O(cores) for four counters' upkeep.

use crate::{CpuId, ALL_CPUS, MAX_CPUS};

/// Per CPU, the queued restricted threads allowed there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Pinned {
    /// Queued restricted threads allowed on each CPU.
    count: [u32; MAX_CPUS],
    /// The CPUs whose count is not 0.
    mask: u32,
    /// Queued restricted threads.
    total: usize,
}

impl Pinned {
    /// Nothing queued.
    pub(super) const fn new() -> Self {
        Self {
            count: [0; MAX_CPUS],
            mask: 0,
            total: 0,
        }
    }

    /// A thread of `affinity` was queued.
    #[inline(always)]
    pub(super) fn add(&mut self, affinity: u32) {
        if affinity != ALL_CPUS {
            self.add_restricted(affinity);
        }
    }

    /// A thread of `affinity` left the queue.
    #[inline(always)]
    pub(super) fn remove(&mut self, affinity: u32) {
        if affinity != ALL_CPUS {
            self.remove_restricted(affinity);
        }
    }

    /// One thread of `from` left the queue and one of `to` joined it (a round-robin step).
    #[inline(always)]
    pub(super) fn swap(&mut self, from: u32, to: u32) {
        if from != to {
            self.remove(from);
            self.add(to);
        }
    }

    #[inline(never)]
    fn add_restricted(&mut self, affinity: u32) {
        self.total += 1;
        self.mask |= affinity;
        let mut rest = affinity;
        while rest != 0 {
            let cpu = rest.trailing_zeros() as usize % MAX_CPUS;
            rest &= rest - 1;
            self.count[cpu] += 1;
        }
    }

    #[inline(never)]
    fn remove_restricted(&mut self, affinity: u32) {
        self.total -= 1;
        let mut rest = affinity;
        while rest != 0 {
            let cpu = rest.trailing_zeros() as usize % MAX_CPUS;
            rest &= rest - 1;
            self.count[cpu] -= 1;
            if self.count[cpu] == 0 {
                self.mask &= !(1 << cpu);
            }
        }
    }

    /// The CPUs some queued thread may run on, `queued` being the queue's length: every CPU
    /// if a thread allowed everywhere is queued, else those some restricted one may use.
    #[inline(always)]
    pub(super) fn cpus(&self, queued: usize) -> u32 {
        if queued > self.total {
            ALL_CPUS
        } else {
            self.mask
        }
    }

    /// Whether some queued thread may run on `cpu` (see [`cpus`](Self::cpus)).
    #[inline(always)]
    pub(super) fn any_for(&self, cpu: CpuId, queued: usize) -> bool {
        self.cpus(queued) & (1 << cpu) != 0
    }

    /// The counts of the queued threads' affinities `affinities` (the audit's recount).
    pub(super) fn recount(affinities: impl Iterator<Item = u32>) -> Self {
        let mut p = Self::new();
        for a in affinities {
            p.add(a);
        }
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_follow_adds_and_removes() {
        let mut p = Pinned::new();
        p.add(ALL_CPUS);
        assert_eq!(
            p,
            Pinned::new(),
            "a thread allowed everywhere counts nowhere"
        );
        assert_eq!(p.cpus(1), ALL_CPUS);
        assert_eq!(p.cpus(0), 0);
        p.add(0b0001);
        p.add(0b0011);
        assert_eq!(p.cpus(2), 0b0011);
        assert_eq!(p.cpus(3), ALL_CPUS, "one unrestricted thread queued too");
        assert!(p.any_for(1, 2) && !p.any_for(2, 2));
        p.remove(0b0011);
        assert_eq!(p.cpus(1), 0b0001, "cpu 1's last thread left");
        p.swap(0b0001, 0b0100);
        assert_eq!(p.cpus(1), 0b0100);
        p.swap(0b0100, 0b0100);
        assert_eq!(p.cpus(1), 0b0100);
        p.remove(0b0100);
        assert_eq!(p, Pinned::new());
        assert_eq!(
            Pinned::recount([0b0001, ALL_CPUS, 0b0011].into_iter()).cpus(2),
            0b0011
        );
    }
}
