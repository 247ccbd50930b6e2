//! The global heap, one call at a time (`alloc::alloc::alloc` / `dealloc`, i.e. the
//! `#[global_allocator]`, lock and IRQ masking included):
//! - `alloc_worst`: one allocation; its `max` is the worst case seen;
//! - `free_worst`: one free; likewise.
//!
//! 4,096 live blocks of the varied workload of `preempt_bench::load` (4 bytes to 64 KiB, some
//! page-aligned); each step frees a random one and allocates a new one in its place, so the
//! heap holds ~30 MiB in many fragments, as a long-running program's does. Samples a tick
//! fell into are discarded. The sample count is the same in `--quick` runs (the heap's shape,
//! and so the maximum, depends on how many steps were taken).
//!
//! xtask: timeout=120
#![no_std]
#![no_main]

extern crate alloc;

use alloc::alloc::{alloc, dealloc, Layout};
use alloc::vec::Vec;

use preempt_bench::load::{layout, Rng};
use preempt_bench::{init, read, report, since, ticks, Unit};

preempt::entry!(main);

const SLOTS: usize = 4096;
/// Samples per metric, in both modes.
const OPS: usize = 10_000;

fn main() {
    init("heap");
    let mut rng = Rng::new(0x5eed_0001);
    let mut slots: Vec<(*mut u8, Layout)> = Vec::with_capacity(SLOTS);
    for _ in 0..SLOTS {
        let l = layout(&mut rng);
        // SAFETY: layouts from `load::layout` have a non-zero size.
        let p = unsafe { alloc(l) };
        assert!(!p.is_null(), "out of memory");
        slots.push((p, l));
    }
    let mut allocs = Vec::with_capacity(OPS);
    let mut frees = Vec::with_capacity(OPS);
    while allocs.len() < OPS || frees.len() < OPS {
        let i = rng.below(SLOTS as u64) as usize;
        let (old, old_layout) = slots[i];
        let tick = ticks();
        let a = read();
        // SAFETY: `old` came from `alloc(old_layout)` and is freed once (replaced below).
        unsafe { dealloc(core::hint::black_box(old), old_layout) };
        let b = read();
        if ticks() == tick && frees.len() < OPS {
            frees.push(since(a, b));
        }
        let l = layout(&mut rng);
        let tick = ticks();
        let a = read();
        // SAFETY: layouts from `load::layout` have a non-zero size.
        let p = core::hint::black_box(unsafe { alloc(l) });
        let b = read();
        assert!(!p.is_null(), "out of memory");
        if ticks() == tick && allocs.len() < OPS {
            allocs.push(since(a, b));
        }
        slots[i] = (p, l);
    }
    for (p, l) in slots {
        // SAFETY: each live block is freed once.
        unsafe { dealloc(p, l) };
    }
    report("alloc_worst", Unit::Instructions, &mut allocs);
    report("free_worst", Unit::Instructions, &mut frees);
}
