//! Event flags: 32 bits that threads wait on in "all of" or "any of" mode.
//!
//! Setting flags wakes every waiter whose condition now holds, in priority
//! order, and a waiter that asked for clear-on-exit consumes its bits before
//! the next one is considered, so a lower waiter cannot also grab an event the
//! better one consumed. Bits only ever go down during that walk, so a waiter
//! passed over stays unsatisfied: after `event_set` no waiter's condition holds
//! (no lost wake-up). The walk follows the intrusive list and allocates
//! nothing, so setting flags is safe from interrupt context.

use super::Scheduler;
use crate::handles::ObjId;
use crate::object::{Kind, KindTag};
use crate::thread::{EventRequest, WaitOn};
use crate::wait_list::WaitList;
use crate::{CpuId, EventId, EventMode, EventPoll, SchedError, Ticks, WaitResult};

impl<T, S: crate::StoreKind> Scheduler<T, S> {
    /// The current thread of `cpu` waits until the flags of `e` satisfy
    /// `mask` in `mode`. If they already do, the answer is
    /// [`EventPoll::Satisfied`] with the flags seen. Otherwise it blocks
    /// until [`event_set`](Self::event_set) satisfies it
    /// ([`WaitResult::Events`]) or `deadline` passes. With `clear_on_exit` the
    /// bits of `mask` are cleared when the wait is satisfied.
    ///
    /// # Errors
    /// [`SchedError::NoSuchObject`], [`SchedError::InvalidArgument`] for an
    /// empty mask, [`SchedError::IdleThread`] for an idle caller that would
    /// have to wait.
    pub fn event_wait(
        &mut self,
        cpu: CpuId,
        e: EventId,
        mask: u32,
        mode: EventMode,
        clear_on_exit: bool,
        deadline: Option<Ticks>,
    ) -> Result<EventPoll, SchedError> {
        let cur = self.running(cpu);
        let bits = self.event_bits(e).ok_or(SchedError::NoSuchObject)?;
        if mask == 0 {
            return Err(SchedError::InvalidArgument);
        }
        if mode.satisfied(mask, bits) {
            if clear_on_exit {
                *self.bits_mut(e.0) &= !mask;
            }
            return Ok(EventPoll::Satisfied(bits));
        }
        if self.entry(cur).is_idle() {
            return Err(SchedError::IdleThread);
        }
        self.entry_mut(cur).wait.event = EventRequest {
            mask,
            mode,
            clear: clear_on_exit,
        };
        self.enqueue_waiter(e.0, cur);
        let next = self.block_waiting(cpu, cur, WaitOn::Object(e.0), deadline);
        Ok(EventPoll::Blocked(next))
    }

    /// Sets `bits` in `e` and wakes, best first, every waiter whose condition
    /// now holds; returns how many. Follow with
    /// [`preempt_check`](Self::preempt_check). Callable from interrupt
    /// context; never allocates.
    ///
    /// # Errors
    /// [`SchedError::NoSuchObject`] for a stale handle.
    pub fn event_set(&mut self, e: EventId, bits: u32) -> Result<usize, SchedError> {
        let obj = self.object(e.0, KindTag::Event)?;
        let mut cursor = obj.waiters.head();
        *self.bits_mut(e.0) |= bits;
        let mut woken = 0;
        while let Some(index) = cursor {
            cursor = WaitList::next_of(self.threads.slots(), index);
            let t = self.threads.at(index).expect("waiter vanished");
            let req = t.wait.event;
            let seen = *self.bits_mut(e.0);
            if !req.mode.satisfied(req.mask, seen) {
                continue;
            }
            if req.clear {
                *self.bits_mut(e.0) &= !req.mask;
            }
            let id = self.id_of_slot(index);
            self.end_wait(id, WaitResult::Events(seen));
            woken += 1;
        }
        Ok(woken)
    }

    /// Clears `bits` in `e`. Wakes nobody.
    ///
    /// # Errors
    /// [`SchedError::NoSuchObject`] for a stale handle.
    pub fn event_clear(&mut self, e: EventId, bits: u32) -> Result<(), SchedError> {
        self.object(e.0, KindTag::Event)?;
        *self.bits_mut(e.0) &= !bits;
        Ok(())
    }

    /// The flags of `e`; `None` for a stale handle.
    #[must_use]
    pub fn event_bits(&self, e: EventId) -> Option<u32> {
        match self.object(e.0, KindTag::Event).ok()?.kind {
            Kind::Event { bits } => Some(bits),
            _ => None,
        }
    }

    /// The flags of an event object already checked to exist.
    fn bits_mut(&mut self, e: ObjId) -> &mut u32 {
        match &mut self.objects.get_mut(e).expect("event vanished").kind {
            Kind::Event { bits } => bits,
            _ => unreachable!("kind checked"),
        }
    }
}
