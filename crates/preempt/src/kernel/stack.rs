//! Thread stacks: heap allocations with an unmapped guard page below them, painted so that
//! their peak use can be measured.
//!
//! Layout of one allocation (page-aligned): `[guard page][usable stack][header]`. The guard
//! page is unmapped for the stack's whole life (`mmu::unmap_page`), so the first access past
//! the low end faults at once — in the thread's code, or in the interrupt vector that finds no
//! room for its frame — and the fault handler, on the exception stack, ends that thread
//! alone. Nothing else can be overwritten by an overflow. The page is mapped again before the
//! allocation is freed. This replaces the canary of earlier versions, which was checked only
//! when the thread was switched out (19 instructions on every switch) and caught an overflow
//! after the damage was done.
//!
//! Peak use: the usable stack is filled with [`PAINT`] at spawn; the deepest word that no
//! longer holds it is the deepest the thread has written. [`Stack::peak`] finds it by
//! reading one word per 64-byte block from the bottom up to the first changed block, then
//! every word of the 1 KiB below that block — so the figure is exact to the word unless the
//! thread's deepest writes lie more than 1 KiB below a stretch in which it left the first
//! word of every 64-byte block unwritten (a large uninitialised buffer), which it then
//! under-counts. Cost: painting is about one instruction per 32 bytes of stack at spawn, the
//! scan about one per 20 bytes of unused stack at exit.
//!
//! Reading another thread's live stack races with that thread's plain writes to it; the reads
//! are volatile word loads of memory that stays allocated (see below), which on this hardware
//! return either the old or the new word — a snapshot, as for any live high-water mark.
//!
//! The header holds a reference count: a thread reading another, live thread's peak holds a
//! reference ([`Stack::share`], taken under the scheduler lock, no allocation) so the stack
//! cannot be freed under it; the last reference frees it, always in thread context with IRQs
//! enabled (control blocks are freed by `leave_kernel`, shares by their reader).

use alloc::alloc::{alloc, dealloc, Layout};
use core::ptr::NonNull;
use core::sync::atomic::{AtomicUsize, Ordering};

use preempt_arch::layout::{GUARD_SIZE, PAGE_SIZE};
use preempt_arch::mmu;

use crate::thread::SpawnError;

/// The smallest stack a thread may ask for: room for an exception frame (800 bytes), the
/// 3 KiB the interrupt vector probes below it, and the thread's own frames.
pub const MIN_STACK_SIZE: usize = 8 * 1024;
/// The stack size a thread gets when it does not ask.
pub const DEFAULT_STACK_SIZE: usize = 64 * 1024;
/// What an unused stack word holds.
const PAINT: u64 = 0x5354_4143_4b21_c0de;
const HEADER: usize = 16;
/// The block size of the peak scan's first pass, and how far below the first changed block
/// its second pass looks word by word.
const SCAN_BLOCK: usize = 64;
const SCAN_BACK: usize = 1024;

/// An owned (or shared) thread stack.
pub(crate) struct Stack {
    /// Start of the allocation: the guard page.
    base: NonNull<u8>,
    size: usize,
}

// SAFETY: a stack is plain memory; its only shared state is the atomic reference count.
unsafe impl Send for Stack {}

impl Stack {
    /// Allocates a stack of `size` bytes (rounded up to 16) with a guard page below it.
    pub fn new(size: usize) -> Result<Self, SpawnError> {
        if size < MIN_STACK_SIZE {
            return Err(SpawnError::StackTooSmall {
                requested: size,
                minimum: MIN_STACK_SIZE,
            });
        }
        let oom = SpawnError::OutOfMemory { requested: size };
        let size = size.checked_next_multiple_of(16).ok_or(oom)?;
        let layout = Self::layout_for(size).ok_or(oom)?;
        // SAFETY: `layout` has a non-zero size.
        let base = NonNull::new(unsafe { alloc(layout) }).ok_or(oom)?;
        // SAFETY: the header lies inside the fresh allocation, 16-byte aligned.
        unsafe {
            Self::count_at(base, size)
                .as_ptr()
                .write(AtomicUsize::new(1))
        };
        Self::paint(base.as_ptr() as usize + GUARD_SIZE, size);
        // SAFETY: the guard page is the first page of our own, page-aligned allocation, and
        // nothing refers to it; `Drop` maps it back before freeing.
        if let Err(e) = unsafe { mmu::unmap_page(base.as_ptr() as u64) } {
            super::fault::kernel_halt(format_args!("no guard page for a stack: {e:?}"));
        }
        Ok(Stack { base, size })
    }

