//! Leaving the CPU to wait, and coming back.
//!
//! A sleeper is woken by time, a blocked thread by somebody else; either may
//! also be woken explicitly, in which case its timer must vanish with it or it
//! would fire later on a thread that is doing something else. Deadlines are only
//! checked by timer events ([`tick`](Scheduler::tick)), so a thread is never woken before
//! its deadline and never forgotten if the deadline has already passed when it goes to
//! sleep: the watcher's timer is programmed for it (see `slice`), and fires at once.
//!
//! A plain `wake` also ends a wait on a synchronization object: the thread
//! leaves the object's wait list (see `blocking`) and reads
//! [`WaitResult::Woken`](crate::WaitResult::Woken).

use super::Scheduler;
use crate::thread::{State, WaitOn};
use crate::{CpuId, Next, SchedError, ThreadId, Ticks, WaitResult};

impl<T, S: crate::StoreKind> Scheduler<T, S> {
    /// The current thread of `cpu` sleeps until the first timer event at or after
    /// `deadline`; another thread (or the idle one) runs. Always a switch. If the deadline
    /// is now the earliest, `cpu` watches the deadlines and [`retime`](Self::retime) asks
    /// for its timer.
    ///
    /// # Panics
    /// If `cpu`'s current thread is its idle thread.
    pub fn sleep_until(&mut self, cpu: CpuId, deadline: Ticks) -> Next {
        let cur = self.running_real(cpu, "sleep");
        let t = self.entry_mut(cur);
        t.state = State::Sleeping;
        t.wait.result = WaitResult::Nothing;
        t.wait.timed = true;
        self.timers.insert(cur.index(), deadline);
        self.deadline_added(cpu, deadline);
        self.switch_from(cpu, cur)
    }

    /// The earliest deadline any sleeper or timed waiter waits for (the watcher's
    /// [`alarm`](Self::alarm) includes it).
    #[must_use]
    pub fn next_deadline(&self) -> Option<Ticks> {
        self.timers.peek().map(|(deadline, _)| deadline)
    }

    /// The current thread of `cpu` blocks until somebody calls
    /// [`wake`](Self::wake) on it; another thread runs. Always a switch.
    ///
    /// # Panics
    /// If `cpu`'s current thread is its idle thread.
    pub fn block_current(&mut self, cpu: CpuId) -> Next {
        let cur = self.running_real(cpu, "block");
        self.block_waiting(cpu, cur, WaitOn::Nothing, None)
    }

    /// Makes a blocked or sleeping thread ready (back of its level), cancelling
    /// its timer. A thread waiting on an object (or parked) leaves it and reads
    /// [`WaitResult::Woken`]; a mutex owner it boosted is lowered again. Follow with [`preempt_check`](Self::preempt_check) so a woken
    /// thread of higher priority runs at once.
    ///
    /// # Errors
    /// [`SchedError::NoSuchThread`] for a stale id, [`SchedError::IdleThread`]
    /// for an idle thread, [`SchedError::NotBlocked`] for any other state
    /// (including a thread waiting in `join`, which only an exit may wake).
    pub fn wake(&mut self, id: ThreadId) -> Result<(), SchedError> {
        let t = self.threads.get(id).ok_or(SchedError::NoSuchThread)?;
        if t.is_idle() {
            return Err(SchedError::IdleThread);
        }
        match t.state {
            State::Blocked | State::Sleeping => {
                self.end_wait(id, WaitResult::Woken);
                Ok(())
            }
            _ => Err(SchedError::NotBlocked),
        }
    }
}
