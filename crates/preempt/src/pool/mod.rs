//! Fixed-size block pools: constant-time allocation of equal-sized blocks from memory set aside
//! up front, as embedded systems use for message buffers and packets.
//!
//! Unlike the general heap, a pool cannot fragment and its cost does not depend on what else is
//! allocated: taking and returning a block is popping and pushing a lock-free free list, so
//! both are allowed in interrupt handlers. An exhausted pool returns `None` (or, with
//! [`BlockPool::alloc_timeout`], waits for a block).
//!
//! # The free list
//!
//! Blocks are contiguous, so a block is named by its index. One 64-bit word holds the first
//! free block's index, a `WAITERS` bit and an ABA tag; the link of block `i` is `next[i]`, an
//! array of `AtomicU32` after the blocks (not inside the blocks: a pop that loses a race may
//! read a stale link, which must not race with the block owner's writes). A pop reads the head
//! (`Acquire`), its link, and swaps in the link with the tag bumped: if the block was taken,
//! and even taken and returned, meanwhile, the tag has moved and the CAS fails, so a pop never
//! installs a stale link (the ABA problem). A push writes the link and swaps itself in
//! (`Release`, so the block's contents and link go with it). No step relies on masked IRQs
//! meaning exclusive access, so interrupt handlers and other cores may pop and push at any
//! point.
//!
//! While nobody waits that is all: `alloc` and a return are one CAS each. A thread in
//! `alloc_timeout` that finds the list empty sets `WAITERS` under the scheduler lock (with a
//! CAS on the empty word, so no concurrent push slips past) and queues by priority on a
//! scheduler semaphore. While the bit is set, `alloc` fails (waiters come first) and a return
//! takes the scheduler lock, pushes and wakes the best waiter, which pops in its wake-up half
//! under the lock (if another waiter took the block first, it waits again, until its
//! deadline). The bit is cleared under the lock once no thread is queued, or woken and not yet
//! run.
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
use core::sync::atomic::{fence, AtomicPtr, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use core::time::Duration;

use preempt_arch::cpu;

use sched_core::{AcquirePoll, SemId, Ticks, WaitResult};

use crate::kernel::wait::{self, Wait};
use crate::kernel::{self, percpu, Sched};
use crate::sync::atomics;
use free_list::{NONE, WAITERS};

mod free_list;

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

/// The shared part of a pool: its memory, free list and reference count.
struct Inner {
    base: NonNull<u8>,
    layout: Layout,
    block: usize,
    count: usize,
    /// The free list's head index, the [`WAITERS`] bit and the ABA tag.
    head: AtomicU64,
    /// `next[i]`: the block after block `i` on the free list (kept outside the blocks, so a
    /// stale read by a losing pop never races with a block owner's writes).
    next: NonNull<AtomicU32>,
    /// The `sched-core` semaphore waiters queue on (0 until the first wait).
    handle: AtomicU64,
    /// Threads between deciding to wait and running again (changed under the scheduler lock).
    sleepers: AtomicUsize,
    /// The pool handle (1 while it exists) plus the blocks out.
    refs: AtomicUsize,
    /// Link in [`ORPHANS`] once no reference is left.
    next_orphan: *mut Inner,
}

/// Pools whose last reference went away where the heap may not be used; freed later.
static ORPHANS: AtomicPtr<Inner> = AtomicPtr::new(ptr::null_mut());

impl Inner {
    #[inline]
    fn link(&self, i: u32) -> &AtomicU32 {
        debug_assert!((i as usize) < self.count);
        // SAFETY: `i < count`, and the link array holds `count` entries that live as long as
        // `self`.
        unsafe { &*self.next.as_ptr().add(i as usize) }
    }

    /// Pops a block index, unless the list is empty or (with `fast`) threads wait.
    #[inline]
    fn pop(&self, fast: bool) -> Option<u32> {
        free_list::pop(&self.head, |i| self.link(i), fast)
    }

    /// Pushes block `i`; false (nothing done) if threads wait and `fast` is set.
    #[inline]
    fn push(&self, i: u32, fast: bool) -> bool {
        free_list::push(&self.head, |i| self.link(i), i, fast)
    }

    #[inline]
    fn free(&self, i: u32) {
        if !self.push(i, true) {
            self.free_slow(i);
        }
    }

    fn id(&self, s: &mut Sched) -> SemId {
        let raw = wait::lazy_handle(&self.handle, s, |s| s.create_semaphore(0).as_u64());
        SemId::from_u64(raw).expect("pool semaphore handle")
    }

    /// Frees a block while threads wait: under the scheduler lock, so [`WAITERS`] cannot
    /// change, push it and wake the best waiter.
    #[cold]
    #[inline(never)]
    fn free_slow(&self, i: u32) {
        let r = wait::notify(|s| {
            let id = self.id(s);
            self.push(i, false);
            if self.head.load(Ordering::Relaxed) & WAITERS != 0 {
                s.sem_release(id)
            } else {
                Ok(())
            }
        });
        if let Err(e) = r {
            panic!("block pool wake-up: {e}");
        }
    }

    /// Once nobody waits or is about to take a block: back to the fast paths. Under the
    /// scheduler lock.
    fn leave_slow_mode(&self, s: &mut Sched, id: SemId) {
        if self.head.load(Ordering::Relaxed) & WAITERS != 0
            && self.sleepers.load(Ordering::Relaxed) == 0
            && s.waiter_count(id) == Some(0)
        {
            // Wake-ups nobody took; the list itself says what is free.
            let _ = s.sem_drain(id);
            self.head.fetch_and(!WAITERS, Ordering::Relaxed);
        }
    }

    /// Waits for a block until `deadline`: under the scheduler lock, take one if the list has
    /// one; otherwise set [`WAITERS`] (the list is empty) and queue by priority. A woken
    /// thread takes a block if one is there and waits again if another thread took it.
    #[cold]
    #[inline(never)]
    fn alloc_slow(&self, deadline: Ticks) -> Option<u32> {
        wait::assert_may_block("BlockPool::alloc_timeout");
        loop {
            let r = wait::wait(
                |s, cpu| {
                    let id = self.id(s);
                    loop {
                        if let Some(i) = self.pop(false) {
                            self.leave_slow_mode(s, id);
                            return Wait::Done(Ok(Some(Some(i))));
                        }
                        let w = self.head.load(Ordering::Relaxed);
                        if w as u32 != NONE {
                            continue;
                        }
                        if w & WAITERS == 0
                            && self
                                .head
                                .compare_exchange(
                                    w,
                                    w | WAITERS,
                                    Ordering::Relaxed,
                                    Ordering::Relaxed,
                                )
                                .is_err()
                        {
                            continue;
                        }
                        match s.sem_acquire(cpu, id, Some(deadline)) {
                            // A wake-up nobody took: look at the list again.
                            Ok(AcquirePoll::Acquired) => continue,
                            Ok(AcquirePoll::Blocked(next)) => {
                                self.sleepers.fetch_add(1, Ordering::Relaxed);
                                return Wait::Block(next);
                            }
                            Err(e) => {
                                self.leave_slow_mode(s, id);
                                return Wait::Done(Err(e));
                            }
                        }
                    }
                },
                |s, _, res| {
                    let id = self.id(s);
                    self.sleepers.fetch_sub(1, Ordering::Relaxed);
                    let got = self.pop(false);
                    self.leave_slow_mode(s, id);
                    Ok(match got {
                        Some(i) => Some(Some(i)),
                        None if res == WaitResult::TimedOut => Some(None),
                        // Woken, but another thread took the block first.
                        None => None,
                    })
                },
            );
            match r {
                Ok(Some(got)) => return got,
                Ok(None) => {}
                Err(e) => panic!("block pool wait: {e}"),
            }
        }
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Some(id) = SemId::from_u64(*self.handle.get_mut()) {
            kernel::with_sched(|s, _| {
                let _ = s.destroy_semaphore(id);
            });
        }
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

// SAFETY: all mutable state of `Inner` is atomics (the free list, its links, the counts);
// blocks handed out are owned by their `Block` holders.
unsafe impl Sync for BlockPool {}
// SAFETY: as above; the pool's reference may be dropped from any thread.
unsafe impl Send for BlockPool {}

/// A block taken from a [`BlockPool`]. Dropping it returns it to its pool (so does
/// [`BlockPool::free`]); it keeps the pool's memory alive even if the pool is dropped first.
pub struct Block {
    ptr: NonNull<u8>,
    pool: NonNull<Inner>,
    index: u32,
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
        unsafe { self.pool.as_ref() }.free(self.index);
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
        // Block indices and the empty mark share 32 bits.
        let permits = u32::try_from(count)
            .ok()
            .filter(|&n| n != NONE)
            .ok_or(PoolError::InvalidSize)?;
        // The link array follows the blocks in the same allocation.
        let links = count.checked_mul(4).ok_or(PoolError::InvalidSize)?;
        let total = total.checked_add(links).ok_or(PoolError::InvalidSize)?;
        let layout = Layout::from_size_align(total, 16).map_err(|_| PoolError::InvalidSize)?;
        // SAFETY: non-zero size.
        let base = NonNull::new(unsafe { alloc(layout) }).ok_or(PoolError::OutOfMemory)?;
        // SAFETY: the links start `block * count` bytes in (a multiple of 16), inside the
        // allocation.
        let next = unsafe { base.add(block * count) }.cast::<AtomicU32>();
        for i in 0..permits {
            let link = if i + 1 == permits { NONE } else { i + 1 };
            // SAFETY: entry `i` of the link array, inside the allocation and aligned.
            unsafe { next.as_ptr().add(i as usize).write(AtomicU32::new(link)) };
        }
        let inner = Box::new(Inner {
            base,
            layout,
            block,
            count,
            head: AtomicU64::new(0),
            next,
            handle: AtomicU64::new(0),
            sleepers: AtomicUsize::new(0),
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
        let index = self.inner().pop(true)?;
        Some(self.take(index))
    }

    /// Takes a block, waiting up to `timeout` for one to be freed (threads waiting get freed
    /// blocks by priority, before `alloc` callers).
    pub fn alloc_timeout(&self, timeout: Duration) -> Option<Block> {
        let inner = self.inner();
        let index = match inner.pop(true) {
            Some(i) => i,
            None => inner.alloc_slow(wait::deadline_after(timeout))?,
        };
        Some(self.take(index))
    }

    #[inline]
    fn take(&self, index: u32) -> Block {
        let inner = self.inner();
        // Relaxed, as for `Arc::clone`: the caller's own reference keeps the count above zero.
        inner.refs.fetch_add(1, Ordering::Relaxed);
        Block {
            // SAFETY: block `index` lies inside the allocation.
            ptr: unsafe { inner.base.add(index as usize * inner.block) },
            pool: self.inner,
            index,
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
        // The pool's own reference plus one per block out (transiently more while an
        // `alloc` or a return is under way).
        self.capacity()
            .saturating_add(1)
            .saturating_sub(self.inner().refs.load(Ordering::Relaxed))
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
