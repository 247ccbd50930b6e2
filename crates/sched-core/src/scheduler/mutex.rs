//! Mutexes with priority inheritance, hand-off to a pending owner, and poisoning.
//!
//! Three decisions shape this state machine:
//!
//! * **Hand-off to a pending owner, which a running peer may take over.**
//!   Unlocking with waiters makes the best waiter the owner at once, but
//!   *pending*: it has not run since. Until it runs and claims the mutex
//!   ([`mutex_claim`](Scheduler::mutex_claim)), a running thread whose
//!   effective priority is at least the pending owner's takes the mutex from
//!   it instead of queueing ([`mutex_lock`](Scheduler::mutex_lock),
//!   [`mutex_try_lock`](Scheduler::mutex_try_lock)); the pending owner, woken,
//!   finds it lost and queues again first among its priority
//!   ([`mutex_lock_retry`](Scheduler::mutex_lock_retry)). A lower-priority
//!   thread can never take it: the pending owner's effective priority is at
//!   least that of every waiter (inheritance), so "at least the pending
//!   owner's" means "at least every thread that waits". Pure hand-off made
//!   every pass of a contended mutex wait for the heir to be switched in (on
//!   another core: an IPI and a wake-up from `wfi`) while running threads
//!   queued behind it — a lock convoy; with the take-over, threads that are
//!   running keep passing the mutex among themselves. Given up: first-come
//!   order among equal priorities (as in Linux and Windows).
//! * **Inheritance** (see `inherit`): the owner runs at the best priority of
//!   anyone waiting on it, through chains of mutexes; unlocking recomputes the
//!   unlocker's priority and returns a decision, so an owner that was boosted
//!   is preempted the moment it lets go. A pending owner is an owner: it is
//!   boosted, and a take-over moves the boost to the new owner.
//! * **Poisoning.** A thread that exits holding a mutex cannot finish whatever
//!   the mutex protected. Its mutexes go to their best waiters (or become free)
//!   marked poisoned, so the next owner learns the data may be inconsistent
//!   instead of deadlocking.
//!
//! # The kernel's lock word (fast path)
//!
//! Uncontended locking should not take the global scheduler lock. The kernel
//! keeps an `AtomicU64` word per mutex next to the [`MutexId`]:
//!
//! | word                      | meaning                                                    |
//! |---------------------------|------------------------------------------------------------|
//! | `0`                       | free; the scheduler has no owner recorded                  |
//! | `owner`                   | owned by `owner` (its `ThreadId::as_u64()`), unrecorded    |
//! | `x \| LOCK_WAITERS`       | slow mode: the scheduler's record is authoritative; `x` is only a hint |
//!
//! Bit 63 ([`LOCK_WAITERS`](crate::LOCK_WAITERS)) is never part of a thread
//! id. The protocol:
//!
//! 1. **Lock, fast:** `CAS(0 -> me)`. Done; sched-core knows nothing.
//! 2. **Lock, slow** (the CAS failed), under the scheduler lock: load `w`. If
//!    `w == 0`, retry the CAS. If `LOCK_WAITERS` is clear, `CAS(w -> w |
//!    LOCK_WAITERS)` (reload and repeat on failure). Once it is set, call
//!    [`mutex_lock_contended(cpu, m, owner_of(w), deadline)`](Scheduler::mutex_lock_contended)
//!    ([`mutex_lock`](Scheduler::mutex_lock) if the word is `LOCK_WAITERS` alone: pending).
//!    If sched-core has no owner recorded it records the hinted owner first (so
//!    the boost lands on the right thread), then blocks the caller. Setting the
//!    bit before calling is what makes this safe: from then on the owner's
//!    fast unlock fails, so it cannot release the mutex behind the scheduler's
//!    back while the caller is being queued. If the hinted owner is dead
//!    (stale id or zombie: it exited holding the lock) the caller gets the
//!    mutex at once, poisoned. On `Acquired`, store
//!    [`mutex_lock_word(m)`](Scheduler::mutex_lock_word).
//! 3. **Unlock, fast:** `CAS(me -> 0)`. It fails exactly when `LOCK_WAITERS`
//!    is set (or the caller is not the owner: a kernel error).
//! 4. **Unlock, slow**, under the scheduler lock:
//!    [`mutex_unlock`](Scheduler::mutex_unlock) (which hands the mutex to the
//!    best waiter, pending), then store [`mutex_lock_word(m)`](Scheduler::mutex_lock_word):
//!    `LOCK_WAITERS` alone after a hand-off (no owner runs: a locker goes to the
//!    scheduler, which lets it take the mutex over if its priority allows),
//!    `0` if it became free.
//! 5. **Woken heir**, under the scheduler lock: [`mutex_claim`](Scheduler::mutex_claim);
//!    `true`: store the word (`me | LOCK_WAITERS`), the mutex is its own; `false`: it
//!    was taken over, so lock again as in step 2 but with
//!    [`mutex_lock_retry`](Scheduler::mutex_lock_retry) (`hint` `None` when the word
//!    names no owner).
//! 6. **Try-lock:** `CAS(0 -> me)`; if the word has `LOCK_WAITERS`, take the
//!    scheduler lock and call [`mutex_try_lock`](Scheduler::mutex_try_lock)
//!    (then store the word if it succeeded). A plain owner word means "busy".
//!
//! While `LOCK_WAITERS` is set the owner bits may be stale: an exiting thread's
//! recorded mutexes are handed over (or freed) by
//! [`exit_current`](Scheduler::exit_current) without the kernel rewriting the
//! word. That is harmless because every path that sees the bit goes to the
//! scheduler, whose record wins. A woken waiter reads
//! [`WaitResult::Acquired`](crate::WaitResult::Acquired) when it was handed
//! the mutex. A kernel that does not want the fast path simply calls
//! [`mutex_lock`](Scheduler::mutex_lock) / `mutex_unlock` for everything.

