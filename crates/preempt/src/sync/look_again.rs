//! Looking again before blocking, on more than one core: the one rule the contended slow
//! paths share (`Mutex::lock`, a full `sync_channel` send, an empty receive). The other side
//! is probably running on another core and about to let go, publish or make room, while
//! blocking costs both sides the scheduler lock, an IPI and two switches. On one core nobody
//! else can run meanwhile, so nothing is retried. Bounded, so that priority inheritance and
//! the wait itself are delayed by about a microsecond at most.

use crate::kernel;

/// How many times a contended operation looks again before it blocks (about a microsecond on
/// a Cortex-A53).
pub(crate) const SPINS: u32 = 100;

/// Calls `attempt` up to [`SPINS`] times, with a spin-loop hint before each, while more than
/// one core runs threads; the first `Some` it returns, or `None` (at once on one core).
#[inline(always)]
pub(crate) fn look_again<R>(mut attempt: impl FnMut() -> Option<R>) -> Option<R> {
    if kernel::cpus_started() <= 1 {
        return None;
    }
    for _ in 0..SPINS {
        preempt_arch::cpu::spin_hint();
        if let Some(r) = attempt() {
            return Some(r);
        }
    }
    None
}
