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

use sched_core::{AcquirePoll, SchedError, SemId, WaitResult};

use crate::kernel::wait::{self, Wait};
use crate::kernel::{self, Sched};

/// Set in the word while the scheduler holds the count (threads are waiting).
const WAITERS: u64 = 1 << 63;

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
        let mut w = self.word.load(Ordering::Relaxed);
        while w != 0 && w & WAITERS == 0 {
            match self
                .word
                .compare_exchange_weak(w, w - 1, Ordering::Acquire, Ordering::Relaxed)
            {
                Ok(_) => return true,
                Err(now) => w = now,
            }
        }
        false
    }

    /// Returns to fast mode once nobody waits: the scheduler's count goes back into the word.
    /// Under the scheduler lock.
    fn leave_slow_mode(&self, s: &mut Sched, id: SemId) {
        if self.word.load(Ordering::Relaxed) & WAITERS != 0 && s.waiter_count(id) == Some(0) {
            let permits = s.sem_drain(id).unwrap_or(0);
            self.word.store(u64::from(permits), Ordering::Release);
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
                loop {
                    let w = self.word.load(Ordering::Relaxed);
                    if w & WAITERS == 0 {
                        if w != 0 {
                            if self
                                .word
                                .compare_exchange(w, w - 1, Ordering::Acquire, Ordering::Relaxed)
                                .is_ok()
                            {
                                return Wait::Done(Ok(true));
                            }
                            continue;
                        }
                        // Empty: hand the (zero) count to the scheduler and wait there.
                        if self
                            .word
                            .compare_exchange(0, WAITERS, Ordering::Relaxed, Ordering::Relaxed)
                            .is_err()
                        {
                            continue;
                        }
                    }
                    return match s.sem_acquire(cpu, id, deadline) {
                        Ok(AcquirePoll::Acquired) => Wait::Done(Ok(true)),
                        Ok(AcquirePoll::Blocked(next)) => Wait::Block(next),
                        Err(e) => {
                            self.leave_slow_mode(s, id);
                            Wait::Done(Err(e))
                        }
                    };
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
        let mut w = self.word.load(Ordering::Relaxed);
        while w & WAITERS == 0 && w < u64::from(u32::MAX) {
            match self
                .word
                .compare_exchange_weak(w, w + 1, Ordering::Release, Ordering::Relaxed)
            {
                Ok(_) => return,
                Err(now) => w = now,
            }
        }
        self.release_slow();
    }

    #[cold]
    #[inline(never)]
    fn release_slow(&self) {
        if self.word.load(Ordering::Relaxed) == u64::from(u32::MAX) {
            panic!("semaphore permit count overflowed");
        }
        let r = wait::notify(|s| {
            let id = self.id(s);
            let w = self.word.load(Ordering::Relaxed);
            if w & WAITERS == 0 {
                // The last waiter left meanwhile: back to the word (nobody else changes it
                // while the count is below the maximum and we hold the lock... except fast
                // paths, hence the atomic add).
                if w >= u64::from(u32::MAX) {
                    return Err(SchedError::Overflow);
                }
                self.word.fetch_add(1, Ordering::Release);
                return Ok(());
            }
            // The permit goes to the best waiter; once nobody waits, the count returns to the
            // word (the scheduler's count is zero while someone waits, so that is `0` after a
            // hand-off).
            let drained = s.sem_release_drain(id)?;
            if let Some(permits) = drained {
                self.word.store(u64::from(permits), Ordering::Release);
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
