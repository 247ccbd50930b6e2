//! A `Display` that panics (or faults) in the middle of a line too long for the console's stack
//! buffer ends only the printing thread: its `join` is `Err`, the report is printed, other
//! threads keep printing (the console is not left locked), and the program ends normally. A
//! `Display` that prints from inside a long line does not deadlock either.
//! xtask: expect-output=thread 'printer' panicked at
//! xtask: expect-output=display gave up halfway
//! xtask: expect-output=fault in thread 'faulter': data abort
//! xtask: expect-output=printed from inside a Display
//! xtask: expect-output=bystander line 19
//! xtask: expect-output=console_panic: ok
//! xtask: timeout=60
#![no_std]
#![no_main]

use core::fmt;
use core::sync::atomic::{AtomicU32, Ordering};
use preempt::thread::{self, Builder};
use preempt::time::Duration;
use preempt::{check, check_eq, println};

preempt::entry!(main);

static BYSTANDER_LINES: AtomicU32 = AtomicU32::new(0);

/// 200 bytes, then 200 more (past the 256-byte buffer), then a panic.
struct Bomb;

impl fmt::Display for Bomb {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for _ in 0..2 {
            for _ in 0..20 {
                f.write_str("0123456789")?;
            }
        }
        if core::hint::black_box(true) {
            panic!("display gave up halfway");
        }
        Ok(())
    }
}

/// 300 bytes, then a read of an unmapped address.
struct BadPointer;

impl fmt::Display for BadPointer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for _ in 0..30 {
            f.write_str("0123456789")?;
        }
        let p = core::hint::black_box(0xffff_ffff_fff0usize) as *const u64;
        // SAFETY: not safe at all — this test wants the fault.
        let v = unsafe { p.read_volatile() };
        write!(f, "{v}")
    }
}

/// 300 bytes, then a `println!` of its own, then more.
struct Nested;

impl fmt::Display for Nested {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for _ in 0..30 {
            f.write_str("0123456789")?;
        }
        println!("printed from inside a Display");
        f.write_str(" and the rest")
    }
}

/// A long line that does not panic.
struct Long(char);

impl fmt::Display for Long {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for _ in 0..400 {
            write!(f, "{}", self.0)?;
        }
        Ok(())
    }
}

fn main() {
    let bystander = Builder::new()
        .name("bystander")
        .priority(120)
        .spawn(|| {
            for i in 0..20 {
                println!("bystander line {i}");
                BYSTANDER_LINES.fetch_add(1, Ordering::Relaxed);
                thread::sleep(Duration::from_micros(300));
            }
        })
        .expect("spawn");
    let printer = Builder::new()
        .name("printer")
        .priority(120)
        .spawn(|| {
            thread::sleep(Duration::from_micros(1000));
            println!("doomed: {}", Bomb);
            "unreachable"
        })
        .expect("spawn");
    let err = printer
        .join()
        .expect_err("a panicking Display must fail its thread");
    check!(!err.is_fault());
    let faulter = Builder::new()
        .name("faulter")
        .priority(120)
        .spawn(|| println!("doomed too: {}", BadPointer))
        .expect("spawn");
    let err = faulter
        .join()
        .expect_err("a faulting Display must fail its thread");
    check!(err.is_fault());
    let nester = thread::spawn(|| println!("outer: {}", Nested));
    check!(nester.join().is_ok());
    // The console works for every kind of line after the printer died holding it.
    println!("after the panic: {}", Long('a'));
    let h = thread::spawn(|| println!("from another thread: {}", Long('b')));
    check!(h.join().is_ok());
    bystander.join().expect("bystander");
    check_eq!(BYSTANDER_LINES.load(Ordering::Relaxed), 20);
    println!("console_panic: ok");
}
