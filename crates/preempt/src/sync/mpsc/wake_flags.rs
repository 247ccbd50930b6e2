//! The flags word of a `sync_channel(n)` (`n ≥ 1`): how the lock-free side of the channel
//! learns that the other side waits, and how the receiver learns that every sender is gone.
//! On its own so that the host-side `loom` model (`crates/lock-models/tests/channel.rs`) runs
//! this very code (see [`atomics`](super::atomics)); `bounded.rs` is the only user.
//!
//! The wake-up protocol, a Dekker pair of `SeqCst` fences:
//!
//! - A thread about to wait ([`announce`](WakeFlags::announce), under the scheduler lock) sets
//!   its side's bit, fences, and only then checks the ring again; it blocks (in the same
//!   scheduler-lock section) only if it still has to.
//! - The other side, after publishing a message ([`published`](WakeFlags::published)) or
//!   freeing a slot ([`freed`](WakeFlags::freed)), fences and reads the bits; only if the
//!   waiting side's bit is set does it take the scheduler lock, [`clear`](WakeFlags::clear)
//!   the bit and wake that side.
//!
//! Of the two fences one comes first in their single total order: if the waiter's, the
//! other side's read of the bits sees the bit (the `fetch_or` is before that fence); if the
//! other side's, the waiter's re-check sees the message or the room (the ring's stamp store is
//! before it). Either the waiter does not block, or it is woken — and since it checks and
//! blocks in one scheduler-lock section, the waker, taking that lock, finds it queued. Neither
//! the bit's `fetch_or` nor the read of the bits needs more than `Relaxed`: the fences order
//! them, and the bit is only ever set and cleared under the scheduler lock. Without the fences
//! (or with `Acquire`/`Release` ones) both sides may read the other's old value: each thinks
//! the other will act, and the waiter sleeps with a message in the ring.
//!
//! Disconnection: the senders are counted here too; the last one gone sets [`TX_GONE`] with
//! `Release` (after an `AcqRel` decrement, so after every other sender's messages), and the
//! receiver reads it with `Acquire` ([`senders_gone`](WakeFlags::senders_gone)): a ring found
//! empty after that is empty for good. The waking of a receiver blocked meanwhile goes through
//! the scheduler lock (`bounded.rs`).
//!
//! This file names nothing of the kernel but [`atomics`](super::atomics); every function is
//! inlined into `bounded.rs`'s, so the split costs no instruction.

use super::atomics::{fence, AtomicUsize, Ordering};

/// The receiver waits (or is about to) in the channel's receive queue.
pub(crate) const RX_WAITING: usize = 1;
/// A sender waits (or is about to) in the channel's send queue.
pub(crate) const TX_WAITING: usize = 2;
/// Every sender is gone.
pub(crate) const TX_GONE: usize = 4;

/// A channel's flags word ([`RX_WAITING`], [`TX_WAITING`], [`TX_GONE`]) and its count of
/// senders.
pub(crate) struct WakeFlags {
    bits: AtomicUsize,
    senders: AtomicUsize,
}

impl WakeFlags {
    /// No bit set, one sender.
    pub(crate) fn new() -> Self {
        Self {
            bits: AtomicUsize::new(0),
            senders: AtomicUsize::new(1),
        }
    }

    /// A sender has just published a message: whether the receiver waits (or is about to)
    /// and must be woken.
    #[inline(always)]
    pub(crate) fn published(&self) -> bool {
        self.other_side_waits(RX_WAITING)
    }

    /// The receiver has just freed a slot: whether senders wait (or are about to) and must be
    /// woken.
    #[inline(always)]
    pub(crate) fn freed(&self) -> bool {
        self.other_side_waits(TX_WAITING)
    }

    /// The lock-free side's half of the Dekker pair (module docs).
    #[inline(always)]
    fn other_side_waits(&self, bit: usize) -> bool {
        // Pairs with the fence of a waiter's `announce`.
        fence(Ordering::SeqCst);
        self.bits.load(Ordering::Relaxed) & bit != 0
    }

    /// Under the scheduler lock, before the waiter's last look at the ring: sets `bit`
    /// ([`RX_WAITING`] or [`TX_WAITING`]). The caller then checks the ring and blocks, in
    /// the same lock section, only if it still has to.
    #[inline(always)]
    pub(crate) fn announce(&self, bit: usize) {
        self.bits.fetch_or(bit, Ordering::Relaxed);
        // Pairs with the fence of the other side's `published` or `freed`.
        fence(Ordering::SeqCst);
    }

    /// Under the scheduler lock: clears `bit` (its side is being woken, or nobody waits
    /// there after all).
    #[inline(always)]
    pub(crate) fn clear(&self, bit: usize) {
        self.bits.fetch_and(!bit, Ordering::Relaxed);
    }

    /// Under the scheduler lock, by the receiver about to block: whether every sender is gone.
    /// `Relaxed`: the lock orders it with the last sender's wake-up, and a receiver that sees
    /// it goes on to [`senders_gone`](Self::senders_gone) before it trusts an empty ring.
    #[inline(always)]
    pub(crate) fn senders_gone_locked(&self) -> bool {
        self.bits.load(Ordering::Relaxed) & TX_GONE != 0
    }

    /// Whether every sender is gone. `Acquire`: the messages they sent are visible after
    /// this, so a ring found empty after it is empty for good.
    #[inline(always)]
    pub(crate) fn senders_gone(&self) -> bool {
        self.bits.load(Ordering::Acquire) & TX_GONE != 0
    }

    /// One more sender (a clone).
    #[inline(always)]
    pub(crate) fn add_sender(&self) {
        self.senders.fetch_add(1, Ordering::Relaxed);
    }

    /// A sender is dropped: true if it was the last one, which has now set [`TX_GONE`] (the
    /// caller then wakes the receiver under the scheduler lock).
    #[inline(always)]
    pub(crate) fn drop_sender(&self) -> bool {
        // AcqRel: the last sender's drop comes after every other sender's messages.
        if self.senders.fetch_sub(1, Ordering::AcqRel) != 1 {
            return false;
        }
        self.bits.fetch_or(TX_GONE, Ordering::Release);
        true
    }
}