use super::Scheduler;
use crate::handles::ObjId;
use crate::object::{mutex_at_mut, KindTag};
use crate::slab::SlabKey;
use crate::thread::WaitOn;
use crate::{
    CpuId, LockPoll, MutexId, Next, SchedError, ThreadId, Ticks, WaitResult, LOCK_WAITERS,
};

impl<T, S: crate::StoreKind> Scheduler<T, S> {
    /// The current thread of `cpu` locks `m`: it owns it at once if it is
    /// free, or if its owner is pending (handed it, not yet run) and the caller's
    /// effective priority is at least the owner's; otherwise it waits (best
    /// priority first, then arrival) until the mutex is handed to it or
    /// `deadline` passes, and boosts the owner chain.
    ///
    /// # Errors
    /// [`SchedError::NoSuchObject`], [`SchedError::IdleThread`] for an idle
    /// caller, [`SchedError::Relock`] if it already owns `m`,
    /// [`SchedError::Deadlock`] if the owner waits (through any chain of
    /// mutexes) for a mutex the caller owns.
    pub fn mutex_lock(
        &mut self,
        cpu: CpuId,
        m: MutexId,
        deadline: Option<Ticks>,
    ) -> Result<LockPoll, SchedError> {
        self.lock_as(cpu, m, None, deadline, false)
    }

    /// The slow path of a kernel fast-path mutex (see the module docs): the
    /// kernel's lock word says `owner` holds `m` and the caller has set
    /// `LOCK_WAITERS`. If the scheduler has no owner recorded, `owner` is
    /// recorded first; if it is dead (stale or zombie) the caller takes the
    /// mutex, poisoned. Then it proceeds as [`mutex_lock`](Self::mutex_lock).
    /// A recorded owner wins over the hint.
    ///
    /// # Errors
    /// As [`mutex_lock`](Self::mutex_lock); [`SchedError::Relock`] also when
    /// the hint is the caller, [`SchedError::IdleThread`] when it is an idle
    /// thread.
    pub fn mutex_lock_contended(
        &mut self,
        cpu: CpuId,
        m: MutexId,
        owner: ThreadId,
        deadline: Option<Ticks>,
    ) -> Result<LockPoll, SchedError> {
        self.lock_as(cpu, m, Some(owner), deadline, false)
    }

