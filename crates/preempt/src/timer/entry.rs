//! One timer's shared record, and the queue node that schedules it.
//!
//! The record is shared by the user's handles and the service (through at most one queue
//! node, or the service's "running" slot while its callback runs). Its callback sits behind a
//! [`Mutex`] that the service holds for exactly as long as the callback runs: a `cancel` from
//! another thread takes that mutex to remove the callback, so it waits for a running callback
//! to finish (with priority inheritance), and once it has the callback out, nothing can run
//! it again.

use alloc::boxed::Box;
use core::cmp::Ordering as CmpOrdering;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use crate::kernel::shared::Shared;
use crate::sync::Mutex;

/// A timer's callback, boxed.
pub(super) type Callback = Box<dyn FnMut() + Send>;

/// What the handles and the service share about one timer.
pub(super) struct Entry {
    /// The callback: `None` once the timer is over (cancelled, fired for the last time or
    /// panicked) and its callback dropped.
    pub(super) callback: Mutex<Option<Callback>>,
    /// The counter value deadlines count from (read when the timer was created).
    pub(super) start: u64,
    /// Nanoseconds from `start` to the first deadline, and between deadlines.
    pub(super) interval_ns: u64,
    /// Periodic (rather than one-shot).
    pub(super) periodic: bool,
    /// Still scheduled (queued or running, to be queued again). Changed only under the
    /// service lock, so the service never queues a timer that `cancel` has stopped.
    pub(super) active: AtomicBool,
    /// Callbacks started.
    pub(super) fired: AtomicU64,
    /// Deadlines passed without a callback of their own (see `Timer::overruns`).
    pub(super) overruns: AtomicU64,
}

impl Entry {
    pub(super) fn new(start: u64, interval_ns: u64, periodic: bool) -> Self {
        Self {
            callback: Mutex::new(None),
            start,
            interval_ns,
            periodic,
            active: AtomicBool::new(false),
            fired: AtomicU64::new(0),
            overruns: AtomicU64::new(0),
        }
    }

    /// Takes the callback out, waiting for it to finish if it is running; the caller drops it
    /// (outside every lock: a closure's destructor is user code). A callback whose run ended
    /// in a panic left the mutex poisoned: it is taken all the same.
    pub(super) fn take_callback(&self) -> Option<Callback> {
        let mut guard = self
            .callback
            .lock()
            .unwrap_or_else(crate::sync::PoisonError::into_inner);
        guard.take()
    }

    pub(super) fn is_active(&self) -> bool {
        self.active.load(Ordering::Acquire)
    }
}

/// A timer's place in the service's queue: its deadline `index` (the n-th of a periodic
/// timer, 1 for a one-shot) falls at counter value `deadline`. Ordered for a min-heap on
/// `(deadline, seq)`: the earliest first, and among equal deadlines the first queued.
pub(super) struct Node {
    pub(super) deadline: u64,
    pub(super) seq: u64,
    pub(super) index: u64,
    pub(super) entry: Shared<Entry>,
}

impl Node {
    pub(super) fn is_for(&self, entry: &Entry) -> bool {
        core::ptr::eq(&*self.entry, entry)
    }
}

impl PartialEq for Node {
    fn eq(&self, other: &Self) -> bool {
        (self.deadline, self.seq) == (other.deadline, other.seq)
    }
}

impl Eq for Node {}

impl PartialOrd for Node {
    fn partial_cmp(&self, other: &Self) -> Option<CmpOrdering> {
        Some(self.cmp(other))
    }
}

impl Ord for Node {
    /// Reversed, so that `BinaryHeap` (a max-heap) pops the earliest deadline.
    fn cmp(&self, other: &Self) -> CmpOrdering {
        (other.deadline, other.seq).cmp(&(self.deadline, self.seq))
    }
}
