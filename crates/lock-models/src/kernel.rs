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
        /// `Ring::can_push`: a waiting sender's last look.
        fn can_push(&self) -> bool;
        /// `Ring::can_pop`: the waiting receiver's last look.
        fn can_pop(&self) -> bool;
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
                fn can_push(&self) -> bool {
                    self.0.can_push()
                }
                fn can_pop(&self) -> bool {
                    self.0.can_pop()
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

/// `crates/preempt/src/sync/mpsc/wake_flags.rs`: [`WakeFlags`](wake_flags::WakeFlags) is
/// the kernel's, [`WeakFenceFlags`](wake_flags::WeakFenceFlags) the same source against
/// `AcqRel` fences where it has `SeqCst` ones (a planted bug).
pub mod wake_flags {
    /// `RX_WAITING`: the receiver waits (or is about to).
    pub const RX_WAITING: usize = crate::wake_flags::RX_WAITING;
    /// `TX_WAITING`: a sender waits (or is about to).
    pub const TX_WAITING: usize = crate::wake_flags::TX_WAITING;
    /// `TX_GONE`: every sender is gone.
    pub const TX_GONE: usize = crate::wake_flags::TX_GONE;
    pub use crate::weak_fence::WeakFenceFlags;

    /// The flags word's operations, for models that run against either variant.
    pub trait ModelWakeFlags: Send + Sync {
        /// `WakeFlags::new`: no bit set, one sender.
        fn new() -> Self;
        /// `published`: after a send, whether the receiver must be woken.
        fn published(&self) -> bool;
        /// `freed`: after a receive, whether senders must be woken.
        fn freed(&self) -> bool;
        /// `announce`: a waiter's bit set, before its last look (under the scheduler lock).
        fn announce(&self, bit: usize);
        /// `clear`: a bit cleared (under the scheduler lock).
        fn clear(&self, bit: usize);
        /// `senders_gone_locked`: the receiver's look under the scheduler lock.
        fn senders_gone_locked(&self) -> bool;
        /// `senders_gone`: the receiver's look before it trusts an empty ring.
        fn senders_gone(&self) -> bool;
        /// `add_sender`.
        fn add_sender(&self);
        /// `drop_sender`: true for the last sender (which set `TX_GONE`).
        fn drop_sender(&self) -> bool;
    }

    /// Implements [`ModelWakeFlags`] for a door `$name(flags)` to the flags type `$flags`.
    macro_rules! door {
        ($name:ident, $flags:path) => {
            impl $crate::kernel::wake_flags::ModelWakeFlags for $name {
                fn new() -> Self {
                    Self(<$flags>::new())
                }
                fn published(&self) -> bool {
                    self.0.published()
                }
                fn freed(&self) -> bool {
                    self.0.freed()
                }
                fn announce(&self, bit: usize) {
                    self.0.announce(bit)
                }
                fn clear(&self, bit: usize) {
                    self.0.clear(bit)
                }
                fn senders_gone_locked(&self) -> bool {
                    self.0.senders_gone_locked()
                }
                fn senders_gone(&self) -> bool {
                    self.0.senders_gone()
                }
                fn add_sender(&self) {
                    self.0.add_sender()
                }
                fn drop_sender(&self) -> bool {
                    self.0.drop_sender()
                }
            }
        };
    }
    pub(crate) use door;

    /// The kernel's `WakeFlags`.
    pub struct WakeFlags(crate::wake_flags::WakeFlags);
    door!(WakeFlags, crate::wake_flags::WakeFlags);
}
