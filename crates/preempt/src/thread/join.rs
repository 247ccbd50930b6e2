//! Joining: wait for a thread to end and take its result.
//!
//! The result travels through a shared packet rather than the control block, so the control
//! block (and the stack) can be freed the moment the thread is reaped. A handle dropped without
//! `join` detaches the thread: it is freed as soon as it ends.

use core::fmt;

use preempt_arch::SpinLock;
use sched_core::{ExitStatus, JoinPoll, Next, ThreadId};

use super::Thread;
use crate::kernel::shared::Shared;
use crate::kernel::{self, Failure, ThreadInfo};

pub(crate) type Packet<T> = SpinLock<Option<T>>;

/// Why `join` has no value: the thread panicked or faulted.
///
/// It says what happened: [`message`](Self::message) is the panic's formatted message (as the
/// console report printed it, cut at 1 KiB) or a description of the CPU fault (its kind, the
/// address it touched, the instruction's address; "stack overflow" first when the thread ran
/// into its guard page). `Display` shows the thread's name and the same text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinError {
    thread: Option<alloc::string::String>,
    faulted: bool,
    message: alloc::string::String,
}

impl JoinError {
    /// Whether the thread died of a CPU fault (rather than a panic).
    pub fn is_fault(&self) -> bool {
        self.faulted
    }

    /// What the thread died of: the panic message, or the fault's description.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The name is escaped (a name with a newline must not forge a console line); the
        // message is the thread's own text, printed as its panic report printed it.
        let name = crate::console::Escaped(self.thread.as_deref().unwrap_or("<unnamed>"));
        let how = if self.faulted { "faulted" } else { "panicked" };
        write!(f, "thread '{name}' {how}: {}", self.message)
    }
}

/// An owned permission to join a thread.
pub struct JoinHandle<T> {
    id: Option<ThreadId>,
    packet: Shared<Packet<T>>,
    thread: Thread,
}

impl<T> JoinHandle<T> {
    pub(crate) fn new(id: ThreadId, packet: Shared<Packet<T>>, thread: Thread) -> Self {
        Self {
            id: Some(id),
            packet,
            thread,
        }
    }

    /// The thread this handle joins.
    pub fn thread(&self) -> &Thread {
        &self.thread
    }

    /// The thread's peak stack use in bytes so far (its final figure once it has ended); see
    /// [`Thread::stack_peak`].
    pub fn stack_peak(&self) -> usize {
        self.thread.stack_peak()
    }

    /// Whether the thread has ended (join would not block).
    pub fn is_finished(&self) -> bool {
        let Some(id) = self.id else { return true };
        self.is_finished_id(id)
    }

    fn is_finished_id(&self, id: ThreadId) -> bool {
        kernel::with_sched(|s, _| matches!(s.state(id), Some(sched_core::State::Zombie(_)) | None))
    }

    /// Blocks until the thread ends; returns its value, or `Err` if it panicked or faulted.
    pub fn join(mut self) -> Result<T, JoinError> {
        let id = self.id.take().expect("a JoinHandle is joined once");
        crate::kernel::wait::assert_may_block("JoinHandle::join");
        let info = self.thread.info(); // counted as the `JoinHandle`'s own until join returns
        let status = loop {
            // A `Thread` handle that may ask for the stack peak later gets its final figure
            // while the control block is still in the table (the thread has ended: no change).
            let record = ThreadInfo::peak_wanted_later(info, 0);
            let poll = kernel::schedule(|s, cpu| match s.join(cpu, id) {
                Ok(JoinPoll::Exited(status)) if record => (Next::Keep, Ok(Some((status, None)))),
                Ok(JoinPoll::Exited(status)) => (Next::Keep, Ok(Some((status, s.reap(id))))),
                Ok(JoinPoll::Blocked(next)) => (next, Ok(None)),
                Err(e) => (Next::Keep, Err(e)),
            });
            match poll {
                Ok(Some((_, None))) if record => kernel::record_final_peak(info, 0),
                Ok(Some((status, reaped))) => {
                    if let Some((t, _)) = reaped {
                        kernel::retire(t); // frees the stack, outside the scheduler lock
                    }
                    break status;
                }
                Ok(None) => {}
                // Reported outside the scheduler lock, so only the calling thread fails.
                Err(e) => panic!(
                    "join failed: {e} (a thread joining itself, or threads joining each other)"
                ),
            }
        };
        let failure = self.thread.info_failure();
        match (status, self.packet.lock().take()) {
            (ExitStatus::Finished, Some(value)) => Ok(value),
            _ => Err(JoinError {
                thread: self.thread.name().map(Into::into),
                faulted: failure == Failure::Faulted,
                message: self.thread.info.cause_description().unwrap_or_default(),
            }),
        }
    }
}

impl<T> Drop for JoinHandle<T> {
    fn drop(&mut self) {
        if let Some(id) = self.id.take() {
            let info = self.thread.info();
            // From here the handle cannot ask (its reference goes when this returns; a thread
            // exiting meanwhile may record a figure nobody needs, never miss one).
            info.set_unjoinable();
            // A finished thread is freed right here: record its final stack peak first if a
            // `Thread` handle may ask for it (an unfinished one records it as it exits).
            if ThreadInfo::peak_wanted_later(info, 1) && self.is_finished_id(id) {
                kernel::record_final_peak(info, 1);
            }
            let dead = kernel::with_sched(|s, _| s.detach(id));
            if let Some(t) = dead {
                kernel::retire(t);
            }
        }
    }
}

impl Thread {
    fn info_failure(&self) -> Failure {
        self.info.failure()
    }
}
