//! The model of event flags: waits, sets and the set-then-wait rendezvous (`event_sync`).
//!
//! The model walks its own waiters (priority, then arrival) against one value — the bits
//! right after the set — releases every one that value satisfies, each seeing it, and only
//! then clears the union of the released clear-on-exit masks (FreeRTOS's rule, see the
//! scheduler's `events` module). A sync judges its own "all of `wait_for`" against that
//! same value, before the clears. The no-lost-wake-up check in `checks` (no waiter
//! satisfied by the bits left) then holds after every step.

use crate::StoreKind;
use alloc::string::String;
use alloc::vec::Vec;

use super::model::Handle;
use super::Interp;
use crate::{EventId, EventMode, EventPoll, SchedError, ThreadId, WaitResult};

/// What a set's walk does: the value every released waiter sees, who is released (best
/// first), and the bits cleared after the walk.
struct Walk {
    seen: u32,
    woken: Vec<ThreadId>,
    consumed: u32,
}

impl<S: StoreKind> Interp<S> {
    /// The scheduler's handle of model object `i`, an event-flags object.
    fn event_of(&self, i: usize) -> EventId {
        let Handle::Event(e) = self.objs[i].handle else {
            unreachable!("object {i} is not event flags")
        };
        e
    }

    pub(super) fn event_wait(
        &mut self,
        cpu: usize,
        i: usize,
        (mask, mode, clear): (u32, EventMode, bool),
        timeout: Option<u64>,
    ) -> Result<(), String> {
        let e = self.event_of(i);
        let cur = self.s.current(cpu);
        let deadline = self.deadline(timeout);
        let bits = self.objs[i].bits;
        let result = self.s.event_wait(cpu, e, mask, mode, clear, deadline);
        if !self.objs[i].alive {
            ensure_eq!(result, Err(SchedError::NoSuchObject), "wait on stale flags");
        } else if mask == 0 {
            ensure_eq!(result, Err(SchedError::InvalidArgument), "empty mask");
        } else if mode.satisfied(mask, bits) {
            ensure_eq!(result, Ok(EventPoll::Satisfied(bits)), "satisfied at once");
            if clear {
                self.objs[i].bits &= !mask;
            }
        } else if self.s.is_idle(cur) {
            ensure_eq!(result, Err(SchedError::IdleThread), "idle waits for flags");
        } else {
            let Ok(EventPoll::Blocked(next)) = result else {
                return Err(alloc::format!("unsatisfied event wait: {result:?}"));
            };
            self.blocked(cpu, cur, next, Some(i), deadline, Some((mask, mode, clear)))?;
        }
        Ok(())
    }

    pub(super) fn event_set(&mut self, i: usize, bits: u32) -> Result<(), String> {
        let e = self.event_of(i);
        if !self.objs[i].alive {
            ensure_eq!(
                self.s.event_set(e, bits),
                Err(SchedError::NoSuchObject),
                "stale set"
            );
            return Ok(());
        }
        let walk = self.event_walk(i, bits)?;
        ensure_eq!(
            self.s.event_set(e, bits),
            Ok(walk.woken.len()),
            "event_set wake count"
        );
        self.finish_walk(i, walk);
        Ok(())
    }

    /// `event_sync` by the running thread of `cpu`: sets `set`, then waits for all of
    /// `wait_for`; through at once if the value right after the set holds them.
    pub(super) fn event_sync(
        &mut self,
        cpu: usize,
        i: usize,
        (set, wait_for): (u32, u32),
        timeout: Option<u64>,
    ) -> Result<(), String> {
        let e = self.event_of(i);
        let cur = self.s.current(cpu);
        let deadline = self.deadline(timeout);
        let before = self.objs[i].bits;
        let through = EventMode::All.satisfied(wait_for, before | set);
        let walk = self.event_walk(i, set)?;
        let result = self.s.event_sync(cpu, e, set, wait_for, deadline);
        if !self.objs[i].alive {
            ensure_eq!(result, Err(SchedError::NoSuchObject), "sync on stale flags");
            return Ok(());
        }
        if !through && self.s.is_idle(cur) {
            ensure_eq!(
                result,
                Err(SchedError::IdleThread),
                "idle syncs and must wait"
            );
            return Ok(());
        }
        let seen = walk.seen;
        self.finish_walk(i, walk);
        if through {
            ensure_eq!(
                result,
                Ok(EventPoll::Satisfied(seen)),
                "sync through at once"
            );
            self.objs[i].bits &= !wait_for;
            // The kernel lets a released thread that outranks the caller run.
            self.preempt(cpu)
        } else {
            let Ok(EventPoll::Blocked(next)) = result else {
                return Err(alloc::format!("sync that must wait: {result:?}"));
            };
            let req = (wait_for, EventMode::All, true);
            self.blocked(cpu, cur, next, Some(i), deadline, Some(req))
        }
    }

    /// The model's walk of a set of `bits` on live flags `i` (nothing changed yet).
    fn event_walk(&self, i: usize, bits: u32) -> Result<Walk, String> {
        let seen = self.objs[i].bits | bits;
        let mut woken = Vec::new();
        let mut consumed = 0;
        for t in self.model_waiters(i) {
            let Some((mask, mode, clear)) = self.waits[&t].event else {
                return Err(alloc::format!("event waiter {t:?} without a request"));
            };
            if mode.satisfied(mask, seen) {
                woken.push(t);
                if clear {
                    consumed |= mask;
                }
            }
        }
        Ok(Walk {
            seen,
            woken,
            consumed,
        })
    }

    /// Records what a walk did: the bits left, and each released waiter's result.
    fn finish_walk(&mut self, i: usize, walk: Walk) {
        self.objs[i].bits = walk.seen & !walk.consumed;
        for t in walk.woken {
            self.end_wait(t, WaitResult::Events(walk.seen));
        }
    }
}
