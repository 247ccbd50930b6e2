//! Software timers: run a callback once after a delay, or periodically, in a thread.
//!
//! ```ignore
//! use preempt::timer::Timer;
//! use preempt::time::Duration;
//!
//! let tick = Timer::periodic(Duration::from_millis(500), || preempt::println!("tick"));
//! let _alarm = Timer::once(Duration::from_secs(5), || preempt::println!("5 s"));
//! // ...
//! tick.cancel(); // after this returns, "tick" is never printed again
//! ```
//!
//! Like FreeRTOS software timers, ThreadX application timers or Zephyr's `k_timer`, every
//! callback runs in one *timer service* thread, started with the first timer, at
//! [`config::timer_priority`](crate::config::timer_priority) (by default
//! [`DEFAULT_TIMER_PRIORITY`](crate::config::DEFAULT_TIMER_PRIORITY), above
//! [`thread::DEFAULT_PRIORITY`](crate::thread::DEFAULT_PRIORITY)). Callbacks are ordinary
//! thread code: they may lock, send, spawn, create and cancel timers; but they run one at a
//! time, so a callback that blocks or runs long delays every other timer.
//!
//! # Timing
//! - **Never early**: a callback never starts before its deadline as
//!   [`Instant`] measures it (deadlines are rounded up to a whole
//!   counter tick). It is late by the service's wake-up path, by higher-priority threads,
//!   and by earlier callbacks.
//! - **Deadline order**: due timers run earliest deadline first (among equal deadlines, the
//!   first created first).
//! - **No drift**: the n-th deadline of a periodic timer is `start + n * period` where `start`
//!   is when it was created; a late callback does not move the later deadlines.
//! - **Overruns**: if the service falls behind so that further deadlines of a periodic timer
//!   have passed by the time it fires, it fires *once* for all of them (no burst of catch-up
//!   callbacks) and counts the ones without a callback of their own in
//!   [`Timer::overruns`]; it then goes on with the first deadline still ahead. Each deadline
//!   passed is counted exactly once in [`fired`](Timer::fired) + [`overruns`](Timer::overruns).
//!
//! # Stopping
//! [`Timer::cancel`] stops a timer for good (see there for what it waits for). Dropping a
//! `Timer` handle does nothing: like a detached thread, the timer keeps running, so a periodic
//! timer whose handles are all gone runs until the system stops. A one-shot timer is over
//! once its callback has returned; its closure is then dropped by the service.
//!
//! # Panics in callbacks
//! A panicking callback ends the service thread like any thread that panics (the report names
//! the thread `timer-service`). That timer is stopped and its closure dropped; a new service
//! thread is started at once and every other timer keeps running. (The closure's captured
//! state is not unwound: the panicking run's locals are lost, as for any panicking thread.)
//!
//! # Interrupt handlers
//! Creating and cancelling timers may block (they take the service's lock and may allocate),
//! so, like every blocking call, they stop the system with a message inside an interrupt
//! handler. A handler that must start work later can release a semaphore or set event flags
//! for a thread instead. [`Timer::is_active`], [`fired`](Timer::fired),
//! [`overruns`](Timer::overruns) and [`period`](Timer::period) are plain reads, allowed
//! anywhere.

mod entry;
mod service;

use core::fmt;
use core::sync::atomic::Ordering;
use core::time::Duration;

use entry::Entry;

use crate::kernel::shared::{try_box, Shared};
use crate::time::Instant;

/// The shortest period a periodic timer may have: shorter would keep the service thread
/// firing, above every thread of lower priority, for little more than its own overhead.
pub const MIN_PERIOD: Duration = Duration::from_micros(10);

/// Why a timer could not be created.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimerError {
    /// A periodic timer needs a period longer than zero.
    ZeroPeriod,
    /// The period is below [`MIN_PERIOD`].
    PeriodTooShort(Duration),
    /// The heap cannot hold the timer, its callback or the service thread.
    OutOfMemory,
}

impl fmt::Display for TimerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ZeroPeriod => write!(f, "a periodic timer's period must not be zero"),
            Self::PeriodTooShort(p) => write!(
                f,
                "timer period {p:?} is below the minimum of {MIN_PERIOD:?}"
            ),
            Self::OutOfMemory => write!(f, "out of memory creating a timer"),
        }
    }
}

/// A handle to a software timer (see the [module docs](self)). Clones name the same timer,
/// so a callback can hold one to cancel its own timer.
#[derive(Clone)]
pub struct Timer {
    entry: Shared<Entry>,
}

