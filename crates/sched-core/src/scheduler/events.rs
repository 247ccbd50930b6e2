//! Event flags: 32 bits that threads wait on in "all of" or "any of" mode, and the
//! set-then-wait rendezvous (`event_sync`, FreeRTOS's `xEventGroupSync`).
//!
//! **One set releases every waiter its bits satisfy** (FreeRTOS's `xEventGroupSetBits`): the
//! bits are set, every waiter whose condition the new value satisfies is released — in
//! priority order, each seeing that same value — and only after the walk is the union of the
//! masks of the released clear-on-exit waiters cleared. Why: clearing as each waiter is
//! released (the earlier rule) let the first clear-on-exit waiter consume bits that a second
//! one needed from the same set, so with several such waiters only one was released and a
//! rendezvous — every party waiting for all bits with clear — never completed. A waiter that
//! wants an event to itself uses a semaphore or a queue, not a flag.
//!
//! **No lost wake-up.** Before a set no waiter's condition holds (the invariant this keeps).
//! The walk judges every waiter against one value, the bits after setting, and releases each
//! it satisfies; the clears come afterwards and only lower bits. Both modes are monotone
//! (a waiter unsatisfied by a value is unsatisfied by any subset of it), so a waiter passed
//! over stays unsatisfied by the final bits: after `event_set` no waiter's condition holds.
//! `event_clear` only lowers bits, and a wait satisfied at once (which clears its mask at once
//! if it asked to) returns instead of queueing, so the invariant holds between all calls.
//!
//! **`event_sync`** does, in one call (one hold of the scheduler lock in the kernel), a set as
//! above and then a wait for *all* of `wait_for` with clear-on-exit, judged against the value
//! right after the set — before the released waiters' clears, as FreeRTOS does, so the last
//! party of a rendezvous is through at once although its set just released (and cleared for)
//! the others. If it must block, the bits left after the walk lack some of `wait_for` (they
//! are a subset of that value), so the invariant holds with the caller queued. A sync that
//! times out changes no bits: its own set bits stay set and it clears nothing (as FreeRTOS).
//!
//! Every walk follows the intrusive wait list once and allocates nothing, so setting flags is
//! bounded and safe from interrupt context.

use super::Scheduler;
use crate::handles::ObjId;
use crate::object::{Kind, KindTag};
use crate::thread::{EventRequest, WaitOn};
use crate::wait_list::WaitList;
use crate::{CpuId, EventId, EventMode, EventPoll, Next, SchedError, ThreadId, Ticks, WaitResult};