    /// A woken heir whose [`mutex_claim`](Self::mutex_claim) failed locks again: as
    /// [`mutex_lock_contended`](Self::mutex_lock_contended) (or
    /// [`mutex_lock`](Self::mutex_lock) without a `hint`), except that if it waits it
    /// goes ahead of the waiters of its own priority, since it had waited already.
    ///
    /// # Errors
    /// As [`mutex_lock_contended`](Self::mutex_lock_contended).
    pub fn mutex_lock_retry(
        &mut self,
        cpu: CpuId,
        m: MutexId,
        hint: Option<ThreadId>,
        deadline: Option<Ticks>,
    ) -> Result<LockPoll, SchedError> {
        self.lock_as(cpu, m, hint, deadline, true)
    }

    fn lock_as(
        &mut self,
        cpu: CpuId,
        m: MutexId,
        hint: Option<ThreadId>,
        deadline: Option<Ticks>,
        first: bool,
    ) -> Result<LockPoll, SchedError> {
        let cur = self.running(cpu);
        let state = self.object(m.0, KindTag::Mutex)?.mutex();
        let (recorded, pending) = (state.owner, state.pending);
        if self.entry(cur).is_idle() {
            return Err(SchedError::IdleThread);
        }
        let owner = match (recorded, hint) {
            (Some(owner), _) => owner,
            (None, None) => {
                self.own(m.0, cur);
                return Ok(LockPoll::Acquired);
            }
            (None, Some(owner)) => {
                if owner == cur {
                    return Err(SchedError::Relock);
                }
                match self.threads.get(owner) {
                    Some(t) if t.is_idle() => return Err(SchedError::IdleThread),
                    Some(_) if self.may_hold_locks(owner) => self.own(m.0, owner),
                    _ => {
                        // The owner exited (or abandoned its mutexes) holding it.
                        self.object_mut(m.0, KindTag::Mutex)?.mutex_mut().poisoned = true;
                        self.own(m.0, cur);
                        return Ok(LockPoll::Acquired);
                    }
                }
                owner
            }
        };
        if owner == cur {
            return Err(SchedError::Relock);
        }
        if pending && self.may_take_over(cur, owner) {
            self.take_over(m.0, cur);
            return Ok(LockPoll::Acquired);
        }
        if self.mutex_chain_reaches(owner, cur) {
            return Err(SchedError::Deadlock);
        }
        let obj = self
            .objects
            .get_mut(m.0)
            .expect("scheduler lost track of an object");
        if first {
            obj.waiters
                .insert_first(self.threads.slots_mut(), cur.index());
        } else {
            obj.waiters.insert(self.threads.slots_mut(), cur.index());
        }
        // Boost before dispatching, so a ready owner is picked at its new rank.
        self.refresh_priority(owner);
        let next = self.block_waiting(cpu, cur, WaitOn::Object(m.0), deadline);
        Ok(LockPoll::Blocked(next))
    }

    /// Whether `cur` may take a mutex over from its pending owner `owner`: its effective
    /// priority is at least the owner's, which is at least every waiter's (inheritance).
    fn may_take_over(&self, cur: ThreadId, owner: ThreadId) -> bool {
        self.entry(cur).priority >= self.entry(owner).priority
    }

    /// `cur` takes `m` from its pending owner, which keeps no boost from it; the waiters'
    /// boost moves to `cur`. The former owner is ready (woken with `Acquired`): its
    /// [`mutex_claim`](Self::mutex_claim) will fail and it will lock again.
    fn take_over(&mut self, m: ObjId, cur: ThreadId) {
        if let Some(old) = self.disown(m) {
            self.refresh_priority(old);
        }
        self.own(m, cur);
    }

