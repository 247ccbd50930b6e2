//! A counting semaphore. `release` may be called from interrupt handlers.
//!
//! The permit count lives in `sched-core`'s semaphore state machine, under the scheduler lock,
//! so a release that finds waiters hands its permit straight to the best one (no thundering
//! herd, no lost wake-up). The handle is created on first use, which allocates once — after
//! that nothing on the release path allocates.

use core::sync::atomic::AtomicU64;
use core::time::Duration;

use sched_core::{AcquirePoll, SchedError, SemId, WaitResult};

use crate::kernel::wait::{self, Wait};
use crate::kernel::{self, Sched};

/// A counting semaphore.
#[derive(Debug)]
pub struct Semaphore {
    initial: u32,
    handle: AtomicU64,
}

impl Semaphore {
    /// A semaphore holding `permits` permits (usable in a `static`).
    pub const fn new(permits: u32) -> Self {
        Self { initial: permits, handle: AtomicU64::new(0) }
    }

    fn id(&self, s: &mut Sched) -> SemId {
        let raw = wait::lazy_handle(&self.handle, s, |s| s.create_semaphore(self.initial).as_u64());
        SemId::from_u64(raw).expect("semaphore handle")
    }

    /// Takes a permit, blocking until one is available.
    pub fn acquire(&self) {
        let got = self.acquire_until(None);
        debug_assert!(got);
    }

    /// Takes a permit if one is available now.
    pub fn try_acquire(&self) -> bool {
        kernel::with_sched(|s, _| {
            let id = self.id(s);
            s.sem_try_acquire(id).unwrap_or(false)
        })
    }

    /// Takes a permit, waiting at most `timeout`; false if none came in time.
    pub fn acquire_timeout(&self, timeout: Duration) -> bool {
        self.acquire_until(Some(wait::deadline_after(timeout)))
    }

    fn acquire_until(&self, deadline: Option<u64>) -> bool {
        wait::assert_may_block("Semaphore::acquire");
        wait::wait(
            |s, cpu| {
                let id = self.id(s);
                match s.sem_acquire(cpu, id, deadline) {
                    Ok(AcquirePoll::Acquired) => Wait::Done(true),
                    Ok(AcquirePoll::Blocked(next)) => Wait::Block(next),
                    Err(e) => panic!("semaphore acquire: {e}"),
                }
            },
            |_, _, res| res != WaitResult::TimedOut,
        )
    }

    /// Returns a permit (to the best waiter, if any). Callable from interrupt handlers.
    ///
    /// # Panics
    /// If the count would overflow `u32`.
    pub fn release(&self) {
        let r = wait::notify(|s| {
            let id = self.id(s);
            s.sem_release(id)
        });
        if let Err(SchedError::Overflow) = r {
            panic!("semaphore permit count overflowed");
        }
    }

    /// Permits available right now.
    pub fn available_permits(&self) -> u32 {
        kernel::with_sched(|s, _| {
            let id = self.id(s);
            s.sem_permits(id).unwrap_or(0)
        })
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
