//! The global heap, and the `critical-section` implementation it locks with.
//!
//! The allocator is `embedded-alloc`'s linked-list heap: well kept, and able to report how
//! much is in use, which the spawn/join churn test relies on. It serialises through
//! `critical-section`, implemented here as "mask IRQs on this core and take a spinlock", so it
//! is safe against interrupt handlers and against other cores alike. The lock is reentrant per
//! core (a `critical-section` requirement), tracked in the restore token.

use embedded_alloc::LlffHeap;
use preempt_arch::{cpu, cpu::IrqState, RawSpinLock};

#[global_allocator]
static HEAP: LlffHeap = LlffHeap::empty();

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

/// Gives the heap its memory. Called once at boot.
///
/// # Safety
/// `start..start + size` must be RAM used by nothing else, for the rest of the run.
pub(crate) unsafe fn init(start: usize, size: usize) {
    // SAFETY: the caller guarantees the region is free RAM; this is the only call.
    unsafe { HEAP.init(start, size) }
}

/// Bytes of heap in use right now.
pub fn used() -> usize {
    HEAP.used()
}

/// Bytes of heap free right now.
pub fn free() -> usize {
    HEAP.free()
}
