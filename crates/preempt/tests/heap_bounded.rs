//! Heap operations take bounded time whatever the heap's state: with 20,000 small holes
//! scattered through the heap, one allocation that fits none of them, and its free, each take
//! a few hundred instructions (a first-fit heap walks every hole, with interrupts masked).
//! Also checks that `heap::used`/`heap::free` follow allocations exactly.
//!
//! Timed with the system counter (16 ns resolution in QEMU), one instruction per ns under
//! `-icount shift=0`; a tick landing inside a timed call adds ~1 µs, well within the bound.
//!
//! xtask: timeout=120
#![no_std]
#![no_main]

extern crate alloc;

use alloc::alloc::{alloc, dealloc, Layout};
use alloc::vec::Vec;
use preempt::time::Instant;
use preempt::{check, check_eq, println};

preempt::entry!(main);

/// Small holes left in the heap.
const HOLES: usize = 20_000;
/// What one allocation or free may take, in ns (instructions under -icount).
const BOUND_NS: u64 = 20_000;

fn main() {
    let baseline = preempt::heap::used();
    let small = Layout::from_size_align(48, 8).unwrap();
    // Pairs of small blocks; freeing the first of each pair leaves HOLES holes of 48 bytes
    // that no neighbour can merge with.
    let mut kept = Vec::with_capacity(HOLES);
    let mut holes = Vec::with_capacity(HOLES);
    for _ in 0..HOLES {
        // SAFETY: the layout has a non-zero size.
        let (a, b) = unsafe { (alloc(small), alloc(small)) };
        let (a, b) = core::hint::black_box((a, b));
        check!(!a.is_null() && !b.is_null());
        holes.push(a);
        kept.push(b);
    }
    for &p in &holes {
        // SAFETY: `p` came from `alloc(small)` and is freed once.
        unsafe { dealloc(p, small) };
    }

    let big = Layout::from_size_align(1024, 8).unwrap();
    let before = preempt::heap::used();
    let free_before = preempt::heap::free();
    let (mut worst_alloc, mut worst_free) = (0u64, 0u64);
    for _ in 0..100 {
        let t0 = Instant::now();
        // SAFETY: the layout has a non-zero size.
        let p = core::hint::black_box(unsafe { alloc(big) });
        let t1 = Instant::now();
        check!(!p.is_null());
        check!(preempt::heap::used() >= before + 1024);
        check!(preempt::heap::free() <= free_before - 1024);
        let t2 = Instant::now();
        // SAFETY: `p` came from `alloc(big)` and is freed once.
        unsafe { dealloc(p, big) };
        let t3 = Instant::now();
        check_eq!(preempt::heap::used(), before);
        worst_alloc = worst_alloc.max(t1.duration_since(t0).as_nanos() as u64);
        worst_free = worst_free.max(t3.duration_since(t2).as_nanos() as u64);
    }
    println!(
        "heap_bounded: worst alloc {worst_alloc} ns, worst free {worst_free} ns with {HOLES} holes"
    );
    check!(
        worst_alloc <= BOUND_NS,
        "an allocation took {worst_alloc} ns (bound {BOUND_NS})"
    );
    check!(
        worst_free <= BOUND_NS,
        "a free took {worst_free} ns (bound {BOUND_NS})"
    );

    for &p in &kept {
        // SAFETY: `p` came from `alloc(small)` and is freed once.
        unsafe { dealloc(p, small) };
    }
    drop(kept);
    drop(holes);
    check_eq!(preempt::heap::used(), baseline);
    println!("heap_bounded: ok");
}
