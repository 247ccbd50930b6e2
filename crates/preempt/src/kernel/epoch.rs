//! The scheduler's epoch: how a tick knows, without the scheduler lock, that nothing changed
//! since it learnt how long its CPU would stay quiet (docs/design.md, "Quiet ticks"; modelled
//! with `loom` in `crates/lock-models/tests/epoch.rs`). On its own because it is one concept
//! shared by the lock's takers (`kernel`), the interrupt path (`irq`) and bring-up (`smp`).

use core::sync::atomic::{AtomicU64, Ordering};

/// Counts the times the scheduler lock was taken (each may have changed what the scheduler
/// would decide), except for the ticks' decisions that changed nothing but their own core's
/// slice (`irq::tick_decision`). A tick may skip the scheduler only while this is unchanged
/// since it learnt how long the CPU would stay quiet (see `irq::preempt_irq`).
static SCHED_EPOCH: AtomicU64 = AtomicU64::new(0);

/// Call right after taking the scheduler lock: a plain load and store, the lock orders it.
#[inline(always)]
pub(crate) fn sched_touched() {
    SCHED_EPOCH.store(SCHED_EPOCH.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
}

/// The current scheduler epoch (see [`SCHED_EPOCH`]).
#[inline(always)]
pub(crate) fn sched_epoch() -> u64 {
    SCHED_EPOCH.load(Ordering::Relaxed)
}
