//! Counting semaphores whose release may come from an interrupt handler.
//!
//! A release with waiters gives the permit straight to the best waiter instead
//! of incrementing the count and letting the waiter race for it: the count is
//! therefore never positive while someone waits (no lost wake-up), and a
//! running low-priority thread cannot steal the permit meant for a woken
//! high-priority one. Releasing only relinks entries, so it is safe from
//! interrupt context.

use super::Scheduler;
use crate::object::{object_of_kind, Kind, KindTag};
use crate::thread::WaitOn;
use crate::{AcquirePoll, CpuId, SchedError, SemId, Ticks, WaitResult};

impl<T, S: crate::StoreKind> Scheduler<T, S> {
    /// The current thread of `cpu` takes a permit of `s`, or waits (best
    /// priority first, then arrival) until one is handed to it
    /// ([`WaitResult::Acquired`]) or `deadline` passes
    /// ([`WaitResult::TimedOut`]).
    ///
    /// # Errors
    /// [`SchedError::NoSuchObject`], [`SchedError::IdleThread`] for an idle
    /// caller that would have to wait.
    pub fn sem_acquire(
        &mut self,
        cpu: CpuId,
        s: SemId,
        deadline: Option<Ticks>,
    ) -> Result<AcquirePoll, SchedError> {
        let cur = self.running(cpu);
        if self.sem_try_acquire(s)? {
            return Ok(AcquirePoll::Acquired);
        }
        if self.entry(cur).is_idle() {
            return Err(SchedError::IdleThread);
        }
        self.enqueue_waiter(s.0, cur);
        let next = self.block_waiting(cpu, cur, WaitOn::Object(s.0), deadline);
        Ok(AcquirePoll::Blocked(next))
    }

    /// Takes a permit of `s` if one is available; never blocks.
    ///
    /// # Errors
    /// [`SchedError::NoSuchObject`] for a stale handle.
    pub fn sem_try_acquire(&mut self, s: SemId) -> Result<bool, SchedError> {
        let Kind::Semaphore { permits } = &mut self.object_mut(s.0, KindTag::Semaphore)?.kind
        else {
            unreachable!("kind checked");
        };
        if *permits == 0 {
            return Ok(false);
        }
        *permits -= 1;
        Ok(true)
    }

    /// Takes every permit of `s` at once and returns how many there were — for a kernel that
    /// keeps the count in an atomic word while nobody waits and hands it to the scheduler
    /// only while threads wait (the scheduler's count must be zero in between).
    ///
    /// # Errors
    /// [`SchedError::NoSuchObject`] for a stale handle; [`SchedError::Busy`] while threads
    /// wait on it (nothing is taken).
    pub fn sem_drain(&mut self, s: SemId) -> Result<u32, SchedError> {
        let obj = self.object_mut(s.0, KindTag::Semaphore)?;
        if obj.waiters.head().is_some() {
            return Err(SchedError::Busy);
        }
        let Kind::Semaphore { permits } = &mut obj.kind else {
            unreachable!("kind checked");
        };
        Ok(core::mem::take(permits))
    }

    /// Returns a permit to `s`: handed to the best waiter if there is one
    /// (made ready; follow with [`preempt_check`](Self::preempt_check)),
    /// otherwise counted. Callable from interrupt context; never allocates.
    ///
    /// # Errors
    /// [`SchedError::NoSuchObject`], [`SchedError::Overflow`] if the count is
    /// already `u32::MAX` (the permit is not added).
    pub fn sem_release(&mut self, s: SemId) -> Result<(), SchedError> {
        let obj = self.object_mut(s.0, KindTag::Semaphore)?;
        if let Some(top) = obj.waiters.head() {
            let id = self.id_of_slot(top);
            self.end_wait(id, WaitResult::Acquired);
            return Ok(());
        }
        let Kind::Semaphore { permits } = &mut obj.kind else {
            unreachable!("kind checked");
        };
        *permits = permits.checked_add(1).ok_or(SchedError::Overflow)?;
        Ok(())
    }

    /// [`sem_release`](Self::sem_release) followed, when no thread waits on `s` any more, by
    /// [`sem_drain`](Self::sem_drain): for a kernel that keeps the count in its own word while
    /// nobody waits. Returns `Some(permits)` — every permit, now the kernel's again — once
    /// nobody waits, `None` while threads still wait. One lookup of the object for the whole
    /// step (the semaphore's release path runs it under the lock on every wake-up).
    ///
    /// # Errors
    /// As [`sem_release`](Self::sem_release); on [`SchedError::Overflow`] nothing changes.
    pub fn sem_release_drain(&mut self, s: SemId) -> Result<Option<u32>, SchedError> {
        let obj = object_of_kind(&mut self.objects, s.0, KindTag::Semaphore)?;
        let Kind::Semaphore { permits } = &mut obj.kind else {
            unreachable!("kind checked");
        };
        let Some(top) = obj.waiters.head() else {
            let all = permits.checked_add(1).ok_or(SchedError::Overflow)?;
            *permits = 0;
            return Ok(Some(all));
        };
        // The best waiter gets the permit; the count stays zero (never positive while threads
        // wait).
        obj.waiters.remove(self.threads.slots_mut(), top);
        let drained = obj.waiters.is_empty().then(|| core::mem::take(permits));
        let id = self.id_of_slot(top);
        self.end_unlinked_wait(id, WaitResult::Acquired);
        Ok(drained)
    }

    /// The permits `s` holds; `None` for a stale handle.
    #[must_use]
    pub fn sem_permits(&self, s: SemId) -> Option<u32> {
        match self.object(s.0, KindTag::Semaphore).ok()?.kind {
            Kind::Semaphore { permits } => Some(permits),
            _ => None,
        }
    }
}
