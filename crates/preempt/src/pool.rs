//! Fixed-size block pools: constant-time allocation of equal-sized blocks from memory set aside
//! up front, as embedded systems use for message buffers and packets.
//!
//! Unlike the general heap, a pool cannot fragment and its cost does not depend on what else is
//! allocated: taking and returning a block is popping and pushing a free list under a short
//! IRQ-masking lock, so both are allowed in interrupt handlers. An exhausted pool returns
//! `None` (or, with [`BlockPool::alloc_timeout`], waits for a block).

use alloc::alloc::{alloc, dealloc, Layout};
use core::fmt;
use core::ptr::NonNull;
use core::time::Duration;

use preempt_arch::SpinLock;

use crate::sync::Semaphore;

/// Why a pool could not be created.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PoolError {
    /// Block size or count is zero, or their product overflows.
    InvalidSize,
    /// The heap cannot hold the pool.
    OutOfMemory,
}

impl fmt::Display for PoolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidSize => {
                f.write_str("block size and count must be non-zero and fit in memory")
            }
            Self::OutOfMemory => f.write_str("out of memory for the block pool"),
        }
    }
}

struct FreeList {
    head: Option<NonNull<u8>>,
    free: usize,
}

// SAFETY: the free list only links blocks of the pool's own allocation; it moves between
// threads under the pool's lock.
unsafe impl Send for FreeList {}

/// A pool of `count` blocks of `block_size` bytes (16-byte aligned).
pub struct BlockPool {
    base: NonNull<u8>,
    layout: Layout,
    block: usize,
    count: usize,
    list: SpinLock<FreeList>,
    available: Semaphore,
}

// SAFETY: all mutable state is behind the spinlock or the semaphore; blocks handed out are
// owned by their `Block` holders.
unsafe impl Sync for BlockPool {}
// SAFETY: the pool owns its memory.
unsafe impl Send for BlockPool {}

/// A block taken from a [`BlockPool`]; give it back with [`BlockPool::free`].
#[derive(Debug)]
pub struct Block {
    ptr: NonNull<u8>,
    len: usize,
}

// SAFETY: a block is exclusively owned memory.
unsafe impl Send for Block {}

impl Block {
    /// The block's bytes.
    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        // SAFETY: `ptr` points to `len` bytes of the pool, owned by this `Block` alone.
        unsafe { core::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.len) }
    }

    /// The block's address.
    pub fn as_ptr(&self) -> *mut u8 {
        self.ptr.as_ptr()
    }
}

impl BlockPool {
    /// Sets aside `count` blocks of `block_size` bytes (rounded up to 16).
    pub fn new(block_size: usize, count: usize) -> Result<Self, PoolError> {
        if block_size == 0 || count == 0 {
            return Err(PoolError::InvalidSize);
        }
        let block = block_size
            .checked_next_multiple_of(16)
            .ok_or(PoolError::InvalidSize)?;
        let total = block.checked_mul(count).ok_or(PoolError::InvalidSize)?;
        let layout = Layout::from_size_align(total, 16).map_err(|_| PoolError::InvalidSize)?;
        // SAFETY: non-zero size.
        let base = NonNull::new(unsafe { alloc(layout) }).ok_or(PoolError::OutOfMemory)?;
        let mut head = None;
        for i in (0..count).rev() {
            // SAFETY: block `i` lies inside the allocation; its first word stores the link.
            let p = unsafe { base.as_ptr().add(i * block) };
            // SAFETY: `p` is 16-byte aligned and inside the allocation.
            unsafe { p.cast::<Option<NonNull<u8>>>().write(head) };
            head = NonNull::new(p);
        }
        let permits = u32::try_from(count).map_err(|_| PoolError::InvalidSize)?;
        Ok(Self {
            base,
            layout,
            block,
            count,
            list: SpinLock::new(FreeList { head, free: count }),
            available: Semaphore::new(permits),
        })
    }

    /// Takes a block, or `None` if none is free. Callable from interrupt handlers.
    pub fn alloc(&self) -> Option<Block> {
        if !self.available.try_acquire() {
            return None;
        }
        Some(self.pop())
    }

    /// Takes a block, waiting up to `timeout` for one to be freed.
    pub fn alloc_timeout(&self, timeout: Duration) -> Option<Block> {
        if !self.available.acquire_timeout(timeout) {
            return None;
        }
        Some(self.pop())
    }

    fn pop(&self) -> Block {
        let mut l = self.list.lock();
        let p = l.head.expect("a permit guarantees a free block");
        // SAFETY: `p` is a free block of this pool; its first word holds the next link.
        l.head = unsafe { p.as_ptr().cast::<Option<NonNull<u8>>>().read() };
        l.free -= 1;
        Block {
            ptr: p,
            len: self.block,
        }
    }

    /// Returns a block to the pool.
    ///
    /// # Panics
    /// If the block does not belong to this pool.
    pub fn free(&self, block: Block) {
        let start = self.base.as_ptr() as usize;
        let addr = block.ptr.as_ptr() as usize;
        assert!(
            addr >= start
                && addr < start + self.layout.size()
                && (addr - start).is_multiple_of(self.block),
            "block {addr:#x} does not belong to this pool"
        );
        {
            let mut l = self.list.lock();
            // SAFETY: the block is ours again; its first word becomes the link.
            unsafe {
                block
                    .ptr
                    .as_ptr()
                    .cast::<Option<NonNull<u8>>>()
                    .write(l.head)
            };
            l.head = Some(block.ptr);
            l.free += 1;
        }
        self.available.release();
    }

    /// Blocks free right now.
    pub fn free_blocks(&self) -> usize {
        self.list.lock().free
    }

    /// Size of each block in bytes.
    pub fn block_size(&self) -> usize {
        self.block
    }

    /// Number of blocks in the pool.
    pub fn capacity(&self) -> usize {
        self.count
    }
}

impl Drop for BlockPool {
    fn drop(&mut self) {
        // SAFETY: allocated in `new` with this layout; blocks still held elsewhere dangle,
        // which `Block`'s lifetime-free design cannot prevent — documented on `free`.
        unsafe { dealloc(self.base.as_ptr(), self.layout) }
    }
}

impl fmt::Debug for BlockPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BlockPool")
            .field("block", &self.block)
            .field("count", &self.count)
            .finish()
    }
}
