//! The kernel's side of the event log (`crate::trace`): naming the actor of a hold, draining
//! what it noted. Only with the feature `trace`.

use super::Scheduler;
use crate::trace::TraceEvent;
use crate::CpuId;

impl<T, S: crate::StoreKind> Scheduler<T, S> {
    /// Starts a hold of the scheduler lock for an event trace: wake-ups and boosts noted
    /// until the next call are caused by the thread running on `cpu` or, with `in_irq`, by an
    /// interrupt handler (or nobody: the idle thread). Call right after taking the lock.
    #[inline]
    pub fn trace_begin(&mut self, cpu: CpuId, in_irq: bool) {
        let actor = match (self.current.get(cpu), self.idle.get(cpu)) {
            (Some(&current), Some(&idle)) if !in_irq && current != idle => current,
            _ => None,
        };
        self.trace.begin(actor);
    }

    /// Whether anything was noted (or lost) since the last drain: one load, so that a hold
    /// with nothing to report costs the kernel no more.
    #[inline]
    pub fn trace_pending(&self) -> bool {
        self.trace.pending()
    }

    /// Hands the events noted since the last drain to `f`, oldest first.
    #[inline]
    pub fn trace_drain(&mut self, f: impl FnMut(TraceEvent)) {
        self.trace.drain(f);
    }

    /// Events not noted since the last call because a hold noted more than
    /// [`TRACE_CAPACITY`](crate::trace::TRACE_CAPACITY); resets the count.
    #[inline]
    pub fn trace_dropped(&mut self) -> u64 {
        self.trace.take_dropped()
    }
}
