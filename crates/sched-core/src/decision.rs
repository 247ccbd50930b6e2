//! The answers the scheduler hands back, and the ways a request can fail.
//!
//! Decisions are values rather than side effects so that the host tests can see
//! exactly what the kernel would be told to do, and so that the compiler warns if
//! the kernel ignores one (a dropped [`Next::Switch`] is a thread that never runs).

use core::fmt;

use crate::{ExitStatus, ThreadId};

/// What the CPU must do after a scheduling decision.
#[must_use]
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub enum Next {
    /// Carry on with the current thread.
    Keep,
    /// Save `from`'s context and resume `to`. `from` and `to` always differ.
    Switch {
        /// The thread leaving the CPU (after an exit of a detached thread this
        /// id is already stale).
        from: ThreadId,
        /// The thread taking the CPU, now `Running` on it.
        to: ThreadId,
    },
}

impl Next {
    /// Whether a context switch is required.
    #[must_use]
    pub fn is_switch(self) -> bool {
        matches!(self, Self::Switch { .. })
    }
}

/// Result of [`join`](crate::Scheduler::join).
#[must_use]
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub enum JoinPoll {
    /// The target has exited with this status; the caller should reap it.
    Exited(ExitStatus),
    /// The caller now waits for the target; switch as told and call `join`
    /// again once woken.
    Blocked(Next),
}

/// Result of [`exit_current`](crate::Scheduler::exit_current).
#[must_use]
#[derive(Debug)]
pub struct ExitOutcome<T> {
    /// Always a [`Next::Switch`] away from the exiting thread.
    pub next: Next,
    /// The exiting thread's data if it was detached, so its slot is already
    /// free; drop it only after switching away (it may own the stack in use).
    pub dead: Option<T>,
}

/// Result of [`mutex_lock`](crate::Scheduler::mutex_lock) and
/// [`mutex_lock_contended`](crate::Scheduler::mutex_lock_contended).
#[must_use]
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub enum LockPoll {
    /// The caller owns the mutex now (check
    /// [`mutex_is_poisoned`](crate::Scheduler::mutex_is_poisoned)).
    Acquired,
    /// The caller waits; switch as told. Once it runs again,
    /// [`take_wait_result`](crate::Scheduler::take_wait_result) says whether it
    /// was handed the mutex ([`WaitResult::Acquired`]) or not.
    Blocked(Next),
}

/// Result of [`sem_acquire`](crate::Scheduler::sem_acquire).
#[must_use]
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub enum AcquirePoll {
    /// The caller took a permit.
    Acquired,
    /// The caller waits; switch as told, then read
    /// [`take_wait_result`](crate::Scheduler::take_wait_result).
    Blocked(Next),
}

/// Result of [`event_wait`](crate::Scheduler::event_wait) and
/// [`event_sync`](crate::Scheduler::event_sync).
#[must_use]
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub enum EventPoll {
    /// The condition already held; these are the flags as they were (for a sync, right
    /// after its set), before any clear-on-exit.
    Satisfied(u32),
    /// The caller waits; switch as told, then read
    /// [`take_wait_result`](crate::Scheduler::take_wait_result).
    Blocked(Next),
}

/// Why a thread's last wait ended, read once with
/// [`take_wait_result`](crate::Scheduler::take_wait_result).
#[must_use]
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub enum WaitResult {
    /// No wait has ended since the last time the result was taken.
    Nothing,
    /// Woken on purpose: `wake_one`/`wake_all`, `unpark`, or a plain `wake`
    /// (which, for a mutex or semaphore waiter, means "gave up, did not get it").
    Woken,
    /// Its deadline passed first; it left whatever it was waiting on.
    TimedOut,
    /// It was handed the mutex (it is the owner now) or a semaphore permit.
    Acquired,
    /// Its event condition held; the flags as they were when it did (before
    /// its own clear-on-exit).
    Events(u32),
}

/// Why a request about a thread or an object was refused.
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
pub enum SchedError {
    /// The id is stale: its thread has been reaped (or never existed).
    NoSuchThread,
    /// A thread tried to join itself.
    JoinSelf,
    /// Another thread is already joining the target.
    AlreadyJoined,
    /// `wake` was called on a thread that is neither blocked nor sleeping.
    NotBlocked,
    /// The operation makes no sense for an idle thread.
    IdleThread,
    /// The target was detached, so nobody may join it.
    Detached,
    /// Waiting would never end: the join target is (directly or through
    /// others) waiting to join the caller, or the mutex's owner is (directly
    /// or through a chain of mutexes) waiting for one the caller owns.
    Deadlock,
    /// The handle is stale (its object was destroyed) or names another kind.
    NoSuchObject,
    /// The object cannot be destroyed: threads wait on it, or it is owned.
    Busy,
    /// The caller already owns the mutex (mutexes are not recursive).
    Relock,
    /// The caller does not own the mutex it tried to unlock.
    NotOwner,
    /// The semaphore count would overflow.
    Overflow,
    /// An argument makes no sense (an empty event mask).
    InvalidArgument,
    /// An affinity mask names no started CPU: the thread could never run.
    NoAllowedCpu,
}

impl fmt::Display for SchedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::NoSuchThread => "no such thread",
            Self::JoinSelf => "a thread cannot join itself",
            Self::AlreadyJoined => "thread already has a joiner",
            Self::NotBlocked => "thread is not blocked or sleeping",
            Self::IdleThread => "not permitted on an idle thread",
            Self::Detached => "thread is detached",
            Self::Deadlock => "waiting would close a cycle",
            Self::NoSuchObject => "no such synchronization object",
            Self::Busy => "object is in use",
            Self::Relock => "mutex already owned by the caller",
            Self::NotOwner => "mutex not owned by the caller",
            Self::Overflow => "semaphore count overflow",
            Self::InvalidArgument => "invalid argument",
            Self::NoAllowedCpu => "affinity allows no running cpu",
        })
    }
}

impl core::error::Error for SchedError {}
