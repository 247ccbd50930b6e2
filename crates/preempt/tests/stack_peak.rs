//! `JoinHandle::stack_peak` and `Thread::stack_peak`: how much of its stack a thread has used
//! at its deepest, to within 64 bytes.
//!
//! A thread that recurses through twenty 1 KiB frames reports between 20 and 24 KiB; a
//! thread that does almost nothing, under 4 KiB. Once a thread has finished its peak no longer
//! changes (ticks and other threads run meanwhile), and stays readable through a `Thread`
//! after the join. `main` sees a peak of its own between 0 and its stack size, and a thread
//! whose stack overflowed reports the whole stack.
//! xtask: timeout=30
//! xtask: expect-output=stack_peak: ok
#![no_std]
#![no_main]

use core::hint::black_box;
use preempt::thread::{self, Builder, JoinHandle};
use preempt::time::{Duration, Instant};
use preempt::{check, check_eq, println};

preempt::entry!(main);

const KIB: usize = 1024;
/// The stack `main` runs on (the kernel's `MAIN_STACK_SIZE`).
const MAIN_STACK: usize = 128 * KIB;
/// Above `main`: on one core a thread spawned at this priority has finished when `spawn`
/// returns; with several it may start on another core while `main` goes on.
const HIGH: u8 = 200;

/// Waits (bounded) until the thread of `h` has finished.
fn wait_finished<T>(h: &JoinHandle<T>) {
    let t0 = Instant::now();
    while !h.is_finished() {
        check!(
            t0.elapsed() < Duration::from_millis(500),
            "{:?} did not finish",
            h.thread().name()
        );
        thread::sleep(Duration::from_millis(1));
    }
}

/// Recursion through `levels` frames of 1 KiB (plus the call's own 16 bytes), each written
/// whole; `usize::MAX` levels overflow any stack.
#[inline(never)]
fn use_stack(levels: usize) -> u64 {
    let mut frame = [0u8; KIB];
    frame[levels % KIB] = levels as u8;
    let frame = black_box(&mut frame);
    let below = if black_box(levels) > 1 {
        use_stack(levels - 1)
    } else {
        0
    };
    below + u64::from(frame[KIB - 1])
}

fn main() {
    let deep = Builder::new()
        .name("deep")
        .priority(HIGH)
        .stack_size(64 * KIB)
        .spawn(|| black_box(use_stack(20)))
        .expect("spawn");
    wait_finished(&deep);
    let peak = deep.stack_peak();
    check!(
        (20 * KIB..=24 * KIB).contains(&peak),
        "20 KiB of frames reported as a peak of {} bytes",
        peak
    );
    thread::sleep(Duration::from_millis(2));
    check_eq!(deep.stack_peak(), peak);
    check_eq!(deep.thread().stack_peak(), peak);
    let t = deep.thread().clone();
    check!(deep.join().is_ok());
    check_eq!(t.stack_peak(), peak);

    let small = Builder::new()
        .name("small")
        .priority(HIGH)
        .spawn(|| black_box(40) + 2)
        .expect("spawn");
    wait_finished(&small);
    let small_peak = small.stack_peak();
    check!(
        small_peak > 0 && small_peak < 4 * KIB,
        "a thread doing almost nothing reported a peak of {} bytes",
        small_peak
    );
    check_eq!(small.join().expect("small"), 42);

    let main_peak = thread::current().stack_peak();
    check!(
        main_peak > 0 && main_peak < MAIN_STACK,
        "main's peak is {} bytes",
        main_peak
    );

    let overflow = Builder::new()
        .name("overflow")
        .priority(HIGH)
        .stack_size(16 * KIB)
        .spawn(|| black_box(use_stack(usize::MAX)))
        .expect("spawn");
    wait_finished(&overflow);
    check_eq!(overflow.stack_peak(), 16 * KIB);
    let t = overflow.thread().clone();
    check!(overflow.join().is_err_and(|e| e.is_fault()));
    check_eq!(t.stack_peak(), 16 * KIB);
    println!("stack_peak: ok");
}
