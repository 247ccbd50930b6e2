//! The `Semaphore` word (`crates/preempt/src/sync/sem_word.rs`, run here as it is) against its
//! slow paths under the scheduler lock.
//!
//! A semaphore with one permit, three threads on three cores: each acquires, uses what the
//! permit guards and releases. The word steps are the kernel's: `try_take` (`acquire`'s fast
//! path), `take_or_wait` (`acquire_until` under the lock), `give` (`release`'s fast path),
//! `give_locked` and `refill` (`release_slow` under the lock). The scheduler around them is
//! modelled, mirroring `sched_core::scheduler::semaphore`: a loom mutex is the scheduler lock,
//! the record a count and a FIFO of waiters; `sem_acquire` takes a counted permit or queues
//! the caller, which blocks (waits on a condition variable under the lock, as `wait::wait`
//! blocks under the scheduler lock); `sem_release_drain` hands the permit to the first waiter
//! and, once nobody waits, returns the count (zero after a hand-over) to be stored in the
//! word. Not modelled: timeouts (`leave_slow_mode`), priorities, the overflow check.
//!
//! Checked: the permit is never duplicated (two holders at once: a holder count, and the
//! guarded data is a loom cell, so overlapping access is a data race), never lost (at the end
//! the word is back in fast mode holding the one permit and the scheduler's count is zero), and
//! no wake-up is lost (a thread left blocked is loom's "deadlock"). Planted bugs: a release
//! that hands the permit over but never returns the count to the word (the word stays in slow
//! mode with the permit in it lost to the fast paths: the end check fails), and a fast release
//! that ignores the waiters bit (adds to the word while a thread is queued: nobody wakes it).

// The shared state holds loom cells, which are not `Sync`: loom runs every thread on one OS
// thread and checks each access to them itself.
#![allow(clippy::arc_with_non_send_sync)]

use std::collections::VecDeque;

use lock_models::kernel::sem_word::{self as word, WAITERS};
use lock_models::model;
use loom::cell::UnsafeCell;
use loom::sync::atomic::{AtomicU64, Ordering};
use loom::sync::{Condvar, Mutex};
use loom::thread;
// Not loom's `Arc` (see `tests/mutex.rs`: its drop while unwinding from a deadlock aborts).
use std::sync::Arc;

#[derive(Clone, Copy, PartialEq)]
enum Variant {
    Correct,
    DrainForgetsWord,
    GiveIgnoresWaiters,
}

/// The scheduler's semaphore.
#[derive(Default)]
struct Record {
    permits: u32,
    waiters: VecDeque<usize>,
    /// Threads handed a permit and not yet run.
    handed: Vec<usize>,
}

struct Shared {
    word: AtomicU64,
    sched: Mutex<Record>,
    wake: Condvar,
    data: UnsafeCell<u32>,
    holders: AtomicU64,
}

impl Shared {
    fn acquire(&self, me: usize) {
        if word::try_take(&self.word) {
            return;
        }
        // `acquire_until`: under the scheduler lock.
        let mut s = self.sched.lock().unwrap();
        if word::take_or_wait(&self.word) {
            return;
        }
        // `sem_acquire`.
        if s.permits > 0 {
            s.permits -= 1;
            return;
        }
        s.waiters.push_back(me);
        while !s.handed.contains(&me) {
            s = self.wake.wait(s).unwrap();
        }
        s.handed.retain(|&t| t != me);
    }

    fn release(&self, v: Variant) {
        if v == Variant::GiveIgnoresWaiters {
            self.word.fetch_add(1, Ordering::Release); // planted bug
            return;
        }
        if word::give(&self.word) {
            return;
        }
        // `release_slow`: under the scheduler lock.
        let mut s = self.sched.lock().unwrap();
        match word::give_locked(&self.word) {
            Some(true) => return,
            Some(false) => {}
            None => panic!("semaphore permit count overflowed"),
        }
        // `sem_release_drain`.
        let drained = match s.waiters.pop_front() {
            None => Some(core::mem::take(&mut s.permits) + 1),
            Some(t) => {
                s.handed.push(t);
                self.wake.notify_all();
                s.waiters
                    .is_empty()
                    .then(|| core::mem::take(&mut s.permits))
            }
        };
        if let Some(permits) = drained {
            if v != Variant::DrainForgetsWord {
                word::refill(&self.word, permits);
            }
        }
    }

    fn use_permit(&self) {
        assert_eq!(
            self.holders.fetch_add(1, Ordering::Relaxed),
            0,
            "a permit was duplicated"
        );
        // SAFETY: the only permit is held (loom checks that no other access overlaps).
        self.data.with_mut(|d| unsafe { *d += 1 });
        self.holders.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Threads using the semaphore.
const THREADS: usize = 3;

fn semaphore(v: Variant) {
    model(move || {
        let shared = Arc::new(Shared {
            word: AtomicU64::new(1),
            sched: Mutex::new(Record::default()),
            wake: Condvar::new(),
            data: UnsafeCell::new(0),
            holders: AtomicU64::new(0),
        });
        let others: Vec<_> = (1..THREADS)
            .map(|me| {
                let shared = shared.clone();
                thread::spawn(move || {
                    shared.acquire(me);
                    shared.use_permit();
                    shared.release(v);
                })
            })
            .collect();
        shared.acquire(0);
        shared.use_permit();
        shared.release(v);
        for t in others {
            t.join().unwrap();
        }

        // SAFETY: every other thread has been joined.
        assert_eq!(shared.data.with(|d| unsafe { *d }), THREADS as u32);
        let w = shared.word.load(Ordering::Relaxed);
        let s = shared.sched.lock().unwrap();
        assert!(
            w == 1 && s.permits == 0 && s.waiters.is_empty(),
            "the permit was lost (word {w:#x}, waiters bit {}, scheduler's count {})",
            w & WAITERS != 0,
            s.permits
        );
    });
}

#[test]
fn semaphore_keeps_its_permit_and_wakes_waiters() {
    semaphore(Variant::Correct);
}

#[test]
#[should_panic(expected = "the permit was lost")]
fn model_catches_a_count_never_returned_to_the_word() {
    semaphore(Variant::DrainForgetsWord);
}

#[test]
#[should_panic(expected = "deadlock")]
fn model_catches_a_release_ignoring_waiters() {
    semaphore(Variant::GiveIgnoresWaiters);
}
