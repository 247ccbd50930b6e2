//! Public doors to the kernel files this crate includes (their items are `pub(crate)` or
//! `pub(super)` there): each function here only calls the kernel's.

/// `crates/preempt/src/sync/mutex_word.rs`.
pub mod mutex_word {
    use crate::atomics::AtomicU64;
    use crate::mutex_word as k;

    pub use sched_core::LOCK_WAITERS;

    /// `take`: the fast lock's compare-and-swap.
    pub fn take(word: &AtomicU64, me: u64) -> Result<u64, u64> {
        k::take(word, me)
    }
    /// `spin_take`: `Mutex::spin_for`'s retries.
    pub fn spin_take(word: &AtomicU64, me: u64, spins: u32) -> bool {
        k::spin_take(word, me, spins)
    }
    /// `release`: the fast unlock.
    pub fn release(word: &AtomicU64, owner: u64) -> bool {
        k::release(word, owner)
    }
    /// `take_or_mark`: the slow lock's step under the scheduler lock.
    pub fn take_or_mark(word: &AtomicU64, me: u64) -> Option<u64> {
        k::take_or_mark(word, me)
    }
    /// `publish`: the scheduler's word stored back.
    pub fn publish(word: &AtomicU64, w: u64) {
        k::publish(word, w)
    }
}

/// `crates/preempt/src/sync/sem_word.rs`.
pub mod sem_word {
    use crate::atomics::AtomicU64;
    use crate::sem_word as k;

    /// `WAITERS`: the word is in slow mode.
    pub const WAITERS: u64 = k::WAITERS;

    /// `try_take`: the fast acquire.
    pub fn try_take(word: &AtomicU64) -> bool {
        k::try_take(word)
    }
    /// `give`: the fast release.
    pub fn give(word: &AtomicU64) -> bool {
        k::give(word)
    }
    /// `take_or_wait`: the slow acquire's step under the scheduler lock.
    pub fn take_or_wait(word: &AtomicU64) -> bool {
        k::take_or_wait(word)
    }
    /// `give_locked`: the slow release's step under the scheduler lock.
    pub fn give_locked(word: &AtomicU64) -> Option<bool> {
        k::give_locked(word)
    }
    /// `is_slow`: whether the scheduler holds the count.
    pub fn is_slow(word: &AtomicU64) -> bool {
        k::is_slow(word)
    }
    /// `refill`: back to fast mode with the scheduler's count.
    pub fn refill(word: &AtomicU64, permits: u32) {
        k::refill(word, permits)
    }
}

/// `crates/preempt/src/pool/free_list.rs`: [`FreeList`](free_list::FreeList) is the
/// kernel's, [`TaglessFreeList`](free_list::TaglessFreeList) the same source against a head
/// word whose exchange ignores the ABA tag (a planted bug).
pub mod free_list {
    pub use crate::tagless::TaglessFreeList;

    /// `NONE`: the empty list's index.
    pub const NONE: u32 = crate::free_list::NONE;

    /// A pool's free list of `blocks` blocks, as `BlockPool::new` makes it.
    pub trait ModelFreeList: Send + Sync {
        /// Every block free, in index order.
        fn new(blocks: u32) -> Self;
        /// `pop(fast = true)`: a block, if one is free and nobody waits.
        fn pop(&self) -> Option<u32>;
        /// `push(i, fast = true)`: returns block `i` (false if threads wait).
        fn push(&self, i: u32) -> bool;
        /// The free blocks in list order, following at most `limit` links (for a model's end,
        /// once no other thread runs).
        fn walk(&self, limit: usize) -> Vec<u32>;
    }

    /// Implements [`ModelFreeList`] for `$name { head, links }` with the free list module
    /// that `$atomics` is the `atomics` of (its sibling `free_list`).
    macro_rules! door {
        ($name:ident, $atomics:ident) => {
            impl $crate::kernel::free_list::ModelFreeList for $name {
                fn new(blocks: u32) -> Self {
                    Self {
                        head: $atomics::AtomicU64::new(0),
                        links: (0..blocks)
                            .map(|i| {
                                let next = if i + 1 == blocks {
                                    free_list::NONE
                                } else {
                                    i + 1
                                };
                                $atomics::AtomicU32::new(next)
                            })
                            .collect(),
                    }
                }
                fn pop(&self) -> Option<u32> {
                    free_list::pop(&self.head, |i| &self.links[i as usize], true)
                }
                fn push(&self, i: u32) -> bool {
                    free_list::push(&self.head, |i| &self.links[i as usize], i, true)
                }
                fn walk(&self, limit: usize) -> Vec<u32> {
                    use $atomics::Ordering::Acquire;
                    let mut free = Vec::new();
                    let mut i = self.head.load(Acquire) as u32;
                    while i != free_list::NONE && free.len() < limit {
                        free.push(i);
                        i = self.links[i as usize].load(Acquire);
                    }
                    free
                }
            }
        };
    }
    pub(crate) use door;

    /// The kernel's free list.
    pub struct FreeList {
        head: crate::atomics::AtomicU64,
        links: Vec<crate::atomics::AtomicU32>,
    }

    use crate::{atomics, free_list};
    door!(FreeList, atomics);
}

/// `crates/preempt/src/sync/mpsc/ring.rs`: [`Ring`](ring::Ring) is the kernel's ring,
/// [`RelaxedRing`](ring::RelaxedRing) the same source against atomics whose `Release` stores
/// are `Relaxed` (a planted bug).
pub mod ring {
    /// What `push` found (the kernel's `Push`).
    pub enum Push<T> {
        /// Queued.
        Sent,
        /// No free slot now; the message comes back.
        Full(T),
        /// The ring is closed; the message comes back.
        Closed(T),
    }

    /// The ring's operations, for models that run against either ring.
    pub trait ModelRing<T>: Send + Sync {
        /// `Ring::new(cap)`.
        fn new(cap: usize) -> Self;
        /// `Ring::push`.
        fn push(&self, t: T) -> Push<T>;
        /// `Ring::pop`.
        ///
        /// # Safety
        /// As the kernel's: only the receiver calls this, one thread at a time.
        unsafe fn pop(&self) -> Option<T>;
        /// `Ring::close`.
        fn close(&self);
    }

    /// Implements [`ModelRing`] for a door `$name(ring)` to a ring of type `$ring`.
    macro_rules! door {
        ($name:ident, $ring:path, $push:path) => {
            impl<T: Send> $crate::kernel::ring::ModelRing<T> for $name<T> {
                fn new(cap: usize) -> Self {
                    Self(<$ring>::new(cap))
                }
                fn push(&self, t: T) -> $crate::kernel::ring::Push<T> {
                    use $crate::kernel::ring::Push;
                    use $push as P;
                    match self.0.push(t) {
                        P::Sent => Push::Sent,
                        P::Full(t) => Push::Full(t),
                        P::Closed(t) => Push::Closed(t),
                    }
                }
                unsafe fn pop(&self) -> Option<T> {
                    // SAFETY: the caller's contract.
                    unsafe { self.0.pop() }
                }
                fn close(&self) {
                    self.0.close()
                }
            }
        };
    }
    pub(crate) use door;

    /// The kernel's `Ring`.
    pub struct Ring<T>(crate::ring::Ring<T>);
    door!(Ring, crate::ring::Ring<T>, crate::ring::Push);

    pub use crate::relaxed::RelaxedRing;
}