    /// The current thread of `cpu`, woken with [`WaitResult::Acquired`] from `m`, claims
    /// it: `true` if it still owns `m` (no longer pending: no one can take it now),
    /// `false` if a running thread took it over meanwhile (lock again with
    /// [`mutex_lock_retry`](Self::mutex_lock_retry)).
    ///
    /// # Errors
    /// [`SchedError::NoSuchObject`] for a stale handle.
    pub fn mutex_claim(&mut self, cpu: CpuId, m: MutexId) -> Result<bool, SchedError> {
        let cur = self.running(cpu);
        let state = self.object_mut(m.0, KindTag::Mutex)?.mutex_mut();
        if state.owner != Some(cur) {
            return Ok(false);
        }
        state.pending = false;
        Ok(true)
    }

    /// The current thread of `cpu` takes `m` if it is free, or if its owner is pending
    /// and of no higher priority (as [`mutex_lock`](Self::mutex_lock)); never blocks.
    ///
    /// # Errors
    /// [`SchedError::NoSuchObject`], [`SchedError::IdleThread`],
    /// [`SchedError::Relock`] if the caller already owns it.
    pub fn mutex_try_lock(&mut self, cpu: CpuId, m: MutexId) -> Result<bool, SchedError> {
        let cur = self.running(cpu);
        let state = self.object(m.0, KindTag::Mutex)?.mutex();
        let (owner, pending) = (state.owner, state.pending);
        if self.entry(cur).is_idle() {
            return Err(SchedError::IdleThread);
        }
        match owner {
            None => {
                self.own(m.0, cur);
                Ok(true)
            }
            Some(o) if o == cur => Err(SchedError::Relock),
            Some(o) if pending && self.may_take_over(cur, o) => {
                self.take_over(m.0, cur);
                Ok(true)
            }
            Some(_) => Ok(false),
        }
    }

    /// The current thread of `cpu` unlocks `m`. With waiters, the best one
    /// becomes the owner, pending, and is made ready (it reads
    /// [`WaitResult::Acquired`] and claims the mutex with
    /// [`mutex_claim`](Self::mutex_claim)). The caller's priority drops to what the
    /// mutexes it still owns justify, and the answer is a
    /// [`preempt_check`](Self::preempt_check) of `cpu`, so a boosted owner
    /// gives way at once. Never allocates.
    ///
    /// # Errors
    /// [`SchedError::NoSuchObject`], [`SchedError::NotOwner`] if the caller is
    /// not the recorded owner.
    pub fn mutex_unlock(&mut self, cpu: CpuId, m: MutexId) -> Result<Next, SchedError> {
        let cur = self.running(cpu);
        if self.object(m.0, KindTag::Mutex)?.mutex().owner != Some(cur) {
            return Err(SchedError::NotOwner);
        }
        self.release_mutex(m.0, false);
        Ok(self.preempt_check(cpu))
    }

    /// [`mutex_unlock`](Self::mutex_unlock) without the scheduling decision, for an unlock
    /// inside an interrupt handler, which must not switch threads: the mutex is handed over
    /// (or freed) and the caller's priority recomputed, and the caller must make the decision
    /// later with [`preempt_check`](Self::preempt_check) (on the handler's way out).
    ///
    /// # Errors
    /// As [`mutex_unlock`](Self::mutex_unlock).
    pub fn mutex_unlock_deferred(&mut self, cpu: CpuId, m: MutexId) -> Result<(), SchedError> {
        let cur = self.running(cpu);
        if self.object(m.0, KindTag::Mutex)?.mutex().owner != Some(cur) {
            return Err(SchedError::NotOwner);
        }
        self.release_mutex(m.0, false);
        Ok(())
    }

