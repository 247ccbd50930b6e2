//! `LazyLock`: a value computed on first access, on top of [`Once`].
//!
//! Shaped like `std::sync::LazyLock`. The first access runs the initializer under the `Once`'s
//! mutex (so concurrent first accesses block, with priority inheritance, and get the one
//! value); every later access is one atomic load.
//!
//! Poisoning follows std: an initializer that panics (or faults) ends its thread, the closure
//! is gone, and every later access panics with "LazyLock instance has previously been
//! poisoned" in the accessing thread, outside any lock. A thread that panics here does not
//! unwind, so the failed initializer's captures are never dropped (they are leaked).

use core::cell::UnsafeCell;
use core::fmt;
use core::mem;
use core::ops::{Deref, DerefMut};

use super::Once;

enum State<T, F> {
    /// Not initialized yet: the initializer.
    Uninit(F),
    /// Initialized.
    Init(T),
    /// The initializer was taken out to run and never finished.
    Poisoned,
}

/// A value initialized on first access (usable in a `static`).
///
/// ```ignore
/// static TABLE: LazyLock<Vec<u32>> = LazyLock::new(|| (0..16).map(|i| i * i).collect());
/// assert_eq!(TABLE[3], 9);
/// ```
pub struct LazyLock<T, F = fn() -> T> {
    once: Once,
    state: UnsafeCell<State<T, F>>,
}

// SAFETY: `&LazyLock` hands out `&T` to any thread (needs `T: Sync`) and the first accessor,
// whichever thread, runs `F` and creates the `T` there (needs `F: Send`, `T: Send`), as in std.
// `state` is written only inside the `Once` (one writer, no readers before completion).
unsafe impl<T: Sync + Send, F: Send> Sync for LazyLock<T, F> {}

#[cold]
#[inline(never)]
fn panic_poisoned() -> ! {
    panic!("LazyLock instance has previously been poisoned")
}

impl<T, F: FnOnce() -> T> LazyLock<T, F> {
    /// A new lazy value, initialized by `f` on first access.
    pub const fn new(f: F) -> Self {
        Self {
            once: Once::new(),
            state: UnsafeCell::new(State::Uninit(f)),
        }
    }

    /// The value, running the initializer first if no access has yet. Blocks while another
    /// thread runs the initializer. Same as dereferencing.
    ///
    /// # Panics
    /// If the initializer panics (the thread ends), and in every later access (the lock is
    /// poisoned).
    pub fn force(this: &Self) -> &T {
        if !this.once.is_completed() {
            let done = this.once.run("LazyLock::force", false, |_| {
                // SAFETY: inside the `Once`: exactly one writer, and no reader before
                // completion.
                let state = unsafe { &mut *this.state.get() };
                match mem::replace(state, State::Poisoned) {
                    State::Uninit(f) => {
                        *state = State::Init(f());
                        true
                    }
                    other => {
                        *state = other;
                        false
                    }
                }
            });
            if !done {
                panic_poisoned();
            }
        }
        Self::get(this).expect("initialized in the Once")
    }

    /// Like [`force`](Self::force), through exclusive access (no waiting), returning a mutable
    /// reference.
    ///
    /// # Panics
    /// As `force`.
    pub fn force_mut(this: &mut Self) -> &mut T {
        if let State::Uninit(_) = this.state.get_mut() {
            let State::Uninit(f) = mem::replace(this.state.get_mut(), State::Poisoned) else {
                unreachable!("checked just above")
            };
            // Stays `Poisoned` if `f` panics: the thread ends without unwinding.
            *this.state.get_mut() = State::Init(f());
            this.once.set_completed(true);
        }
        match this.state.get_mut() {
            State::Init(v) => v,
            _ => panic_poisoned(),
        }
    }
}

impl<T, F> LazyLock<T, F> {
    /// The value if initialized; `None` if not yet (or poisoned).
    pub fn get(this: &Self) -> Option<&T> {
        if !this.once.is_completed() {
            return None;
        }
        // SAFETY: completed means `state` holds the value and is never written again while
        // shared.
        match unsafe { &*this.state.get() } {
            State::Init(v) => Some(v),
            _ => None,
        }
    }

    /// A mutable reference to the value if initialized; `None` if not yet (or poisoned).
    pub fn get_mut(this: &mut Self) -> Option<&mut T> {
        match this.state.get_mut() {
            State::Init(v) => Some(v),
            _ => None,
        }
    }
}

impl<T, F: FnOnce() -> T> Deref for LazyLock<T, F> {
    type Target = T;
    fn deref(&self) -> &T {
        Self::force(self)
    }
}

impl<T, F: FnOnce() -> T> DerefMut for LazyLock<T, F> {
    fn deref_mut(&mut self) -> &mut T {
        Self::force_mut(self)
    }
}

impl<T: Default> Default for LazyLock<T> {
    fn default() -> Self {
        Self::new(T::default)
    }
}

impl<T: fmt::Debug, F> fmt::Debug for LazyLock<T, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_tuple("LazyLock");
        match Self::get(self) {
            Some(v) => d.field(v),
            None => d.field(&format_args!("<uninit>")),
        };
        d.finish()
    }
}
