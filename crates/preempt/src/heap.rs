//! The global heap, and the `critical-section` implementation the kernel provides.
//!
//! The allocator is a two-level segregated fit (TLSF) heap, `rlsf`'s: an allocation maps its
//! size to a size class, finds a non-empty class at or above it with two bitmap scans, unlinks
//! one block and splits off the rest; a free merges with at most its two physical neighbours
//! and links the result into its class. Both are O(1), whatever the number or the layout of the
//! blocks, so the time the heap holds its lock — with IRQs masked, because interrupt handlers
//! may allocate — is bounded (`alloc_worst`/`free_worst` in `docs/performance.md`: a few hundred
//! instructions). The first-fit list heap used before walked its holes under that lock, for
//! up to 140 µs with 20,000 holes, delaying every interrupt meanwhile (test `heap_bounded`).
//!
//! Configuration: 28 first-level classes (powers of two from 32 bytes), so one free block can
//! span 8 GiB and one pool covers all the RAM either board maps; 32 second-level classes per
//! power of two, so a request is served from a class at most 1/32 above its size. The control
//! structure is 7 KiB of `.bss`. Blocks have a 16-byte header and sizes in multiples of 32.
//! `realloc` is the default one (allocate, copy, free): the copy runs outside the lock.
//!
//! Alignment above 16 bytes costs padding inside the block (TLSF does not split the gap in
//! front off): a page-aligned allocation — a thread stack — may use up to 4,064 bytes more
//! than its size.
//!
//! [`used`] and [`free`] are counters kept under the lock (the allocator itself has no O(1)
//! way to tell), so reading them is O(1) too.
//!
//! The `critical-section` implementation ("mask IRQs on this core and take a spinlock", safe
//! against interrupt handlers and other cores alike) is for dependencies that use that crate;
//! the heap has its own lock. It is reentrant per core (a `critical-section` requirement),
//! tracked in the restore token.

use core::alloc::{GlobalAlloc, Layout};
use core::ptr::{self, NonNull};

use preempt_arch::{cpu, cpu::IrqState, RawSpinLock, SpinLock, SpinLockGuard};
use rlsf::Tlsf;

/// First-level classes: free blocks up to `(32 << FLLEN) - 32` bytes (8 GiB).
const FLLEN: usize = 28;
/// Second-level classes per power of two.
const SLLEN: usize = 32;
/// The TLSF block granularity and sentinel size (`rlsf::GRANULARITY` on 64-bit targets).
const GRANULARITY: usize = rlsf::GRANULARITY;
/// The largest heap one pool can hold; RAM beyond it is left unused.
const MAX_HEAP: usize = GRANULARITY << FLLEN;

struct Inner {
    tlsf: Tlsf<'static, u32, u32, FLLEN, SLLEN>,
    /// Bytes requested by live allocations.
    requested: usize,
    /// Bytes of live blocks, headers and padding included (see [`footprint`]).
    footprint: usize,
    /// Bytes of the pool's blocks when all are free (the pool less its sentinel).
    capacity: usize,
    /// Injected failure (tests): allocations left before every allocation fails.
    fail_after: Option<usize>,
}

struct Heap {
    inner: SpinLock<Inner>,
}

#[global_allocator]
static HEAP: Heap = Heap {
    inner: SpinLock::new(Inner {
        tlsf: Tlsf::new(),
        requested: 0,
        footprint: 0,
        capacity: 0,
        fail_after: None,
    }),
};

/// The bytes a live block of `layout` occupies: rlsf's search size, the size plus the header
/// plus the worst alignment padding, in granules. Exact for alignments up to 32 bytes; an
/// upper bound (by less than the alignment) above.
fn footprint(layout: Layout) -> usize {
    let overhead = layout.align().saturating_sub(GRANULARITY / 2) + GRANULARITY / 2;
    (layout.size() + overhead).next_multiple_of(GRANULARITY)
}

impl Heap {
    /// Masks IRQs and takes the heap lock. Halts the system instead of deadlocking if this core
    /// already holds it (the heap entered again from a fault inside it).
    fn lock(&self) -> SpinLockGuard<'_, Inner> {
        if let Some(guard) = self.inner.try_lock() {
            return guard;
        }
        if self.inner.raw().held_by_this_core() {
            crate::kernel::fault::kernel_halt(format_args!("the heap was entered re-entrantly"));
        }
        self.inner.lock()
    }
}