impl Timer {
    /// Runs `f` once, `delay` from now (a zero delay: as soon as the service gets to it).
    ///
    /// # Panics
    /// If the timer cannot be created ([`try_once`](Self::try_once) says why); inside an
    /// interrupt handler (stops the system).
    pub fn once<F: FnMut() + Send + 'static>(delay: Duration, f: F) -> Timer {
        Self::try_once(delay, f).unwrap_or_else(|e| panic!("Timer::once: {e}"))
    }

    /// Runs `f` every `period`, the first time `period` from now.
    ///
    /// # Panics
    /// If the timer cannot be created ([`try_periodic`](Self::try_periodic) says why: a zero
    /// period or one below [`MIN_PERIOD`], no memory); inside an interrupt handler (stops the
    /// system).
    pub fn periodic<F: FnMut() + Send + 'static>(period: Duration, f: F) -> Timer {
        Self::try_periodic(period, f).unwrap_or_else(|e| panic!("Timer::periodic: {e}"))
    }

    /// Like [`once`](Self::once), with an `Err` instead of a panic.
    ///
    /// # Errors
    /// [`TimerError::OutOfMemory`] (nothing is kept then, and `f` is dropped).
    pub fn try_once<F: FnMut() + Send + 'static>(
        delay: Duration,
        f: F,
    ) -> Result<Timer, TimerError> {
        crate::kernel::wait::assert_may_block("Timer::once");
        Self::create(delay, false, f)
    }

    /// Like [`periodic`](Self::periodic), with an `Err` instead of a panic.
    ///
    /// # Errors
    /// [`TimerError::ZeroPeriod`], [`TimerError::PeriodTooShort`],
    /// [`TimerError::OutOfMemory`] (nothing is kept then, and `f` is dropped).
    pub fn try_periodic<F: FnMut() + Send + 'static>(
        period: Duration,
        f: F,
    ) -> Result<Timer, TimerError> {
        crate::kernel::wait::assert_may_block("Timer::periodic");
        if period.is_zero() {
            return Err(TimerError::ZeroPeriod);
        }
        if period < MIN_PERIOD {
            return Err(TimerError::PeriodTooShort(period));
        }
        Self::create(period, true, f)
    }

    fn create<F: FnMut() + Send + 'static>(
        interval: Duration,
        periodic: bool,
        f: F,
    ) -> Result<Timer, TimerError> {
        let start = Instant::now().ticks();
        // Longer than u64 nanoseconds (584 years): "never", in effect.
        let interval_ns = u64::try_from(interval.as_nanos()).unwrap_or(u64::MAX);
        let callback = try_box(f).map_err(|_| TimerError::OutOfMemory)?;
        let entry = Shared::try_new(Entry::new(start, interval_ns, periodic))
            .map_err(|_| TimerError::OutOfMemory)?;
        *entry
            .callback
            .lock()
            .expect("a new timer's lock is not poisoned") = Some(callback);
        service::add(&entry)?;
        Ok(Timer { entry })
    }

    /// Stops the timer: its callback never starts again. Cancelling a timer that is over
    /// (cancelled, a one-shot that has fired, one whose callback panicked) does nothing.
    ///
    /// - From any thread but the service (including other timers' callbacks): if the callback
    ///   is running, waits for it to return (the service thread inherits the caller's priority
    ///   meanwhile). When `cancel` returns, the callback is not running, will never run
    ///   again, and its closure has been dropped, in the calling thread. So a callback must
    ///   not wait for a thread that cancels its own timer: that is a deadlock.
    /// - From the timer's own callback: returns at once; the callback runs to its end and is
    ///   never started again; the service drops the closure after it returns.
    ///
    /// # Panics
    /// Inside an interrupt handler (stops the system).
    pub fn cancel(&self) {
        crate::kernel::wait::assert_may_block("Timer::cancel");
        service::cancel(&self.entry);
    }

    /// Whether the timer is still scheduled: false once cancelled, once a one-shot's callback
    /// has returned, or once a callback has panicked.
    pub fn is_active(&self) -> bool {
        self.entry.is_active()
    }

    /// How many times the callback has been started (inside the callback: counting this run).
    pub fn fired(&self) -> u64 {
        self.entry.fired.load(Ordering::Relaxed)
    }

    /// Deadlines of a periodic timer that passed without a callback of their own because the
    /// service was late by one or more whole periods (always 0 for a one-shot). Every
    /// deadline that has passed and been dealt with is counted once in
    /// [`fired`](Self::fired) + `overruns`.
    pub fn overruns(&self) -> u64 {
        self.entry.overruns.load(Ordering::Relaxed)
    }

    /// The timer's period, or `None` for a one-shot timer.
    pub fn period(&self) -> Option<Duration> {
        self.entry
            .periodic
            .then(|| Duration::from_nanos(self.entry.interval_ns))
    }
}

impl fmt::Debug for Timer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Timer")
            .field("period", &self.period())
            .field("active", &self.is_active())
            .field("fired", &self.fired())
            .field("overruns", &self.overruns())
            .finish()
    }
}

pub(crate) use service::apply_priority as apply_service_priority;
