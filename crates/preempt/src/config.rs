//! Run-time kernel settings: the tick rate and the round-robin time slice.
//!
//! Both are plain atomics read on every tick, so a program can change them from `main` (a test
//! that wants many preemptions in little virtual time raises the tick rate) without a rebuild.

use core::fmt;
use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use preempt_arch::timer;

/// The tick rate a system starts with.
pub const DEFAULT_TICK_HZ: u32 = 1000;
/// Slowest accepted tick rate.
pub const MIN_TICK_HZ: u32 = 10;
/// Fastest accepted tick rate (a 10 µs tick; faster leaves threads little time to run).
pub const MAX_TICK_HZ: u32 = 100_000;

static TICK_HZ: AtomicU32 = AtomicU32::new(DEFAULT_TICK_HZ);
static SLICE_TICKS: AtomicU32 = AtomicU32::new(1);

/// A rejected setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigError {
    /// The tick rate is outside `MIN_TICK_HZ..=MAX_TICK_HZ`.
    TickRateOutOfRange(u32),
    /// A time slice must be at least one tick.
    ZeroTimeSlice,
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
        }
    }
}

/// Sets the periodic tick rate; a faster rate takes effect at once on this core.
pub fn set_tick_hz(hz: u32) -> Result<(), ConfigError> {
    if !(MIN_TICK_HZ..=MAX_TICK_HZ).contains(&hz) {
        return Err(ConfigError::TickRateOutOfRange(hz));
    }
    TICK_HZ.store(hz, Ordering::Relaxed);
    cache_tick_period();
    if crate::kernel::started() {
        crate::kernel::irq::retune_tick();
    }
    Ok(())
}

/// The periodic tick rate.
pub fn tick_hz() -> u32 {
    TICK_HZ.load(Ordering::Relaxed)
}

/// Sets the round-robin time slice, in ticks; takes effect from the next decision.
pub fn set_time_slice_ticks(ticks: u32) -> Result<(), ConfigError> {
    if ticks == 0 {
        return Err(ConfigError::ZeroTimeSlice);
    }
    SLICE_TICKS.store(ticks, Ordering::Relaxed);
    if crate::kernel::started() {
        crate::kernel::with_sched(|s, _| s.set_time_slice(ticks));
    }
    Ok(())
}

/// The round-robin time slice, in ticks.
pub fn time_slice_ticks() -> u32 {
    SLICE_TICKS.load(Ordering::Relaxed)
}

/// Ticks taken by this core since boot.
pub fn ticks_taken() -> u64 {
    crate::kernel::irq::ticks()
}

/// One tick period in counter units, as last computed by [`cache_tick_period`] (the tick
/// path reads it on every tick; a division there would cost more than the load). Only valid
/// once the tick has started (`kernel::irq::start_tick` caches it first).
#[inline]
pub(crate) fn tick_period_counts() -> u64 {
    let p = TICK_PERIOD.load(Ordering::Relaxed);
    debug_assert!(p != 0, "tick period used before the tick started");
    p
}

/// [`tick_period_counts`] from the current rate; 0 until the first [`cache_tick_period`].
static TICK_PERIOD: AtomicU64 = AtomicU64::new(0);

fn compute_tick_period() -> u64 {
    (timer::frequency() / tick_hz() as u64).max(1)
}

/// Recomputes the tick period from the rate and the counter frequency (at boot and after
/// every rate change).
pub(crate) fn cache_tick_period() {
    TICK_PERIOD.store(compute_tick_period(), Ordering::Relaxed);
}
