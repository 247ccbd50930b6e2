//! A deterministic, varied heap workload (the `heap` and `latency` kernels): sizes from a few
//! bytes to 64 KiB, spread evenly over their logarithm (as many 4–8 byte requests as 32–64 KiB
//! ones), mostly 8- or 16-byte aligned, some 64-byte and some page-aligned (like thread stacks).
//! The pattern comes from a fixed-seed xorshift generator, so every run is the same.

use alloc::alloc::{alloc, dealloc, Layout};
use core::ptr::NonNull;

/// A xorshift64* pseudo-random generator.
pub struct Rng(u64);

impl Rng {
    /// A generator with the given seed (any value; 0 is replaced).
    pub const fn new(seed: u64) -> Self {
        Self(if seed == 0 {
            0x9e37_79b9_7f4a_7c15
        } else {
            seed
        })
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A value in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
}

/// A request size: `2^k + r` with `k` in 2..=15 and `r < 2^k` (4 bytes to 64 KiB).
pub fn size(rng: &mut Rng) -> usize {
    let k = 2 + rng.below(14);
    let base = 1u64 << k;
    (base + rng.below(base)) as usize
}

/// A request: [`size`] with an alignment of 8 or 16 (15 in 16), 64 (1 in 32) or 4096 (1 in 32).
pub fn layout(rng: &mut Rng) -> Layout {
    let size = size(rng);
    let align = match rng.below(32) {
        0 => 4096,
        1 => 64,
        n if n % 2 == 0 => 8,
        _ => 16,
    };
    Layout::from_size_align(size, align).expect("valid layout")
}

/// A live heap block, freed when dropped.
pub struct Block {
    ptr: NonNull<u8>,
    layout: Layout,
}

impl Block {
    /// Allocates `layout` (non-zero size); `None` when the heap is out of memory.
    pub fn new(layout: Layout) -> Option<Self> {
        // SAFETY: every layout made here has a non-zero size.
        let ptr = NonNull::new(unsafe { alloc(layout) })?;
        // Touch the block so the allocation is not optimised away.
        // SAFETY: the block has at least one byte.
        unsafe { ptr.as_ptr().write_volatile(1) };
        Some(Self { ptr, layout })
    }
}

impl Drop for Block {
    fn drop(&mut self) {
        // SAFETY: `ptr` came from `alloc(layout)` and is freed only here.
        unsafe { dealloc(self.ptr.as_ptr(), self.layout) }
    }
}

// SAFETY: a block is plain memory owned by whoever holds it.
unsafe impl Send for Block {}
