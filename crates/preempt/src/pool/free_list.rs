//! A [`BlockPool`](super::BlockPool)'s lock-free free list (see the parent module's docs), on
//! its own so that the host-side `loom` model (`crates/lock-models/tests/pool.rs`) runs this
//! very code (see [`atomics`](super::atomics)).
//!
//! The head word holds the first free block's index (low 32 bits, [`NONE`] when empty), the
//! [`WAITERS`] bit and an ABA tag above it, bumped by every pop; block `i`'s link is an
//! `AtomicU32` that `link(i)` returns (an array outside the blocks).

use super::atomics::{AtomicU32, AtomicU64, Ordering};

/// The low 32 bits of the head word: the first free block's index, [`NONE`] when empty.
pub(crate) const INDEX: u64 = 0xffff_ffff;
/// Marks an empty free list.
pub(crate) const NONE: u32 = u32::MAX;
/// Set in the head word while threads wait for a block (only under the scheduler lock, and
/// only on an empty list): allocations then fail fast and frees take the slow path to wake one.
pub(crate) const WAITERS: u64 = 1 << 32;
/// One step of the ABA tag in the top 31 bits of the head word (bumped by every pop; it wraps
/// out of the word without touching [`WAITERS`]).
pub(crate) const TAG: u64 = 1 << 33;

/// Pops a block index, unless the list is empty or (with `fast`) threads wait.
#[inline(always)]
pub(crate) fn pop<'a>(
    head: &AtomicU64,
    link: impl Fn(u32) -> &'a AtomicU32,
    fast: bool,
) -> Option<u32> {
    // Acquire: the link and the block's contents written before the push that put the head
    // there.
    let mut w = head.load(Ordering::Acquire);
    loop {
        let i = w as u32;
        if i == NONE || (fast && w & WAITERS != 0) {
            return None;
        }
        // Possibly stale if another pop takes `i` meanwhile; then the tag has moved and the
        // exchange fails.
        let next = link(i).load(Ordering::Relaxed);
        let new = ((w & !INDEX).wrapping_add(TAG)) | u64::from(next);
        match head.compare_exchange_weak(w, new, Ordering::Acquire, Ordering::Acquire) {
            Ok(_) => return Some(i),
            Err(now) => w = now,
        }
    }
}

/// Pushes block `i`; false (nothing done) if threads wait and `fast` is set.
#[inline(always)]
pub(crate) fn push<'a>(
    head: &AtomicU64,
    link: impl Fn(u32) -> &'a AtomicU32,
    i: u32,
    fast: bool,
) -> bool {
    let mut w = head.load(Ordering::Relaxed);
    loop {
        if fast && w & WAITERS != 0 {
            return false;
        }
        link(i).store(w as u32, Ordering::Relaxed);
        let new = (w & !INDEX) | u64::from(i);
        // Release: the link and the block's contents go with the block.
        match head.compare_exchange_weak(w, new, Ordering::Release, Ordering::Relaxed) {
            Ok(_) => return true,
            Err(now) => w = now,
        }
    }
}
