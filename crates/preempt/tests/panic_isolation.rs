//! A thread that panics ends alone: its message is printed with its name, its `join` returns
//! `Err`, and every other thread (and `main`) keeps running.
//! xtask: expect-output=thread 'doomed' panicked at
//! xtask: expect-output=deliberate panic number 7
#![no_std]
#![no_main]

use core::sync::atomic::{AtomicU64, Ordering};
use preempt::thread::{self, Builder};
use preempt::time::Duration;
use preempt::{check, check_eq, println};

preempt::entry!(main);

static BYSTANDER: AtomicU64 = AtomicU64::new(0);

fn main() {
    let bystander = Builder::new()
        .name("bystander")
        .priority(100)
        .spawn(|| {
            for _ in 0..20 {
                BYSTANDER.fetch_add(1, Ordering::Relaxed);
                thread::sleep(Duration::from_micros(200));
            }
            "still here"
        })
        .expect("spawn");
    let doomed = Builder::new()
        .name("doomed")
        .priority(100)
        .spawn(|| {
            thread::sleep(Duration::from_micros(500));
            let n = core::hint::black_box(7);
            if n == 7 {
                panic!("deliberate panic number {n}");
            }
            n
        })
        .expect("spawn");
    let err = doomed
        .join()
        .expect_err("a panicking thread must not join Ok");
    check!(!err.is_fault());
    check_eq!(bystander.join().expect("bystander"), "still here");
    check_eq!(BYSTANDER.load(Ordering::Relaxed), 20);
    // Many panicking threads do not break the system.
    for i in 0..20u32 {
        let h = thread::spawn(move || {
            if core::hint::black_box(i) < 100 {
                panic!("burst {i}")
            } else {
                i
            }
        });
        check!(h.join().is_err());
    }
    check_eq!(thread::spawn(|| 1 + 1).join().expect("after panics"), 2);
    println!("panic_isolation: ok");
}
