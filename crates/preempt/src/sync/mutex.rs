//! A mutex with priority inheritance and an atomic fast path.
//!
//! Uncontended lock and unlock are one compare-and-swap each on the lock word, with no kernel
//! entry. Only contention takes the scheduler lock, where `sched-core`'s mutex state machine
//! queues waiters by priority, boosts the owner (transitively through chains of owners) and
//! on unlock hands the mutex to the best waiter, *pending* until that thread runs: meanwhile
//! a running thread of at least its priority takes the mutex over instead of queueing behind
//! a thread that is not running (a lock convoy), and the heir, woken, finds it lost and waits
//! again first among its priority. The word protocol is documented in
//! `sched_core::scheduler::mutex`: `0` free, `owner id` owned and uncontended, `| LOCK_WAITERS`
//! once the scheduler's record is authoritative (`LOCK_WAITERS` alone: pending, no owner
//! runs).
//!
//! A thread that dies holding the mutex poisons it at once, as a panic does in std: from then
//! on `is_poisoned`, `get_mut`, `into_inner` and every locker report it (the next owner gets
//! `Err(PoisonError)`) until [`Mutex::clear_poison`]. The holder's death is seen through the
//! lock word (which names the owner) or the scheduler's record, so nothing has to run when a
//! thread dies.
//!
//! Inside an interrupt handler only [`Mutex::try_lock`] is allowed (it never blocks, and its
//! unlock never switches threads there); `lock` and `lock_timeout` stop the system with a
//! message even when the mutex is free, like every other blocking call in a handler.

use core::cell::UnsafeCell;
use core::fmt;
use core::marker::PhantomData;
use core::ops::{Deref, DerefMut};
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use core::time::Duration;

use sched_core::{LockPoll, MutexId, Next, SchedError, ThreadId, WaitResult, LOCK_WAITERS};

use super::mutex_word as word;
use super::poison::{self, LockResult, TryLockError, TryLockResult};
use crate::kernel::wait::{self, Wait};
use crate::kernel::{self, Sched};

use super::look_again::SPINS;

/// A mutual-exclusion lock protecting a `T`.
pub struct Mutex<T: ?Sized> {
    word: AtomicU64,
    handle: AtomicU64,
    poisoned: AtomicBool,
    data: UnsafeCell<T>,
}

// SAFETY: the lock gives one thread at a time access to `data`; `T: Send` suffices, as in std.
unsafe impl<T: ?Sized + Send> Sync for Mutex<T> {}
// SAFETY: moving the mutex moves the `T`.
unsafe impl<T: ?Sized + Send> Send for Mutex<T> {}

/// Access to the data of a locked [`Mutex`]; unlocks when dropped.
#[must_use = "the mutex unlocks at once if the guard is dropped"]
pub struct MutexGuard<'a, T: ?Sized> {
    mutex: &'a Mutex<T>,
    owner: u64,
    _not_send: PhantomData<*const ()>,
}

// SAFETY: sharing the guard only shares `&T`.
unsafe impl<T: ?Sized + Sync> Sync for MutexGuard<'_, T> {}

enum Outcome {
    Acquired,
    TimedOut,
    /// Woken as the heir, but a running thread took the mutex over first: lock again.
    Lost,
    /// Misuse detected under the scheduler lock; reported (panicking) after it is released,
    /// so the panic ends the calling thread rather than the kernel.
    Misuse(SchedError),
}

impl<T> Mutex<T> {
    /// A new, unlocked mutex (usable in a `static`).
    pub const fn new(value: T) -> Self {
        Self {
            word: AtomicU64::new(0),
            handle: AtomicU64::new(0),
            poisoned: AtomicBool::new(false),
            data: UnsafeCell::new(value),
        }
    }

    /// Consumes the mutex, returning the data (`Err` if poisoned, a dead holder included).
    pub fn into_inner(self) -> LockResult<T> {
        let poisoned = self.is_poisoned();
        let mut this = core::mem::ManuallyDrop::new(self);
        this.release_handle();
        // SAFETY: `this` is never used or dropped again after the data is moved out.
        let data = unsafe { core::ptr::read(this.data.get()) };
        poison::result(data, poisoned)
    }
}

