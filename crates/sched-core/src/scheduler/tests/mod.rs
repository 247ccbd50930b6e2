//! Scheduler behaviour tests, one file per area of the policy.

mod lifecycle;
mod priority;
mod sleep;

use crate::{Next, Priority, Scheduler, ThreadId};

/// A scheduler with an idle thread on cpu 0 (data `0`), the given threads
/// spawned in order (data `1..`), and cpu 0 started.
pub(super) fn setup(
    slice: u32,
    prios: &[Priority],
) -> (Scheduler<u32>, ThreadId, std::vec::Vec<ThreadId>) {
    let mut s = Scheduler::new(slice);
    let idle = s.add_idle(0, 0);
    let ids = prios.iter().zip(1..).map(|(&p, d)| s.spawn(p, d)).collect();
    let _ = s.start(0);
    s.check_invariants().unwrap();
    (s, idle, ids)
}

/// The thread a decision switched to; panics on `Keep`.
pub(super) fn switched_to(next: Next) -> ThreadId {
    match next {
        Next::Switch { to, .. } => to,
        Next::Keep => panic!("expected a switch"),
    }
}
