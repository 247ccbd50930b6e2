//! Thread-local statics: [`thread_local!`](crate::thread_local) and [`LocalKey`], shaped like
//! `std`'s.
//!
//! Each thread has its own value of each key, made by the key's initialiser on that thread's
//! first use of it (never for threads that do not use it) and dropped when the thread's
//! closure returns, in that thread, before `join` returns. How values are found and kept is
//! in [`storage`]; in short, `TPIDR_EL0` is reserved for the thread's block pointer (the
//! kernel re-points it if user code changed it, and never trusts it), and an initialised
//! key costs a few loads and compares.
//!
//! What does not happen, and why:
//! - A thread that panics or faults runs no destructors (there is no unwinding): its values
//!   are leaked; the kernel's own block is freed with the thread.
//! - `main` returning shuts the system down at once: its thread-locals are not dropped.
//! - Interrupt handlers have no thread of their own: using a key there panics (which stops
//!   the system, as any panic in a handler), rather than touch the interrupted thread's value.

mod storage;

use alloc::boxed::Box;
use core::cell::{Cell, RefCell};
use core::fmt;
use core::ptr::NonNull;
use core::sync::atomic::{AtomicUsize, Ordering};

use crate::kernel::shared::try_box;
pub(crate) use storage::{run_destructors, Block, TlsRoot};

