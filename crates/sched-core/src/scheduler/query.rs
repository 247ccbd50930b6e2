//! Read-only questions about threads and CPUs, plus access to the kernel data.
//!
//! Queries about a user-supplied id answer `None` for a stale one instead of
//! panicking, since a stale handle is an ordinary thing for user code to hold.

use super::Scheduler;
use crate::thread::State;
use crate::{CpuId, Priority, ThreadId, Ticks};

impl<T, S: crate::StoreKind> Scheduler<T, S> {
    /// The thread running on `cpu`.
    ///
    /// # Panics
    /// If `cpu` is out of range or has not been started.
    #[must_use]
    pub fn current(&self, cpu: CpuId) -> ThreadId {
        self.running(cpu)
    }

    /// The thread running on `cpu`, or `None` before [`start`](Self::start)
    /// (or for an out-of-range CPU).
    #[must_use]
    pub fn try_current(&self, cpu: CpuId) -> Option<ThreadId> {
        self.current.get(cpu).copied().flatten()
    }

    /// The idle thread registered for `cpu`, if any.
    #[must_use]
    pub fn idle_thread(&self, cpu: CpuId) -> Option<ThreadId> {
        self.idle.get(cpu).copied().flatten()
    }

    /// Where `id` is in its life; `None` if the id is stale.
    #[must_use]
    pub fn state(&self, id: ThreadId) -> Option<State> {
        self.threads.get(id).map(|t| t.state)
    }

    /// Whether `id` may hold locks: it exists, has not ended and has not
    /// [abandoned](Self::abandon_mutexes) them. A lock word naming a thread for which this is
    /// `false` names a dead holder.
    #[must_use]
    pub fn may_hold_locks(&self, id: ThreadId) -> bool {
        self.threads
            .get(id)
            .is_some_and(|t| !matches!(t.state, State::Zombie(_)) && !t.abandoned)
    }

    /// The effective priority `id` is scheduled at.
    #[must_use]
    pub fn priority(&self, id: ThreadId) -> Option<Priority> {
        self.threads.get(id).map(|t| t.priority)
    }

    /// The priority `id` was given, before any boost.
    #[must_use]
    pub fn base_priority(&self, id: ThreadId) -> Option<Priority> {
        self.threads.get(id).map(|t| t.base_priority)
    }

    /// The kernel data of `id`.
    #[must_use]
    pub fn data(&self, id: ThreadId) -> Option<&T> {
        self.threads.get(id).and_then(|t| t.data.as_ref())
    }

    /// The kernel data of a thread named by one of the scheduler's own decisions (a
    /// [`Next::Switch`](crate::Next::Switch) just returned): as [`data`](Self::data), without
    /// the generation check — a bounds check and a load, for the switch path. Debug builds
    /// still check; a stale id reads a vacant slot's `None` or another thread's data, never
    /// anything invalid.
    #[inline]
    #[must_use]
    pub fn switch_data(&self, id: ThreadId) -> Option<&T> {
        self.entry(id).data.as_ref()
    }

    /// Mutable [`switch_data`](Self::switch_data).
    #[inline]
    #[must_use]
    pub fn switch_data_mut(&mut self, id: ThreadId) -> Option<&mut T> {
        self.entry_mut(id).data.as_mut()
    }

    /// Mutable access to the kernel data of `id`.
    #[must_use]
    pub fn data_mut(&mut self, id: ThreadId) -> Option<&mut T> {
        self.threads.get_mut(id).and_then(|t| t.data.as_mut())
    }

    /// Whether `id` is some CPU's idle thread (`false` for a stale id).
    #[must_use]
    pub fn is_idle(&self, id: ThreadId) -> bool {
        self.threads.get(id).is_some_and(|t| t.is_idle())
    }

    /// Whether `id` has been detached (`false` for a stale id).
    #[must_use]
    pub fn is_detached(&self, id: ThreadId) -> bool {
        self.threads.get(id).is_some_and(|t| t.detached)
    }

    /// Threads that exist, zombies included, idle threads excluded.
    #[must_use]
    pub fn thread_count(&self) -> usize {
        self.threads.live() - self.idle_count
    }

    /// Every thread in the table — idle threads and zombies not yet reaped included — in slot
    /// order; [`live_entries`](Self::live_entries) of them. For statistics (`preempt::stats`),
    /// which walk the table under the kernel's lock without allocating.
    pub fn thread_ids(&self) -> impl Iterator<Item = ThreadId> + '_ {
        self.threads.iter().map(|(id, _)| id)
    }

    /// Occupied slots of the thread table, idle threads included: what a leak
    /// check should compare against the number of idle threads.
    #[must_use]
    pub fn live_entries(&self) -> usize {
        self.threads.live()
    }

    /// Whether a ready thread is due on `cpu` (see [`kicks`](Self::kicks)), with several CPUs
    /// (with one, a CPU's own decisions look at the queue anyway: always `false`). A CPU
    /// about to idle, or finishing a tick that kept its thread, runs
    /// [`preempt_check`](Self::preempt_check) then, so that a kick that merged with another
    /// interrupt is never lost.
    #[must_use]
    #[inline]
    pub fn must_check(&self, cpu: CpuId) -> bool {
        self.kicks() & (1 << cpu) != 0
    }

    /// Threads waiting in the ready queue (running and idle ones excluded), the hand-off
    /// thread included.
    #[must_use]
    pub fn ready_count(&self) -> usize {
        self.ready.len() + usize::from(self.handoff.is_some())
    }

    /// Threads with a pending deadline: sleepers plus waiters with a timeout.
    #[must_use]
    pub fn sleeping_count(&self) -> usize {
        self.timers.len()
    }

    /// The deadline `id` sleeps until, or gives up waiting at, if it has one.
    #[must_use]
    pub fn sleep_deadline(&self, id: ThreadId) -> Option<Ticks> {
        self.threads.get(id)?;
        self.timers.deadline_of(id.index())
    }

    /// The time of the latest decision ([`set_now`](Self::set_now), [`tick`](Self::tick)).
    #[must_use]
    pub fn now(&self) -> Ticks {
        self.now
    }
}