    fn layout_for(size: usize) -> Option<Layout> {
        let total = size.checked_add(GUARD_SIZE + HEADER)?;
        Layout::from_size_align(total, PAGE_SIZE).ok()
    }

    fn count_at(base: NonNull<u8>, size: usize) -> NonNull<AtomicUsize> {
        // SAFETY: stays inside the allocation (the header follows the usable stack).
        unsafe { base.add(GUARD_SIZE + size).cast() }
    }

    fn count(&self) -> &AtomicUsize {
        // SAFETY: the header was initialised in `new` and lives as long as any reference.
        unsafe { Self::count_at(self.base, self.size).as_ref() }
    }

    /// Fills `[bottom, bottom + size)` with [`PAINT`]: 128 bytes per loop iteration of four
    /// 32-byte stores (a plain `fill` compiles to one 8-byte store per iteration, eight times
    /// the instructions).
    fn paint(bottom: usize, size: usize) {
        let end = bottom + size;
        let mut p = bottom;
        #[cfg(target_arch = "aarch64")]
        if size >= 128 {
            let bulk_end = bottom + size / 128 * 128;
            // SAFETY: writes only [bottom, bulk_end), inside the usable stack of a fresh,
            // 16-byte-aligned allocation that nothing else uses yet.
            unsafe {
                core::arch::asm!(
                    "dup v16.2d, {paint}",
                    "2:",
                    "stp q16, q16, [{p}], #32",
                    "stp q16, q16, [{p}], #32",
                    "stp q16, q16, [{p}], #32",
                    "stp q16, q16, [{p}], #32",
                    "cmp {p}, {end}",
                    "b.lo 2b",
                    p = inout(reg) p,
                    end = in(reg) bulk_end,
                    paint = in(reg) PAINT,
                    out("v16") _,
                    options(nostack)
                )
            };
        }
        while p < end {
            // SAFETY: a word of the usable stack (size is a multiple of 16), as above.
            unsafe { (p as *mut u64).write(PAINT) };
            p += 8;
        }
    }

    /// Another reference to the same stack (no allocation; may be taken under a lock).
    pub fn share(&self) -> Stack {
        self.count().fetch_add(1, Ordering::Relaxed);
        Stack {
            base: self.base,
            size: self.size,
        }
    }

    /// One past the highest byte: the initial stack pointer.
    pub fn top(&self) -> usize {
        self.bottom() + self.size
    }

    /// The lowest usable address.
    pub fn bottom(&self) -> usize {
        self.base.as_ptr() as usize + GUARD_SIZE
    }

    /// Usable bytes.
    pub fn size(&self) -> usize {
        self.size
    }

    /// The unmapped page below the stack.
    pub fn guard(&self) -> core::ops::Range<usize> {
        self.base.as_ptr() as usize..self.bottom()
    }

    /// Bytes of this stack written so far, from the top down to the deepest written word
    /// (see the module docs for how exact it is).
    pub fn peak(&self) -> usize {
        let word = |addr: usize| {
            // SAFETY: `addr` is a word of the usable stack (the caller owns a reference, so it
            // is allocated); volatile, because the owning thread may be writing it.
            unsafe { (addr as *const u64).read_volatile() }
        };
        let (bottom, top) = (self.bottom(), self.top());
        let mut block = bottom;
        while block < top && word(block) == PAINT {
            block += SCAN_BLOCK;
        }
        let mut at = block.saturating_sub(SCAN_BACK).max(bottom);
        while at < block.min(top) && word(at) == PAINT {
            at += 8;
        }
        top - at.min(top)
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        if self.count().fetch_sub(1, Ordering::AcqRel) != 1 {
            return;
        }
        let base = self.base.as_ptr();
        // SAFETY: the last reference: map the guard page back (it was unmapped in `new`) and
        // free the allocation with the layout it was made with.
        unsafe {
            if let Err(e) = mmu::map_page(base as u64) {
                super::fault::kernel_halt(format_args!("cannot map a guard page back: {e:?}"));
            }
            let layout = Self::layout_for(self.size).expect("layout of a live stack");
            dealloc(base, layout);
        }
    }
}
