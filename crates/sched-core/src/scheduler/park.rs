//! Park tokens: the cheapest "wait until told", one per thread.
//!
//! `unpark` may come before `park` (from another thread or an interrupt
//! handler); the token remembers it so the wake-up is not lost, and `park`
//! consumes it without blocking. Tokens do not count: several unparks before
//! one park are one token, which is what "something changed, look again"
//! loops want.

use super::Scheduler;
use crate::thread::{State, WaitOn};
use crate::{CpuId, Next, SchedError, ThreadId, Ticks, WaitResult};

impl<T, S: crate::StoreKind> Scheduler<T, S> {
    /// The current thread of `cpu` consumes its park token if it has one
    /// ([`Next::Keep`]); otherwise it blocks until
    /// [`unpark`](Self::unpark)ed ([`WaitResult::Woken`]) or until `deadline`
    /// passes ([`WaitResult::TimedOut`]).
    ///
    /// # Panics
    /// If `cpu`'s current thread is its idle thread.
    pub fn park(&mut self, cpu: CpuId, deadline: Option<Ticks>) -> Next {
        let cur = self.running_real(cpu, "park");
        let t = self.entry_mut(cur);
        if core::mem::take(&mut t.wait.park_token) {
            return Next::Keep;
        }
        self.block_waiting(cpu, cur, WaitOn::Park, deadline)
    }

    /// Wakes `id` if it is parked, otherwise gives it the token (a zombie
    /// ignores it). Follow with [`preempt_check`](Self::preempt_check).
    /// Callable from interrupt context; never allocates.
    ///
    /// # Errors
    /// [`SchedError::NoSuchThread`] for a stale id,
    /// [`SchedError::IdleThread`] for an idle thread.
    pub fn unpark(&mut self, id: ThreadId) -> Result<(), SchedError> {
        let t = self.threads.get_mut(id).ok_or(SchedError::NoSuchThread)?;
        if t.is_idle() {
            return Err(SchedError::IdleThread);
        }
        match (t.state, t.wait.on) {
            // On no object's wait list: nothing to unlink.
            (State::Blocked, WaitOn::Park) => self.end_unlinked_wait(id, WaitResult::Woken),
            (State::Zombie(_), _) => {}
            _ => t.wait.park_token = true,
        }
        Ok(())
    }

    /// Whether `id` holds an unconsumed park token (`false` for a stale id).
    #[must_use]
    pub fn has_park_token(&self, id: ThreadId) -> bool {
        self.threads.get(id).is_some_and(|t| t.wait.park_token)
    }
}
