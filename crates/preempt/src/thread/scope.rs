//! Scoped threads: `thread::scope(|s| { s.spawn(|| ...); })`, std's API and semantics.
//!
//! Threads spawned in a scope may borrow anything that outlives the scope, because `scope`
//! does not return before every one of them has ended (those not joined by hand are joined
//! at its end). If one of those it joined at the end failed (panicked or faulted), `scope`
//! panics once all have ended, as std's does.
//!
//! What std gets from unwinding, the kernel provides (`kernel::scope`): a thread that fails
//! inside `scope` does not exit, and its stack is not reused or freed, until the threads of its
//! scopes have ended. So no failure anywhere can leave a scoped thread reading freed memory.
//! Opening the first scope reserves a small exit stack for the thread (8 KiB and a guard page,
//! kept until it ends) for the case of a fault; `scope` panics if the heap cannot hold it.

use core::marker::PhantomData;

use super::{Builder, JoinError, JoinHandle, Thread};
use crate::kernel::scope::{self as kscope, ScopeData};
use crate::kernel::shared::Shared;

/// A scope to spawn threads in: see [`scope`].
pub struct Scope<'scope, 'env: 'scope> {
    data: Shared<ScopeData>,
    /// Invariant over `'scope` (as std): the lifetime cannot be shortened to let a handle out.
    scope: PhantomData<&'scope mut &'scope ()>,
    env: PhantomData<&'env mut &'env ()>,
}

/// An owned permission to join a scoped thread (joined at the scope's end if not before).
pub struct ScopedJoinHandle<'scope, T> {
    handle: JoinHandle<T>,
    data: Shared<ScopeData>,
    scope: PhantomData<&'scope ()>,
}

/// Creates a scope for spawning threads that borrow from the caller: every thread spawned in
/// it has ended when `scope` returns.
///
/// `f` gets the [`Scope`]; [`Scope::spawn`] starts threads in it (from `f`, or from threads of
/// the scope). Threads not joined by hand are joined before `scope` returns.
///
/// # Panics
/// If a thread joined at the end (not by hand) panicked or faulted — after all have ended.
/// If the heap cannot hold the scope's bookkeeping (nothing was spawned then).
pub fn scope<'env, F, T>(f: F) -> T
where
    F: for<'scope> FnOnce(&'scope Scope<'scope, 'env>) -> T,
{
    crate::kernel::wait::assert_may_block("thread::scope");
    let owner = kscope::reserve_exit_stack();
    let data = Shared::try_new(ScopeData::new(owner))
        .unwrap_or_else(|_| panic!("thread::scope: out of memory"));
    let scope = Scope {
        data,
        scope: PhantomData,
        env: PhantomData,
    };
    let result = f(&scope);
    while !scope.data.all_ended() {
        super::park();
    }
    if scope.data.unreported_failure() {
        panic!("a scoped thread panicked or faulted");
    }
    result
}

impl<'scope> Scope<'scope, '_> {
    /// Spawns a thread in the scope, with [`Builder`]'s defaults; it may borrow what outlives
    /// the scope.
    ///
    /// # Panics
    /// If the thread cannot be spawned ([`Builder::spawn_scoped`] returns why).
    pub fn spawn<F, T>(&'scope self, f: F) -> ScopedJoinHandle<'scope, T>
    where
        F: FnOnce() -> T + Send + 'scope,
        T: Send + 'scope,
    {
        Builder::new()
            .spawn_scoped(self, f)
            .unwrap_or_else(|e| panic!("failed to spawn a scoped thread: {e}"))
    }

    pub(crate) fn data(&self) -> &Shared<ScopeData> {
        &self.data
    }
}

impl<'scope, T> ScopedJoinHandle<'scope, T> {
    pub(crate) fn new(handle: JoinHandle<T>, data: Shared<ScopeData>) -> Self {
        Self {
            handle,
            data,
            scope: PhantomData,
        }
    }

    /// The thread this handle joins.
    pub fn thread(&self) -> &Thread {
        self.handle.thread()
    }

    /// Whether the thread has ended (join would not block).
    pub fn is_finished(&self) -> bool {
        self.handle.is_finished()
    }

    /// Waits for the thread to end; its value, or `Err` if it panicked or faulted (which the
    /// scope then does not report again).
    pub fn join(self) -> Result<T, JoinError> {
        let result = self.handle.join();
        if result.is_err() {
            self.data.failure_reported();
        }
        result
    }
}

impl core::fmt::Debug for Scope<'_, '_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Scope").finish_non_exhaustive()
    }
}

impl<T> core::fmt::Debug for ScopedJoinHandle<'_, T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ScopedJoinHandle")
            .field("thread", self.thread())
            .finish_non_exhaustive()
    }
}
