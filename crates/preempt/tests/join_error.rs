//! `JoinError` says what happened: for a panic, the formatted message (`message()`, and in
//! `Display` after the thread's name), cut at 1 KiB for a long one; for a fault, what the
//! fault was and where ("stack overflow" first for a guard-page hit). The console report of a
//! panic prints the same text, formatted once.
//! xtask: expect-output=thread 'formatted' panicked at
//! xtask: expect-output=value 42 is not 41
//! xtask: expect-output=join_error: ok
//! xtask: timeout=60
#![no_std]
#![no_main]

extern crate alloc;

use alloc::format;
use alloc::string::ToString;
use core::fmt;
use preempt::thread::{Builder, JoinError};
use preempt::{check, check_eq, println};

preempt::entry!(main);

fn fail(name: &str, f: impl FnOnce() + Send + 'static) -> JoinError {
    Builder::new()
        .name(name)
        .spawn(f)
        .expect("spawn")
        .join()
        .expect_err("the thread must fail")
}

/// Counts how often it is formatted.
struct Counted;
static FORMATTED: core::sync::atomic::AtomicU32 = core::sync::atomic::AtomicU32::new(0);
impl fmt::Display for Counted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        FORMATTED.fetch_add(1, core::sync::atomic::Ordering::Relaxed);
        f.write_str("counted")
    }
}

#[inline(never)]
fn recurse(depth: u64) -> u64 {
    let pad = core::hint::black_box([depth; 64]);
    if depth == 0 {
        0
    } else {
        pad[3] + recurse(depth - 1)
    }
}

fn main() {
    let v = core::hint::black_box(42);
    let e = fail("formatted", move || panic!("value {} is not {}", v, 41));
    check!(!e.is_fault());
    check_eq!(e.message(), "value 42 is not 41");
    check_eq!(
        e.to_string(),
        "thread 'formatted' panicked: value 42 is not 41"
    );

    let e = fail("counted", || panic!("{}", Counted));
    check_eq!(e.message(), "counted");
    check_eq!(
        FORMATTED.load(core::sync::atomic::Ordering::Relaxed),
        1,
        "the panic message is formatted once"
    );

    let e = fail("long", || panic!("{}", "é".repeat(2000)));
    check!(e.message().ends_with('…'), "a long message is cut");
    check!(
        e.message().len() <= 1024 + '…'.len_utf8(),
        "cut at 1 KiB: {}",
        e.message().len()
    );
    check!(e.message().starts_with("éé"));

    let e = fail("null", || {
        let p = core::hint::black_box(0x10usize) as *const u64;
        // SAFETY: not safe at all: this test wants the fault (page 0 is unmapped).
        core::hint::black_box(unsafe { p.read_volatile() });
    });
    check!(e.is_fault());
    check!(
        e.message().starts_with("data abort"),
        "fault message: {}",
        e.message()
    );
    check!(
        e.message().contains("at address 0x10"),
        "fault message: {}",
        e.message()
    );
    check!(
        e.to_string()
            .starts_with("thread 'null' faulted: data abort"),
        "{}",
        e
    );

    let e = Builder::new()
        .name("deep")
        .stack_size(16 * 1024)
        .spawn(|| core::hint::black_box(recurse(1_000_000)))
        .expect("spawn")
        .join()
        .expect_err("overflow");
    check!(e.is_fault());
    check!(
        e.message()
            .starts_with("stack overflow of its 16384-byte stack"),
        "overflow message: {}",
        e.message()
    );
    println!("{}", format!("last: {e}").len() > 10);
    println!("join_error: ok");
}
