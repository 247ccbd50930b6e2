//! The ticket lock under [`RawSpinLock`](super::RawSpinLock): fair (first come, first served)
//! and recording which core holds it.
//!
//! This file depends on nothing but the atomics its parent module names `atomics`, so that the
//! host-side `loom` models (`crates/lock-models`) compile this very source against loom's
//! atomics and check it, rather than a copy (`cfg(loom)` only changes `new`, which cannot be
//! `const` with loom's atomics).
//!
//! Two counters: `next` hands out tickets (one atomic increment per lock), `serving` names the
//! ticket that may enter. A core takes a ticket and waits until `serving` reaches it; the
//! holder lets the next one in by moving `serving` on. So cores enter in the order they took
//! tickets and none waits while later ones go first — a test-and-set lock lets whichever core
//! wins the race in, which under contention can starve one core indefinitely (a core that
//! re-takes the lock right after releasing it has the line in its cache and wins every time).
//!
//! Without LSE atomics (the Cortex-A53 is ARMv8.0) the increment is an `ldxr`/`stxr` loop and
//! everything else is a plain or acquire load and a release store, as `core::sync::atomic`
//! compiles them. Orderings:
//! - `next` is only a ticket dispenser: its increment needs no ordering (`Relaxed`), only
//!   atomicity — two cores never get the same ticket.
//! - The holder's writes are published by the `Release` store to `serving` and seen by the next
//!   holder's `Acquire` load of it (the load that lets it in).
//! - `serving` is written only by the holder, so unlocking is a plain load and a release store,
//!   not a read-modify-write.
//! - `owner` is written only by the holder: its core number after entering, "nobody" before
//!   letting the next one in. The latter is ordered before the next holder's write by that same
//!   release/acquire pair, so a stale "nobody" never overwrites a newer owner, and a core reads
//!   its own number there only while it holds the lock.

use super::atomics::{spin_loop, AtomicU32, AtomicUsize, Ordering};

/// [`TicketLock`]'s owner while nobody holds it.
pub const NO_OWNER: usize = usize::MAX;

/// A ticket lock recording its holder's core (see the module docs).
pub struct TicketLock {
    /// The next ticket to hand out.
    next: AtomicU32,
    /// The ticket that holds (or may take) the lock; equal to `next` when it is free.
    serving: AtomicU32,
    /// The holding core, or [`NO_OWNER`].
    owner: AtomicUsize,
}

impl Default for TicketLock {
    fn default() -> Self {
        Self::new()
    }
}

impl TicketLock {
    /// A new, unlocked lock.
    #[cfg(not(loom))]
    pub const fn new() -> Self {
        Self {
            next: AtomicU32::new(0),
            serving: AtomicU32::new(0),
            owner: AtomicUsize::new(NO_OWNER),
        }
    }

    /// A new, unlocked lock (loom's atomics cannot be made in a `const fn`).
    #[cfg(loom)]
    pub fn new() -> Self {
        Self {
            next: AtomicU32::new(0),
            serving: AtomicU32::new(0),
            owner: AtomicUsize::new(NO_OWNER),
        }
    }

    /// Takes a ticket and waits for its turn; records `me` as the holder. Returns the ticket
    /// (its order of entry, for the FIFO models).
    #[inline(always)]
    pub fn lock_on(&self, me: usize) -> u32 {
        let ticket = self.next.fetch_add(1, Ordering::Relaxed);
        if self.serving.load(Ordering::Acquire) != ticket {
            self.wait_for(ticket);
        }
        self.owner.store(me, Ordering::Relaxed);
        ticket
    }

    /// The contended half of [`lock_on`](Self::lock_on), out of line.
    #[cold]
    #[inline(never)]
    fn wait_for(&self, ticket: u32) {
        while self.serving.load(Ordering::Acquire) != ticket {
            spin_loop();
        }
    }

    /// Takes the lock if it is free (no ticket is taken otherwise); records `me` as the holder.
    #[inline]
    pub fn try_lock_on(&self, me: usize) -> bool {
        let serving = self.serving.load(Ordering::Acquire);
        // Only if nobody holds or waits (`next == serving`); then `serving` cannot move before
        // the ticket is ours, since it never passes `next`.
        let taken = self
            .next
            .compare_exchange(
                serving,
                serving.wrapping_add(1),
                Ordering::Relaxed,
                Ordering::Relaxed,
            )
            .is_ok();
        if taken {
            self.owner.store(me, Ordering::Relaxed);
        }
        taken
    }

    /// Lets the next ticket in. The caller holds the lock (on its core; possibly taken by
    /// another thread that switched to the caller while holding it).
    #[inline(always)]
    pub fn unlock(&self) {
        self.owner.store(NO_OWNER, Ordering::Relaxed);
        let serving = self.serving.load(Ordering::Relaxed);
        self.serving
            .store(serving.wrapping_add(1), Ordering::Release);
    }

    /// Whether core `me` holds the lock (exact when `me` is the caller's core; see the
    /// module docs).
    #[inline]
    pub fn held_by(&self, me: usize) -> bool {
        self.owner.load(Ordering::Relaxed) == me
    }

    /// Whether anyone holds the lock (a snapshot).
    pub fn is_locked(&self) -> bool {
        self.next.load(Ordering::Relaxed) != self.serving.load(Ordering::Relaxed)
    }
}
