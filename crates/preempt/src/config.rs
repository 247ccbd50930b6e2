//! Run-time kernel settings: the round-robin time slice, and the priority of the
//! [software timer](crate::timer) service.
//!
//! There is no periodic tick: each core's timer is programmed for the next thing due on it
//! (docs/design.md, "Time"). The one setting left is how long equal-priority threads run
//! before taking turns, set as a [`Duration`] ([`set_time_slice`]) or, as older programs do,
//! in *ticks* of `1 / tick_hz()` seconds ([`set_time_slice_ticks`], [`set_tick_hz`]): the
//! tick rate is only that unit now. Plain atomics, so a program can change them from `main`
//! without a rebuild; a change reaches the scheduler at once.

use core::fmt;
use core::sync::atomic::{AtomicU32, AtomicU64, AtomicU8, Ordering};
use core::time::Duration;

use preempt_arch::timer;

use crate::thread::Priority;

/// The tick rate a system starts with: the unit of [`set_time_slice_ticks`].
pub const DEFAULT_TICK_HZ: u32 = 1000;
/// Slowest accepted tick rate.
pub const MIN_TICK_HZ: u32 = 10;
/// Fastest accepted tick rate (a 10 µs tick).
pub const MAX_TICK_HZ: u32 = 100_000;
/// The time slice a system starts with: one tick at [`DEFAULT_TICK_HZ`].
pub const DEFAULT_TIME_SLICE: Duration = Duration::from_millis(1);
/// Shortest accepted time slice: shorter would leave threads little time to run between
/// the timer interrupts that end the slices.
pub const MIN_TIME_SLICE: Duration = Duration::from_micros(10);
/// Longest accepted time slice (the scheduler keeps what is left of a preempted thread's
/// slice in 32 bits of counter units, which holds a minute at up to 71 MHz).
pub const MAX_TIME_SLICE: Duration = Duration::from_secs(60);

/// The priority the [timer](crate::timer) service thread runs at unless
/// [`set_timer_priority`] says otherwise: above
/// [`thread::DEFAULT_PRIORITY`](crate::thread::DEFAULT_PRIORITY), so that timers fire on
/// time while ordinary threads run.
pub const DEFAULT_TIMER_PRIORITY: Priority = 192;

static TIMER_PRIORITY: AtomicU8 = AtomicU8::new(DEFAULT_TIMER_PRIORITY);
static TICK_HZ: AtomicU32 = AtomicU32::new(DEFAULT_TICK_HZ);
/// The slice in ticks, or 0 when it was last set as a `Duration` ([`SLICE_NS`]).
static SLICE_TICKS: AtomicU32 = AtomicU32::new(1);
/// The slice in nanoseconds when it was last set as a `Duration`.
static SLICE_NS: AtomicU64 = AtomicU64::new(0);

/// A rejected setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigError {
    /// The tick rate is outside `MIN_TICK_HZ..=MAX_TICK_HZ`.
    TickRateOutOfRange(u32),
    /// A time slice must be at least one tick.
    ZeroTimeSlice,
    /// The time slice is outside `MIN_TIME_SLICE..=MAX_TIME_SLICE`.
    TimeSliceOutOfRange(Duration),
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TickRateOutOfRange(hz) => {
                write!(
                    f,
                    "tick rate {hz} Hz is outside {MIN_TICK_HZ}..={MAX_TICK_HZ} Hz"
                )
            }
            Self::ZeroTimeSlice => write!(f, "a time slice must be at least one tick"),
            Self::TimeSliceOutOfRange(d) => write!(
                f,
                "time slice {d:?} is outside {MIN_TIME_SLICE:?}..={MAX_TIME_SLICE:?}"
            ),
        }
    }
}

/// Sets how long a thread runs before an equal-priority thread that is ready gets its turn
/// (round robin). Takes effect from the next slice that starts. A thread with nobody of its
/// priority to take turns with is never interrupted for its slice.
pub fn set_time_slice(slice: Duration) -> Result<(), ConfigError> {
    if !(MIN_TIME_SLICE..=MAX_TIME_SLICE).contains(&slice) {
        return Err(ConfigError::TimeSliceOutOfRange(slice));
    }
    // At most a minute: the nanoseconds fit.
    SLICE_NS.store(slice.as_nanos() as u64, Ordering::Relaxed);
    SLICE_TICKS.store(0, Ordering::Relaxed);
    apply();
    Ok(())
}

