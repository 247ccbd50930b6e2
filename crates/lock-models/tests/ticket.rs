//! The ticket lock: mutual exclusion (no two holders at once: loom reports concurrent access
//! to the protected cell as a data race) and entry in ticket order (first come, first served),
//! with two cores (three make the model minutes long; two already cover a waiter behind a
//! holder). Planted bug: a ticket taken with a plain load and store instead of one
//! atomic increment, which gives two cores the same ticket (both enter; the second one's owner record
//! replaces the first's).

use lock_models::planted::{PlantedTicket, NON_ATOMIC_TICKET};
use lock_models::{model, ticket::TicketLock, ModelLock};
use loom::cell::UnsafeCell;
use loom::sync::Arc;
use loom::thread;

/// Two cores each take the lock once and append their ticket to a list under it; the list
/// must end as 0, 1: every core got in, one at a time, in ticket order.
fn exclusion_and_fifo<L: ModelLock>() {
    model(|| {
        let lock = Arc::new(L::new());
        let entered = Arc::new(UnsafeCell::new(Vec::new()));
        let threads: Vec<_> = (0..2)
            .map(|core| {
                let (lock, entered) = (lock.clone(), entered.clone());
                thread::spawn(move || {
                    let ticket = lock.lock_on(core);
                    assert!(lock.held_by(core), "another core holds the lock too");
                    // SAFETY: under the lock (loom checks that no other access overlaps).
                    entered.with_mut(|v| unsafe { (*v).push(ticket) });
                    lock.unlock();
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        // SAFETY: every thread has been joined.
        let order = entered.with(|v| unsafe { (*v).clone() });
        assert_eq!(order, [0, 1], "entered out of ticket order");
    });
}

#[test]
fn ticket_lock_excludes_and_is_fifo() {
    exclusion_and_fifo::<TicketLock>();
}

#[test]
#[should_panic(expected = "another core holds the lock too")]
fn model_catches_a_non_atomic_ticket() {
    exclusion_and_fifo::<PlantedTicket<NON_ATOMIC_TICKET>>();
}
