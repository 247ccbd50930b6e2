//! Blocking synchronization, shaped like `std::sync`.
//!
//! Everything here blocks by queueing the thread in the scheduler (only spinlocks spin): wait
//! queues are ordered by priority, first come first served among equals; every blocking call
//! has a timed variant; `Mutex` inherits priority through chains of owners and takes an atomic
//! fast path when uncontended. Objects have `const fn new` and create their scheduler state on
//! first use. From an interrupt handler, `Semaphore::release`, `SyncSender::try_send`,
//! `EventFlags::set` and `Thread::unpark` are allowed, and so are the non-blocking
//! `Mutex::try_lock`, `RwLock::try_read` and `RwLock::try_write`; blocking calls there
//! (`Mutex::lock`, `RwLock::read`, `Condvar` waits, …) stop the system with a message even when
//! they would not have to wait.

pub(crate) mod atomics;
mod barrier;
mod condvar;
mod event_flags;
mod lazy_lock;
pub(crate) mod look_again;
pub mod mpsc;
mod mutex;
mod mutex_word;
mod once;
mod poison;
mod rwlock;
mod sem_word;
mod semaphore;

pub use alloc::sync::{Arc, Weak};
pub use barrier::{Barrier, BarrierWaitResult};
pub use condvar::{Condvar, WaitTimeoutResult};
pub use event_flags::{EventFlags, WaitMode};
pub use lazy_lock::LazyLock;
pub use mutex::{Mutex, MutexGuard};
pub use once::{Once, OnceLock, OnceState};
pub use poison::{LockResult, PoisonError, TryLockError, TryLockResult};
pub use rwlock::{
    RwLock, RwLockReadGuard, RwLockWriteGuard, DEAD_HOLDER_RECHECK, MAX_READER_THREADS,
};
pub use semaphore::Semaphore;
