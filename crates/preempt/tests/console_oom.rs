//! Printing needs no heap: a thread that exhausts the heap panics, and its report is printed
//! while another thread is in the middle of a long line (so the report waits for the console);
//! afterwards, with the heap still exhausted, short and long lines still print.
//! xtask: expect-output=thread 'hog' panicked at
//! xtask: expect-output=memory allocation of 64 bytes failed
//! xtask: expect-output=scribe: ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~ end
//! xtask: expect-output=console_oom: ok
//! xtask: reject-output=~
#![no_std]
#![no_main]
extern crate alloc;

use alloc::alloc::{alloc, Layout};
use alloc::vec::Vec;
use core::fmt;
use preempt::thread::{self, Builder};
use preempt::time::Duration;
use preempt::{check, println};

preempt::entry!(main);

/// `~` repeated 300 times, sleeping after every 60.
struct Tildes;

impl fmt::Display for Tildes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for _ in 0..5 {
            for _ in 0..6 {
                f.write_str("~~~~~~~~~~")?;
            }
            thread::sleep(Duration::from_micros(150));
        }
        Ok(())
    }
}

/// Allocates (and leaks) blocks of shrinking size until not even 16 bytes are left.
fn exhaust_heap() {
    for size in [1 << 20, 1 << 12, 256, 16] {
        let layout = Layout::from_size_align(size, 8).expect("layout");
        // SAFETY: `layout` has a non-zero size; the blocks are leaked on purpose (`black_box`
        // keeps the allocations from being optimised away).
        while !core::hint::black_box(unsafe { alloc(layout) }).is_null() {}
    }
}

/// `~` repeated 300 times (so the line holds the console), then a 2 ms pause.
struct Scribble;

impl fmt::Display for Scribble {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for _ in 0..30 {
            f.write_str("~~~~~~~~~~")?;
        }
        thread::sleep(Duration::from_millis(2));
        Ok(())
    }
}

fn main() {
    let scribe = Builder::new()
        .name("scribe")
        .priority(120)
        .spawn(|| println!("scribe: {Scribble} end"))
        .expect("spawn");
    let hog = Builder::new()
        .name("hog")
        .priority(120)
        .spawn(|| {
            thread::sleep(Duration::from_micros(500));
            exhaust_heap();
            let v: Vec<u8> = core::hint::black_box(Vec::with_capacity(64));
            v.len()
        })
        .expect("spawn");
    check!(hog.join().is_err());
    check!(scribe.join().is_ok());
    // Only the reaped threads' stacks are free again.
    check!(preempt::heap::free() < 1024 * 1024, "heap not exhausted");
    println!("a short line with the heap exhausted");
    println!("a long line with the heap exhausted: {}", Tildes);
    println!("console_oom: ok");
}
