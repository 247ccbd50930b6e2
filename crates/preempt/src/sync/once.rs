//! One-time initialization: `Once` and `OnceLock`, on top of `Mutex`.
//!
//! The completed state is an atomic checked without any lock, so after initialization every
//! call is one load. Initialization itself runs under a mutex: concurrent callers block (with
//! priority inheritance) until the first finishes.
//!
//! Poisoning follows std. An initializer that panics (or faults) ends its thread while it holds
//! the mutex, which poisons it: the `Once` is then poisoned, and a later
//! [`call_once`](Once::call_once) panics instead of running its closure, while
//! [`call_once_force`](Once::call_once_force) runs its closure, telling it through
//! [`OnceState::is_poisoned`], and completes the `Once`. A [`OnceLock`] initializes through
//! `call_once_force`, so after a panicked initializer it stays empty and the next
//! `get_or_init` tries again, as in std.

use core::cell::UnsafeCell;
use core::fmt;
use core::mem::MaybeUninit;
use core::sync::atomic::{AtomicBool, Ordering};

use super::Mutex;
use crate::kernel::wait;

/// Runs a closure exactly once.
pub struct Once {
    done: AtomicBool,
    lock: Mutex<()>,
}

impl Default for Once {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for Once {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Once")
            .field("done", &self.is_completed())
            .finish()
    }
}

impl Once {
    /// A new `Once` (usable in a `static`).
    pub const fn new() -> Self {
        Self {
            done: AtomicBool::new(false),
            lock: Mutex::new(()),
        }
    }

    /// Runs `f` if no call has completed yet; every caller returns after it has.
    ///
    /// # Panics
    /// If an earlier initializer panicked (the `Once` is poisoned); `f` is not run.
    pub fn call_once<F: FnOnce()>(&self, f: F) {
        if self.is_completed() {
            return;
        }
        if !self.run("Once::call_once", false, |_| {
            f();
            true
        }) {
            panic!("Once instance has previously been poisoned");
        }
    }

    /// Like [`call_once`](Self::call_once), but also runs `f` on a poisoned `Once` (which
    /// `f` learns from its [`OnceState`]); completing it clears the poison.
    pub fn call_once_force<F: FnOnce(&OnceState)>(&self, f: F) {
        if self.is_completed() {
            return;
        }
        self.run("Once::call_once_force", true, |state| {
            f(state);
            true
        });
    }

    /// Runs `f` under the lock unless a call has completed; `f` returns whether it completed
    /// the `Once`. Returns whether the `Once` is complete, false also when it is poisoned and
    /// `ignore_poison` is not set (then `f` is not run). The caller panics, outside the lock.
    #[cold]
    pub(crate) fn run(
        &self,
        what: &str,
        ignore_poison: bool,
        f: impl FnOnce(&OnceState) -> bool,
    ) -> bool {
        wait::assert_may_block(what);
        // The mutex is poisoned exactly when an initializer died holding it.
        let (guard, poisoned) = match self.lock.lock() {
            Ok(g) => (g, false),
            Err(p) => (p.into_inner(), true),
        };
        if self.done.load(Ordering::Acquire) {
            return true;
        }
        if (poisoned && !ignore_poison) || !f(&OnceState { poisoned }) {
            drop(guard);
            return false;
        }
        self.done.store(true, Ordering::Release);
        if poisoned {
            self.lock.clear_poison();
        }
        drop(guard);
        true
    }

    /// Marks the `Once` complete or not, through exclusive access.
    pub(crate) fn set_completed(&mut self, done: bool) {
        *self.done.get_mut() = done;
    }

    /// Whether a call has completed.
    pub fn is_completed(&self) -> bool {
        self.done.load(Ordering::Acquire)
    }
}

/// What [`Once::call_once_force`] tells its closure.
#[derive(Debug)]
pub struct OnceState {
    poisoned: bool,
}

impl OnceState {
    /// Whether an earlier initializer panicked.
    pub fn is_poisoned(&self) -> bool {
        self.poisoned
    }
}

/// A cell written once.
pub struct OnceLock<T> {
    once: Once,
    value: UnsafeCell<MaybeUninit<T>>,
}

// SAFETY: the value is written once, before `done` is published with Release, and only read
// after `done` is seen with Acquire; sharing needs `T: Sync + Send` as in std.
unsafe impl<T: Sync + Send> Sync for OnceLock<T> {}
// SAFETY: moving the cell moves the `T`.
unsafe impl<T: Send> Send for OnceLock<T> {}

impl<T> Default for OnceLock<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: fmt::Debug> fmt::Debug for OnceLock<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("OnceLock").field(&self.get()).finish()
    }
}

impl<T> OnceLock<T> {
    /// An empty cell (usable in a `static`).
    pub const fn new() -> Self {
        Self {
            once: Once::new(),
            value: UnsafeCell::new(MaybeUninit::uninit()),
        }
    }

    /// The value, if set.
    pub fn get(&self) -> Option<&T> {
        if self.once.is_completed() {
            // SAFETY: completed means the value was written and is never written again.
            Some(unsafe { (*self.value.get()).assume_init_ref() })
        } else {
            None
        }
    }

    /// The value, initializing it with `f` if it is not set yet. If `f` panics the cell stays
    /// empty, and a later call initializes it.
    pub fn get_or_init<F: FnOnce() -> T>(&self, f: F) -> &T {
        self.once.call_once_force(|_| {
            let v = f();
            // SAFETY: inside `call_once`: exactly one writer, and no reader before completion.
            unsafe { (*self.value.get()).write(v) };
        });
        self.get().expect("initialized by call_once")
    }

    /// A mutable reference to the value, if set. No waiting: `&mut self` excludes every other
    /// access.
    pub fn get_mut(&mut self) -> Option<&mut T> {
        if *self.once.done.get_mut() {
            // SAFETY: completed means initialized; `&mut self` makes this the only reference.
            Some(unsafe { self.value.get_mut().assume_init_mut() })
        } else {
            None
        }
    }

    /// Takes the value out, leaving the cell empty (a later `get_or_init` or `set` fills it
    /// again). `None` if it was empty.
    pub fn take(&mut self) -> Option<T> {
        if *self.once.done.get_mut() {
            self.once.set_completed(false);
            // SAFETY: it was initialized, and is marked empty now, so it is read out once and
            // neither read nor dropped again.
            Some(unsafe { self.value.get_mut().assume_init_read() })
        } else {
            None
        }
    }

    /// Consumes the cell, returning its value if it was set.
    pub fn into_inner(mut self) -> Option<T> {
        self.take()
    }

    /// Sets the value if empty; otherwise gives `value` back.
    pub fn set(&self, value: T) -> Result<(), T> {
        let mut slot = Some(value);
        self.get_or_init(|| slot.take().expect("value"));
        match slot {
            None => Ok(()),
            Some(v) => Err(v),
        }
    }
}

impl<T> Drop for OnceLock<T> {
    fn drop(&mut self) {
        if *self.once.done.get_mut() {
            // SAFETY: completed means initialized; dropped once, here.
            unsafe { self.value.get_mut().assume_init_drop() };
        }
    }
}