/// Declares thread-local statics, each a [`LocalKey`]: std's syntax.
///
/// ```ignore
/// use core::cell::{Cell, RefCell};
/// preempt::thread_local! {
///     /// Doc comments and attributes are kept.
///     pub static COUNT: Cell<u32> = Cell::new(0);
///     static NAMES: RefCell<alloc::vec::Vec<&'static str>> = RefCell::new(alloc::vec::Vec::new());
///     static FLAG: Cell<bool> = const { Cell::new(false) };
/// }
/// COUNT.set(COUNT.get() + 1);
/// NAMES.with_borrow_mut(|v| v.push("x"));
/// ```
///
/// The initialiser runs in each thread on its first use of the key; the `const { .. }` form
/// is accepted (and costs the same as the other here).
#[macro_export]
macro_rules! thread_local {
    () => {};
    ($(#[$attr:meta])* $vis:vis static $name:ident: $t:ty = const $init:block; $($rest:tt)*) => {
        $crate::__thread_local_inner!($(#[$attr])* $vis $name, $t, const $init);
        $crate::thread_local!($($rest)*);
    };
    ($(#[$attr:meta])* $vis:vis static $name:ident: $t:ty = const $init:block) => {
        $crate::__thread_local_inner!($(#[$attr])* $vis $name, $t, const $init);
    };
    ($(#[$attr:meta])* $vis:vis static $name:ident: $t:ty = $init:expr; $($rest:tt)*) => {
        $crate::__thread_local_inner!($(#[$attr])* $vis $name, $t, $init);
        $crate::thread_local!($($rest)*);
    };
    ($(#[$attr:meta])* $vis:vis static $name:ident: $t:ty = $init:expr) => {
        $crate::__thread_local_inner!($(#[$attr])* $vis $name, $t, $init);
    };
}

/// One declaration of [`thread_local!`].
#[doc(hidden)]
#[macro_export]
macro_rules! __thread_local_inner {
    ($(#[$attr:meta])* $vis:vis $name:ident, $t:ty, const $init:block) => {
        $(#[$attr])*
        $vis static $name: $crate::thread::LocalKey<$t> = {
            fn __init() -> $t {
                const INIT: $t = $init;
                INIT
            }
            $crate::thread::LocalKey::__new(__init)
        };
    };
    ($(#[$attr:meta])* $vis:vis $name:ident, $t:ty, $init:expr) => {
        $(#[$attr])*
        $vis static $name: $crate::thread::LocalKey<$t> = {
            fn __init() -> $t {
                $init
            }
            $crate::thread::LocalKey::__new(__init)
        };
    };
}

/// A thread-local static declared with [`thread_local!`](crate::thread_local): each thread
/// that uses it has its own `T`.
pub struct LocalKey<T: 'static> {
    /// The key's index in every thread's table (0 until its first use anywhere).
    index: AtomicUsize,
    init: fn() -> T,
}

/// Why a thread-local could not be reached: its value in this thread is being or has been
/// destroyed (the thread is ending).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct AccessError {
    _private: (),
}

impl AccessError {
    pub(crate) const fn new() -> Self {
        Self { _private: () }
    }
}

impl fmt::Debug for AccessError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AccessError")
    }
}

impl fmt::Display for AccessError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("already destroyed")
    }
}

impl core::error::Error for AccessError {}

impl<T: 'static> fmt::Debug for LocalKey<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LocalKey { .. }")
    }
}

/// Drops a value `LocalKey::<T>` leaked into a `Box`.
///
/// # Safety
/// `p` came from leaking a `Box<T>` and is not used afterwards.
unsafe fn drop_value<T>(p: NonNull<u8>) {
    // SAFETY: per the contract, this is the leaked `Box<T>`, given back once.
    drop(unsafe { Box::from_raw(p.cast::<T>().as_ptr()) });
}

impl<T: 'static> LocalKey<T> {
    #[doc(hidden)]
    pub const fn __new(init: fn() -> T) -> Self {
        Self {
            index: AtomicUsize::new(0),
            init,
        }
    }

    /// Calls `f` with this thread's value, initialising it first if this thread has not
    /// used the key yet.
    ///
    /// # Panics
    /// When the value is being or has been destroyed (from a destructor as the thread ends:
    /// [`try_with`](Self::try_with) returns `Err` instead), when its initialiser uses the key
    /// itself, and in an interrupt handler (which has no thread of its own).
    #[track_caller]
    pub fn with<F, R>(&'static self, f: F) -> R
    where
        F: FnOnce(&T) -> R,
    {
        match self.try_with(f) {
            Ok(r) => r,
            Err(e) => destroyed(e),
        }
    }

    /// Like [`with`](Self::with), but `Err(AccessError)` when this thread's value is being or
    /// has been destroyed (a destructor running as the thread ends), rather than a panic.
    ///
    /// # Panics
    /// When the initialiser uses the key itself, and in an interrupt handler.
    #[track_caller]
    #[inline]
    pub fn try_with<F, R>(&'static self, f: F) -> Result<R, AccessError>
    where
        F: FnOnce(&T) -> R,
    {
        let p = self.get_or_init(&mut None)?;
        // `p` is this thread's live value, reached only through shared references. It is
        // destroyed only by its thread's exit path, which runs after every `with` of the
        // thread has returned except those inside destructors of *other* keys, and marks a
        // value destroyed before dropping it.
        // SAFETY: by the above, the value outlives this call.
        Ok(f(unsafe { p.as_ref() }))
    }

    /// Calls `f` with `Some(value)` (unused) and this thread's value if it is initialised, or
    /// with `None` and `value` installed as this thread's value (its initialiser not run).
    #[track_caller]
    fn initialize_with<R>(&'static self, value: T, f: impl FnOnce(Option<T>, &T) -> R) -> R {
        let mut preset = Some(value);
        match self.get_or_init(&mut preset) {
            // SAFETY: as in `try_with`.
            Ok(p) => f(preset, unsafe { p.as_ref() }),
            Err(e) => destroyed(e),
        }
    }

    /// This thread's value, made now (from `preset` if given, else the initialiser) if need
    /// be.
    #[track_caller]
    #[inline(always)]
    fn get_or_init(&'static self, preset: &mut Option<T>) -> Result<NonNull<T>, AccessError> {
        if let Some(block) = storage::fast_block() {
            if let Some(p) = block.alive(self.index.load(Ordering::Relaxed)) {
                return Ok(p.cast());
            }
        }
        self.slow(preset)
    }

    #[cold]
    #[inline(never)]
    #[track_caller]
    fn slow(&'static self, preset: &mut Option<T>) -> Result<NonNull<T>, AccessError> {
        let block = storage::current_block();
        let index = storage::key_index(&self.index);
        if let Some(p) = storage::begin_init(block, index)? {
            return Ok(p.cast());
        }
        let value = preset.take().unwrap_or_else(self.init); // user code
        let p = match try_box(value) {
            Ok(b) => NonNull::from(Box::leak(b)),
            Err(value) => {
                drop(value);
                panic!("out of memory for a thread-local value");
            }
        };
        storage::finish_init(block, index, p.cast(), drop_value::<T>);
        Ok(p)
    }
}

#[cold]
#[inline(never)]
#[track_caller]
fn destroyed(e: AccessError) -> ! {
    panic!("cannot access a thread-local value during or after its destruction: {e:?}")
}

impl<T: 'static> LocalKey<Cell<T>> {
    /// Sets this thread's value to `value` (without running the initialiser if the thread
    /// had not used the key yet).
    #[track_caller]
    pub fn set(&'static self, value: T) {
        self.initialize_with(Cell::new(value), |value, cell| {
            if let Some(value) = value {
                cell.set(value.into_inner());
            }
        });
    }

    /// A copy of this thread's value.
    #[track_caller]
    pub fn get(&'static self) -> T
    where
        T: Copy,
    {
        self.with(Cell::get)
    }

    /// Takes this thread's value, leaving `T::default()`.
    #[track_caller]
    pub fn take(&'static self) -> T
    where
        T: Default,
    {
        self.with(Cell::take)
    }

    /// Replaces this thread's value with `value`, returning the old one.
    #[track_caller]
    pub fn replace(&'static self, value: T) -> T {
        self.with(|cell| cell.replace(value))
    }
}

impl<T: 'static> LocalKey<RefCell<T>> {
    /// Calls `f` with a shared borrow of this thread's value.
    ///
    /// # Panics
    /// As [`with`](LocalKey::with), and when the value is mutably borrowed.
    #[track_caller]
    pub fn with_borrow<F, R>(&'static self, f: F) -> R
    where
        F: FnOnce(&T) -> R,
    {
        self.with(|cell| f(&cell.borrow()))
    }

    /// Calls `f` with a mutable borrow of this thread's value.
    ///
    /// # Panics
    /// As [`with`](LocalKey::with), and when the value is borrowed.
    #[track_caller]
    pub fn with_borrow_mut<F, R>(&'static self, f: F) -> R
    where
        F: FnOnce(&mut T) -> R,
    {
        self.with(|cell| f(&mut cell.borrow_mut()))
    }

    /// Sets this thread's value to `value` (without running the initialiser if the thread
    /// had not used the key yet).
    ///
    /// # Panics
    /// As [`with`](LocalKey::with), and when the value is borrowed.
    #[track_caller]
    pub fn set(&'static self, value: T) {
        self.initialize_with(RefCell::new(value), |value, cell| {
            if let Some(value) = value {
                *cell.borrow_mut() = value.into_inner();
            }
        });
    }

    /// Takes this thread's value, leaving `T::default()`.
    ///
    /// # Panics
    /// As [`with`](LocalKey::with), and when the value is borrowed.
    #[track_caller]
    pub fn take(&'static self) -> T
    where
        T: Default,
    {
        self.with(RefCell::take)
    }

    /// Replaces this thread's value with `value`, returning the old one.
    ///
    /// # Panics
    /// As [`with`](LocalKey::with), and when the value is borrowed.
    #[track_caller]
    pub fn replace(&'static self, value: T) -> T {
        self.with(|cell| cell.replace(value))
    }
}
