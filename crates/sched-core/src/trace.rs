//! What the scheduler tells an event trace: wake-ups (with their cause and waker), priority
//! inheritance raising or giving back a priority, deadlines passing.
//!
//! These happen deep inside decisions (a wake-up in the middle of an unlock, a boost at the
//! far end of a chain of mutex owners) where the kernel cannot see them, and this crate has
//! no clock, no per-core memory and no unsafe code. So the scheduler only *notes* them, in a
//! small fixed-size log it owns ([`TraceLog`]); the kernel, which holds the scheduler lock
//! anyway, drains the log into its per-core ring at the end of each hold
//! ([`Scheduler::trace_drain`](crate::Scheduler::trace_drain)) and stamps the events with
//! that moment. A log of [`TRACE_CAPACITY`] events covers any ordinary hold; a hold that
//! notes more (a broadcast waking hundreds of threads) keeps the first ones and counts the
//! rest ([`Scheduler::trace_dropped`](crate::Scheduler::trace_dropped)): bounded, never
//! allocating, never failing.
//!
//! Why a log in the scheduler rather than a callback or a generic observer: a callback would
//! run kernel code in the middle of the scheduler's invariants, and an observer type
//! parameter would spread through every `Scheduler<T, S>` in the kernel, the interpreter and
//! the tests. The log is a field, present only with the crate feature `trace`; without it
//! [`TraceLog`] is an empty type whose methods do nothing and compile to nothing.
//!
//! Who caused a wake-up is the *actor* of the hold, which the kernel names as it takes the
//! lock ([`Scheduler::trace_begin`](crate::Scheduler::trace_begin)): the thread running on
//! the core that took it, or an interrupt handler. A hold with no thread behind it (the
//! kernel on an idle core, or before the first thread runs) is recorded as an interrupt's, as
//! what wakes an idle core is one. A deadline that passed overrides the actor
//! ([`WakeCause::Timeout`]), as does a thread's creation ([`WakeCause::Spawned`]).

use crate::{Priority, ThreadId};

/// Who or what made a thread ready (the `trace-format` crate's codes, for the kernel to copy).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WakeCause {
    /// Another thread ([`TraceEvent::Wake::waker`]), releasing or signalling something.
    Thread,
    /// An interrupt handler.
    Interrupt,
    /// Its deadline passed.
    Timeout,
    /// It was just created.
    Spawned,
}

/// One event the scheduler noted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TraceEvent {
    /// `thread` became ready.
    Wake {
        /// The thread made ready.
        thread: ThreadId,
        /// Why.
        cause: WakeCause,
        /// The thread whose call woke it (`None` for an interrupt handler or a deadline).
        waker: Option<ThreadId>,
    },
    /// Priority inheritance raised `thread`'s effective priority from `old` to `new`.
    Boost {
        /// The boosted thread (a mutex owner).
        thread: ThreadId,
        /// Its effective priority now.
        new: Priority,
        /// Its effective priority before.
        old: Priority,
        /// The thread whose call caused it (usually the one that started waiting).
        by: Option<ThreadId>,
    },
    /// `thread`'s inherited priority was (partly) given back: from `old` down to `new`.
    Restore {
        /// The thread.
        thread: ThreadId,
        /// Its effective priority now.
        new: Priority,
        /// Its effective priority before.
        old: Priority,
    },
    /// The deadline of `thread`'s sleep or timed wait passed.
    TimerExpiry {
        /// The thread.
        thread: ThreadId,
    },
}

/// Events one hold of the scheduler lock may note before the rest are only counted.
pub const TRACE_CAPACITY: usize = 64;

/// Who acts during the current hold (see the module docs).
#[cfg(feature = "trace")]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Actor {
    Thread(ThreadId),
    Interrupt,
}

/// The scheduler's event log (see the module docs). Empty without the feature `trace`.
#[cfg(feature = "trace")]
pub(crate) struct TraceLog {
    events: [Option<TraceEvent>; TRACE_CAPACITY],
    len: usize,
    dropped: u64,
    actor: Actor,
    /// A thread whose priority changes for a reason other than inheritance
    /// (`set_priority`): its change is not a boost or a restore.
    explicit: Option<ThreadId>,
}

