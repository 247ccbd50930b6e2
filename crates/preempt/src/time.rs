//! Time from the generic counter, shaped like `std::time`.

use core::ops::{Add, AddAssign, Sub};
pub use core::time::Duration;

use preempt_arch::timer;

/// A point in time, read from the system counter (monotonic, never adjusted).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Instant(u64);

impl Instant {
    /// Now.
    pub fn now() -> Self {
        Instant(timer::counter())
    }

    /// Time since `self`.
    pub fn elapsed(&self) -> Duration {
        Instant::now().duration_since(*self)
    }

    /// Time from `earlier` to `self`; zero if `earlier` is later.
    pub fn duration_since(&self, earlier: Instant) -> Duration {
        Duration::from_nanos(timer::ticks_to_ns(
            self.0.saturating_sub(earlier.0),
            timer::frequency(),
        ))
    }

    /// `self + d`, or `None` on overflow.
    pub fn checked_add(&self, d: Duration) -> Option<Instant> {
        let ns = u64::try_from(d.as_nanos()).ok()?;
        self.0
            .checked_add(timer::ns_to_ticks(ns, timer::frequency()))
            .map(Instant)
    }

    /// The raw counter value.
    pub fn ticks(&self) -> u64 {
        self.0
    }

    /// The counter frequency in Hz (`CNTFRQ_EL0`).
    pub fn frequency() -> u64 {
        timer::frequency()
    }
}

impl Add<Duration> for Instant {
    type Output = Instant;
    /// Panics on overflow, like `std`.
    fn add(self, d: Duration) -> Instant {
        self.checked_add(d)
            .expect("overflow when adding a duration to an instant")
    }
}

impl AddAssign<Duration> for Instant {
    fn add_assign(&mut self, d: Duration) {
        *self = *self + d;
    }
}

impl Sub<Instant> for Instant {
    type Output = Duration;
    fn sub(self, earlier: Instant) -> Duration {
        self.duration_since(earlier)
    }
}
