//! Threads' stacks and control blocks are freed: after 10,000 spawn/join cycles (and a round
//! of detached threads) heap use is back at its baseline.
#![no_std]
#![no_main]

use preempt::thread::{self, Builder};
use preempt::time::Duration;
use preempt::{check, check_eq, println};

preempt::entry!(main);

fn main() {
    // Warm up once so lazily allocated kernel structures are in the baseline.
    thread::spawn(|| ()).join().expect("warm-up");
    let baseline = preempt::heap::used();
    for i in 0..10_000u32 {
        let prio = if i % 2 == 0 { 100 } else { 200 };
        let h = Builder::new().priority(prio).stack_size(16 * 1024).spawn(move || i).expect("spawn");
        check_eq!(h.join().expect("join"), i);
    }
    check_eq!(preempt::heap::used(), baseline);
    for _ in 0..100 {
        drop(thread::spawn(|| ()));
    }
    thread::sleep(Duration::from_millis(2));
    check_eq!(preempt::heap::used(), baseline);
    check!(preempt::heap::free() > 1024 * 1024);
    println!("churn: ok (baseline {} bytes)", baseline);
}
