//! Condition variables.
//!
//! `wait` releases the mutex and blocks in one step under the scheduler lock, so a
//! `notify_*` that follows the unlock can never be missed; the mutex is re-acquired (with
//! priority inheritance) before `wait` returns. Spurious wake-ups do not happen, but as in std
//! callers should re-check their condition (`wait_while` does).

use core::sync::atomic::{AtomicU64, Ordering};
use core::time::Duration;

use sched_core::{QueueId, WaitResult};

use super::mutex::MutexGuard;
use super::poison::{self, LockResult};
use crate::kernel::wait::{self, Wait};
use crate::kernel::{self, Sched};
use crate::time::Instant;

/// Whether a timed wait returned because its time ran out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WaitTimeoutResult(bool);

impl WaitTimeoutResult {
    /// True if the wait ended by timeout.
    pub fn timed_out(&self) -> bool {
        self.0
    }
}

/// A condition variable.
#[derive(Debug, Default)]
pub struct Condvar {
    handle: AtomicU64,
}

impl Condvar {
    /// A new condition variable (usable in a `static`).
    pub const fn new() -> Self {
        Self {
            handle: AtomicU64::new(0),
        }
    }

    fn queue(&self, s: &mut Sched) -> QueueId {
        let raw = wait::lazy_handle(&self.handle, s, |s| s.create_queue().as_u64());
        QueueId::from_u64(raw).expect("condvar handle")
    }

    /// Releases `guard`'s mutex, blocks until notified, re-locks and returns the guard.
    pub fn wait<'a, T: ?Sized>(&self, guard: MutexGuard<'a, T>) -> LockResult<MutexGuard<'a, T>> {
        self.wait_inner(guard, None).0
    }

    /// Waits until `condition` is false, re-checking after every wake-up.
    pub fn wait_while<'a, T: ?Sized, F: FnMut(&mut T) -> bool>(
        &self,
        mut guard: MutexGuard<'a, T>,
        mut condition: F,
    ) -> LockResult<MutexGuard<'a, T>> {
        wait::assert_may_block("Condvar::wait_while");
        while condition(&mut *guard) {
            guard = self.wait(guard)?;
        }
        Ok(guard)
    }

    /// Like [`wait`](Self::wait), giving up after `timeout`.
    pub fn wait_timeout<'a, T: ?Sized>(
        &self,
        guard: MutexGuard<'a, T>,
        timeout: Duration,
    ) -> LockResult<(MutexGuard<'a, T>, WaitTimeoutResult)> {
        let (r, timed_out) = self.wait_inner(guard, Some(wait::deadline_after(timeout)));
        match r {
            Ok(g) => Ok((g, WaitTimeoutResult(timed_out))),
            Err(p) => Err(poison::PoisonError::new((
                p.into_inner(),
                WaitTimeoutResult(timed_out),
            ))),
        }
    }

    /// Like [`wait`](Self::wait), giving up once the counter reaches `deadline` (absolute
    /// counter ticks, so a caller with a deadline in ticks loses nothing to a conversion).
    /// The flag is true if the wait ended by timeout.
    pub(crate) fn wait_until_ticks<'a, T: ?Sized>(
        &self,
        guard: MutexGuard<'a, T>,
        deadline: u64,
    ) -> (LockResult<MutexGuard<'a, T>>, bool) {
        self.wait_inner(guard, Some(deadline))
    }

    /// Waits while `condition` holds, for at most `timeout` in total.
    pub fn wait_timeout_while<'a, T: ?Sized, F: FnMut(&mut T) -> bool>(
        &self,
        mut guard: MutexGuard<'a, T>,
        timeout: Duration,
        mut condition: F,
    ) -> LockResult<(MutexGuard<'a, T>, WaitTimeoutResult)> {
        wait::assert_may_block("Condvar::wait_timeout_while");
        let start = Instant::now();
        loop {
            if !condition(&mut *guard) {
                return Ok((guard, WaitTimeoutResult(false)));
            }
            let elapsed = start.elapsed();
            if elapsed >= timeout {
                return Ok((guard, WaitTimeoutResult(true)));
            }
            guard = match self.wait_timeout(guard, timeout - elapsed) {
                Ok((g, _)) => g,
                Err(p) => return Err(p),
            };
        }
    }

    /// Wakes the highest-priority waiter (the longest waiting among equals).
    pub fn notify_one(&self) {
        if self.handle.load(Ordering::Acquire) == 0 {
            return; // no one has ever waited
        }
        wait::notify(|s| {
            let q = self.queue(s);
            let _ = s.wake_one(q);
        });
    }

    /// Wakes every waiter.
    pub fn notify_all(&self) {
        if self.handle.load(Ordering::Acquire) == 0 {
            return;
        }
        wait::notify(|s| {
            let q = self.queue(s);
            let _ = s.wake_all(q);
        });
    }

    fn wait_inner<'a, T: ?Sized>(
        &self,
        guard: MutexGuard<'a, T>,
        deadline: Option<u64>,
    ) -> (LockResult<MutexGuard<'a, T>>, bool) {
        wait::assert_may_block("Condvar::wait");
        let mutex = guard.mutex();
        let owner = guard.owner();
        core::mem::forget(guard);
        let outcome = wait::wait(
            |s, cpu| {
                let q = self.queue(s);
                match mutex.release_and_wait(s, cpu, owner, q, deadline) {
                    Ok(next) => Wait::Block(next),
                    Err(e) => Wait::Done(Err(e)),
                }
            },
            |_, _, res| Ok(res == WaitResult::TimedOut),
        );
        match outcome {
            Ok(timed_out) => (mutex.lock(), timed_out),
            // Reported here, outside the scheduler lock, so only this thread fails.
            Err(e) => panic!("condvar wait: {e}"),
        }
    }
}

impl Drop for Condvar {
    fn drop(&mut self) {
        if let Some(q) = QueueId::from_u64(*self.handle.get_mut()) {
            kernel::with_sched(|s, _| {
                let _ = s.destroy_queue(q);
            });
        }
    }
}