impl<T: ?Sized> Mutex<T> {
    /// Blocks until the lock is acquired. A thread that already holds it and locks again is a
    /// deadlock: that panics with a message naming the problem. Not allowed in an interrupt
    /// handler (use [`try_lock`](Self::try_lock) there).
    pub fn lock(&self) -> LockResult<MutexGuard<'_, T>> {
        wait::assert_may_block("Mutex::lock");
        let me = wait::current_id_word();
        if word::take(&self.word, me).is_ok() {
            return self.guard(me);
        }
        if kernel::cpus_started() > 1 && self.spin_for(me) {
            return self.guard(me);
        }
        match self.lock_slow(me, None) {
            Outcome::Acquired => self.guard(me),
            Outcome::TimedOut | Outcome::Lost => unreachable!("an untimed lock timed out"),
            Outcome::Misuse(e) => misuse(e),
        }
    }

    /// Takes the lock only if it is free right now; never blocks, so it is allowed in interrupt
    /// handlers. A lock whose holder died is free: it is taken, poisoned.
    pub fn try_lock(&self) -> TryLockResult<MutexGuard<'_, T>> {
        let me = wait::current_id_word();
        match word::take(&self.word, me) {
            Ok(_) => return Ok(self.guard(me)?),
            Err(w) if w & LOCK_WAITERS == 0 && wait::thread_alive(w) => {
                return Err(TryLockError::WouldBlock)
            }
            Err(_) => {}
        }
        match kernel::with_sched(|s, cpu| self.try_lock_locked(s, cpu, me)) {
            Ok(true) => Ok(self.guard(me)?),
            Ok(false) => Err(TryLockError::WouldBlock),
            Err(e) => misuse(e),
        }
    }

    /// `try_lock` under the scheduler lock, where a holder cannot die or unlock meanwhile.
    fn try_lock_locked(&self, s: &mut Sched, cpu: usize, me: u64) -> Result<bool, SchedError> {
        loop {
            let w = self.word.load(Ordering::Relaxed);
            if w == 0 {
                if self
                    .word
                    .compare_exchange(0, me, Ordering::Acquire, Ordering::Relaxed)
                    .is_ok()
                {
                    return Ok(true);
                }
                continue;
            }
            if w & LOCK_WAITERS == 0 {
                if alive(s, w) {
                    return Ok(false);
                }
                // The holder died without unlocking (no unwinding): take its place, poisoned.
                // The scheduler has no record of a plain owner word, so the word is all there is.
                if self
                    .word
                    .compare_exchange(w, me, Ordering::Acquire, Ordering::Relaxed)
                    .is_ok()
                {
                    self.poisoned.store(true, Ordering::Relaxed);
                    return Ok(true);
                }
                continue;
            }
            let m = self.id(s);
            return match s.mutex_try_lock(cpu, m) {
                Ok(true) => {
                    self.store_word(s, m);
                    Ok(true)
                }
                // An interrupt handler that interrupted the idle thread has no thread to own
                // a recorded mutex: it cannot have this one.
                Ok(false) | Err(SchedError::IdleThread) => Ok(false),
                Err(e) => Err(e),
            };
        }
    }

    /// Blocks for at most `timeout`; `Err(WouldBlock)` if the lock could not be had in time.
    pub fn lock_timeout(&self, timeout: Duration) -> TryLockResult<MutexGuard<'_, T>> {
        wait::assert_may_block("Mutex::lock_timeout");
        let me = wait::current_id_word();
        if word::take(&self.word, me).is_ok() {
            return Ok(self.guard(me)?);
        }
        match self.lock_slow(me, Some(wait::deadline_after(timeout))) {
            Outcome::Acquired => Ok(self.guard(me)?),
            Outcome::TimedOut | Outcome::Lost => Err(TryLockError::WouldBlock),
            Outcome::Misuse(e) => misuse(e),
        }
    }

    /// Whether a thread died holding this lock (even if nobody has locked it since).
    pub fn is_poisoned(&self) -> bool {
        if self.poisoned.load(Ordering::Relaxed) {
            return true;
        }
        if self.word.load(Ordering::Acquire) == 0 {
            return false;
        }
        kernel::with_sched(|s, _| self.dead_holder(s))
    }

    /// Whether the holder named by the lock word (or recorded by the scheduler) has died
    /// holding the lock. Under the scheduler lock, so no holder dies meanwhile.
    fn dead_holder(&self, s: &mut Sched) -> bool {
        let w = self.word.load(Ordering::Acquire);
        if w == 0 {
            false
        } else if w & LOCK_WAITERS == 0 {
            !alive(s, w)
        } else {
            // The scheduler's record is authoritative: a dead owner's mutex was handed over or
            // freed, poisoned, when it exited.
            MutexId::from_u64(self.handle.load(Ordering::Acquire))
                .is_some_and(|m| s.mutex_is_poisoned(m) == Some(true))
        }
    }

    /// Declares the data consistent again after a poisoning. A holder that died is no longer
    /// the owner afterwards: the lock is free, as in std.
    pub fn clear_poison(&self) {
        kernel::with_sched(|s, _| {
            loop {
                let w = self.word.load(Ordering::Relaxed);
                if w == 0 || w & LOCK_WAITERS != 0 || alive(s, w) {
                    break;
                }
                if self
                    .word
                    .compare_exchange(w, 0, Ordering::Release, Ordering::Relaxed)
                    .is_ok()
                {
                    break;
                }
            }
            if let Some(m) = MutexId::from_u64(self.handle.load(Ordering::Acquire)) {
                let _ = s.mutex_clear_poison(m);
                if self.word.load(Ordering::Relaxed) & LOCK_WAITERS != 0 {
                    // Free with only a dead owner's hint left in the word: clear it, or the next
                    // locker would take the hint for a death and poison the lock again.
                    self.store_word(s, m);
                }
            }
            self.poisoned.store(false, Ordering::Relaxed);
        });
    }

    /// Mutable access without locking: `&mut self` proves no one else holds it (`Err` if
    /// poisoned, a dead holder included).
    pub fn get_mut(&mut self) -> LockResult<&mut T> {
        let poisoned = self.is_poisoned();
        poison::result(self.data.get_mut(), poisoned)
    }

    /// Creates the scheduler's record of this mutex now, so that no later `lock` allocates
    /// (for a lock that must work with the heap exhausted: the console's).
    pub(crate) fn reserve(&self) {
        kernel::with_sched(|s, _| {
            self.id(s);
        });
    }

    fn guard(&self, owner: u64) -> LockResult<MutexGuard<'_, T>> {
        let g = MutexGuard {
            mutex: self,
            owner,
            _not_send: PhantomData,
        };
        poison::result(g, self.poisoned.load(Ordering::Relaxed))
    }

    /// Contended, on more than one core: the holder may be running on another core and about
    /// to let go (critical sections are mostly short), so retry the atomic take a bounded
    /// number of times before blocking, which costs a trip through the scheduler lock for the
    /// blocker and for the holder's unlock, an IPI and two switches. Gives up at once when
    /// the holder is the caller itself (the slow path reports the deadlock) and when the
    /// mutex was handed to a waiter that has not run yet (the word is `LOCK_WAITERS` alone:
    /// the slow path takes it over if the caller's priority allows); while threads wait, a
    /// free word is never seen (an unlock hands over), so the spin ends with the slow path.
    /// Not called on one core (the holder cannot run while this thread spins). The spin
    /// delays priority inheritance by at most [`SPINS`] attempts.
    #[cold]
    #[inline(never)]
    fn spin_for(&self, me: u64) -> bool {
        word::spin_take(&self.word, me, SPINS)
    }

    fn id(&self, s: &mut Sched) -> MutexId {
        let raw = wait::lazy_handle(&self.handle, s, |s| s.create_mutex().as_u64());
        MutexId::from_u64(raw).expect("mutex handle")
    }

    fn store_word(&self, s: &mut Sched, m: MutexId) {
        word::publish(&self.word, s.mutex_lock_word(m).unwrap_or(0));
        if s.mutex_is_poisoned(m) == Some(true) {
            self.poisoned.store(true, Ordering::Relaxed);
        }
    }

    /// Blocks until the mutex is the caller's (or `deadline`): a woken heir that finds the
    /// mutex taken over waits again, first among its priority, with the same deadline.
    fn lock_slow(&self, me: u64, deadline: Option<u64>) -> Outcome {
        let mut retry = false;
        loop {
            match self.lock_once(me, deadline, retry) {
                Outcome::Lost => retry = true,
                out => return out,
            }
        }
    }

    fn lock_once(&self, me: u64, deadline: Option<u64>, retry: bool) -> Outcome {
        wait::wait(
            |s, cpu| {
                let m = self.id(s);
                let Some(w) = word::take_or_mark(&self.word, me) else {
                    return Wait::Done(Outcome::Acquired);
                };
                // The scheduler's record, if any, wins over the hint in the word (which names
                // nobody while the mutex is pending for a woken heir).
                let poll = match (retry, ThreadId::from_u64(w & !LOCK_WAITERS)) {
                    (true, hint) => s.mutex_lock_retry(cpu, m, hint, deadline),
                    (false, Some(owner)) => s.mutex_lock_contended(cpu, m, owner, deadline),
                    (false, None) => s.mutex_lock(cpu, m, deadline),
                };
                match poll {
                    Ok(LockPoll::Acquired) => {
                        self.store_word(s, m);
                        Wait::Done(Outcome::Acquired)
                    }
                    Ok(LockPoll::Blocked(next)) => Wait::Block(next),
                    Err(e) => Wait::Done(Outcome::Misuse(e)),
                }
            },
            |s, cpu, res| match res {
                WaitResult::Acquired => {
                    let m = self.id(s);
                    match s.mutex_claim(cpu, m) {
                        Ok(true) => {
                            self.store_word(s, m);
                            Outcome::Acquired
                        }
                        Ok(false) => Outcome::Lost,
                        Err(e) => Outcome::Misuse(e),
                    }
                }
                WaitResult::TimedOut => Outcome::TimedOut,
                _ => Outcome::Misuse(SchedError::NotBlocked),
            },
        )
    }

    fn unlock(&self, owner: u64) {
        if word::release(&self.word, owner) {
            return;
        }
        // The scheduler records the owner: hand over there. From a thread a woken heir that
        // outranks the caller runs at once; from an interrupt handler (a `try_lock` guard) only
        // when the handler returns.
        let r = wait::notify(|s| {
            let m = self.id(s);
            let r = s.mutex_unlock_deferred(preempt_arch::cpu::core_id(), m);
            self.store_word(s, m);
            r
        });
        if let Err(e) = r {
            misuse(e);
        }
    }

    /// `Condvar::wait`'s first half, under the scheduler lock: releases `owner`'s hold (the fast
    /// CAS if uncontended, else handing the mutex to its best waiter) and blocks the caller on
    /// `q` — one scheduling decision for both, so the heir and the caller cannot be confused.
    pub(crate) fn release_and_wait(
        &self,
        s: &mut Sched,
        cpu: usize,
        owner: u64,
        q: sched_core::QueueId,
        deadline: Option<u64>,
    ) -> Result<Next, SchedError> {
        if word::release(&self.word, owner) {
            return s.wait_on(cpu, q, deadline);
        }
        let m = self.id(s);
        let next = s.mutex_unlock_and_wait(cpu, m, q, deadline)?;
        self.store_word(s, m);
        Ok(next)
    }

    fn release_handle(&mut self) {
        if let Some(m) = MutexId::from_u64(*self.handle.get_mut()) {
            kernel::with_sched(|s, _| {
                let _ = s.destroy_mutex(m);
            });
            *self.handle.get_mut() = 0;
        }
    }
}

