//! The two halves every blocking primitive shares: starting a wait and ending
//! one.
//!
//! A wait can end in three ways: the primitive's own waker (wake, release,
//! unlock, set, unpark), a plain [`wake`](Scheduler::wake), or the deadline
//! firing in `tick`. All three go through [`Scheduler::end_wait`], so the
//! cleanup is the same whoever gets there first: the thread leaves its wait
//! list, its timer is cancelled, a mutex owner it was boosting gets its
//! priority recomputed, and the reason is recorded for
//! [`take_wait_result`](Scheduler::take_wait_result). That is what makes "the
//! waiter whose timeout fires leaves cleanly" hold for every kind at once.

use super::Scheduler;
use crate::handles::ObjId;
use crate::object::KindTag;
use crate::thread::{State, WaitOn};
use crate::trace::WakeCause;
use crate::{CpuId, Next, ThreadId, Ticks, WaitResult};

impl<T, S: crate::StoreKind> Scheduler<T, S> {
    /// Takes `cur` (running on `cpu`) off the CPU to wait on `on`, arming its
    /// timer if there is a deadline. The caller has already put it in the
    /// object's wait list. Always a switch.
    pub(super) fn block_waiting(
        &mut self,
        cpu: CpuId,
        cur: ThreadId,
        on: WaitOn,
        deadline: Option<Ticks>,
    ) -> Next {
        let t = self.entry_mut(cur);
        t.state = State::Blocked;
        t.wait.on = on;
        t.wait.result = WaitResult::Nothing;
        t.wait.timed = deadline.is_some();
        if let Some(deadline) = deadline {
            self.timers.insert(cur.index(), deadline);
            self.deadline_added(cpu, deadline);
        }
        self.switch_from(cpu, cur)
    }

    /// Puts `cur` in the wait list of object `o` (priority order).
    pub(super) fn enqueue_waiter(&mut self, o: ObjId, cur: ThreadId) {
        let obj = self
            .objects
            .get_mut(o)
            .expect("scheduler lost track of an object");
        obj.waiters.insert(self.threads.slots_mut(), cur.index());
    }

    /// Ends the wait of a `Blocked` or `Sleeping` thread: it leaves whatever it
    /// waits on, loses its timer, records `result` and becomes ready (back of
    /// its level). Follow with `preempt_check`.
    pub(super) fn end_wait(&mut self, id: ThreadId, result: WaitResult) {
        self.leave_wait(id);
        self.end_unlinked_wait(id, result);
    }

    /// [`end_wait`](Self::end_wait) for a thread its caller has already taken off the wait
    /// list of an object that is not a mutex (nothing to recompute): one lookup of the entry.
    pub(super) fn end_unlinked_wait(&mut self, id: ThreadId, result: WaitResult) {
        let t = self.entry_mut(id);
        // A timer that fired has left the heap already (`wake_due`); removing it again finds
        // nothing.
        let timed = core::mem::take(&mut t.wait.timed);
        t.wait.on = WaitOn::Nothing;
        t.wait.result = result;
        t.state = State::Ready;
        let level = t.priority;
        if timed {
            self.timers.remove(id.index());
        }
        self.note_ready();
        self.enqueue_at(id, level);
        let timeout = matches!(result, WaitResult::TimedOut);
        self.trace.wake(id, timeout.then_some(WakeCause::Timeout));
    }

    /// Unlinks `id` from the object it waits on, if any. A mutex owner loses
    /// the boost this waiter gave it.
    fn leave_wait(&mut self, id: ThreadId) {
        let on = core::mem::replace(&mut self.entry_mut(id).wait.on, WaitOn::Nothing);
        let WaitOn::Object(o) = on else {
            return;
        };
        let obj = self.objects.get_mut(o).expect("waiter's object vanished");
        obj.waiters.remove(self.threads.slots_mut(), id.index());
        if obj.tag() == KindTag::Mutex {
            if let Some(owner) = obj.mutex().owner {
                self.refresh_priority(owner);
            }
        }
    }

    /// A pending timer of `id` fired: a sleeper or a timed waiter wakes with
    /// [`WaitResult::TimedOut`].
    pub(super) fn expire(&mut self, id: ThreadId) {
        debug_assert!(matches!(
            self.entry(id).state,
            State::Sleeping | State::Blocked
        ));
        self.end_wait(id, WaitResult::TimedOut);
    }

    /// Why the last wait of `cpu`'s current thread ended; reading it resets it
    /// to [`WaitResult::Nothing`]. Call it when a blocked thread runs again.
    pub fn take_wait_result(&mut self, cpu: CpuId) -> WaitResult {
        let cur = self.running(cpu);
        core::mem::replace(&mut self.entry_mut(cur).wait.result, WaitResult::Nothing)
    }
}
