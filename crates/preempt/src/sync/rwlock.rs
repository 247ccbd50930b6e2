//! A readers–writer lock, on top of `Mutex` and `Condvar`.
//!
//! Writers are preferred: once a writer waits, new readers queue behind it, so a stream of
//! readers cannot starve writers. Waiting is done on the inner mutex and condition variable,
//! so waiters queue by priority; inheritance applies to the short inner critical sections
//! (not to read holds, which have no single owner).
//!
//! # Holders are tracked per thread
//!
//! The lock records its writer and, for each reading thread, its id and how many read guards it
//! holds, in a fixed table of [`MAX_READER_THREADS`] entries inside the lock (no allocation).
//! That makes three things possible:
//!
//! * **Re-entry that would wait for itself panics** (ending the calling thread, as relocking a
//!   `Mutex` does) instead of hanging: `write` by the writer, `read` by the writer, and `write`
//!   by a thread that is reading. `try_read`/`try_write` just return `WouldBlock` there.
//! * **A reader may read again** (recursive read), even while a writer waits: that writer is
//!   already waiting for this thread's first read guard, so making the second wait behind it
//!   would deadlock. Other threads still queue behind the writer.
//! * **Dead holders are noticed**: a holder that dies (panics or faults) never releases; its
//!   hold is dropped by the next thread that waits — within [`DEAD_HOLDER_RECHECK`] — and a dead
//!   writer poisons the lock.
//!
//! At most [`MAX_READER_THREADS`] different threads read at once; a further reader waits until
//! one of them lets go, as it would for a writer (so a design where more threads must all hold
//! read access together to make progress would deadlock).
//!
//! In an interrupt handler `read` and `write` are refused (they block); `try_read` and
//! `try_write` work (a handler acts as the thread it interrupted).

use core::cell::UnsafeCell;
use core::fmt;
use core::marker::PhantomData;
use core::ops::{Deref, DerefMut};

use core::time::Duration;

use super::poison::{self, LockResult, TryLockError, TryLockResult};
use super::{Condvar, Mutex, MutexGuard};
use crate::kernel::percpu;
use crate::kernel::wait::{self, current_id_word, thread_alive};

/// How often a waiter re-checks whether the holders it waits for are still alive.
pub const DEAD_HOLDER_RECHECK: Duration = Duration::from_millis(10);

/// How many different threads can hold read access to one [`RwLock`] at the same time.
pub const MAX_READER_THREADS: usize = 8;

#[derive(Debug)]
struct State {
    /// Ids of the reading threads (0: free entry) and how many read guards each holds.
    readers: [u64; MAX_READER_THREADS],
    holds: [u32; MAX_READER_THREADS],
    writer: Option<u64>,
    writers_waiting: usize,
    poisoned: bool,
}

impl State {
    fn reader_slot(&self, id: u64) -> Option<usize> {
        self.readers.iter().position(|&r| r == id)
    }

    fn has_readers(&self) -> bool {
        self.readers.iter().any(|&r| r != 0)
    }

    /// Whether `me` may take read access now.
    fn may_read(&self, me: u64) -> bool {
        self.writer.is_none()
            && (self.reader_slot(me).is_some()
                || (self.writers_waiting == 0 && self.reader_slot(0).is_some()))
    }

    /// Whether a writer may take the lock now.
    fn may_write(&self) -> bool {
        self.writer.is_none() && !self.has_readers()
    }

    /// Records one more read guard of `me` (after `may_read`); false if its count is full.
    fn add_reader(&mut self, me: u64) -> bool {
        let i = match self.reader_slot(me) {
            Some(i) => i,
            None => {
                let i = self.reader_slot(0).expect("may_read found a free entry");
                self.readers[i] = me;
                i
            }
        };
        match self.holds[i].checked_add(1) {
            Some(n) => {
                self.holds[i] = n;
                true
            }
            None => false,
        }
    }

    /// Drops one read guard of `me`; returns whether that freed an entry of a full table.
    fn remove_reader(&mut self, me: u64) -> bool {
        let Some(i) = self.reader_slot(me) else {
            return false;
        };
        let was_full = self.reader_slot(0).is_none();
        self.holds[i] -= 1;
        if self.holds[i] == 0 {
            self.readers[i] = 0;
            return was_full;
        }
        false
    }

    /// Drops holds of threads that have died; a dead writer poisons the lock.
    fn prune(&mut self) {
        if let Some(w) = self.writer {
            if !thread_alive(w) {
                self.writer = None;
                self.poisoned = true;
            }
        }
        for i in 0..MAX_READER_THREADS {
            if self.readers[i] != 0 && !thread_alive(self.readers[i]) {
                self.readers[i] = 0;
                self.holds[i] = 0;
            }
        }
    }
}