// SAFETY: `alloc` returns blocks of at least `layout.size()` bytes aligned to `layout.align()`
// that no other live allocation overlaps (rlsf's guarantee), or null; `dealloc` hands back
// exactly such a block, with its layout. All access to the allocator is under the lock.
unsafe impl GlobalAlloc for Heap {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let mut heap = self.lock();
        if heap.fail_after.is_some() && injected_failure(&mut heap.fail_after) {
            return ptr::null_mut();
        }
        match heap.tlsf.allocate(layout) {
            Some(p) => {
                heap.requested += layout.size();
                heap.footprint += footprint(layout);
                p.as_ptr()
            }
            None => ptr::null_mut(),
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        let mut heap = self.lock();
        // SAFETY: the caller passes a pointer `alloc` returned (so non-null) with the same
        // layout, freed once; the allocation came from this `Tlsf`.
        unsafe {
            heap.tlsf
                .deallocate(NonNull::new_unchecked(ptr), layout.align())
        };
        heap.requested -= layout.size();
        heap.footprint -= footprint(layout);
    }
}

/// Counts down an injected failure: `Some(0)` fails this allocation and every later one.
fn injected_failure(fail_after: &mut Option<usize>) -> bool {
    match fail_after {
        Some(0) => true,
        Some(n) => {
            *n -= 1;
            false
        }
        None => false,
    }
}

/// Fault injection for tests: after `Some(n)` more successful allocations, every allocation
/// fails (returns null) until this is called with `None`. See `preempt::testing`.
pub(crate) fn fail_allocations_after(n: Option<usize>) {
    HEAP.lock().fail_after = n;
}

/// Gives the heap its memory. Called once at boot.
///
/// # Safety
/// `start..start + size` must be RAM used by nothing else, for the rest of the run.
pub(crate) unsafe fn init(start: usize, size: usize) {
    let size = size.min(MAX_HEAP);
    let mut heap = HEAP.lock();
    let Some(block) = NonNull::new(ptr::slice_from_raw_parts_mut(start as *mut u8, size)) else {
        return;
    };
    // SAFETY: the caller guarantees the region is free RAM for the rest of the run; it is
    // given to the allocator once. At most MAX_HEAP bytes, so it makes one pool.
    if let Some(pool) = unsafe { heap.tlsf.insert_free_block_ptr(block) } {
        // What the pool holds: its length after aligning the start, less the sentinel block.
        let aligned_start = start.next_multiple_of(GRANULARITY);
        heap.capacity = pool.get() - (aligned_start - start) - GRANULARITY;
    }
}

/// Bytes of heap in use right now: the sizes requested by live allocations.
pub fn used() -> usize {
    HEAP.lock().requested
}

/// Bytes of heap free right now: the sum of the free blocks (block headers and, for
/// allocations aligned above 32 bytes, their worst-case padding counted as used). The largest
/// single allocation that can succeed is smaller: blocks are scattered, and a request is served
/// only from a size class wholly above it.
pub fn free() -> usize {
    let heap = HEAP.lock();
    // Saturating: the padding of over-aligned blocks is counted at its worst.
    heap.capacity.saturating_sub(heap.footprint)
}

static CS_LOCK: RawSpinLock = RawSpinLock::new();
const NESTED: u64 = 1 << 63;

struct KernelCriticalSection;
critical_section::set_impl!(KernelCriticalSection);

// SAFETY: acquire masks IRQs and takes a cross-core lock (or notes that this core already holds
// it), release undoes exactly that; the token carries the state between them.
unsafe impl critical_section::Impl for KernelCriticalSection {
    unsafe fn acquire() -> critical_section::RawRestoreState {
        let irq = cpu::irq_save();
        if CS_LOCK.held_by_this_core() {
            return irq.to_bits() | NESTED;
        }
        CS_LOCK.lock();
        irq.to_bits()
    }

    unsafe fn release(token: critical_section::RawRestoreState) {
        if token & NESTED == 0 {
            CS_LOCK.unlock();
        }
        cpu::irq_restore(IrqState::from_bits(token));
    }
}