    /// A condition-variable wait: the current thread of `cpu` unlocks `m` (handing it to its
    /// best waiter, as [`mutex_unlock`](Self::mutex_unlock)) and blocks on `q` in one step, so
    /// no notify between the two can be missed. Unlike calling the two separately, no
    /// decision is made in between: the returned `Next` is the only one, taking into account
    /// both the heir of the mutex and every other ready thread.
    ///
    /// # Errors
    /// As [`mutex_unlock`](Self::mutex_unlock) and [`wait_on`](Self::wait_on); on error
    /// nothing has changed.
    pub fn mutex_unlock_and_wait(
        &mut self,
        cpu: CpuId,
        m: MutexId,
        q: crate::QueueId,
        deadline: Option<Ticks>,
    ) -> Result<Next, SchedError> {
        let cur = self.running(cpu);
        if self.object(m.0, KindTag::Mutex)?.mutex().owner != Some(cur) {
            return Err(SchedError::NotOwner);
        }
        if self.waiter_count(q).is_none() {
            return Err(SchedError::NoSuchObject);
        }
        self.release_mutex(m.0, false);
        self.wait_on(cpu, q, deadline)
    }

    /// Takes `m` from its owner and hands it to its best waiter, if any
    /// (poisoning it first if asked). The old owner loses the boost `m`'s waiters gave it
    /// before the heir is made ready, so that placing the heir sees the old owner's CPU at
    /// its new rank (a mutex without waiters gave no boost).
    pub(super) fn release_mutex(&mut self, m: ObjId, poison: bool) {
        let old = self.disown(m);
        let obj = self.objects.get_mut(m).expect("released mutex vanished");
        obj.mutex_mut().poisoned |= poison;
        let Some(top) = obj.waiters.head() else {
            return;
        };
        // Unlinked here, with the object in hand: the mutex has no owner now, so there is no
        // boost to take back but the old owner's, taken back next.
        obj.waiters.remove(self.threads.slots_mut(), top);
        if let Some(old) = old {
            self.refresh_priority(old);
        }
        let heir = self.id_of_slot(top);
        self.end_unlinked_wait(heir, WaitResult::Acquired);
        self.own(m, heir);
        mutex_at_mut(&mut self.objects, m.index()).pending = true;
    }

    /// Whether `m`'s owner is pending: handed the mutex while it waited and not yet run
    /// (`None` for a stale handle).
    #[must_use]
    pub fn mutex_is_pending(&self, m: MutexId) -> Option<bool> {
        Some(self.object(m.0, KindTag::Mutex).ok()?.mutex().pending)
    }

    /// The owner of `m` as far as the scheduler knows (an uncontended
    /// fast-path owner is not known); `None` if free or stale.
    #[must_use]
    pub fn mutex_owner(&self, m: MutexId) -> Option<ThreadId> {
        self.object(m.0, KindTag::Mutex).ok()?.mutex().owner
    }

    /// Whether a thread exited while holding `m`; `None` for a stale handle.
    #[must_use]
    pub fn mutex_is_poisoned(&self, m: MutexId) -> Option<bool> {
        Some(self.object(m.0, KindTag::Mutex).ok()?.mutex().poisoned)
    }

    /// Declares the data behind `m` consistent again.
    ///
    /// # Errors
    /// [`SchedError::NoSuchObject`] for a stale handle.
    pub fn mutex_clear_poison(&mut self, m: MutexId) -> Result<(), SchedError> {
        self.object_mut(m.0, KindTag::Mutex)?.mutex_mut().poisoned = false;
        Ok(())
    }

    /// The value the kernel's lock word must hold after a slow-path call:
    /// `owner.as_u64() | LOCK_WAITERS` while the scheduler records an owner,
    /// `LOCK_WAITERS` alone while that owner is pending (none runs with it), `0`
    /// when it records none. `None` for a stale handle.
    #[must_use]
    pub fn mutex_lock_word(&self, m: MutexId) -> Option<u64> {
        let state = self.object(m.0, KindTag::Mutex).ok()?.mutex();
        Some(match state.owner {
            None => 0,
            Some(_) if state.pending => LOCK_WAITERS,
            Some(o) => o.as_u64() | LOCK_WAITERS,
        })
    }
}