/// The round-robin time slice.
pub fn time_slice() -> Duration {
    match SLICE_TICKS.load(Ordering::Relaxed) {
        0 => Duration::from_nanos(SLICE_NS.load(Ordering::Relaxed)),
        ticks => Duration::from_nanos(u64::from(ticks) * 1_000_000_000 / u64::from(tick_hz())),
    }
}

/// Sets the rate of the *tick*, the unit of [`set_time_slice_ticks`] (one tick is
/// `1 / hz` seconds). There is no periodic tick: the rate changes nothing else. A slice set
/// in ticks follows the new rate at once.
pub fn set_tick_hz(hz: u32) -> Result<(), ConfigError> {
    if !(MIN_TICK_HZ..=MAX_TICK_HZ).contains(&hz) {
        return Err(ConfigError::TickRateOutOfRange(hz));
    }
    let ticks = SLICE_TICKS.load(Ordering::Relaxed);
    if ticks != 0 {
        check_slice(ticks, hz)?;
    }
    TICK_HZ.store(hz, Ordering::Relaxed);
    apply();
    Ok(())
}

/// The tick rate: the unit of [`set_time_slice_ticks`].
pub fn tick_hz() -> u32 {
    TICK_HZ.load(Ordering::Relaxed)
}

/// Sets the round-robin time slice in ticks of `1 / tick_hz()` seconds (see
/// [`set_time_slice`]).
pub fn set_time_slice_ticks(ticks: u32) -> Result<(), ConfigError> {
    if ticks == 0 {
        return Err(ConfigError::ZeroTimeSlice);
    }
    check_slice(ticks, tick_hz())?;
    SLICE_TICKS.store(ticks, Ordering::Relaxed);
    apply();
    Ok(())
}

/// The round-robin time slice in ticks, rounded to the nearest (at least 1).
pub fn time_slice_ticks() -> u32 {
    match SLICE_TICKS.load(Ordering::Relaxed) {
        0 => {
            let ns = SLICE_NS.load(Ordering::Relaxed);
            let tick_ns = 1_000_000_000 / u64::from(tick_hz());
            ((ns + tick_ns / 2) / tick_ns).clamp(1, u64::from(u32::MAX)) as u32
        }
        ticks => ticks,
    }
}

/// Timer interrupts taken by this core since boot (with nothing due, none are taken).
pub fn ticks_taken() -> u64 {
    crate::kernel::irq::timer_interrupts()
}

/// Sets the priority of the [timer](crate::timer) service thread, which runs every timer
/// callback (every `u8` is valid; higher runs first). Before the first timer is created, the
/// service starts at this priority; after, the running service thread (and the supervisor
/// that restarts it after a panicking callback) are given it at once, as by
/// [`Thread::set_priority`](crate::thread::Thread::set_priority). Not from an interrupt handler
/// once the service runs (it takes the service's lock).
pub fn set_timer_priority(priority: Priority) {
    TIMER_PRIORITY.store(priority, Ordering::SeqCst);
    crate::timer::apply_service_priority();
}

/// The priority of the timer service thread ([`set_timer_priority`]).
pub fn timer_priority() -> Priority {
    TIMER_PRIORITY.load(Ordering::SeqCst)
}

/// Checks that `ticks` ticks at `hz` is a slice within the accepted range.
fn check_slice(ticks: u32, hz: u32) -> Result<(), ConfigError> {
    let slice = Duration::from_nanos(u64::from(ticks) * 1_000_000_000 / u64::from(hz));
    if (MIN_TIME_SLICE..=MAX_TIME_SLICE).contains(&slice) {
        Ok(())
    } else {
        Err(ConfigError::TimeSliceOutOfRange(slice))
    }
}

/// The slice in counter units, from the settings and the counter's frequency.
pub(crate) fn time_slice_counts() -> u64 {
    let ns = time_slice().as_nanos() as u64;
    timer::ns_to_ticks(ns, timer::frequency()).max(1)
}

/// Hands a changed slice to the scheduler, once it runs.
fn apply() {
    if crate::kernel::started() {
        let len = time_slice_counts();
        crate::kernel::with_sched(|s, _| s.set_time_slice(len));
    }
}
