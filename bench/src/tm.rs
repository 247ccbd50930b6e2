//! The Thread-Metric reporting side: periods, scores, priorities.
//!
//! A Thread-Metric test counts operations its worker threads complete in a reporting period.
//! Here the period is 10^8 instructions — 100 ms of virtual time at icount shift 0 — and the
//! score is the count of the second period (the first includes start-up). The reporter is
//! `main`, priority [`REPORTER_PRIORITY`], above every worker: it sleeps until each period
//! ends (on the ordinary tick, like the original), reads the workers' counters and prints.
//!
//! Priorities: Thread-Metric numbers them 1 (highest) to 31; [`priority`] maps TM priority
//! `p` to preempt priority `REPORTER_PRIORITY − p`, so "higher" stays higher and every worker
//! stays below the reporter.
//!
//! Configuration ([`setup`], the same for every test, as the rules require): the default 1 kHz
//! tick, and round-robin time slicing off. The Thread-Metric port of ThreadX creates every
//! thread without a time slice; with preempt's default one-tick slice the tick would also
//! rotate the cooperative test's threads, and a thread rotated between its increment and its
//! yield loses a turn, so the counters drift apart and the test's ±1 balance check fails.

use core::time::Duration;

use preempt::println;
use preempt::thread;
use preempt::time::Instant;

use crate::{report_value, Unit};

/// One reporting period: 10^8 instructions at icount shift 0.
pub const PERIOD: Duration = Duration::from_millis(100);
/// Periods run; the score is the last one's.
pub const PERIODS: u32 = 2;
/// Priority of the reporter (`main`'s default priority).
pub const REPORTER_PRIORITY: u8 = preempt::thread::DEFAULT_PRIORITY;

/// preempt priority of Thread-Metric priority `tm` (1 = highest … 31 = lowest).
pub const fn priority(tm: u8) -> u8 {
    REPORTER_PRIORITY - tm
}

/// The Thread-Metric configuration: call first in every Thread-Metric kernel.
pub fn setup(name: &str) {
    crate::init(name);
    preempt::config::set_time_slice(preempt::config::MAX_TIME_SLICE).expect("time slice");
}

/// Runs the reporting periods and prints the score of the last one as metric `name`.
/// `total` returns the running total of operations; `check` is called at the end of every
/// period and returns `Err` with a reason when the workers' counters are out of balance.
///
/// Returns the score.
pub fn report(
    name: &str,
    total: impl Fn() -> u64,
    check: impl Fn() -> Result<(), alloc::string::String>,
) -> u64 {
    let start = Instant::now();
    let mut last = total();
    let mut score = 0;
    for period in 1..=PERIODS {
        thread::sleep_until(start + PERIOD * period);
        let now = total();
        score = now - last;
        last = now;
        println!("{name}: period {period}: {score} operations");
        if let Err(why) = check() {
            println!("BENCH-ERROR {name}: {why}");
            preempt::exit(1);
        }
    }
    report_value(name, Unit::Score, score);
    score
}
