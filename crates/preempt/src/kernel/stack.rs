//! Thread stacks: heap allocations with a canary at the low end.
//!
//! Until the MMU unmaps a guard page below each stack, the canary is how an overflow is caught:
//! it is checked every time the thread is switched out, and a broken canary stops the system
//! with a report instead of letting the corruption spread silently.
//!
//! Stacks are aligned to 16 bytes (the AArch64 stack alignment), not to pages: the TLSF heap
//! keeps an over-aligned block's padding inside the block, so page alignment would cost up to
//! 4 KiB per thread (a third fewer 8 KiB-stack threads fit). Guard pages will need
//! page-granular stacks from an allocator of their own.

use alloc::alloc::{alloc, dealloc, Layout};
use core::ptr::NonNull;

use crate::thread::SpawnError;

/// The smallest stack a thread may ask for: room for an exception frame (800 bytes), the
/// interrupt handler's own frames and a little formatting.
pub const MIN_STACK_SIZE: usize = 8 * 1024;
/// The stack size a thread gets when it does not ask.
pub const DEFAULT_STACK_SIZE: usize = 64 * 1024;
const ALIGN: usize = 16;
const CANARY: u64 = 0x5354_4143_4b21_c0de;
const CANARY_WORDS: usize = 4;

/// An owned thread stack.
pub(crate) struct Stack {
    base: NonNull<u8>,
    layout: Layout,
}

// SAFETY: a stack is plain memory owned by one thread control block; moving the owner between
// cores is fine.
unsafe impl Send for Stack {}

impl Stack {
    /// Allocates a stack of `size` bytes (rounded up to 16).
    pub fn new(size: usize) -> Result<Self, SpawnError> {
        if size < MIN_STACK_SIZE {
            return Err(SpawnError::StackTooSmall {
                requested: size,
                minimum: MIN_STACK_SIZE,
            });
        }
        let size = size
            .checked_next_multiple_of(16)
            .ok_or(SpawnError::OutOfMemory { requested: size })?;
        let layout = Layout::from_size_align(size, ALIGN)
            .map_err(|_| SpawnError::OutOfMemory { requested: size })?;
        // SAFETY: `layout` has a non-zero size (>= MIN_STACK_SIZE).
        let ptr = unsafe { alloc(layout) };
        let base = NonNull::new(ptr).ok_or(SpawnError::OutOfMemory { requested: size })?;
        let stack = Stack { base, layout };
        for i in 0..CANARY_WORDS {
            // SAFETY: the first CANARY_WORDS words lie inside the fresh, 16-byte-aligned allocation.
            unsafe {
                stack
                    .base
                    .as_ptr()
                    .cast::<u64>()
                    .add(i)
                    .write_volatile(CANARY)
            };
        }
        Ok(stack)
    }

    /// One past the highest byte: the initial stack pointer.
    pub fn top(&self) -> usize {
        self.base.as_ptr() as usize + self.layout.size()
    }

    /// The lowest address of the stack.
    pub fn bottom(&self) -> usize {
        self.base.as_ptr() as usize
    }

    /// Whether the canary at the low end is intact.
    pub fn canary_intact(&self) -> bool {
        (0..CANARY_WORDS).all(|i| {
            // SAFETY: reads the words written in `new`, inside the allocation.
            unsafe { self.base.as_ptr().cast::<u64>().add(i).read_volatile() == CANARY }
        })
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        // SAFETY: allocated in `new` with this layout, and freed once, here.
        unsafe { dealloc(self.base.as_ptr(), self.layout) }
    }
}
