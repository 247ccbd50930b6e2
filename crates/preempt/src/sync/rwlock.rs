//! A readers–writer lock, on top of `Mutex` and `Condvar`.
//!
//! Writers are preferred: once a writer waits, new readers queue behind it, so a stream of
//! readers cannot starve writers. Waiting is done on the inner mutex and condition variable,
//! so waiters queue by priority; inheritance applies to the short inner critical sections
//! (not to read holds, which have no single owner).
//!
//! A holder that dies (panics or faults) never releases: its hold is noticed and dropped by the
//! next thread that waits — within [`DEAD_HOLDER_RECHECK`] — and a dead writer poisons the lock.

use core::cell::UnsafeCell;
use core::fmt;
use core::marker::PhantomData;
use core::ops::{Deref, DerefMut};

use alloc::vec::Vec;
use core::time::Duration;

use super::poison::{self, LockResult, TryLockError, TryLockResult};
use super::{Condvar, Mutex};
use crate::kernel::wait::{current_id_word, thread_alive};

/// How often a waiter re-checks whether the holders it waits for are still alive.
pub const DEAD_HOLDER_RECHECK: Duration = Duration::from_millis(10);

#[derive(Debug)]
struct State {
    readers: Vec<u64>,
    writer: Option<u64>,
    writers_waiting: usize,
    poisoned: bool,
}

impl State {
    /// Drops holds of threads that have died; a dead writer poisons the lock.
    fn prune(&mut self) {
        if let Some(w) = self.writer {
            if !thread_alive(w) {
                self.writer = None;
                self.poisoned = true;
            }
        }
        self.readers.retain(|&r| thread_alive(r));
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
    /// Holds are tracked per thread (to notice dead holders): a guard must not move.
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
                readers: Vec::new(),
                writer: None,
                writers_waiting: 0,
                poisoned: false,
            }),
            cvar: Condvar::new(),
            data: UnsafeCell::new(value),
        }
    }
}

impl<T: ?Sized> RwLock<T> {
    fn state(&self) -> super::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn wait_until<'a>(
        &self,
        mut g: super::MutexGuard<'a, State>,
        mut blocked: impl FnMut(&State) -> bool,
    ) -> super::MutexGuard<'a, State> {
        loop {
            if !blocked(&g) {
                return g;
            }
            g.prune();
            if !blocked(&g) {
                return g;
            }
            g = match self.cvar.wait_timeout(g, DEAD_HOLDER_RECHECK) {
                Ok((g, _)) => g,
                Err(p) => p.into_inner().0,
            };
        }
    }

    /// Blocks until shared access is available.
    pub fn read(&self) -> LockResult<RwLockReadGuard<'_, T>> {
        let g = self.state();
        let mut g = self.wait_until(g, |s| s.writer.is_some() || s.writers_waiting > 0);
        g.readers.push(current_id_word());
        let poisoned = g.poisoned;
        poison::result(
            RwLockReadGuard {
                lock: self,
                _not_send: PhantomData,
            },
            poisoned,
        )
    }

    /// Shared access if available now.
    pub fn try_read(&self) -> TryLockResult<RwLockReadGuard<'_, T>> {
        let mut g = self.state();
        g.prune();
        if g.writer.is_some() || g.writers_waiting > 0 {
            return Err(TryLockError::WouldBlock);
        }
        g.readers.push(current_id_word());
        let poisoned = g.poisoned;
        Ok(poison::result(
            RwLockReadGuard {
                lock: self,
                _not_send: PhantomData,
            },
            poisoned,
        )?)
    }

    /// Blocks until exclusive access is available.
    pub fn write(&self) -> LockResult<RwLockWriteGuard<'_, T>> {
        let mut g = self.state();
        g.writers_waiting += 1;
        let mut g = self.wait_until(g, |s| s.writer.is_some() || !s.readers.is_empty());
        g.writers_waiting -= 1;
        g.writer = Some(current_id_word());
        let poisoned = g.poisoned;
        poison::result(
            RwLockWriteGuard {
                lock: self,
                _not_send: PhantomData,
            },
            poisoned,
        )
    }

    /// Exclusive access if available now.
    pub fn try_write(&self) -> TryLockResult<RwLockWriteGuard<'_, T>> {
        let mut g = self.state();
        g.prune();
        if g.writer.is_some() || !g.readers.is_empty() {
            return Err(TryLockError::WouldBlock);
        }
        g.writer = Some(current_id_word());
        let poisoned = g.poisoned;
        Ok(poison::result(
            RwLockWriteGuard {
                lock: self,
                _not_send: PhantomData,
            },
            poisoned,
        )?)
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
        let mut g = self.lock.state();
        let me = current_id_word();
        if let Some(i) = g.readers.iter().position(|&r| r == me) {
            g.readers.swap_remove(i);
        }
        let last = g.readers.is_empty();
        drop(g);
        if last {
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
        let mut g = self.lock.state();
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
