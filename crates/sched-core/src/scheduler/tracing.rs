//! The kernel's side of the event log (`crate::trace`): naming the actor of a hold, draining
//! what it noted. Only with the feature `trace`.

use super::Scheduler;
use crate::trace::TraceEvent;
use crate::CpuId;

impl<T, S: crate::StoreKind> Scheduler<T, S> {
    /// Starts a hold of the scheduler lock for an event trace: wake-ups and boosts noted
    /// until the next call are caused by the thread running on `cpu` or, with `in_irq`, by an
    /// interrupt handler. Call right after taking the lock.
    #[inline]
    pub fn trace_begin(&mut self, cpu: CpuId, in_irq: bool) {
        let actor = if in_irq {
            None
        } else {
            self.current
                .get(cpu)
                .copied()
                .flatten()
                .filter(|&id| !self.entry(id).is_idle())
        };
        self.trace.begin(actor);
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