#[cfg(feature = "trace")]
impl TraceLog {
    pub(crate) const fn new() -> Self {
        Self {
            events: [None; TRACE_CAPACITY],
            len: 0,
            dropped: 0,
            actor: Actor::Interrupt,
            explicit: None,
        }
    }

    fn push(&mut self, e: TraceEvent) {
        match self.events.get_mut(self.len) {
            Some(slot) => {
                *slot = Some(e);
                self.len += 1;
            }
            None => self.dropped += 1,
        }
    }

    fn actor_thread(&self) -> Option<ThreadId> {
        match self.actor {
            Actor::Thread(t) => Some(t),
            Actor::Interrupt => None,
        }
    }

    /// The hold about to start acts for `thread` (`None`: an interrupt handler).
    pub(crate) fn begin(&mut self, thread: Option<ThreadId>) {
        self.actor = thread.map_or(Actor::Interrupt, Actor::Thread);
    }

    pub(crate) fn pending(&self) -> bool {
        self.len != 0 || self.dropped != 0
    }

    /// Notes that `thread` became ready; `cause` overrides the actor's (a deadline, a spawn).
    #[inline]
    pub(crate) fn wake(&mut self, thread: ThreadId, cause: Option<WakeCause>) {
        let waker = self.actor_thread();
        let (cause, waker) = match cause {
            Some(WakeCause::Timeout) => (WakeCause::Timeout, None),
            Some(c) => (c, waker),
            None if waker.is_some() => (WakeCause::Thread, waker),
            None => (WakeCause::Interrupt, None),
        };
        self.push(TraceEvent::Wake {
            thread,
            cause,
            waker,
        });
    }

    /// Notes that `thread`'s effective priority went from `old` to `new` (its base is `base`).
    #[inline]
    pub(crate) fn priority(
        &mut self,
        thread: ThreadId,
        old: Priority,
        new: Priority,
        base: Priority,
    ) {
        if self.explicit == Some(thread) {
            return;
        }
        if new > old && new > base {
            let by = self.actor_thread();
            self.push(TraceEvent::Boost {
                thread,
                new,
                old,
                by,
            });
        } else if new < old && old > base {
            self.push(TraceEvent::Restore { thread, new, old });
        }
    }

    /// Notes that `thread`'s deadline passed.
    #[inline]
    pub(crate) fn expiry(&mut self, thread: ThreadId) {
        self.push(TraceEvent::TimerExpiry { thread });
    }

    /// `thread`'s priority is being set explicitly (`Some`) or no longer (`None`).
    #[inline]
    pub(crate) fn explicit(&mut self, thread: Option<ThreadId>) {
        self.explicit = thread;
    }

    /// Hands every noted event to `f`, oldest first, and empties the log.
    pub(crate) fn drain(&mut self, mut f: impl FnMut(TraceEvent)) {
        let len = core::mem::take(&mut self.len);
        for e in self.events.iter_mut().take(len) {
            if let Some(e) = e.take() {
                f(e);
            }
        }
    }

    /// Events not noted since the last call (the log was full), and resets the count.
    pub(crate) fn take_dropped(&mut self) -> u64 {
        core::mem::take(&mut self.dropped)
    }
}

/// Without the feature `trace`: nothing is noted, and every method is empty.
#[cfg(not(feature = "trace"))]
pub(crate) struct TraceLog;

#[cfg(not(feature = "trace"))]
impl TraceLog {
    pub(crate) const fn new() -> Self {
        Self
    }

    #[inline(always)]
    pub(crate) fn wake(&mut self, _thread: ThreadId, _cause: Option<WakeCause>) {}

    #[inline(always)]
    pub(crate) fn priority(&mut self, _: ThreadId, _: Priority, _: Priority, _: Priority) {}

    #[inline(always)]
    pub(crate) fn expiry(&mut self, _thread: ThreadId) {}

    #[inline(always)]
    pub(crate) fn explicit(&mut self, _thread: Option<ThreadId>) {}
}
