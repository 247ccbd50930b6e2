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

/// Why a request about a thread was refused.
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
    /// The target is (directly or through others) waiting to join the caller,
    /// so waiting for it would never end.
    Deadlock,
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
            Self::Deadlock => "join would wait for itself",
        })
    }
}

impl core::error::Error for SchedError {}
