//! Threads' stacks and control blocks are freed: after 10,000 spawn/join cycles (and a round
//! of detached threads) heap use is back at its baseline.
#![no_std]
#![no_main]

use preempt::thread::{self, Builder};
use preempt::time::Duration;
use preempt::{check, check_eq, println};

preempt::entry!(main);

fn main() {
    // Warm up with the same pattern so the kernel's tables reach their steady capacity
    // (they grow once and are reused, never shrunk); that capacity is part of the baseline.
    cycles(100);
    detached_round();
    let baseline = preempt::heap::used();
    cycles(10_000);
    check_eq!(preempt::heap::used(), baseline);
    detached_round();
    check_eq!(preempt::heap::used(), baseline);
    check!(preempt::heap::free() > 1024 * 1024);
    println!("churn: ok (baseline {} bytes)", baseline);
}

/// Spawns 100 threads and drops their handles; they free themselves when they end.
fn detached_round() {
    for _ in 0..100 {
        drop(thread::spawn(|| ()));
    }
    thread::sleep(Duration::from_millis(2));
}

/// Spawns and joins `n` threads, alternating below and above main's priority (so both the
/// "joiner blocks" and the "child preempts at spawn" paths are taken).
fn cycles(n: u32) {
    for i in 0..n {
        let prio = if i % 2 == 0 { 100 } else { 200 };
        let h = Builder::new()
            .priority(prio)
            .stack_size(16 * 1024)
            .spawn(move || i)
            .expect("spawn");
        check_eq!(h.join().expect("join"), i);
    }
}