/// Whether the thread with id word `w` may hold the lock (`Scheduler::may_hold_locks`), under
/// the scheduler lock.
fn alive(s: &Sched, w: u64) -> bool {
    ThreadId::from_u64(w).is_some_and(|t| s.may_hold_locks(t))
}

fn misuse(e: SchedError) -> ! {
    match e {
        SchedError::Relock => panic!("deadlock: a thread locked a Mutex it already holds"),
        SchedError::Deadlock => {
            panic!("deadlock: this lock would close a cycle of threads waiting on each other")
        }
        SchedError::NotOwner => panic!("a Mutex was unlocked by a thread that does not own it"),
        e => panic!("mutex: {e}"),
    }
}

impl<T: ?Sized> Drop for Mutex<T> {
    fn drop(&mut self) {
        self.release_handle();
    }
}

impl<T: Default> Default for Mutex<T> {
    fn default() -> Self {
        Self::new(T::default())
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for Mutex<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.try_lock() {
            Ok(g) => f.debug_struct("Mutex").field("data", &&*g).finish(),
            Err(_) => f.write_str("Mutex { <locked> }"),
        }
    }
}

impl<'a, T: ?Sized> MutexGuard<'a, T> {
    pub(crate) fn mutex(&self) -> &'a Mutex<T> {
        self.mutex
    }
    pub(crate) fn owner(&self) -> u64 {
        self.owner
    }
}

impl<T: ?Sized> Deref for MutexGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the guard exists only while this thread holds the lock.
        unsafe { &*self.mutex.data.get() }
    }
}

impl<T: ?Sized> DerefMut for MutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as above, and `&mut self` makes this the only reference.
        unsafe { &mut *self.mutex.data.get() }
    }
}

impl<T: ?Sized> Drop for MutexGuard<'_, T> {
    fn drop(&mut self) {
        self.mutex.unlock(self.owner);
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for MutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}
