//! Spinlocks that mask IRQs on the local core while held.
//!
//! The lock is a ticket lock ([`TicketLock`], in `spinlock/ticket.rs`, checked by the `loom`
//! models in `crates/lock-models`): with four cores contending for the scheduler lock, a
//! test-and-set lock may let one core win over and over while another waits without bound;
//! tickets let them in first come, first served. Its uncontended cost is one atomic increment,
//! an acquire load and a store on the way in and a load and a release store on the way out.
//!
//! Why not the `spin` crate: its locks do not mask interrupts, and a lock taken by a thread and
//! then wanted by an interrupt handler on the same core would deadlock. Masking IRQs for the
//! lock's lifetime rules that out, and the atomic tickets make the lock correct across cores —
//! masking alone is never treated as mutual exclusion.
//!
//! [`RawSpinLock`] is also usable without a guard, because the scheduler lock is taken by the
//! thread that switches away and released by the thread that switches in (the lock is held
//! across the context switch, as in Linux's `finish_task_switch`).

use core::cell::UnsafeCell;
use core::ops::{Deref, DerefMut};

use crate::cpu::{self, IrqState};

mod ticket;

pub use ticket::TicketLock;

/// The atomics [`ticket`] is written against (loom's in the host-side models).
mod atomics {
    pub(super) use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};

    /// Waits until `word` holds `want`, then returns with that value read with `Acquire`
    /// ordering. Between looks the core sleeps in `wfe`, armed by the exclusive load: the
    /// store that changes the word (another core's unlock) clears this core's exclusive
    /// monitor, which is a wake-up event, and one that lands between the load and the `wfe`
    /// leaves the event latched, so `wfe` returns at once. No `sev` is needed on the unlock
    /// side. Sleeping rather than spinning also matters in an emulator that runs the cores
    /// one after another: QEMU's `wfe` hands the host thread to the next core, where the
    /// holder is, instead of burning the waiter's whole time slice (with the cores in
    /// parallel, MTTCG, QEMU's `wfe` does nothing and this is a plain spin, still correct).
    #[cfg(target_arch = "aarch64")]
    #[inline(always)]
    pub(super) fn wait_until(word: &AtomicU32, want: u32) {
        loop {
            let seen: u32;
            // SAFETY: a load-acquire exclusive of a valid, aligned `u32` (the atomic's own
            // storage); it only arms this core's exclusive monitor, which the `wfe` below
            // waits on and no store-exclusive relies on.
            unsafe {
                core::arch::asm!(
                    "ldaxr {seen:w}, [{word}]",
                    word = in(reg) word.as_ptr(),
                    seen = out(reg) seen,
                    options(nostack, preserves_flags),
                );
            }
            if seen == want {
                return;
            }
            // SAFETY: `wfe` only waits for an event (see above); it touches no memory.
            unsafe { core::arch::asm!("wfe", options(nomem, nostack, preserves_flags)) };
        }
    }

    /// [`wait_until`] where there is no `wfe` (host builds): spin.
    #[cfg(not(target_arch = "aarch64"))]
    pub(super) fn wait_until(word: &AtomicU32, want: u32) {
        while word.load(Ordering::Acquire) != want {
            core::hint::spin_loop();
        }
    }
}

/// A bare ticket lock (fair: cores enter in the order they asked) that records which core
/// holds it; the IRQ masking is the caller's (or [`SpinLock`]'s).
pub struct RawSpinLock {
    ticket: TicketLock,
}

impl Default for RawSpinLock {
    fn default() -> Self {
        Self::new()
    }
}

impl RawSpinLock {
    /// A new, unlocked lock.
    pub const fn new() -> Self {
        Self {
            ticket: TicketLock::new(),
        }
    }

    /// Spins until the lock is taken (in turn). IRQs must already be masked by the caller.
    #[inline]
    pub fn lock(&self) {
        self.lock_on(cpu::core_id());
    }

    /// [`lock`](Self::lock) for a caller that has this core's number at hand already
    /// (`me` must be [`cpu::core_id`]).
    #[inline]
    pub fn lock_on(&self, me: usize) {
        opaque(&self.ticket).lock_on(me);
    }

    /// Takes the lock if it is free (nobody holds it or waits for it).
    #[inline]
    pub fn try_lock(&self) -> bool {
        self.ticket.try_lock_on(cpu::core_id())
    }

