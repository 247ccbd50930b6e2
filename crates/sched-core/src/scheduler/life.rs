//! Birth, death and burial of threads, and changes of rank in between.
//!
//! Everything that may allocate happens at creation, so that the paths taken
//! from interrupts never do. At the other end a thread's data may only be
//! dropped once no CPU runs on its stack, which is why an exiting detached
//! thread hands its data back to the kernel instead of dropping it here, and
//! why a joined thread lingers as a zombie until its joiner reaps it.

use super::Scheduler;
use crate::thread::{State, Thread};
use crate::trace::WakeCause;
use crate::{
    CpuId, ExitOutcome, ExitStatus, JoinPoll, Next, Priority, SchedError, ThreadId, MAX_CPUS,
};

impl<T, S: crate::StoreKind> Scheduler<T, S> {
    /// Registers the idle thread of `cpu`. It runs only when nothing is ready,
    /// is never queued, and may not sleep, block, exit or be joined.
    ///
    /// # Panics
    /// If `cpu` is out of range or already has an idle thread.
    pub fn add_idle(&mut self, cpu: CpuId, data: T) -> ThreadId {
        assert!(cpu < MAX_CPUS, "cpu {cpu} out of range");
        assert!(
            self.idle[cpu].is_none(),
            "cpu {cpu} already has an idle thread"
        );
        let id = self.insert(Thread::new(data, 0, Some(cpu)));
        self.idle[cpu] = Some(id);
        self.idle_count += 1;
        id
    }

    /// Creates a thread, Ready at the back of its priority level. Follow with
    /// [`preempt_check`](Self::preempt_check) so a higher priority runs at once.
    pub fn spawn(&mut self, priority: Priority, data: T) -> ThreadId {
        let id = self.insert(Thread::new(data, priority, None));
        self.make_ready(id);
        self.trace.wake(id, Some(WakeCause::Spawned));
        id
    }

    /// Stores a new entry and grows the timer storage to match, so nothing
    /// later has to allocate for this thread.
    pub(super) fn insert(&mut self, thread: Thread<T>) -> ThreadId {
        let id = self.threads.insert(thread);
        self.timers.reserve_slots(self.threads.slot_count());
        id
    }

    /// The current thread of `cpu` ends with `status`. Every mutex it owns is
    /// marked poisoned and handed to its best waiter (or left free). A thread
    /// waiting to join it becomes ready. If it was detached its slot is freed at once and
    /// its data returned in [`ExitOutcome::dead`]; otherwise it stays a zombie
    /// until reaped. `next` is always a switch.
    ///
    /// # Panics
    /// If `cpu`'s current thread is its idle thread.
    pub fn exit_current(&mut self, cpu: CpuId, status: ExitStatus) -> ExitOutcome<T> {
        let cur = self.running_real(cpu, "exit");
        while let Some(m) = self.first_owned(cur) {
            self.release_mutex(m, true);
        }
        self.refresh_priority(cur);
        self.forget_affinity(cur);
        let t = self.entry_mut(cur);
        t.state = State::Zombie(status);
        t.wait.park_token = false;
        let (joiner, detached) = (t.joiner, t.detached);
        if let Some(j) = joiner {
            if self
                .threads
                .get(j)
                .is_some_and(|w| w.state == State::Joining(cur))
            {
                self.make_ready(j);
                self.trace.wake(j, None);
            }
        }
        let dead = if detached {
            self.threads.remove(cur).and_then(|t| t.data)
        } else {
            None
        };
        let next = self.switch_from(cpu, cur);
        ExitOutcome { next, dead }
    }

    /// The current thread of `cpu` has failed but cannot exit yet (threads it owns still
    /// borrow its stack): as at its exit, every mutex it owns is marked poisoned and handed to
    /// its best waiter (or left free), and from now on it counts as ended for lock ownership
    /// ([`may_hold_locks`](Self::may_hold_locks)), so a lock word still naming it names a dead
    /// holder. It must not lock anything again. Follow the returned decision.
    ///
    /// # Panics
    /// If `cpu`'s current thread is its idle thread.
    pub fn abandon_mutexes(&mut self, cpu: CpuId) -> Next {
        let cur = self.running_real(cpu, "abandon mutexes");
        while let Some(m) = self.first_owned(cur) {
            self.release_mutex(m, true);
        }
        self.refresh_priority(cur);
        self.entry_mut(cur).abandoned = true;
        self.preempt_check(cpu)
    }

