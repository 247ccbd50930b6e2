//! The scheduler lock held across a context switch: thread A takes it on core 0, saves its
//! registers (writes the protected cell) and switches to thread B on the same core, which
//! finishes the switch (writes again) and releases the lock; core 1 takes the lock meanwhile.
//! Core 1 must never see the state between A's take and B's release (the lock is not free
//! then), must see all of it after, and `held_by(0)` must hold for B (the lock recorded the
//! core, not the thread). Planted bugs: the release store `Relaxed` (the previous holder's "nobody holds
//! it" then lands after the next holder's own record: a core holding the lock reads that it
//! does not),
//! and A releasing before it switches (what docs/design.md rejects: core 1 then reads the
//! context while B still writes it, a data race).

use lock_models::planted::{PlantedTicket, RELAXED_RELEASE};
use lock_models::{model, ticket::TicketLock, ModelLock};
use loom::cell::UnsafeCell;
use loom::sync::Arc;
use loom::thread;

/// `early_release`: A releases the lock before the switch (and B takes nothing over).
fn handover<L: ModelLock>(early_release: bool) {
    model(move || {
        let lock = Arc::new(L::new());
        // 0: nothing saved; 1: A saved its registers; 2: B finished the switch.
        let ctx = Arc::new(UnsafeCell::new(0u32));
        // The context switch on core 0: B runs only after A switched to it, on the same core
        // (program order there; here A starts B, which orders A's steps before B's).
        let a = {
            let (lock, ctx) = (lock.clone(), ctx.clone());
            thread::spawn(move || {
                lock.lock_on(0);
                // SAFETY: under the lock.
                ctx.with_mut(|c| unsafe { *c = 1 });
                if early_release {
                    lock.unlock(); // planted bug: released before the switch
                }
                // The switch to B.
                thread::spawn(move || {
                    if !early_release {
                        assert!(lock.held_by(0), "the lock lost its owner record");
                    }
                    // SAFETY: under the lock, handed over by A's switch.
                    ctx.with_mut(|c| unsafe { *c = 2 });
                    if !early_release {
                        lock.unlock();
                    }
                })
            })
        };
        let other_core = {
            let (lock, ctx) = (lock.clone(), ctx.clone());
            thread::spawn(move || {
                lock.lock_on(1);
                assert!(
                    lock.held_by(1) && !lock.held_by(0),
                    "the lock lost its owner record"
                );
                // SAFETY: under the lock.
                let seen = ctx.with(|c| unsafe { *c });
                lock.unlock();
                assert!(
                    seen == 0 || seen == 2,
                    "core 1 saw a half-made switch ({seen})"
                );
            })
        };
        a.join().unwrap().join().unwrap();
        other_core.join().unwrap();
    });
}

#[test]
fn lock_is_handed_over_across_a_switch() {
    handover::<TicketLock>(false);
}

#[test]
#[should_panic(expected = "the lock lost its owner record")]
fn model_catches_a_relaxed_release() {
    handover::<PlantedTicket<RELAXED_RELEASE>>(false);
}

#[test]
#[should_panic(expected = "Causality violation")]
fn model_catches_a_release_before_the_switch() {
    handover::<TicketLock>(true);
}
