//! The kernel's `BlockPool` free list (`crates/preempt/src/pool/free_list.rs`) again, against
//! a head word whose compare-and-swap ignores the ABA tag: the planted bug of `tests/pool.rs`
//! (the free list without its tag).

/// The root [`atomics`](crate::atomics), but the head word's exchange blind to the tag.
pub(crate) mod atomics {
    pub(crate) use crate::atomics::{AtomicU32, Ordering};

    /// What the exchange compares: the index and the waiters bit, not the tag above them.
    const UNTAGGED: u64 = (1 << 33) - 1;

    /// loom's `AtomicU64` whose `compare_exchange_weak` compares only [`UNTAGGED`] bits.
    pub(crate) struct AtomicU64(loom::sync::atomic::AtomicU64);

    impl AtomicU64 {
        pub(crate) fn new(v: u64) -> Self {
            Self(loom::sync::atomic::AtomicU64::new(v))
        }
        pub(crate) fn load(&self, order: Ordering) -> u64 {
            self.0.load(order)
        }
        pub(crate) fn compare_exchange_weak(
            &self,
            current: u64,
            new: u64,
            success: Ordering,
            failure: Ordering,
        ) -> Result<u64, u64> {
            // planted bug: a tag that moved does not make the exchange fail
            self.0.fetch_update(success, failure, |w| {
                (w & UNTAGGED == current & UNTAGGED).then_some(new)
            })
        }
    }
}

#[allow(dead_code)]
// Included twice on purpose: once as it is, once here with the planted bug.
#[allow(clippy::duplicate_mod)]
#[path = "../../preempt/src/pool/free_list.rs"]
mod free_list;

/// The kernel's free list with a tag-blind head exchange.
pub struct TaglessFreeList {
    head: atomics::AtomicU64,
    links: Vec<atomics::AtomicU32>,
}

crate::kernel::free_list::door!(TaglessFreeList, atomics);