/// A lock allowing many readers or one writer.
pub struct RwLock<T: ?Sized> {
    state: Mutex<State>,
    cvar: Condvar,
    data: UnsafeCell<T>,
}

// SAFETY: readers share `&T` across threads (needs `T: Sync`), a writer gets `&mut T`
// (needs `T: Send`); the state machine below enforces the exclusion.
unsafe impl<T: ?Sized + Send + Sync> Sync for RwLock<T> {}
// SAFETY: moving the lock moves the `T`.
unsafe impl<T: ?Sized + Send> Send for RwLock<T> {}

/// Shared access; released on drop.
#[must_use = "the lock is released at once if the guard is dropped"]
pub struct RwLockReadGuard<'a, T: ?Sized> {
    lock: &'a RwLock<T>,
    /// Holds are tracked per thread: a guard must not move.
    _not_send: PhantomData<*const ()>,
}

/// Exclusive access; released on drop.
#[must_use = "the lock is released at once if the guard is dropped"]
pub struct RwLockWriteGuard<'a, T: ?Sized> {
    lock: &'a RwLock<T>,
    _not_send: PhantomData<*const ()>,
}

// SAFETY: sharing a guard only shares `&T`.
unsafe impl<T: ?Sized + Sync> Sync for RwLockReadGuard<'_, T> {}
// SAFETY: as above.
unsafe impl<T: ?Sized + Sync> Sync for RwLockWriteGuard<'_, T> {}

impl<T> RwLock<T> {
    /// A new, unlocked lock (usable in a `static`).
    pub const fn new(value: T) -> Self {
        Self {
            state: Mutex::new(State {
                readers: [0; MAX_READER_THREADS],
                holds: [0; MAX_READER_THREADS],
                writer: None,
                writers_waiting: 0,
                poisoned: false,
            }),
            cvar: Condvar::new(),
            data: UnsafeCell::new(value),
        }
    }

    /// Consumes the lock, returning the data (`Err` if poisoned, a dead writer included).
    pub fn into_inner(self) -> LockResult<T> {
        let Self {
            mut state, data, ..
        } = self;
        let poisoned = Self::exclusive_poisoned(&mut state);
        poison::result(data.into_inner(), poisoned)
    }
}

impl<T: ?Sized> RwLock<T> {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The state without blocking in an interrupt handler (`None` if the interrupted thread
    /// is in the middle of changing it); from a thread, as `state`.
    fn try_state(&self) -> Option<MutexGuard<'_, State>> {
        if !percpu::this().in_irq() {
            return Some(self.state());
        }
        match self.state.try_lock() {
            Ok(g) => Some(g),
            Err(TryLockError::Poisoned(p)) => Some(p.into_inner()),
            Err(TryLockError::WouldBlock) => None,
        }
    }

