//! Threads, shaped like `std::thread`.
//!
//! Every thread has its own stack and runs at EL1 with IRQs unmasked, so the timer can preempt
//! it anywhere. Priorities are `u8`, higher runs first; equal priorities share the CPU in time
//! slices. A thread's priority is set at spawn ([`Builder::priority`]) and may be changed at
//! any time ([`Thread::set_priority`]). A thread ends by returning from its closure; a panic
//! or fault ends only that thread.

mod builder;
mod join;
pub(crate) mod local;
mod scope;

use core::time::Duration;

use preempt_arch::timer;
use sched_core::State;
pub use sched_core::{Priority, ThreadId, DEFAULT_PRIORITY};

pub use builder::{Builder, SpawnError, DEFAULT_STACK_SIZE, MIN_STACK_SIZE};
pub use join::{JoinError, JoinHandle};
pub use local::{AccessError, LocalKey};
pub use scope::{scope, Scope, ScopedJoinHandle};

use crate::kernel::shared::Shared;
use crate::kernel::{self, ThreadInfo};
use crate::time::Instant;

/// Spawns a thread with default settings; panics if it cannot (use [`Builder`] for a `Result`).
pub fn spawn<F, T>(f: F) -> JoinHandle<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    match Builder::new().spawn(f) {
        Ok(handle) => handle,
        Err(e) => panic!("failed to spawn thread: {e}"),
    }
}

/// A handle to a thread.
#[derive(Clone)]
pub struct Thread {
    info: Shared<ThreadInfo>,
}

impl Thread {
    pub(crate) fn from_info(info: Shared<ThreadInfo>) -> Self {
        Self { info }
    }

    pub(crate) fn info(&self) -> &Shared<ThreadInfo> {
        &self.info
    }

    /// The thread's name, if it was given one.
    pub fn name(&self) -> Option<&str> {
        self.info.name.as_deref()
    }

    /// The thread's unique id (a stale id never names a newer thread).
    pub fn id(&self) -> ThreadId {
        ThreadId::from_u64(self.info.id_u64()).expect("a thread's id is set when it is spawned")
    }

    /// The thread's peak stack use in bytes: from the top of its stack down to the deepest
    /// word it has written so far (its final figure once it has ended; the whole stack for a
    /// thread that overflowed it). Measured on a stack painted at spawn, exact to the word
    /// except when the deepest writes lie more than 1 KiB below a large stretch left
    /// unwritten; 0 for a thread without a stack of its own, and when asked from an interrupt
    /// handler about a thread still running. Costs a scan of the unused part of the stack.
    pub fn stack_peak(&self) -> usize {
        kernel::stack_peak(&self.info)
    }

    /// The priority the thread runs at now: its base priority, raised to that of the
    /// highest-priority thread waiting for a [`Mutex`](crate::sync::Mutex) it holds (priority
    /// inheritance, transitively). Once it has ended: its last base priority.
    pub fn priority(&self) -> Priority {
        let id = self.id();
        kernel::with_sched(|s, _| s.priority(id)).unwrap_or_else(|| self.info.base_priority())
    }

    /// The thread's base priority: as spawned ([`Builder::priority`]) or as last set with
    /// [`set_priority`](Self::set_priority), whatever it inherits (see
    /// [`priority`](Self::priority)). Still answers once the thread has ended.
    pub fn base_priority(&self) -> Priority {
        let id = self.id();
        kernel::with_sched(|s, _| s.base_priority(id)).unwrap_or_else(|| self.info.base_priority())
    }

    /// Gives the thread a new base priority (every `u8` is valid; higher runs first), with
    /// effect at once — `thread::current().set_priority(p)` for the caller.
    ///
    /// - The priority it runs at ([`priority`](Self::priority)) becomes the higher of the new
    ///   base and what it inherits from the waiters of the mutexes it holds: lowering a
    ///   boosted mutex holder keeps the boost until it unlocks, and then it runs at the new
    ///   base.
    /// - The scheduler order follows before this returns: a caller that lowers itself below a
    ///   ready thread switches to it at once; raising a ready thread above the caller
    ///   preempts the caller at once. A ready thread goes to the back of its new level.
    /// - A thread waiting on a mutex, semaphore, channel or other blocking object is moved to
    ///   its new place in that object's priority-ordered wait list; if it waits for a mutex,
    ///   the holder's inherited priority is recomputed (up the chain of holders).
    /// - Callable from interrupt handlers: a thread raised above the interrupted one runs as
    ///   soon as the handler returns, as for [`unpark`](Self::unpark).
    /// - A thread that has ended is left as it was (no effect, no panic): its
    ///   [`base_priority`](Self::base_priority) stays the last one it had. The idle thread,
    ///   which only `thread::current()` inside an interrupt handler that interrupted it can
    ///   name, is left alone too.
    ///
    /// Today a single core runs threads; with several, a change that concerns another core's
    /// running thread would have to reach that core as well.
    pub fn set_priority(&self, priority: Priority) {
        let id = self.id();
        let info = &self.info;
        crate::kernel::wait::notify(|s| {
            // An ended thread (a zombie awaiting its join, or reaped) keeps its last base;
            // `sched-core` refuses idle threads and stale ids itself.
            if matches!(s.state(id), Some(State::Zombie(_))) {
                return;
            }
            if s.set_priority(id, priority).is_ok() {
                info.set_base_priority(priority);
            }
        });
    }
}

