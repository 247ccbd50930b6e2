//! `loom` models of the atomic protocols preempt's SMP kernel relies on, run on the host by
//! `cargo test` (and so by `cargo xtask test`).
//!
//! The lock is not a copy: [`ticket`] *is* `crates/arch-aarch64/src/spinlock/ticket.rs`,
//! compiled here against loom's atomics (the build script sets `cfg(loom)`, which only makes
//! its constructor non-`const`). loom runs every model under every interleaving its bounds
//! allow and under the C++11 memory model's weak orderings, so a missing `Acquire`/`Release`
//! shows up as a data race on a [`loom::cell::UnsafeCell`] or a stale read.
//!
//! The models (`tests/`):
//! - `ticket`: mutual exclusion and first-come-first-served entry of the ticket lock;
//! - `handover`: the scheduler lock taken by one thread and released by the thread switched
//!   to, while another core waits for it;
//! - `ipi`: a reschedule interrupt sent while the target core decides to idle is never lost.
//!
//! Each model also runs against a lock or a protocol with one planted bug and must fail there
//! (`#[should_panic]` tests): proof that it can see what it checks.

/// The atomics `ticket.rs` is written against: loom's.
mod atomics {
    pub(crate) use loom::sync::atomic::{AtomicU32, AtomicU64, Ordering};

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

pub mod planted;

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
