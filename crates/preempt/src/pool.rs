//! Fixed-size block pools: constant-time allocation of equal-sized blocks from memory set aside
//! up front, as embedded systems use for message buffers and packets.
//!
//! Unlike the general heap, a pool cannot fragment and its cost does not depend on what else is
//! allocated: taking and returning a block is popping and pushing a free list under a short
//! IRQ-masking lock, so both are allowed in interrupt handlers. An exhausted pool returns
//! `None` (or, with [`BlockPool::alloc_timeout`], waits for a block).
//!
//! # Blocks outlive their pool safely
//!
//! A [`Block`] has no lifetime, so it can be sent to another thread or handed from an interrupt
//! handler to a thread. Instead the pool's memory is reference counted: the pool itself and
//! every block out count as one reference each (one atomic add per `alloc`, one atomic
//! subtract per return), and the memory goes back to the heap when the last of them goes. So
//! dropping a pool while blocks are out is allowed: the blocks stay valid, and the last one
//! returned frees the pool. Dropping a `Block` returns it to its pool; [`BlockPool::free`] does
//! the same and checks that the block is the pool's.
//!
//! No heap operation ever happens in an interrupt handler or with IRQs masked: if the last
//! reference goes there, the pool is put on a lock-free list of orphans (linked through the
//! pools' own headers, so pushing allocates nothing) and freed by the next pool operation in
//! thread context (creating or dropping a pool, or returning the last block of one).

use alloc::alloc::{alloc, dealloc, Layout};
use alloc::boxed::Box;
use core::fmt;
use core::ptr::{self, NonNull};
use core::sync::atomic::{fence, AtomicPtr, AtomicUsize, Ordering};
use core::time::Duration;

use preempt_arch::{cpu, SpinLock};

use crate::kernel::percpu;
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

/// The shared part of a pool: its memory, free list and reference count.
struct Inner {
    base: NonNull<u8>,
    layout: Layout,
    block: usize,
    count: usize,
    list: SpinLock<FreeList>,
    available: Semaphore,
    /// The pool handle (1 while it exists) plus the blocks out.
    refs: AtomicUsize,
    /// Link in [`ORPHANS`] once no reference is left.
    next_orphan: *mut Inner,
}

/// Pools whose last reference went away where the heap may not be used; freed later.
static ORPHANS: AtomicPtr<Inner> = AtomicPtr::new(ptr::null_mut());

impl Inner {
    #[inline]
    fn pop(&self) -> NonNull<u8> {
        let mut l = self.list.lock();
        let p = l.head.expect("a permit guarantees a free block");
        // SAFETY: `p` is a free block of this pool; its first word holds the next link.
        l.head = unsafe { p.as_ptr().cast::<Option<NonNull<u8>>>().read() };
        l.free -= 1;
        p
    }

    fn push(&self, p: NonNull<u8>) {
        {
            let mut l = self.list.lock();
            // SAFETY: the block is the pool's again; its first word becomes the link.
            unsafe { p.as_ptr().cast::<Option<NonNull<u8>>>().write(l.head) };
            l.head = Some(p);
            l.free += 1;
        }
        self.available.release();
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        // SAFETY: allocated in `BlockPool::new` with this layout; no reference (pool or block)
        // is left, so nothing points into it any more.
        unsafe { dealloc(self.base.as_ptr(), self.layout) }
    }
}

/// Drops one reference to `inner`; the last one frees the pool (or defers that, see the
/// module docs).
///
/// # Safety
/// The caller owns one reference to `inner` and does not use `inner` afterwards.
#[inline]
unsafe fn release_ref(inner: NonNull<Inner>) {
    // SAFETY: the caller's reference keeps `inner` alive until this decrement.
    if unsafe { inner.as_ref() }
        .refs
        .fetch_sub(1, Ordering::Release)
        == 1
    {
        // SAFETY: that was the last reference, which the caller gave up.
        unsafe { free_pool(inner) };
    }
}

/// Frees (or defers freeing) a pool whose last reference just went.
///
/// # Safety
/// No reference to `inner` is left.
#[cold]
#[inline(never)]
unsafe fn free_pool(inner: NonNull<Inner>) {
    // Every other holder's uses happen before this point (their Release decrements).
    fence(Ordering::Acquire);
    if heap_allowed() {
        // SAFETY: the last reference: nobody else can reach `inner`; made by `Box::leak`.
        drop(unsafe { Box::from_raw(inner.as_ptr()) });
        reap_orphans();
    } else {
        let p = inner.as_ptr();
        let mut head = ORPHANS.load(Ordering::Relaxed);
        loop {
            // SAFETY: unreachable by anyone else now; the link is written before publishing.
            unsafe { (*p).next_orphan = head };
            match ORPHANS.compare_exchange_weak(head, p, Ordering::Release, Ordering::Relaxed) {
                Ok(_) => break,
                Err(now) => head = now,
            }
        }
    }
}

/// Whether the heap may be used here: a thread, with IRQs unmasked.
fn heap_allowed() -> bool {
    !cpu::irqs_masked() && !percpu::this().in_irq()
}

