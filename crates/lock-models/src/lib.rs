//! `loom` models of the atomic protocols preempt's SMP kernel relies on, run on the host by
//! `cargo test` (and so by `cargo xtask test`).
//!
//! The protocols are not copies where the kernel's code allows: [`ticket`] *is*
//! `crates/arch-aarch64/src/spinlock/ticket.rs`, and the mutex and semaphore words, the
//! channel ring and flags word and the block pool's free list are the kernel's own files
//! (`crates/preempt/src/sync/{mutex_word,sem_word}.rs`, `sync/mpsc/{ring,wake_flags}.rs`,
//! `pool/free_list.rs`), compiled here against loom's atomics (the build script sets
//! `cfg(loom)`, which only makes the ticket lock's constructor non-`const`; the kernel files
//! take their atomics, fences, message cell and IRQ mask from a module named `atomics`, which
//! here is [`atomics`]). What surrounds them in the kernel (the scheduler's records and
//! queues) is modelled in each test, which says which kernel lines it mirrors. loom runs
//! every model under every interleaving its bounds allow and under the C++11 memory model's
//! weak orderings, so a missing `Acquire`/`Release` shows up as a data race on a
//! [`loom::cell::UnsafeCell`] or a stale read; a lost wake-up as loom's "deadlock" (every
//! thread left blocked). loom models `fence(SeqCst)` (the channel's Dekker pair) but treats
//! `SeqCst` *accesses* as `AcqRel`, so a protocol built on those would fail falsely here;
//! docs/design.md ("Checked by loom") lists the kernel's other atomics and why each needs no
//! model.
//!
//! The models (`tests/`):
//! - `ticket`: mutual exclusion and first-come-first-served entry of the ticket lock;
//! - `handover`: the scheduler lock taken by one thread and released by the thread switched
//!   to, while another core waits for it;
//! - `ipi`: a reschedule interrupt sent while the target core decides to idle is never lost;
//! - `mutex`: the `Mutex` word's fast paths against its slow paths under the scheduler lock,
//!   hand-off to a pending owner and take-over included: mutual exclusion, no lost wake-up,
//!   the mutex handed to the waiter or taken over from it;
//! - `semaphore`: the `Semaphore` word's fast paths, slow mode and the count drained back
//!   to the word: no permit lost or duplicated, no lost wake-up;
//! - `ring`: the `sync_channel(n)` ring: every message received once, in each sender's
//!   order, never read half-written;
//! - `channel`: the `sync_channel(n)` flags word with the ring and the blocking around them:
//!   no wake-up lost by a receiver blocking on an empty ring or senders on a full one, the
//!   disconnection read only after every message;
//! - `pool`: the `BlockPool` free list: no block handed out twice or lost, the ABA case.
//!
//! Each model also runs against a lock or a protocol with one planted bug and must fail there
//! (`#[should_panic]` tests): proof that it can see what it checks.

extern crate alloc;

/// What the kernel files included here are written against (the kernel's
/// `crates/preempt/src/sync/atomics.rs` and the spinlock module's `atomics`): loom's atomics
/// and cell, and an IRQ mask that does nothing (a model's threads are cores).
pub mod atomics {
    use core::mem::MaybeUninit;

    /// `Mutex::spin_for`'s pause between bounded retries: no loom yield point (a yield tells
    /// loom to run the others first, which would hide every interleaving in which the spinner
    /// goes on while the holder still holds).
    pub(crate) use core::hint::spin_loop;
    pub use loom::sync::atomic::{fence, AtomicU32, AtomicU64, AtomicUsize, Ordering};

    /// The kernel's `cpu::irq_save`/`irq_restore`, for the ring: nothing to mask here.
    pub(crate) mod cpu {
        /// What [`irq_save`] saved: nothing.
        pub(crate) struct Masked;
        /// Masks nothing.
        pub(crate) fn irq_save() -> Masked {
            Masked
        }
        /// Restores nothing.
        pub(crate) fn irq_restore(_: Masked) {}
    }

    /// The kernel's `SlotCell` (a message slot) over loom's cell, which reports any access
    /// that overlaps a write as a data race.
    pub(crate) struct SlotCell<T>(loom::cell::UnsafeCell<MaybeUninit<T>>);

