//! The `Mutex` lock word (`crates/preempt/src/sync/mutex_word.rs`, run here as it is) against
//! its slow paths under the scheduler lock.
//!
//! Three threads on three cores each lock, write the protected data and unlock. The word steps
//! are the kernel's: `take` (`Mutex::lock`'s fast path), `spin_take` (`Mutex::spin_for`, one
//! retry here instead of `SPINS`), `take_or_mark` and `publish` (`Mutex::lock_slow`),
//! `release` (`Mutex::unlock`). The scheduler around them is modelled, mirroring
//! `sched_core::scheduler::mutex`: a loom mutex is the scheduler lock, the record is the owner
//! and a FIFO of waiters; `mutex_lock_contended` records the hinted owner if none is recorded
//! and queues the caller, which blocks (waits on a condition variable under the lock, as
//! `wait::wait` blocks under the scheduler lock and the switch releases it);
//! `mutex_unlock_deferred` hands the mutex to the first waiter and wakes it, and `store_word`
//! publishes `owner | LOCK_WAITERS` or `0`. Not modelled: timeouts, dead holders, priorities
//! (waiters are served first come, first served here: the order among several is the scheduler's business).
//!
//! Checked: mutual exclusion (the data is a loom cell: overlapping access is a data race,
//! and a holder count), no lost wake-up (a thread left blocked is loom's "deadlock"), the
//! mutex handed to the waiter (woken, the scheduler records it as the owner), and at the end
//! the word free and the record empty. Planted bugs: an unlock that ignores the waiters bit
//! (stores `0` and returns: the queued waiter sleeps forever) and a slow path that marks the
//! waiters bit with a load and a store instead of a compare-and-swap (the owner's fast unlock
//! between the two is overwritten: the owner is gone, nobody will hand the mutex over).

// The shared state holds loom cells, which are not `Sync`: loom runs every thread on one OS
// thread and checks each access to them itself.
#![allow(clippy::arc_with_non_send_sync)]

use std::collections::VecDeque;

use lock_models::kernel::mutex_word::{self as word, LOCK_WAITERS};
use lock_models::model;
use loom::cell::UnsafeCell;
use loom::sync::atomic::{AtomicU64, Ordering};
use loom::sync::{Condvar, Mutex};
// Not loom's `Arc`: its drop is a loom operation, which panics again while a thread unwinds
// from loom's deadlock report (the planted bugs' failure), and the process aborts.
use loom::thread;
use std::sync::Arc;

#[derive(Clone, Copy, PartialEq)]
enum Variant {
    Correct,
    UnlockIgnoresWaiters,
    MarkByStore,
}

/// The scheduler's record of the mutex.
#[derive(Default)]
struct Record {
    owner: Option<u64>,
    waiters: VecDeque<u64>,
    /// Thread ids handed the mutex and not yet run.
    handed: Vec<u64>,
}

struct Shared {
    word: AtomicU64,
    sched: Mutex<Record>,
    wake: Condvar,
    data: UnsafeCell<u32>,
    holders: AtomicU64,
}

impl Shared {
    fn lock(&self, me: u64, v: Variant) {
        if word::take(&self.word, me).is_ok() || word::spin_take(&self.word, me, 1) {
            return;
        }
        // `lock_slow`: under the scheduler lock.
        let mut s = self.sched.lock().unwrap();
        let seen = if v == Variant::MarkByStore {
            mark_by_store(&self.word, me)
        } else {
            word::take_or_mark(&self.word, me)
        };
        let Some(w) = seen else {
            return;
        };
        // `mutex_lock_contended(owner = w & !LOCK_WAITERS)`: the record wins over the hint.
        if s.owner.is_none() {
            s.owner = Some(w & !LOCK_WAITERS);
        }
        s.waiters.push_back(me);
        // Blocked until handed the mutex (the switch releases the scheduler lock).
        while !s.handed.contains(&me) {
            s = self.wake.wait(s).unwrap();
        }
        s.handed.retain(|&t| t != me);
        // The wake-up half: `WaitResult::Acquired`, then `store_word`.
        assert_eq!(s.owner, Some(me), "woken without the mutex");
        word::publish(&self.word, me | LOCK_WAITERS);
    }

    fn unlock(&self, me: u64, v: Variant) {
        if v == Variant::UnlockIgnoresWaiters {
            self.word.store(0, Ordering::Release); // planted bug
            return;
        }
        if word::release(&self.word, me) {
            return;
        }
        // `wait::notify`: `mutex_unlock_deferred`, then `store_word`.
        let mut s = self.sched.lock().unwrap();
        assert_eq!(s.owner, Some(me), "the scheduler records another owner");
        s.owner = s.waiters.pop_front();
        if let Some(heir) = s.owner {
            s.handed.push(heir);
            self.wake.notify_all();
        }
        word::publish(&self.word, s.owner.map_or(0, |o| o | LOCK_WAITERS));
    }

    fn critical_section(&self) {
        assert_eq!(
            self.holders.fetch_add(1, Ordering::Relaxed),
            0,
            "two threads hold the mutex"
        );
        // SAFETY: under the mutex (loom checks that no other access overlaps).
        self.data.with_mut(|d| unsafe { *d += 1 });
        self.holders.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The planted bug: `take_or_mark` with the waiters bit set by a load and a store.
fn mark_by_store(w: &AtomicU64, me: u64) -> Option<u64> {
    loop {
        let seen = w.load(Ordering::Relaxed);
        if seen == 0 {
            if word::take(w, me).is_ok() {
                return None;
            }
            continue;
        }
        w.store(seen | LOCK_WAITERS, Ordering::Relaxed);
        return Some(seen);
    }
}

/// Threads taking the mutex (ids 1..=THREADS).
const THREADS: u64 = 3;

fn mutex(v: Variant) {
    model(move || {
        let shared = Arc::new(Shared {
            word: AtomicU64::new(0),
            sched: Mutex::new(Record::default()),
            wake: Condvar::new(),
            data: UnsafeCell::new(0),
            holders: AtomicU64::new(0),
        });
        let others: Vec<_> = (2..=THREADS)
            .map(|me| {
                let shared = shared.clone();
                thread::spawn(move || {
                    shared.lock(me, v);
                    shared.critical_section();
                    shared.unlock(me, v);
                })
            })
            .collect();
        shared.lock(1, v);
        shared.critical_section();
        shared.unlock(1, v);
        for t in others {
            t.join().unwrap();
        }

        // SAFETY: every other thread has been joined.
        assert_eq!(shared.data.with(|d| unsafe { *d }), THREADS as u32);
        assert_eq!(
            shared.word.load(Ordering::Relaxed),
            0,
            "the mutex is left held"
        );
        let s = shared.sched.lock().unwrap();
        assert!(
            s.owner.is_none() && s.waiters.is_empty(),
            "the record is left held"
        );
    });
}

#[test]
fn mutex_excludes_and_hands_over() {
    mutex(Variant::Correct);
}

#[test]
#[should_panic(expected = "deadlock")]
fn model_catches_an_unlock_ignoring_waiters() {
    mutex(Variant::UnlockIgnoresWaiters);
}

#[test]
#[should_panic(expected = "deadlock")]
fn model_catches_a_waiters_bit_set_by_a_store() {
    mutex(Variant::MarkByStore);
}
