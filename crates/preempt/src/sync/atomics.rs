//! What the lock-free protocol files of this crate are written against: `core`'s atomics and
//! fences, the spin-wait hint (`cpu::spin_hint`, named `spin_loop` as loom names it), the
//! CPU's IRQ mask and a cell for a message slot.
//!
//! Those files (`sync/mutex_word.rs`, `sync/sem_word.rs`, `sync/mpsc/ring.rs`,
//! `sync/mpsc/wake_flags.rs`, `pool/free_list.rs`) name nothing else of the kernel, so that
//! the host-side `loom` models (`crates/lock-models`) compile the very same sources against a
//! module of the same name that gives loom's atomics and cell instead, and check them under
//! every interleaving and the weak memory model rather than a copy.

use core::cell::UnsafeCell;
use core::mem::MaybeUninit;

pub(crate) use core::sync::atomic::{fence, AtomicU32, AtomicU64, AtomicUsize, Ordering};
pub(crate) use preempt_arch::cpu;
pub(crate) use preempt_arch::cpu::spin_hint as spin_loop;

/// Room for one `T` that a protocol fills and empties by hand (a channel slot's message):
/// `UnsafeCell<MaybeUninit<T>>` here, loom's checked cell in the models.
#[repr(transparent)]
pub(crate) struct SlotCell<T>(UnsafeCell<MaybeUninit<T>>);

impl<T> SlotCell<T> {
    /// An empty slot.
    pub(crate) const fn new() -> Self {
        Self(UnsafeCell::new(MaybeUninit::uninit()))
    }

    /// Writes `t` into the slot (forgetting whatever it held).
    ///
    /// # Safety
    /// Nobody else reads or writes the slot meanwhile.
    #[inline(always)]
    pub(crate) unsafe fn write(&self, t: T) {
        // SAFETY: exclusive access (the caller's contract).
        unsafe { (*self.0.get()).write(t) };
    }

    /// Moves the value out; the slot is empty afterwards.
    ///
    /// # Safety
    /// The slot holds a value, and nobody else reads or writes it meanwhile.
    #[inline(always)]
    pub(crate) unsafe fn read(&self) -> T {
        // SAFETY: initialised and exclusive (the caller's contract).
        unsafe { (*self.0.get()).assume_init_read() }
    }

    /// Drops the value in place; the slot is empty afterwards.
    ///
    /// # Safety
    /// The slot holds a value.
    #[inline(always)]
    pub(crate) unsafe fn drop_value(&mut self) {
        // SAFETY: initialised (the caller's contract); `&mut self` makes access exclusive.
        unsafe { self.0.get_mut().assume_init_drop() };
    }
}