    /// The state for releasing a guard. In a handler the inner lock is free: the guard was
    /// taken in this same handler with it free, and nothing else runs on this core until the
    /// handler returns.
    fn state_for_release(&self) -> MutexGuard<'_, State> {
        loop {
            if let Some(g) = self.try_state() {
                return g;
            }
            preempt_arch::cpu::spin_hint();
        }
    }

    fn wait_until<'a>(
        &self,
        mut g: MutexGuard<'a, State>,
        mut ready: impl FnMut(&State) -> bool,
    ) -> MutexGuard<'a, State> {
        loop {
            if ready(&g) {
                return g;
            }
            g.prune();
            if ready(&g) {
                return g;
            }
            g = match self.cvar.wait_timeout(g, DEAD_HOLDER_RECHECK) {
                Ok((g, _)) => g,
                Err(p) => p.into_inner().0,
            };
        }
    }

    /// Whether the lock is poisoned, through exclusive access (no guard can exist, but a
    /// writer that died still counts).
    fn exclusive_poisoned(state: &mut Mutex<State>) -> bool {
        let s = state.get_mut().unwrap_or_else(|p| p.into_inner());
        s.prune();
        s.poisoned
    }

    /// Whether a writer died (panicked or faulted) holding the lock, until
    /// [`clear_poison`](Self::clear_poison). A writer that died is noticed here even if no
    /// thread has waited for the lock since.
    ///
    /// In an interrupt handler that interrupted a thread in the middle of changing the lock,
    /// reports `false`.
    pub fn is_poisoned(&self) -> bool {
        self.try_state().is_some_and(|mut g| {
            g.prune();
            g.poisoned
        })
    }

    /// Declares the data consistent again after a poisoning: later guards come back `Ok`. A
    /// writer that died is released first (as a waiter would).
    pub fn clear_poison(&self) {
        let mut g = self.state();
        g.prune();
        g.poisoned = false;
        let wake = g.may_write();
        drop(g);
        if wake {
            self.cvar.notify_all();
        }
    }

    /// A mutable reference to the data, without locking: `&mut self` excludes every guard
    /// (`Err` if poisoned, a dead writer included).
    pub fn get_mut(&mut self) -> LockResult<&mut T> {
        let poisoned = Self::exclusive_poisoned(&mut self.state);
        poison::result(self.data.get_mut(), poisoned)
    }

    fn read_guard(&self, poisoned: bool) -> LockResult<RwLockReadGuard<'_, T>> {
        let guard = RwLockReadGuard {
            lock: self,
            _not_send: PhantomData,
        };
        poison::result(guard, poisoned)
    }

    fn write_guard(&self, poisoned: bool) -> LockResult<RwLockWriteGuard<'_, T>> {
        let guard = RwLockWriteGuard {
            lock: self,
            _not_send: PhantomData,
        };
        poison::result(guard, poisoned)
    }

    /// Blocks until shared access is available. A thread that already reads gets it at once.
    ///
    /// # Panics
    /// If the calling thread holds write access (it would wait for itself).
    pub fn read(&self) -> LockResult<RwLockReadGuard<'_, T>> {
        wait::assert_may_block("RwLock::read");
        let me = current_id_word();
        let g = self.state();
        if g.writer == Some(me) {
            drop(g);
            panic!("deadlock: a thread asked to read an RwLock it is already writing");
        }
        let mut g = self.wait_until(g, |s| s.may_read(me));
        if !g.add_reader(me) {
            drop(g);
            panic!("too many read guards of one RwLock in one thread");
        }
        let poisoned = g.poisoned;
        drop(g);
        self.read_guard(poisoned)
    }

    /// Shared access if available now (always, to a thread that already reads).
    pub fn try_read(&self) -> TryLockResult<RwLockReadGuard<'_, T>> {
        let me = current_id_word();
        let mut g = self.try_state().ok_or(TryLockError::WouldBlock)?;
        if !g.may_read(me) {
            g.prune();
        }
        if !g.may_read(me) || !g.add_reader(me) {
            return Err(TryLockError::WouldBlock);
        }
        let poisoned = g.poisoned;
        drop(g);
        Ok(self.read_guard(poisoned)?)
    }

    /// Blocks until exclusive access is available.
    ///
    /// # Panics
    /// If the calling thread already holds read or write access (it would wait for itself).
    pub fn write(&self) -> LockResult<RwLockWriteGuard<'_, T>> {
        wait::assert_may_block("RwLock::write");
        let me = current_id_word();
        let mut g = self.state();
        if g.writer == Some(me) {
            drop(g);
            panic!("deadlock: a thread asked to write an RwLock it is already writing");
        }
        if g.reader_slot(me).is_some() {
            drop(g);
            panic!("deadlock: a thread asked to write an RwLock it is already reading");
        }
        g.writers_waiting += 1;
        let mut g = self.wait_until(g, State::may_write);
        g.writers_waiting -= 1;
        g.writer = Some(me);
        let poisoned = g.poisoned;
        drop(g);
        self.write_guard(poisoned)
    }

    /// Exclusive access if available now.
    pub fn try_write(&self) -> TryLockResult<RwLockWriteGuard<'_, T>> {
        let me = current_id_word();
        let mut g = self.try_state().ok_or(TryLockError::WouldBlock)?;
        if !g.may_write() {
            g.prune();
            if !g.may_write() {
                return Err(TryLockError::WouldBlock);
            }
        }
        g.writer = Some(me);
        let poisoned = g.poisoned;
        drop(g);
        Ok(self.write_guard(poisoned)?)
    }
}

impl<T: ?Sized> Deref for RwLockReadGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: readers > 0 excludes any writer while this guard lives.
        unsafe { &*self.lock.data.get() }
    }
}

impl<T: ?Sized> Drop for RwLockReadGuard<'_, T> {
    fn drop(&mut self) {
        let mut g = self.lock.state_for_release();
        let freed_a_full_table = g.remove_reader(current_id_word());
        // Writers wait for the last reader; readers wait for a free entry.
        let wake = !g.has_readers() || freed_a_full_table;
        drop(g);
        if wake {
            self.lock.cvar.notify_all();
        }
    }
}

impl<T: ?Sized> Deref for RwLockWriteGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: `writer` excludes every other guard while this one lives.
        unsafe { &*self.lock.data.get() }
    }
}

impl<T: ?Sized> DerefMut for RwLockWriteGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as above; `&mut self` makes this the only reference.
        unsafe { &mut *self.lock.data.get() }
    }
}

impl<T: ?Sized> Drop for RwLockWriteGuard<'_, T> {
    fn drop(&mut self) {
        let mut g = self.lock.state_for_release();
        g.writer = None;
        drop(g);
        self.lock.cvar.notify_all();
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for RwLock<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.try_read() {
            Ok(g) => f.debug_struct("RwLock").field("data", &&*g).finish(),
            Err(_) => f.write_str("RwLock { <locked> }"),
        }
    }
}