impl<T, S: crate::StoreKind> Scheduler<T, S> {
    /// The current thread of `cpu` waits until the flags of `e` satisfy
    /// `mask` in `mode`. If they already do, the answer is
    /// [`EventPoll::Satisfied`] with the flags seen (and with `clear_on_exit` the bits of
    /// `mask` are cleared at once). Otherwise it blocks until
    /// [`event_set`](Self::event_set) or [`event_sync`](Self::event_sync) satisfies it
    /// ([`WaitResult::Events`]) or `deadline` passes. With `clear_on_exit` the
    /// bits of `mask` are cleared when the wait is satisfied (after the set's walk, see the
    /// module docs).
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
        let req = EventRequest {
            mask,
            mode,
            clear: clear_on_exit,
        };
        Ok(EventPoll::Blocked(
            self.block_for_events(cpu, cur, e, req, deadline),
        ))
    }

    /// Sets `bits` in `e` and releases, best first, every waiter whose condition
    /// the new value satisfies, each seeing that value; then clears the bits the
    /// released clear-on-exit waiters asked for (see the module docs). Returns how many
    /// were released. Follow with [`preempt_check`](Self::preempt_check). Callable from
    /// interrupt context; never allocates.
    ///
    /// # Errors
    /// [`SchedError::NoSuchObject`] for a stale handle.
    pub fn event_set(&mut self, e: EventId, bits: u32) -> Result<usize, SchedError> {
        self.object(e.0, KindTag::Event)?;
        Ok(self.set_and_release(e.0, bits).1)
    }

    /// The current thread of `cpu` sets `set` in `e` (releasing waiters as
    /// [`event_set`](Self::event_set) does) and then waits for *all* of `wait_for` with
    /// clear-on-exit, as one step: FreeRTOS's `xEventGroupSync`, the rendezvous of several
    /// threads that each own a bit. If the bits right after setting (before the released
    /// waiters' clears) hold all of `wait_for` — always, for an empty `wait_for` — the
    /// bits of `wait_for` are cleared and the answer is [`EventPoll::Satisfied`] with that
    /// value. Otherwise the caller blocks until a set satisfies it
    /// ([`WaitResult::Events`], `wait_for` then cleared) or `deadline` passes
    /// ([`WaitResult::TimedOut`]; no bits change then: its own set bits stay set).
    ///
    /// # Errors
    /// [`SchedError::NoSuchObject`]; [`SchedError::IdleThread`] for an idle caller that
    /// would have to wait. Nothing is set on an error.
    pub fn event_sync(
        &mut self,
        cpu: CpuId,
        e: EventId,
        set: u32,
        wait_for: u32,
        deadline: Option<Ticks>,
    ) -> Result<EventPoll, SchedError> {
        let cur = self.running(cpu);
        let before = self.event_bits(e).ok_or(SchedError::NoSuchObject)?;
        let through = EventMode::All.satisfied(wait_for, before | set);
        if !through && self.entry(cur).is_idle() {
            return Err(SchedError::IdleThread);
        }
        let (seen, _) = self.set_and_release(e.0, set);
        if through {
            *self.bits_mut(e.0) &= !wait_for;
            return Ok(EventPoll::Satisfied(seen));
        }
        let req = EventRequest {
            mask: wait_for,
            mode: EventMode::All,
            clear: true,
        };
        Ok(EventPoll::Blocked(
            self.block_for_events(cpu, cur, e, req, deadline),
        ))
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

    /// The walk of a set on an event object checked to exist: sets `bits`, releases every
    /// waiter the new value satisfies, then clears the union of the released clear-on-exit
    /// masks. Returns the value the waiters saw and how many were released.
    fn set_and_release(&mut self, e: ObjId, bits: u32) -> (u32, usize) {
        let flags = self.bits_mut(e);
        *flags |= bits;
        let seen = *flags;
        let mut cursor = self.objects.get(e).expect("event vanished").waiters.head();
        let mut consumed = 0;
        let mut woken = 0;
        while let Some(index) = cursor {
            cursor = WaitList::next_of(self.threads.slots(), index);
            let req = self.threads.at(index).expect("waiter vanished").wait.event;
            if !req.mode.satisfied(req.mask, seen) {
                continue;
            }
            if req.clear {
                consumed |= req.mask;
            }
            let id = self.id_of_slot(index);
            self.end_wait(id, WaitResult::Events(seen));
            woken += 1;
        }
        *self.bits_mut(e) &= !consumed;
        (seen, woken)
    }

    /// Queues the current thread `cur` of `cpu` on `e` with request `req` and blocks it.
    fn block_for_events(
        &mut self,
        cpu: CpuId,
        cur: ThreadId,
        e: EventId,
        req: EventRequest,
        deadline: Option<Ticks>,
    ) -> Next {
        self.entry_mut(cur).wait.event = req;
        self.enqueue_waiter(e.0, cur);
        self.block_waiting(cpu, cur, WaitOn::Object(e.0), deadline)
    }

    /// The flags of an event object already checked to exist.
    fn bits_mut(&mut self, e: ObjId) -> &mut u32 {
        match &mut self.objects.get_mut(e).expect("event vanished").kind {
            Kind::Event { bits } => bits,
            _ => unreachable!("kind checked"),
        }
    }
}
