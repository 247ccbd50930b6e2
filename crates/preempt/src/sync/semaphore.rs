//! A counting semaphore with an atomic fast path. `release` may be called from interrupt
//! handlers.
//!
//! While nobody waits, the permit count lives in an atomic word: `acquire` with a permit and
//! `release` without waiters are one compare-and-swap each, with no kernel entry. When a
//! thread must wait, the word switches to *slow mode* (`WAITERS` bit set, count zero) under the
//! scheduler lock, and `sched-core`'s semaphore state machine becomes authoritative: it queues
//! waiters by priority and hands each released permit straight to the best one (no thundering
//! herd, no lost wake-up). When the last waiter has gone, the scheduler's count is drained back
//! into the word and the fast path resumes. Fast paths never touch the word while `WAITERS` is
//! set, so that switch is safe without stopping them. The scheduler-side object is created on
//! first contention (one allocation); nothing on the release path allocates after that.

use core::sync::atomic::{AtomicU64, Ordering};
use core::time::Duration;

use super::sem_word::{self as word, WAITERS};

use sched_core::{AcquirePoll, SchedError, SemId, WaitResult};

use crate::kernel::wait::{self, Wait};
use crate::kernel::{self, Sched};

/// A counting semaphore.
#[derive(Debug)]
pub struct Semaphore {
    word: AtomicU64,
    handle: AtomicU64,
}

impl Semaphore {
    /// A semaphore holding `permits` permits (usable in a `static`).
    pub const fn new(permits: u32) -> Self {
        Self {
            word: AtomicU64::new(permits as u64),
            handle: AtomicU64::new(0),
        }
    }

    fn id(&self, s: &mut Sched) -> SemId {
        let raw = wait::lazy_handle(&self.handle, s, |s| s.create_semaphore(0).as_u64());
        SemId::from_u64(raw).expect("semaphore handle")
    }

    /// Takes a permit from the word if one is there and nobody waits.
    #[inline]
    fn try_fast(&self) -> bool {
        word::try_take(&self.word)
    }

    /// Returns to fast mode once nobody waits: the scheduler's count goes back into the word.
    /// Under the scheduler lock.
    fn leave_slow_mode(&self, s: &mut Sched, id: SemId) {
        if word::is_slow(&self.word) && s.waiter_count(id) == Some(0) {
            word::refill(&self.word, s.sem_drain(id).unwrap_or(0));
        }
    }

    /// Takes a permit, blocking until one is available.
    #[inline]
    pub fn acquire(&self) {
        if !self.try_fast() {
            let got = self.acquire_until(None);
            debug_assert!(got);
        }
    }

    /// Takes a permit if one is available now (never while others wait: they come first).
    #[inline]
    pub fn try_acquire(&self) -> bool {
        self.try_fast()
    }

    /// Takes a permit, waiting at most `timeout`; false if none came in time.
    pub fn acquire_timeout(&self, timeout: Duration) -> bool {
        self.try_fast() || self.acquire_until(Some(wait::deadline_after(timeout)))
    }

    #[cold]
    #[inline(never)]
    fn acquire_until(&self, deadline: Option<u64>) -> bool {
        wait::assert_may_block("Semaphore::acquire");
        let r = wait::wait(
            |s, cpu| {
                let id = self.id(s);
                if word::take_or_wait(&self.word) {
                    return Wait::Done(Ok(true));
                }
                match s.sem_acquire(cpu, id, deadline) {
                    Ok(AcquirePoll::Acquired) => Wait::Done(Ok(true)),
                    Ok(AcquirePoll::Blocked(next)) => Wait::Block(next),
                    Err(e) => {
                        self.leave_slow_mode(s, id);
                        Wait::Done(Err(e))
                    }
                }
            },
            |s, _, res| {
                // Handed a permit: the releaser already returned the count to the word if it
                // woke the last waiter. Any other end (a timeout) may have left nobody waiting.
                if res != WaitResult::Acquired {
                    let id = self.id(s);
                    self.leave_slow_mode(s, id);
                }
                Ok(res != WaitResult::TimedOut)
            },
        );
        match r {
            Ok(got) => got,
            Err(e) => panic!("semaphore acquire: {e}"),
        }
    }

    /// Returns a permit (to the best waiter, if any). Callable from interrupt handlers.
    ///
    /// # Panics
    /// If the count would overflow `u32`.
    #[inline]
    pub fn release(&self) {
        if !word::give(&self.word) {
            self.release_slow();
        }
    }

    #[cold]
    #[inline(never)]
    fn release_slow(&self) {
        if self.word.load(Ordering::Relaxed) == word::MAX {
            panic!("semaphore permit count overflowed");
        }
        let r = wait::notify(|s| {
            let id = self.id(s);
            // The last waiter may have left meanwhile: then back to the word.
            match word::give_locked(&self.word) {
                Some(true) => return Ok(()),
                Some(false) => {}
                None => return Err(SchedError::Overflow),
            }
            // The permit goes to the best waiter; once nobody waits, the count returns to the
            // word (the scheduler's count is zero while someone waits, so that is `0` after a
            // hand-off).
            if let Some(permits) = s.sem_release_drain(id)? {
                word::refill(&self.word, permits);
            }
            Ok(())
        });
        if let Err(SchedError::Overflow) = r {
            panic!("semaphore permit count overflowed");
        }
    }

    /// Permits available right now.
    pub fn available_permits(&self) -> u32 {
        let w = self.word.load(Ordering::Relaxed);
        if w & WAITERS != 0 {
            0
        } else {
            w as u32
        }
    }
}

impl Drop for Semaphore {
    fn drop(&mut self) {
        if let Some(id) = SemId::from_u64(*self.handle.get_mut()) {
            kernel::with_sched(|s, _| {
                let _ = s.destroy_semaphore(id);
            });
        }
    }
}
