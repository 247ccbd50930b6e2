//! Deadline arithmetic for periodic software timers.
//!
//! A periodic timer must not drift: its n-th deadline is `start + n * period`, computed from
//! the start each time, never "the last firing plus a period" (which adds every wake-up's
//! lateness to all later deadlines). The period is kept in nanoseconds and each deadline is
//! converted to counter ticks on its own, rounding *up*, so the rounding error of one
//! deadline is below a tick and never accumulates, and no deadline is ever earlier than its
//! exact time.
//!
//! A timer service that falls behind by whole periods does not fire a burst of catch-up
//! callbacks: [`last_due`] says which deadlines have all passed by now, so one callback
//! covers them and the rest are counted as overruns. Pure functions, so they are tested on
//! the host.

use crate::Ticks;

const NS_PER_S: u128 = 1_000_000_000;

/// The `n`-th deadline of a timer started at `start` with `period_ns` between deadlines, on a
/// counter of `freq` Hz: `start + n * period_ns`, rounded up to a whole tick. Saturates at
/// `Ticks::MAX` ("never") if it does not fit.
pub fn nth_deadline(start: Ticks, period_ns: u64, n: u64, freq: u64) -> Ticks {
    let ns = u128::from(n) * u128::from(period_ns);
    // n * period_ns * freq < 2^64 * 2^64 * 2^64 could overflow u128: saturate step by step.
    let ticks = match ns.checked_mul(u128::from(freq)) {
        Some(x) => x.div_ceil(NS_PER_S),
        None => return Ticks::MAX,
    };
    match u64::try_from(ticks) {
        Ok(t) => start.saturating_add(t),
        Err(_) => Ticks::MAX,
    }
}

/// The highest index `m >= due` whose deadline ([`nth_deadline`]) is at or before `now`, for
/// a timer whose deadline `due` has been reached. The deadlines `due + 1 ..= m` were missed:
/// one firing covers them all and the next deadline is `m + 1`.
///
/// If deadline `due` has not in fact been reached, returns `due`.
pub fn last_due(start: Ticks, period_ns: u64, freq: u64, due: u64, now: Ticks) -> u64 {
    if period_ns == 0 || freq == 0 || now < start {
        return due;
    }
    let elapsed = u128::from(now - start);
    // deadline(n) <= now  <=>  ceil(n * P * f / 1e9) <= elapsed  <=>  n * P * f <= elapsed * 1e9
    // (elapsed is whole), so the last such n is floor(elapsed * 1e9 / (P * f)).
    let per = u128::from(period_ns) * u128::from(freq); // < 2^128: fits
    let m = (elapsed * NS_PER_S) / per; // elapsed * 1e9 < 2^94: fits
    u64::try_from(m).unwrap_or(u64::MAX).max(due)
}

#[cfg(test)]
mod tests {
    use super::*;

    const F: u64 = 62_500_000; // QEMU virt's counter
    const PI: u64 = 19_200_000; // the Pi's counter

    #[test]
    fn deadlines_are_absolute_and_never_early() {
        // 1 ms at 62.5 MHz is exact; 1 ms + 1 ns is not: each deadline rounds up alone.
        assert_eq!(nth_deadline(100, 1_000_000, 3, F), 100 + 3 * 62_500);
        for n in 0..10_000u64 {
            let d = nth_deadline(7, 1_000_001, n, PI);
            let exact_ns = u128::from(n) * 1_000_001;
            let ticks = u128::from(d - 7);
            // Never early, less than a tick late.
            assert!(ticks * NS_PER_S >= exact_ns * u128::from(PI), "n={n}");
            assert!(
                ticks == 0 || (ticks - 1) * NS_PER_S < exact_ns * u128::from(PI),
                "n={n}"
            );
        }
    }

    #[test]
    fn deadlines_saturate() {
        assert_eq!(nth_deadline(u64::MAX - 10, 1_000_000, 1, F), u64::MAX);
        assert_eq!(nth_deadline(0, u64::MAX, u64::MAX, u64::MAX), u64::MAX);
        assert_eq!(nth_deadline(5, 0, 1000, F), 5);
    }

    #[test]
    fn last_due_counts_whole_missed_periods() {
        let p = 1_000_000;
        let start = 1000;
        // Exactly at deadline 1: only 1 is due.
        assert_eq!(last_due(start, p, F, 1, nth_deadline(start, p, 1, F)), 1);
        // One tick before deadline 2.
        assert_eq!(
            last_due(start, p, F, 1, nth_deadline(start, p, 2, F) - 1),
            1
        );
        // At deadline 5: 2..=5 are due too.
        assert_eq!(last_due(start, p, F, 1, nth_deadline(start, p, 5, F)), 5);
        // Never below `due`, even if asked early.
        assert_eq!(last_due(start, p, F, 4, start + 10), 4);
        assert_eq!(last_due(start, p, F, 4, start - 1), 4);
    }

    #[test]
    fn last_due_agrees_with_nth_deadline() {
        for &(p, f) in &[(1_000_001u64, PI), (333_333, F), (10_000, PI), (7, F)] {
            for now in (0..5_000_000u64).step_by(997) {
                let m = last_due(0, p, f, 0, now);
                assert!(nth_deadline(0, p, m, f) <= now, "p={p} now={now}");
                assert!(nth_deadline(0, p, m + 1, f) > now, "p={p} now={now}");
            }
        }
    }
}