    /// How many times the lock has been taken (or waited for) since it was made, wrapping at
    /// 2^32: statistics for tests.
    pub fn times_taken(&self) -> u32 {
        self.ticket.tickets()
    }

    /// Releases the lock.
    ///
    /// The caller must hold it — on this core, though possibly taken by another thread that
    /// switched to the caller while holding it.
    #[inline]
    pub fn unlock(&self) {
        opaque(&self.ticket).unlock();
    }

    /// Whether this core holds the lock (used to tell a fault inside the kernel from one in a
    /// thread).
    pub fn held_by_this_core(&self) -> bool {
        self.ticket.held_by(cpu::core_id())
    }
}

/// `lock`, as a value the compiler cannot see through: for a lock in a `static` it would
/// otherwise form each field's address from the symbol anew (two instructions each, and the
/// exclusive and acquire/release accesses take no offset), rather than one register plus
/// small offsets. No instruction of its own.
#[inline(always)]
// The asm reads no memory through the pointer: it only passes its value through.
#[allow(clippy::pointers_in_nomem_asm_block)]
fn opaque(lock: &TicketLock) -> &TicketLock {
    let mut p: *const TicketLock = lock;
    // SAFETY: an empty template: `p` comes back unchanged, nothing else is touched.
    unsafe {
        core::arch::asm!("/* {0} */", inout(reg) p, options(pure, nomem, nostack, preserves_flags))
    };
    // SAFETY: `p` is `lock`, unchanged, so it points to a live `TicketLock` for the same
    // lifetime.
    unsafe { &*p }
}

/// Data protected by a [`RawSpinLock`], reached through a guard that also restores the IRQ mask.
pub struct SpinLock<T> {
    raw: RawSpinLock,
    data: UnsafeCell<T>,
}

// SAFETY: the lock hands out access to `data` to one holder at a time, on any core, so the
// data only needs to be `Send` to be shared.
unsafe impl<T: Send> Sync for SpinLock<T> {}
// SAFETY: moving the lock moves the data; `T: Send` makes that sound.
unsafe impl<T: Send> Send for SpinLock<T> {}

impl<T> SpinLock<T> {
    /// A new, unlocked lock holding `value`.
    pub const fn new(value: T) -> Self {
        Self {
            raw: RawSpinLock::new(),
            data: UnsafeCell::new(value),
        }
    }

    /// Masks IRQs, takes the lock and returns a guard that undoes both when dropped.
    #[inline]
    pub fn lock(&self) -> SpinLockGuard<'_, T> {
        let irq = cpu::irq_save();
        self.raw.lock();
        SpinLockGuard { lock: self, irq }
    }

    /// Like [`lock`](Self::lock) but gives up instead of spinning.
    pub fn try_lock(&self) -> Option<SpinLockGuard<'_, T>> {
        let irq = cpu::irq_save();
        if self.raw.try_lock() {
            Some(SpinLockGuard { lock: self, irq })
        } else {
            cpu::irq_restore(irq);
            None
        }
    }

    /// The underlying lock, for code that must hold it across a context switch.
    pub fn raw(&self) -> &RawSpinLock {
        &self.raw
    }

    /// The protected data, without locking.
    ///
    /// # Safety
    /// The caller must hold [`raw`](Self::raw) (taken directly, with IRQs masked) for as long
    /// as the returned reference is used, and must not create a second reference meanwhile.
    #[allow(clippy::mut_from_ref)]
    pub unsafe fn get_unchecked(&self) -> &mut T {
        // SAFETY: exclusivity is guaranteed by the caller holding the raw lock.
        unsafe { &mut *self.data.get() }
    }
}

/// Access to a [`SpinLock`]'s data; unlocking and restoring the IRQ mask on drop.
pub struct SpinLockGuard<'a, T> {
    lock: &'a SpinLock<T>,
    irq: IrqState,
}

impl<T> Deref for SpinLockGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the guard exists only while the lock is held by us.
        unsafe { &*self.lock.data.get() }
    }
}

impl<T> DerefMut for SpinLockGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the guard exists only while the lock is held by us, and `&mut self` makes this
        // the only reference handed out.
        unsafe { &mut *self.lock.data.get() }
    }
}

impl<T> Drop for SpinLockGuard<'_, T> {
    fn drop(&mut self) {
        self.lock.raw.unlock();
        cpu::irq_restore(self.irq);
    }
}
