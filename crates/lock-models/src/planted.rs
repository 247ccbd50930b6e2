//! The ticket lock with one planted bug, for the models' `#[should_panic]` tests: one type
//! whose bug is a const parameter, so the variants differ only where the bug is. It keeps the
//! simplest owner record (the core number, cleared on unlock): what the models check of it —
//! that a holder reads itself as the holder — is the same.

use loom::sync::atomic::{AtomicU32, AtomicUsize, Ordering};

use crate::ModelLock;

/// The ticket is taken with a plain load and a store, not one atomic increment.
pub const NON_ATOMIC_TICKET: u8 = 1;
/// The store that lets the next ticket in is `Relaxed`, not `Release`.
pub const RELAXED_RELEASE: u8 = 2;

/// A ticket lock with the bug `BUG` (one of the constants above).
pub struct PlantedTicket<const BUG: u8> {
    next: AtomicU32,
    serving: AtomicU32,
    owner: AtomicUsize,
}

impl<const BUG: u8> ModelLock for PlantedTicket<BUG> {
    fn new() -> Self {
        Self {
            next: AtomicU32::new(0),
            serving: AtomicU32::new(0),
            owner: AtomicUsize::new(usize::MAX),
        }
    }
    fn lock_on(&self, me: usize) -> u32 {
        let ticket = if BUG == NON_ATOMIC_TICKET {
            let t = self.next.load(Ordering::Relaxed);
            self.next.store(t + 1, Ordering::Relaxed);
            t
        } else {
            self.next.fetch_add(1, Ordering::Relaxed)
        };
        crate::atomics::wait_until(&self.serving, ticket);
        self.owner.store(me, Ordering::Relaxed);
        ticket
    }
    fn unlock(&self) {
        self.owner.store(usize::MAX, Ordering::Relaxed);
        let s = self.serving.load(Ordering::Relaxed);
        let order = if BUG == RELAXED_RELEASE {
            Ordering::Relaxed
        } else {
            Ordering::Release
        };
        self.serving.store(s + 1, order);
    }
    fn held_by(&self, me: usize) -> bool {
        self.owner.load(Ordering::Relaxed) == me
    }
}
