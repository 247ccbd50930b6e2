//! The kernel's sync_channel ring (`crates/preempt/src/sync/mpsc/ring.rs`) again, against
//! atomics whose `Release` stores are `Relaxed`: the planted bug of `tests/ring.rs` (a stamp
//! published, or a slot freed, without ordering the message copy before it).

/// The root [`atomics`](crate::atomics), but every `Release` store made `Relaxed`.
pub(crate) mod atomics {
    pub(crate) use crate::atomics::{cpu, Ordering, SlotCell};

    /// loom's `AtomicUsize` with `store(_, Release)` made `Relaxed`.
    pub(crate) struct AtomicUsize(loom::sync::atomic::AtomicUsize);

    impl AtomicUsize {
        pub(crate) fn new(v: usize) -> Self {
            Self(loom::sync::atomic::AtomicUsize::new(v))
        }
        pub(crate) fn load(&self, order: Ordering) -> usize {
            self.0.load(order)
        }
        pub(crate) fn store(&self, v: usize, order: Ordering) {
            let order = if order == Ordering::Release {
                Ordering::Relaxed // planted bug
            } else {
                order
            };
            self.0.store(v, order)
        }
        pub(crate) fn compare_exchange(
            &self,
            current: usize,
            new: usize,
            success: Ordering,
            failure: Ordering,
        ) -> Result<usize, usize> {
            self.0.compare_exchange(current, new, success, failure)
        }
        pub(crate) fn fetch_or(&self, v: usize, order: Ordering) -> usize {
            self.0.fetch_or(v, order)
        }
    }
}

#[allow(dead_code)]
// Included twice on purpose: once as it is, once here with the planted bug.
#[allow(clippy::duplicate_mod)]
#[path = "../../preempt/src/sync/mpsc/ring.rs"]
pub(crate) mod ring;

/// The kernel's `Ring` with `Relaxed` stores where it has `Release` ones.
pub struct RelaxedRing<T>(ring::Ring<T>);
crate::kernel::ring::door!(RelaxedRing, ring::Ring<T>, ring::Push);