    /// The current thread of `cpu` waits for `target` to exit.
    ///
    /// If `target` is already a zombie the answer is [`JoinPoll::Exited`] and
    /// the caller should [`reap`](Self::reap) it. Otherwise the caller becomes
    /// `Joining(target)` and must switch as told; when it is woken it calls
    /// `join` again.
    ///
    /// # Errors
    /// [`SchedError::JoinSelf`], [`SchedError::NoSuchThread`] for a stale id,
    /// [`SchedError::IdleThread`] if either side is an idle thread,
    /// [`SchedError::Detached`] for a detached target and
    /// [`SchedError::AlreadyJoined`] if another live thread joined it first,
    /// [`SchedError::Deadlock`] if `target` is itself waiting, directly or
    /// through a chain of joins, for the caller.
    pub fn join(&mut self, cpu: CpuId, target: ThreadId) -> Result<JoinPoll, SchedError> {
        let cur = self.running(cpu);
        if target == cur {
            return Err(SchedError::JoinSelf);
        }
        let t = self.threads.get(target).ok_or(SchedError::NoSuchThread)?;
        if t.is_idle() || self.entry(cur).is_idle() {
            return Err(SchedError::IdleThread);
        }
        if t.detached {
            return Err(SchedError::Detached);
        }
        if let Some(j) = t.joiner {
            if j != cur && self.threads.get(j).is_some() {
                return Err(SchedError::AlreadyJoined);
            }
        }
        let state = t.state;
        if let State::Zombie(status) = state {
            self.entry_mut(target).joiner = Some(cur);
            return Ok(JoinPoll::Exited(status));
        }
        if self.join_chain_reaches(target, cur) {
            return Err(SchedError::Deadlock);
        }
        self.entry_mut(target).joiner = Some(cur);
        self.entry_mut(cur).state = State::Joining(target);
        Ok(JoinPoll::Blocked(self.switch_from(cpu, cur)))
    }

    /// Whether following "is joining" from `from` leads to `to`. Every join is
    /// checked this way, so no cycle can exist and the walk ends; it is still
    /// bounded by the thread count in case of a bug.
    fn join_chain_reaches(&self, from: ThreadId, to: ThreadId) -> bool {
        let mut at = from;
        for _ in 0..=self.threads.live() {
            match self.threads.get(at).map(|t| t.state) {
                Some(State::Joining(next)) if next == to => return true,
                Some(State::Joining(next)) => at = next,
                _ => return false,
            }
        }
        unreachable!("join chain longer than the thread table")
    }

    /// Frees an exited thread: returns its data and exit status. Its id (and
    /// every copy of it) is stale from now on. `None` unless `id` is a zombie.
    pub fn reap(&mut self, id: ThreadId) -> Option<(T, ExitStatus)> {
        let State::Zombie(status) = self.threads.get(id)?.state else {
            return None;
        };
        self.threads
            .remove(id)
            .and_then(|t| t.data.map(|d| (d, status)))
    }

    /// Nobody will join `id` (its handle was dropped). A zombie is reaped at
    /// once and its data returned; a live thread is marked so that its slot is
    /// freed the moment it exits. Stale ids and idle threads are ignored.
    ///
    /// A thread already waiting in `join` for `id` is still woken when `id`
    /// exits, and then finds the id stale.
    pub fn detach(&mut self, id: ThreadId) -> Option<T> {
        let t = self.threads.get_mut(id)?;
        if t.is_idle() {
            return None;
        }
        if matches!(t.state, State::Zombie(_)) {
            return self.threads.remove(id).and_then(|t| t.data);
        }
        t.detached = true;
        None
    }

    /// Gives `id` a new base priority. Its effective priority becomes the
    /// higher of that and what the waiters of its mutexes lend it, so a boost
    /// survives a lowered base. If the effective priority changes, a ready
    /// thread moves to the back of its new level, a waiting one is re-sorted
    /// in its wait list, and a mutex owner it waits for is re-evaluated down
    /// the chain. Follow with [`preempt_check`](Self::preempt_check) on the CPUs
    /// concerned: it also switches away from a running thread that was lowered
    /// below a ready one.
    ///
    /// # Errors
    /// [`SchedError::NoSuchThread`] for a stale id, [`SchedError::IdleThread`]
    /// for an idle thread.
    pub fn set_priority(&mut self, id: ThreadId, prio: Priority) -> Result<(), SchedError> {
        let t = self.threads.get_mut(id).ok_or(SchedError::NoSuchThread)?;
        if t.is_idle() {
            return Err(SchedError::IdleThread);
        }
        t.base_priority = prio;
        self.trace.explicit(Some(id));
        self.refresh_priority(id);
        self.trace.explicit(None);
        Ok(())
    }
}
