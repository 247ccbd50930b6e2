//! Round robin: N busy threads of equal priority that never yield get equal CPU shares
//! (within ±5%), and each gets many separate time slices — with the slice set in ticks
//! (`set_time_slice_ticks` at `set_tick_hz(10_000)`: 100 µs) and as a `Duration`
//! (`set_time_slice`: 250 µs), whose out-of-range values are refused.
//!
//! Time slicing is per-core policy: `main` and the workers share one core on purpose (with
//! several cores each worker would have a core of its own, or share one with a neighbour).
#![no_std]
#![no_main]

extern crate alloc;

use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use preempt::thread::{self, Builder};
use preempt::time::Duration;
use preempt::{check, check_eq, cpu, println};

preempt::entry!(main);

const N: usize = 4;
static STOP: AtomicBool = AtomicBool::new(false);
static COUNTS: [AtomicU64; N] = [const { AtomicU64::new(0) }; N];
static SWITCHES: [AtomicU64; N] = [const { AtomicU64::new(0) }; N];
static LAST: AtomicU64 = AtomicU64::new(u64::MAX);

fn main() {
    let one = 1 << cpu::current();
    check!(thread::set_affinity(one).is_ok(), "pinning main");
    preempt::config::set_tick_hz(10_000).expect("tick rate");
    check!(preempt::config::set_tick_hz(0).is_err());
    check!(preempt::config::set_time_slice_ticks(0).is_err());
    check_eq!(preempt::config::time_slice(), Duration::from_micros(100));
    // 40 ms among four: about 100 slices of 100 µs each.
    phase(one, 50);

    use preempt::config::{
        set_time_slice, time_slice, ConfigError, MAX_TIME_SLICE, MIN_TIME_SLICE,
    };
    let short = MIN_TIME_SLICE - Duration::from_nanos(1);
    check_eq!(
        set_time_slice(short),
        Err(ConfigError::TimeSliceOutOfRange(short))
    );
    let long = MAX_TIME_SLICE + Duration::from_nanos(1);
    check_eq!(
        set_time_slice(long),
        Err(ConfigError::TimeSliceOutOfRange(long))
    );
    check!(
        preempt::config::set_time_slice_ticks(u32::MAX).is_err(),
        "a slice of 5 days"
    );
    check_eq!(time_slice(), Duration::from_micros(100)); // refused settings change nothing
    set_time_slice(Duration::from_micros(250)).expect("250 us");
    check_eq!(time_slice(), Duration::from_micros(250));
    check_eq!(preempt::config::time_slice_ticks(), 3); // 250 us in 100 us ticks, rounded
                                                       // 40 ms among four: about 40 slices of 250 µs each.
    phase(one, 25);
    set_time_slice(preempt::config::DEFAULT_TIME_SLICE).expect("default");
    println!("round_robin: ok");
}

/// Four workers pinned to `one` share it for 40 ms: equal shares, at least `min_slices`
/// separate turns each.
fn phase(one: u32, min_slices: u64) {
    STOP.store(false, Ordering::Relaxed);
    LAST.store(u64::MAX, Ordering::Relaxed);
    for i in 0..N {
        COUNTS[i].store(0, Ordering::Relaxed);
        SWITCHES[i].store(0, Ordering::Relaxed);
    }
    let workers: Vec<_> = (0..N)
        .map(|i| {
            Builder::new()
                .name(alloc::format!("w{i}"))
                .priority(50)
                .affinity(one)
                .spawn(move || {
                    while !STOP.load(Ordering::Relaxed) {
                        COUNTS[i].fetch_add(1, Ordering::Relaxed);
                        if LAST.swap(i as u64, Ordering::Relaxed) != i as u64 {
                            SWITCHES[i].fetch_add(1, Ordering::Relaxed);
                        }
                    }
                })
                .expect("spawn")
        })
        .collect();
    // main (priority 128) sleeps while the workers share the CPU.
    thread::sleep(Duration::from_millis(40));
    STOP.store(true, Ordering::Relaxed);
    for w in workers {
        w.join().expect("worker");
    }
    let counts: Vec<u64> = COUNTS.iter().map(|c| c.load(Ordering::Relaxed)).collect();
    let total: u64 = counts.iter().sum();
    let mean = total / N as u64;
    println!("round_robin: counts {:?}", counts);
    for (i, &c) in counts.iter().enumerate() {
        let dev = c.abs_diff(mean) * 1000 / mean.max(1);
        check!(
            dev <= 50,
            "worker {} got {} of mean {} ({}.{}% off)",
            i,
            c,
            mean,
            dev / 10,
            dev % 10
        );
        let s = SWITCHES[i].load(Ordering::Relaxed);
        check!(
            s >= min_slices,
            "worker {} ran in only {} separate slices",
            i,
            s
        );
    }
    check_eq!(counts.len(), N);
    println!(
        "round_robin: slices {:?}",
        SWITCHES
            .iter()
            .map(|s| s.load(Ordering::Relaxed))
            .collect::<Vec<_>>()
    );
}
