//! The atomic protocol on a [`Mutex`](super::Mutex)'s lock word, on its own so that the
//! host-side `loom` model (`crates/lock-models/tests/mutex.rs`) runs this very code (see
//! [`atomics`](super::atomics)). The word's meaning and the protocol are documented in
//! `sched_core::scheduler::mutex`: `0` free, the owner's id while owned and unrecorded,
//! `| LOCK_WAITERS` once the scheduler's record is authoritative.
//!
//! Orderings: a take is an `Acquire` compare-and-swap and a fast release a `Release` one, so
//! the holder's writes reach the next holder; setting [`LOCK_WAITERS`] needs no ordering (it
//! happens under the scheduler lock, which orders it with the slow unlock that reads it), only
//! atomicity against the owner's fast release: exactly one of the two succeeds, so either the
//! owner released (and the slow path retakes a free word) or its release fails and goes to the
//! scheduler, where the waiter is queued.

use sched_core::LOCK_WAITERS;

use super::atomics::{spin_loop, AtomicU64, Ordering};

/// Takes the word for `me` if it is free: `Err` with the word seen otherwise.
#[inline(always)]
pub(crate) fn take(word: &AtomicU64, me: u64) -> Result<u64, u64> {
    word.compare_exchange(0, me, Ordering::Acquire, Ordering::Relaxed)
}

/// Retries [`take`] up to `spins` times while the holder is someone else; whether it took
/// the word. Gives up at once when the caller holds it, and when the word is
/// [`LOCK_WAITERS`] alone: the mutex was handed to a woken heir that has not run yet, which
/// only the slow path may take over.
#[inline(always)]
pub(crate) fn spin_take(word: &AtomicU64, me: u64, spins: u32) -> bool {
    for _ in 0..spins {
        let w = word.load(Ordering::Relaxed);
        if w & !LOCK_WAITERS == me || w == LOCK_WAITERS {
            return false;
        }
        if w == 0 && take(word, me).is_ok() {
            return true;
        }
        spin_loop();
    }
    false
}

/// Releases `owner`'s hold if nobody waits (the word is still `owner`): false if the scheduler
/// must hand the mutex over.
#[inline(always)]
pub(crate) fn release(word: &AtomicU64, owner: u64) -> bool {
    word.compare_exchange(owner, 0, Ordering::Release, Ordering::Relaxed)
        .is_ok()
}

/// The slow lock's step on the word, under the scheduler lock: takes a free word (`None`), or
/// marks it [`LOCK_WAITERS`] and returns the word seen before (its owner bits are the hint for
/// the scheduler's record).
#[inline(always)]
pub(crate) fn take_or_mark(word: &AtomicU64, me: u64) -> Option<u64> {
    loop {
        let w = word.load(Ordering::Relaxed);
        if w == 0 {
            if take(word, me).is_ok() {
                return None;
            }
            continue;
        }
        if w & LOCK_WAITERS == 0
            && word
                .compare_exchange(w, w | LOCK_WAITERS, Ordering::Relaxed, Ordering::Relaxed)
                .is_err()
        {
            continue;
        }
        return Some(w);
    }
}

/// Stores the scheduler's word for the mutex (`sched_core`'s `mutex_lock_word`), under the
/// scheduler lock: after a hand-over or a slow take.
#[inline(always)]
pub(crate) fn publish(word: &AtomicU64, w: u64) {
    word.store(w, Ordering::Release);
}
