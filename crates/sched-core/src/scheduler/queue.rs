//! Plain wait queues: the building block for condition variables, futexes and
//! anything else whose condition lives in the kernel rather than here.
//!
//! The queue holds no state of its own, so the caller must check its condition
//! and call [`wait_on`](Scheduler::wait_on) under the same scheduler lock the
//! waker takes; that is what rules out a lost wake-up between "condition
//! false" and "asleep".

use super::Scheduler;
use crate::object::KindTag;
use crate::thread::WaitOn;
use crate::{CpuId, Next, QueueId, SchedError, ThreadId, Ticks, WaitResult};

impl<T, S: crate::StoreKind> Scheduler<T, S> {
    /// The current thread of `cpu` waits in `q` (best priority first, then
    /// arrival) until woken or until the first timer event at or after `deadline`.
    /// Always a switch. Afterwards [`take_wait_result`](Self::take_wait_result)
    /// reads [`WaitResult::Woken`] or [`WaitResult::TimedOut`].
    ///
    /// # Errors
    /// [`SchedError::NoSuchObject`] for a stale handle,
    /// [`SchedError::IdleThread`] if the caller is an idle thread.
    pub fn wait_on(
        &mut self,
        cpu: CpuId,
        q: QueueId,
        deadline: Option<Ticks>,
    ) -> Result<Next, SchedError> {
        let cur = self.running(cpu);
        self.object(q.0, KindTag::Queue)?;
        if self.entry(cur).is_idle() {
            return Err(SchedError::IdleThread);
        }
        self.enqueue_waiter(q.0, cur);
        Ok(self.block_waiting(cpu, cur, WaitOn::Object(q.0), deadline))
    }

    /// Wakes the best waiter of `q`, if any (it goes to the back of its ready
    /// level; follow with [`preempt_check`](Self::preempt_check)). Never
    /// allocates.
    ///
    /// # Errors
    /// [`SchedError::NoSuchObject`] for a stale handle.
    pub fn wake_one(&mut self, q: QueueId) -> Result<Option<ThreadId>, SchedError> {
        let obj = crate::object::object_of_kind(&mut self.objects, q.0, KindTag::Queue)?;
        let Some(top) = obj.waiters.head() else {
            return Ok(None);
        };
        // Unlinked here, with the object in hand (a queue boosts nobody).
        obj.waiters.remove(self.threads.slots_mut(), top);
        let id = self.id_of_slot(top);
        self.end_unlinked_wait(id, WaitResult::Woken);
        Ok(Some(id))
    }

    /// Wakes every waiter of `q`, best first, and says how many. Never
    /// allocates.
    ///
    /// # Errors
    /// [`SchedError::NoSuchObject`] for a stale handle.
    pub fn wake_all(&mut self, q: QueueId) -> Result<usize, SchedError> {
        let mut woken = 0;
        while self.wake_one(q)?.is_some() {
            woken += 1;
        }
        Ok(woken)
    }
}
