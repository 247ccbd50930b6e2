//! An interrupt handler that overflows the core's exception stack stops the whole system with
//! a report (exit status 102) — it must neither hang nor spill into memory below that stack.
//!
//! The handler of a software-generated interrupt recurses through 1 KiB frames without end.
//! xtask: expect-exit=102
//! xtask: expect-output=stack overflow
//! xtask: expect-output=exception stack
//! xtask: timeout=30
#![no_std]
#![no_main]

use core::hint::black_box;
use preempt::{irq, println};

preempt::entry!(main);

const SGI: u32 = 3;

/// Recursion with 1 KiB frames, each written whole, until the stack runs out.
#[inline(never)]
fn deep(depth: usize) -> u64 {
    let mut frame = [0u8; 1024];
    frame[depth % 1024] = depth as u8;
    let frame = black_box(&mut frame);
    let below = if depth < black_box(usize::MAX) {
        deep(depth + 1)
    } else {
        0
    };
    below + u64::from(frame[1023])
}

fn handler(_line: u32) {
    black_box(deep(0));
}

fn main() {
    irq::register(irq::sgi_line(SGI), handler).expect("register");
    println!("exception_stack_overflow: raising SGI {SGI}");
    irq::trigger_software(SGI).expect("sgi");
    preempt::testing::_fail(
        file!(),
        line!(),
        format_args!("the overflowing interrupt handler returned"),
    );
}