/// Frees the pools left on the orphan list (thread context only).
fn reap_orphans() {
    if ORPHANS.load(Ordering::Relaxed).is_null() || !heap_allowed() {
        return;
    }
    // Taking the whole list at once: no pop, so no ABA question.
    let mut p = ORPHANS.swap(ptr::null_mut(), Ordering::Acquire);
    while !p.is_null() {
        // SAFETY: every entry was pushed by `release_ref` once its last reference went, and
        // the swap above made this thread the only one holding the list.
        let inner = unsafe { Box::from_raw(p) };
        p = inner.next_orphan;
        drop(inner);
    }
}

/// A pool of `count` blocks of `block_size` bytes (16-byte aligned).
pub struct BlockPool {
    inner: NonNull<Inner>,
}

// SAFETY: all mutable state of `Inner` is behind the spinlock, the semaphore or atomics;
// blocks handed out are owned by their `Block` holders.
unsafe impl Sync for BlockPool {}
// SAFETY: as above; the pool's reference may be dropped from any thread.
unsafe impl Send for BlockPool {}

/// A block taken from a [`BlockPool`]. Dropping it returns it to its pool (so does
/// [`BlockPool::free`]); it keeps the pool's memory alive even if the pool is dropped first.
pub struct Block {
    ptr: NonNull<u8>,
    pool: NonNull<Inner>,
}

// SAFETY: a block is exclusively owned memory plus a counted reference to its pool, whose
// shared state is thread-safe.
unsafe impl Send for Block {}

impl Block {
    /// The block's bytes.
    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        // SAFETY: the pool's header lives as long as this block's reference to it.
        let len = unsafe { self.pool.as_ref() }.block;
        // SAFETY: `ptr` points to `len` bytes of the pool, owned by this `Block` alone.
        unsafe { core::slice::from_raw_parts_mut(self.ptr.as_ptr(), len) }
    }

    /// The block's address.
    pub fn as_ptr(&self) -> *mut u8 {
        self.ptr.as_ptr()
    }
}

impl Drop for Block {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: this block holds a reference, so the pool is alive.
        unsafe { self.pool.as_ref() }.push(self.ptr);
        // SAFETY: the block's own reference, not used again.
        unsafe { release_ref(self.pool) };
    }
}

impl fmt::Debug for Block {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Block").field("ptr", &self.ptr).finish()
    }
}

impl BlockPool {
    /// Sets aside `count` blocks of `block_size` bytes (rounded up to 16).
    pub fn new(block_size: usize, count: usize) -> Result<Self, PoolError> {
        reap_orphans();
        if block_size == 0 || count == 0 {
            return Err(PoolError::InvalidSize);
        }
        let block = block_size
            .checked_next_multiple_of(16)
            .ok_or(PoolError::InvalidSize)?;
        let total = block.checked_mul(count).ok_or(PoolError::InvalidSize)?;
        let layout = Layout::from_size_align(total, 16).map_err(|_| PoolError::InvalidSize)?;
        let permits = u32::try_from(count).map_err(|_| PoolError::InvalidSize)?;
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
        let inner = Box::new(Inner {
            base,
            layout,
            block,
            count,
            list: SpinLock::new(FreeList { head, free: count }),
            available: Semaphore::new(permits),
            refs: AtomicUsize::new(1),
            next_orphan: ptr::null_mut(),
        });
        Ok(Self {
            inner: NonNull::from(Box::leak(inner)),
        })
    }

    fn inner(&self) -> &Inner {
        // SAFETY: the pool's own reference keeps `inner` alive while `self` exists.
        unsafe { self.inner.as_ref() }
    }

    /// Takes a block, or `None` if none is free. Callable from interrupt handlers.
    #[inline]
    pub fn alloc(&self) -> Option<Block> {
        if !self.inner().available.try_acquire() {
            return None;
        }
        Some(self.take())
    }

    /// Takes a block, waiting up to `timeout` for one to be freed.
    pub fn alloc_timeout(&self, timeout: Duration) -> Option<Block> {
        if !self.inner().available.acquire_timeout(timeout) {
            return None;
        }
        Some(self.take())
    }

    #[inline]
    fn take(&self) -> Block {
        let inner = self.inner();
        // Relaxed, as for `Arc::clone`: the caller's own reference keeps the count above zero.
        inner.refs.fetch_add(1, Ordering::Relaxed);
        Block {
            ptr: inner.pop(),
            pool: self.inner,
        }
    }

    /// Returns a block to the pool (as dropping it does), checking that it is this pool's.
    ///
    /// # Panics
    /// If the block does not belong to this pool.
    #[inline]
    pub fn free(&self, block: Block) {
        assert!(
            block.pool == self.inner,
            "block {:#x} does not belong to this pool",
            block.ptr.as_ptr() as usize
        );
        drop(block);
    }

    /// Blocks free right now.
    pub fn free_blocks(&self) -> usize {
        self.inner().list.lock().free
    }

    /// Size of each block in bytes.
    pub fn block_size(&self) -> usize {
        self.inner().block
    }

    /// Number of blocks in the pool.
    pub fn capacity(&self) -> usize {
        self.inner().count
    }
}

impl Drop for BlockPool {
    fn drop(&mut self) {
        // SAFETY: the pool's own reference, not used again. Blocks still out keep the memory.
        unsafe { release_ref(self.inner) };
    }
}

impl fmt::Debug for BlockPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BlockPool")
            .field("block", &self.block_size())
            .field("count", &self.capacity())
            .finish()
    }
}
