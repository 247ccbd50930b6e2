//! The names of the threads seen, recorded at spawn so that they outlive the threads.
//!
//! A fixed table ([`CAPACITY`] entries, no allocation): a slot is claimed with one atomic
//! add, filled, then published by storing the thread's id (never 0) last. Names beyond the
//! table's room are counted, not kept (their threads show as ids).

use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use trace_format::{NameEntry, NAME_LEN};

/// Names the table keeps.
const CAPACITY: usize = 512;

struct Slot {
    /// The thread's id once `name` is filled (0: empty or being filled).
    thread: AtomicU64,
    name: UnsafeCell<[u8; NAME_LEN]>,
}

// SAFETY: `name` is written only by the writer that claimed the slot (`CLAIMED`), before it
// publishes the slot with a release store of `thread`; readers read `name` only after an
// acquire load of a nonzero `thread`, and the slot is never written again.
unsafe impl Sync for Slot {}

static TABLE: [Slot; CAPACITY] = [const {
    Slot {
        thread: AtomicU64::new(0),
        name: UnsafeCell::new([0; NAME_LEN]),
    }
}; CAPACITY];

/// Slots claimed (may exceed [`CAPACITY`]: the rest were refused).
static CLAIMED: AtomicUsize = AtomicUsize::new(0);

/// Records that `thread` is called `name` (cut to [`NAME_LEN`] bytes). Bounded, no allocation;
/// callable with IRQs masked or the scheduler lock held.
pub(super) fn record(thread: u64, name: &str) {
    let index = CLAIMED.fetch_add(1, Ordering::Relaxed);
    let Some(slot) = TABLE.get(index) else {
        return;
    };
    let entry = NameEntry::new(thread, name);
    // SAFETY: this caller claimed the slot (see `Sync`); nothing reads it before `thread` is
    // stored below.
    unsafe { *slot.name.get() = entry.name };
    slot.thread.store(thread, Ordering::Release);
}

/// The published entries, in order of recording.
pub(super) fn entries() -> impl Iterator<Item = NameEntry> {
    let claimed = CLAIMED.load(Ordering::Acquire).min(CAPACITY);
    TABLE[..claimed].iter().filter_map(|slot| {
        let thread = slot.thread.load(Ordering::Acquire);
        if thread == 0 {
            return None;
        }
        // SAFETY: a nonzero `thread` (acquire) means `name` was filled and is never written
        // again (see `Sync`).
        let name = unsafe { *slot.name.get() };
        Some(NameEntry { thread, name })
    })
}