impl Thread {
    /// Makes the thread's park token available: if it is parked it wakes, otherwise its next
    /// `park` returns at once. Callable from interrupt handlers.
    pub fn unpark(&self) {
        let id = self.id();
        crate::kernel::wait::notify(|s| {
            let _ = s.unpark(id);
        });
    }
}

impl core::fmt::Debug for Thread {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Thread")
            .field("id", &self.id())
            .field("name", &self.name())
            .finish()
    }
}

/// The calling thread.
pub fn current() -> Thread {
    Thread::from_info(kernel::current_info().expect("thread::current() called outside a thread"))
}

/// Gives the CPU to the next ready thread of the same or higher priority, if any.
pub fn yield_now() {
    crate::kernel::wait::assert_may_block("thread::yield_now");
    kernel::schedule(|s, cpu| {
        kernel::trace::yielding(cpu);
        (s.yield_now(cpu), ())
    });
}

/// Why [`set_affinity`] refused a mask.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AffinityError {
    mask: u32,
    running: u32,
}

impl AffinityError {
    /// The mask that was refused.
    pub fn mask(&self) -> u32 {
        self.mask
    }
    /// The cores that run threads (bit n: core n), none of which the mask names.
    pub fn running(&self) -> u32 {
        self.running
    }
}

impl core::fmt::Display for AffinityError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "affinity mask {:#x} names no core that runs threads (running: {:#x})",
            self.mask, self.running
        )
    }
}

/// Sets the cores the calling thread may run on: bit n allows core n (bits of cores that do
/// not run threads are ignored). If the core it runs on is no longer allowed, it moves to an
/// allowed one before this returns (where it runs as soon as it outranks that core's thread,
/// like any ready thread).
///
/// # Errors
/// [`AffinityError`] for a mask that names no running core; the affinity is then unchanged.
///
/// # Panics
/// In an interrupt handler (there is no calling thread), like every blocking call.
pub fn set_affinity(mask: u32) -> Result<(), AffinityError> {
    crate::kernel::wait::assert_may_block("thread::set_affinity");
    let running = crate::cpu::running_mask();
    if mask & running == 0 {
        return Err(AffinityError { mask, running });
    }
    kernel::schedule(|s, cpu| match s.set_affinity(cpu, mask) {
        Ok(next) => (next, Ok(())),
        Err(_) => (sched_core::Next::Keep, Err(AffinityError { mask, running })),
    })
}

/// Blocks the calling thread for at least `dur`: it wakes at the deadline (the timer is
/// programmed for it), late only by the wake-up's own path and higher-priority work.
pub fn sleep(dur: Duration) {
    if dur.is_zero() {
        yield_now();
        return;
    }
    let start = Instant::now();
    match start.checked_add(dur) {
        Some(deadline) => sleep_until(deadline),
        None => loop {
            // Effectively forever: sleep in long steps.
            sleep(Duration::from_secs(3600));
        },
    }
}

/// Blocks the calling thread until `deadline` has passed.
pub fn sleep_until(deadline: Instant) {
    crate::kernel::wait::assert_may_block("thread::sleep");
    while timer::counter() < deadline.ticks() {
        kernel::schedule(|s, cpu| (s.sleep_until(cpu, deadline.ticks()), ()));
    }
}

/// Blocks until this thread's park token is made available by [`Thread::unpark`] (returns at
/// once, consuming it, if it already is).
pub fn park() {
    crate::kernel::wait::assert_may_block("thread::park");
    kernel::schedule(|s, cpu| (s.park(cpu, None), ()));
}

/// Like [`park`], giving up after `timeout`.
pub fn park_timeout(timeout: Duration) {
    crate::kernel::wait::assert_may_block("thread::park_timeout");
    let deadline = crate::kernel::wait::deadline_after(timeout);
    kernel::schedule(|s, cpu| (s.park(cpu, Some(deadline)), ()));
}
