//! The `Mutex` lock word (`crates/preempt/src/sync/mutex_word.rs`, run here as it is) against
//! its slow paths under the scheduler lock, hand-off to a pending owner and take-over included.
//!
//! Three threads on three cores each lock, write the protected data and unlock. The word steps
//! are the kernel's: `take` (`Mutex::lock`'s fast path), `spin_take` (`Mutex::spin_for`, one
//! retry here instead of `SPINS`), `take_or_mark` and `publish` (`Mutex::lock_once`),
//! `release` (`Mutex::unlock`). The scheduler around them is modelled, mirroring
//! `sched_core::scheduler::mutex`: a loom mutex is the scheduler lock, the record is the
//! owner, whether it is pending, and a FIFO of waiters. `lock_as` records the hinted owner if
//! none is recorded, takes a pending mutex over (every thread here has one priority, so "at
//! least the pending owner's") or queues the caller — first when it retries — which blocks
//! (waits on a condition variable under the lock, as `wait::wait` blocks under the scheduler
//! lock and the switch releases it); `release_mutex` hands the mutex to the first waiter,
//! pending, and wakes it; the woken heir claims it (`mutex_claim`) or, taken over, locks
//! again (`Outcome::Lost`, `mutex_lock_retry`); `store_word` publishes `mutex_lock_word`:
//! `LOCK_WAITERS` alone while the owner is pending, `owner | LOCK_WAITERS`, or `0`. Not
//! modelled: timeouts, dead holders, priorities (the order among waiters and who may take
//! over is the scheduler's business, tested in `sched-core`).
//!
//! The take-over itself happens under the scheduler lock, from the record; what of it is
//! outside the lock is the word: while the heir is pending it is `LOCK_WAITERS` alone, on
//! which every fast path fails (`take` wants `0`, `release` the caller's bare id, `spin_take`
//! gives up), so a thread not yet queued can only reach the mutex through the scheduler,
//! where the take-over and the heir's claim are ordered by the lock.
//!
//! Checked: mutual exclusion (the data is a loom cell: overlapping access is a data race,
//! and a holder count), no lost wake-up (a thread left blocked is loom's "deadlock"), a woken
//! heir that finds the mutex taken over locks again and gets it, and at the end the word free
//! and the record empty; and that some execution takes a pending mutex over. Planted bugs: an
//! unlock that ignores the waiters bit (stores `0` and returns: the queued waiter sleeps
//! forever), a slow path that marks the waiters bit with a load and a store instead of a
//! compare-and-swap (the owner's fast unlock between the two is overwritten: the owner is
//! gone, nobody will hand the mutex over), and a hand-off that publishes the pending mutex as
//! `0` (a fast `take` gets it while the heir, claiming, holds it too: a data race).

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
    /// Planted bug: a hand-off to a pending heir publishes the word `0` (free).
    PendingPublishedFree,
}

/// The scheduler's record of the mutex.
#[derive(Default)]
struct Record {
    owner: Option<u64>,
    /// The owner was handed the mutex while it waited and has not run since.
    pending: bool,
    waiters: VecDeque<u64>,
    /// Thread ids woken with `Acquired` and not yet run.
    handed: Vec<u64>,
    /// Take-overs seen (to show that the model reaches them).
    take_overs: u32,
}

impl Record {
    /// `mutex_lock_word`.
    fn word(&self) -> u64 {
        match self.owner {
            None => 0,
            Some(_) if self.pending => LOCK_WAITERS,
            Some(o) => o | LOCK_WAITERS,
        }
    }
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
        // `lock_slow`: `lock_once` until it does not come back `Lost`.
        let mut retry = false;
        while !self.lock_once(me, retry, v) {
            retry = true;
        }
    }

    /// `Mutex::lock_once`: true once the mutex is `me`'s, false if a woken heir finds it
    /// taken over (`Outcome::Lost`).
    fn lock_once(&self, me: u64, retry: bool, v: Variant) -> bool {
        // Under the scheduler lock.
        let mut s = self.sched.lock().unwrap();
        let seen = if v == Variant::MarkByStore {
            mark_by_store(&self.word, me)
        } else {
            word::take_or_mark(&self.word, me)
        };
        let Some(w) = seen else {
            return true;
        };
        // `lock_as` (`mutex_lock_retry`, `mutex_lock_contended` or `mutex_lock` by the hint):
        // the record wins over the hint; `LOCK_WAITERS` alone names nobody.
        let hint = Some(w & !LOCK_WAITERS).filter(|&o| o != 0);
        let owner = match (s.owner, hint) {
            (Some(o), _) => o,
            (None, None) => {
                s.owner = Some(me);
                self.publish(&s, v);
                return true;
            }
            (None, Some(o)) => {
                s.owner = Some(o);
                o
            }
        };
        assert_ne!(owner, me, "a thread relocked the mutex");
        // All threads here have one priority: at least the pending owner's.
        if s.pending {
            // `take_over`: the heir stays woken, its claim will fail.
            s.owner = Some(me);
            s.pending = false;
            s.take_overs += 1;
            self.publish(&s, v);
            return true;
        }
        if retry {
            s.waiters.push_front(me); // `insert_first`
        } else {
            s.waiters.push_back(me);
        }
        // Blocked until woken (the switch releases the scheduler lock).
        while !s.handed.contains(&me) {
            s = self.wake.wait(s).unwrap();
        }
        s.handed.retain(|&t| t != me);
        // The wake-up half (`WaitResult::Acquired`): `mutex_claim`, then `store_word`.
        if s.owner != Some(me) {
            return false;
        }
        s.pending = false;
        self.publish(&s, v);
        true
    }

    fn unlock(&self, me: u64, v: Variant) {
        if v == Variant::UnlockIgnoresWaiters {
            self.word.store(0, Ordering::Release); // planted bug
            return;
        }
        if word::release(&self.word, me) {
            return;
        }
        // `wait::notify`: `mutex_unlock_deferred` (`release_mutex`), then `store_word`.
        let mut s = self.sched.lock().unwrap();
        assert_eq!(s.owner, Some(me), "the scheduler records another owner");
        s.owner = s.waiters.pop_front();
        s.pending = false;
        if let Some(heir) = s.owner {
            s.pending = true;
            s.handed.push(heir);
            self.wake.notify_all();
        }
        self.publish(&s, v);
    }

    /// `store_word`: the record's word, published under the scheduler lock.
    fn publish(&self, s: &Record, v: Variant) {
        let w = if v == Variant::PendingPublishedFree && s.pending {
            0 // planted bug: a pending mutex looks free to the fast paths
        } else {
            s.word()
        };
        word::publish(&self.word, w);
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
            s.owner.is_none() && s.waiters.is_empty() && s.handed.is_empty(),
            "the record is left held"
        );
        if v == Variant::Correct && s.take_overs > 0 {
            TAKE_OVER_SEEN.store(true, std::sync::atomic::Ordering::Relaxed);
        }
    });
}

/// Whether some execution of the correct model took a pending mutex over (a plain static:
/// it outlives loom's executions).
static TAKE_OVER_SEEN: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

#[test]
fn mutex_excludes_and_hands_over() {
    mutex(Variant::Correct);
    assert!(
        TAKE_OVER_SEEN.load(std::sync::atomic::Ordering::Relaxed),
        "no execution took a pending mutex over"
    );
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

#[test]
#[should_panic(expected = "Causality violation")]
fn model_catches_a_pending_mutex_published_free() {
    mutex(Variant::PendingPublishedFree);
}
