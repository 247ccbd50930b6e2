//! Thread names are printed with control characters escaped, so a name cannot forge console
//! lines: a thread named "x\nCHECK FAILED forged" that panics, one that faults, and their
//! `JoinError`s all print the name on one line, as `x\nCHECK FAILED forged`.
//! xtask: expect-output=thread 'x\nCHECK FAILED forged' panicked at
//! xtask: expect-output=fault in thread 'y\r\nCHECK FAILED forged\t\u{1b}[2K\\n': data abort
//! xtask: expect-output=join: thread 'x\nCHECK FAILED forged' panicked
//! xtask: expect-output=join: thread 'y\r\nCHECK FAILED forged\t\u{1b}[2K\\n' faulted
//! xtask: expect-output=name_escape: ok
//! xtask: reject-output=CHECK FAILED forged
#![no_std]
#![no_main]

use preempt::thread::Builder;
use preempt::{check, println};

preempt::entry!(main);

fn main() {
    let panicker = Builder::new()
        .name("x\nCHECK FAILED forged")
        .spawn(|| {
            if core::hint::black_box(true) {
                panic!("deliberate");
            }
        })
        .expect("spawn");
    let err = panicker.join().expect_err("the thread panics");
    check!(!err.is_fault());
    println!("join: {err}");

    let faulter = Builder::new()
        .name("y\r\nCHECK FAILED forged\t\u{1b}[2K\\n")
        .spawn(|| {
            let p = core::hint::black_box(0xffff_ffff_fff0usize) as *const u64;
            // SAFETY: not safe at all — this test wants the fault.
            let v = unsafe { p.read_volatile() };
            core::hint::black_box(v);
        })
        .expect("spawn");
    let err = faulter.join().expect_err("the thread faults");
    check!(err.is_fault());
    println!("join: {err}");
    println!("name_escape: ok");
}
