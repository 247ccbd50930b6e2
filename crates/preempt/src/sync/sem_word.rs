//! The atomic protocol on a [`Semaphore`](super::Semaphore)'s word, on its own so that the
//! host-side `loom` model (`crates/lock-models/tests/semaphore.rs`) runs this very code (see
//! [`atomics`](super::atomics)).
//!
//! The word is the permit count while nobody waits (*fast mode*), and [`WAITERS`] with a zero
//! count while the scheduler's semaphore holds the count and queues the waiters (*slow mode*).
//! Only the scheduler-lock holder switches modes: to slow mode with a compare-and-swap on the
//! empty word ([`take_or_wait`]), back with a store of the scheduler's count once nobody waits
//! ([`refill`]). The fast paths ([`try_take`], [`give`]) never change a slow-mode word, so
//! neither switch can lose or duplicate a permit taken or given meanwhile. Orderings: a take
//! is `Acquire` and a give `Release` (what the releaser did is visible to the taker), and so is
//! the refill (the permits it carries were given before).

use super::atomics::{AtomicU64, Ordering};

/// Set in the word while the scheduler holds the count (threads are waiting).
pub(crate) const WAITERS: u64 = 1 << 63;

/// The most permits the word (and the scheduler's count) holds.
pub(crate) const MAX: u64 = u32::MAX as u64;

/// Takes a permit from the word if one is there and nobody waits.
#[inline(always)]
pub(crate) fn try_take(word: &AtomicU64) -> bool {
    let mut w = word.load(Ordering::Relaxed);
    while w != 0 && w & WAITERS == 0 {
        match word.compare_exchange_weak(w, w - 1, Ordering::Acquire, Ordering::Relaxed) {
            Ok(_) => return true,
            Err(now) => w = now,
        }
    }
    false
}

/// Adds a permit to the word if nobody waits and the count is below [`MAX`]: false if the
/// caller must take the slow path (the scheduler, or the overflow panic).
#[inline(always)]
pub(crate) fn give(word: &AtomicU64) -> bool {
    let mut w = word.load(Ordering::Relaxed);
    while w & WAITERS == 0 && w < MAX {
        match word.compare_exchange_weak(w, w + 1, Ordering::Release, Ordering::Relaxed) {
            Ok(_) => return true,
            Err(now) => w = now,
        }
    }
    false
}

/// The slow acquire's step on the word, under the scheduler lock: takes a permit if the word
/// has one (true), or else switches an empty word to slow mode (false: the caller asks the
/// scheduler, which now holds the count).
#[inline(always)]
pub(crate) fn take_or_wait(word: &AtomicU64) -> bool {
    loop {
        let w = word.load(Ordering::Relaxed);
        if w & WAITERS != 0 {
            return false;
        }
        if w != 0 {
            if word
                .compare_exchange(w, w - 1, Ordering::Acquire, Ordering::Relaxed)
                .is_ok()
            {
                return true;
            }
            continue;
        }
        // Empty: hand the (zero) count to the scheduler.
        if word
            .compare_exchange(0, WAITERS, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok()
        {
            return false;
        }
    }
}

/// The slow release's step on the word, under the scheduler lock: in fast mode (the last
/// waiter left meanwhile) the permit goes to the word (`Some(true)`; `None` if that would
/// overflow); in slow mode `Some(false)`: the scheduler takes it.
#[inline(always)]
pub(crate) fn give_locked(word: &AtomicU64) -> Option<bool> {
    let w = word.load(Ordering::Relaxed);
    if w & WAITERS != 0 {
        return Some(false);
    }
    if w >= MAX {
        return None;
    }
    // Fast paths may change the word meanwhile (never to slow mode: that needs the lock).
    word.fetch_add(1, Ordering::Release);
    Some(true)
}

/// Whether the word is in slow mode.
#[inline(always)]
pub(crate) fn is_slow(word: &AtomicU64) -> bool {
    word.load(Ordering::Relaxed) & WAITERS != 0
}

/// Back to fast mode with the scheduler's count `permits`, under the scheduler lock once
/// nobody waits.
#[inline(always)]
pub(crate) fn refill(word: &AtomicU64, permits: u32) {
    word.store(u64::from(permits), Ordering::Release);
}
