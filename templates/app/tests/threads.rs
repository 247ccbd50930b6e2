//! An in-QEMU test: a plain `#![no_main]` program (`harness = false` in Cargo.toml) whose exit
//! status is the verdict. `cargo test` builds it and runs it through qemu-run.sh; a failed
//! `check!` prints `CHECK FAILED at file:line: …` and exits with status 1, which cargo reports
//! as a failed test.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::vec::Vec;
use preempt::sync::{mpsc, Arc, Mutex};
use preempt::thread;
use preempt::time::{Duration, Instant};
use preempt::{check, check_eq, println};

preempt::entry!(main);

fn main() {
    // Four threads increment one counter under a Mutex and report over a channel.
    let counter = Arc::new(Mutex::new(0u32));
    let (tx, rx) = mpsc::channel();
    let handles: Vec<_> = (0..4u32)
        .map(|id| {
            let counter = Arc::clone(&counter);
            let tx = tx.clone();
            thread::spawn(move || {
                for _ in 0..1000 {
                    *counter.lock().expect("lock") += 1;
                }
                tx.send(id).expect("send");
            })
        })
        .collect();
    drop(tx);
    for h in handles {
        check!(h.join().is_ok(), "a worker failed");
    }
    let mut ids: Vec<u32> = rx.iter().collect();
    ids.sort_unstable();
    check_eq!(ids, [0, 1, 2, 3]);
    check_eq!(*counter.lock().expect("lock"), 4000);

    // Sleeping is never early.
    let t = Instant::now();
    thread::sleep(Duration::from_millis(5));
    check!(t.elapsed() >= Duration::from_millis(5), "woke early");

    println!("threads test: ok");
}