    impl<T> SlotCell<T> {
        pub(crate) fn new() -> Self {
            Self(loom::cell::UnsafeCell::new(MaybeUninit::uninit()))
        }

        /// # Safety
        /// As the kernel's: nobody else reads or writes the slot meanwhile.
        pub(crate) unsafe fn write(&self, t: T) {
            // SAFETY: exclusive (the caller's contract; loom checks it).
            self.0.with_mut(|p| unsafe { (*p).write(t) });
        }

        /// # Safety
        /// As the kernel's: the slot holds a value, nobody else accesses it meanwhile.
        pub(crate) unsafe fn read(&self) -> T {
            // SAFETY: initialised and exclusive (the caller's contract; loom checks it).
            self.0.with_mut(|p| unsafe { (*p).assume_init_read() })
        }

        /// # Safety
        /// As the kernel's: the slot holds a value.
        pub(crate) unsafe fn drop_value(&mut self) {
            // SAFETY: initialised (the caller's contract).
            self.0.with_mut(|p| unsafe { (*p).assume_init_drop() });
        }
    }

    /// The kernel's `wait_until` (an exclusive load and `wfe`): for loom, a spin whose
    /// every look is a yield point.
    pub(crate) fn wait_until(word: &AtomicU32, want: u32) {
        while word.load(Ordering::Acquire) != want {
            loom::hint::spin_loop();
        }
    }
}

#[path = "../../arch-aarch64/src/spinlock/ticket.rs"]
pub mod ticket;

#[allow(dead_code)]
#[path = "../../preempt/src/sync/mutex_word.rs"]
mod mutex_word;

#[allow(dead_code)]
#[path = "../../preempt/src/sync/sem_word.rs"]
mod sem_word;

#[allow(dead_code)]
#[path = "../../preempt/src/sync/mpsc/ring.rs"]
mod ring;

#[allow(dead_code)]
#[path = "../../preempt/src/pool/free_list.rs"]
mod free_list;

#[allow(dead_code)]
#[path = "../../preempt/src/sync/mpsc/wake_flags.rs"]
mod wake_flags;

pub mod kernel;
pub mod planted;

/// The kernel's ring again, against atomics whose `Release` stores are `Relaxed`: the planted
/// bug of `tests/ring.rs`.
pub mod relaxed;

/// The kernel's free list again, with an exchange of the head word that ignores the ABA tag:
/// the planted bug of `tests/pool.rs`.
pub mod tagless;

/// The kernel's channel flags word again, against fences that are `AcqRel` where the kernel's
/// are `SeqCst`: a planted bug of `tests/channel.rs`.
pub mod weak_fence;

/// What the models need of a lock, so that they can run against planted-bug variants too.
pub trait ModelLock: Sync + Send + 'static {
    /// A new, unlocked lock.
    fn new() -> Self;
    /// Takes the lock for core `me`; returns the ticket it entered with.
    fn lock_on(&self, me: usize) -> u32;
    /// Releases the lock.
    fn unlock(&self);
    /// Whether core `me` holds the lock.
    fn held_by(&self, me: usize) -> bool;
}

impl ModelLock for ticket::TicketLock {
    fn new() -> Self {
        ticket::TicketLock::new()
    }
    fn lock_on(&self, me: usize) -> u32 {
        ticket::TicketLock::lock_on(self, me)
    }
    fn unlock(&self) {
        ticket::TicketLock::unlock(self)
    }
    fn held_by(&self, me: usize) -> bool {
        ticket::TicketLock::held_by(self, me)
    }
}

/// Model-checker settings shared by the models: bounded preemptions keep each model to
/// seconds while covering every interleaving with up to two forced switches (each planted bug
/// needs one).
pub fn model(f: impl Fn() + Sync + Send + 'static) {
    let mut builder = loom::model::Builder::new();
    if builder.preemption_bound.is_none() {
        builder.preemption_bound = Some(2);
    }
    // A spinning waiter adds a branch per turn of its loop.
    builder.max_branches = builder.max_branches.max(100_000);
    builder.check(f);
}
