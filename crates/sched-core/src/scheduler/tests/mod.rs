//! Scheduler behaviour tests, one file per area of the policy.

mod events;
mod inherit;
mod lifecycle;
mod mutex;
mod objects;
mod park;
mod priority;
mod queue;
mod semaphore;
mod sleep;
mod slice;
mod smp;
mod trace;

use crate::{Next, Priority, Scheduler, ThreadId};

/// A scheduler with an idle thread on cpu 0 (data `0`), the given threads
/// spawned in order (data `1..`), and cpu 0 started.
pub(super) fn setup(
    slice: crate::Ticks,
    prios: &[Priority],
) -> (Scheduler<u32>, ThreadId, std::vec::Vec<ThreadId>) {
    let mut s = Scheduler::new(slice);
    let idle = s.add_idle(0, 0);
    let ids = prios.iter().zip(1..).map(|(&p, d)| s.spawn(p, d)).collect();
    let _ = s.start(0);
    s.check_invariants().unwrap();
    (s, idle, ids)
}

/// A scheduler with round-robin slice `slice`, an idle thread on each of cpus `0..cpus`
/// (data `100 + cpu`) and those cpus started, nothing else: for tests that spawn threads
/// with an affinity, which needs a started cpu to name.
pub(super) fn started(slice: crate::Ticks, cpus: usize) -> Scheduler<u32> {
    let mut s = Scheduler::new(slice);
    for cpu in 0..cpus {
        let _ = s.add_idle(cpu, 100 + cpu as u32);
    }
    for cpu in 0..cpus {
        let _ = s.start(cpu);
    }
    s
}

/// The thread a decision switched to; panics on `Keep`.
pub(super) fn switched_to(next: Next) -> ThreadId {
    match next {
        Next::Switch { to, .. } => to,
        Next::Keep => panic!("expected a switch"),
    }
}

/// Spawns a thread of priority `prio` that preempts cpu 0 at once (it must
/// outrank whatever runs there), and returns it, now running.
pub(super) fn spawn_running(s: &mut Scheduler<u32>, prio: Priority) -> ThreadId {
    let id = s.spawn(prio, u32::from(prio));
    let _ = s.preempt_check(0);
    assert_eq!(s.current(0), id, "spawned thread did not get the cpu");
    id
}

/// Puts cpu 0's current thread to sleep far in the future, so it stays out of
/// the way (and keeps what it owns) until woken explicitly.
pub(super) fn park_far(s: &mut Scheduler<u32>) -> ThreadId {
    let id = s.current(0);
    let _ = s.sleep_until(0, 1_000_000);
    id
}

/// Wakes `id` and lets it take cpu 0 (it must outrank the current thread).
pub(super) fn resume(s: &mut Scheduler<u32>, id: ThreadId) {
    s.wake(id).unwrap();
    let _ = s.preempt_check(0);
    assert_eq!(s.current(0), id, "woken thread did not get the cpu");
}
