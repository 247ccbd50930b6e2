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
//! - `owner` is written only by the holder, once, on entry: its ticket and its core
//!   (`ticket << 32 | core`). A core holds the lock exactly while `owner` names it with the
//!   ticket `serving` names: unlocking moves `serving` on and so ends the record without
//!   writing it (a load and a release store in all), and a record left by an earlier holder
//!   names a ticket that has been served. The next holder's record is ordered after the
//!   previous one's by the release/acquire pair on `serving`, and a core reads its own record
//!   and its own `serving` store coherently, so a core reads itself as the holder only while it
//!   holds the lock (a stale record would need `serving` to wrap all the way round to its
//!   ticket, 2^32 entries, each of which overwrites the record first).

use super::atomics::{wait_until, AtomicU32, AtomicU64, Ordering};

/// [`TicketLock`]'s owner record before anyone took it: a core number no core has, so that it
/// never names a holder whatever `serving` says.
const NO_OWNER: u64 = u32::MAX as u64;

/// A ticket lock recording its holder's core (see the module docs).
///
/// `serving` comes first: unlocking, the hot path's other half, then stores to the lock's own
/// address.
#[repr(C)]
pub struct TicketLock {
    /// The ticket that holds (or may take) the lock; equal to `next` when it is free.
    serving: AtomicU32,
    /// The next ticket to hand out.
    next: AtomicU32,
    /// The last holder's ticket and core, `ticket << 32 | core` (see the module docs).
    owner: AtomicU64,
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
            serving: AtomicU32::new(0),
            next: AtomicU32::new(0),
            owner: AtomicU64::new(NO_OWNER),
        }
    }

    /// A new, unlocked lock (loom's atomics cannot be made in a `const fn`).
    #[cfg(loom)]
    pub fn new() -> Self {
        Self {
            serving: AtomicU32::new(0),
            next: AtomicU32::new(0),
            owner: AtomicU64::new(NO_OWNER),
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
        self.owner.store(record(ticket, me), Ordering::Relaxed);
        ticket
    }

    /// The contended half of [`lock_on`](Self::lock_on), out of line.
    #[cold]
    #[inline(never)]
    fn wait_for(&self, ticket: u32) {
        wait_until(&self.serving, ticket);
    }

    /// How many times the lock has been taken or waited for since it was made (tickets handed
    /// out, wrapping at 2^32): statistics for tests.
    pub fn tickets(&self) -> u32 {
        self.next.load(Ordering::Relaxed)
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
            self.owner.store(record(serving, me), Ordering::Relaxed);
        }
        taken
    }

    /// Lets the next ticket in. The caller holds the lock (on its core; possibly taken by
    /// another thread that switched to the caller while holding it).
    #[inline(always)]
    pub fn unlock(&self) {
        let serving = self.serving.load(Ordering::Relaxed);
        self.serving
            .store(serving.wrapping_add(1), Ordering::Release);
    }

    /// Whether core `me` holds the lock (exact when `me` is the caller's core; see the
    /// module docs).
    #[inline]
    pub fn held_by(&self, me: usize) -> bool {
        let serving = self.serving.load(Ordering::Relaxed);
        self.owner.load(Ordering::Relaxed) == record(serving, me)
    }

    /// Whether anyone holds the lock (a snapshot).
    pub fn is_locked(&self) -> bool {
        self.next.load(Ordering::Relaxed) != self.serving.load(Ordering::Relaxed)
    }
}

/// The owner record of core `me` holding `ticket`.
#[inline(always)]
fn record(ticket: u32, me: usize) -> u64 {
    (u64::from(ticket) << 32) | (me as u64 & u64::from(u32::MAX))
}
