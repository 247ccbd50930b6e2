//! The kernel's side of scoped threads (`thread::scope`): knowing when every thread of a scope
//! has ended, and never freeing or reusing memory they borrow while they run.
//!
//! Scoped threads borrow from the stack of the thread that opened the scope (its *owner*). In
//! std, unwinding guarantees that the owner joins them before those frames go away, whatever
//! happens. preempt does not unwind, so the kernel does it at the two places a thread ends:
//!
//! - **A scoped thread ends** (returns, panics or faults): [`thread_ending`] counts it out of
//!   its scope and out of its owner, and unparks the owner. It is the last thing the thread
//!   does before it leaves the scheduler; its closure was consumed before that, and its result
//!   is stored for its handle (or dropped, if the handle is gone).
//! - **An owner fails** (panics or faults inside `scope`): it waits, in [`thread_ending`],
//!   until every scoped thread it owns has ended, before it exits and its stack can be freed.
//!   A fault abandons the thread's stack from its top down (see `fault::handle_sync`), which
//!   would overwrite the very frames the scoped threads borrow; so a thread that opens a scope
//!   first reserves a small *exit stack* ([`reserve_exit_stack`], kept until it ends), and a
//!   fault of an owner with scoped threads still running exits on that one instead.
//!
//! Before that wait, the failed owner gives up its locks as unwinding would have: its mutexes
//! are poisoned and handed on (`Scheduler::abandon_mutexes`), and from then on it counts as a
//! dead holder for every `Mutex` and `RwLock` whose word still names it. A scoped thread
//! blocked on something else only the failed owner would have provided (a message never sent)
//! keeps the owner waiting, as the equivalent code would in std.

use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use sched_core::ExitStatus;

use super::shared::Shared;
use super::stack::{Stack, MIN_STACK_SIZE};
use super::{with_sched, ThreadInfo};

/// One open scope, shared by its owner and its threads (it outlives the scope if they do).
pub(crate) struct ScopeData {
    /// Threads of the scope that have not ended.
    live: AtomicUsize,
    /// Threads of the scope that failed and whose `join` has not reported it.
    failed_unjoined: AtomicUsize,
    owner: Shared<ThreadInfo>,
}

impl ScopeData {
    pub fn new(owner: Shared<ThreadInfo>) -> Self {
        Self {
            live: AtomicUsize::new(0),
            failed_unjoined: AtomicUsize::new(0),
            owner,
        }
    }

    /// Counts in a thread about to be spawned into the scope (undo with
    /// [`spawn_failed`](Self::spawn_failed) if the spawn fails).
    pub fn spawning(&self) {
        self.live.fetch_add(1, Ordering::Relaxed);
        self.owner.scope_links.live.fetch_add(1, Ordering::Relaxed);
    }

    /// Undoes [`spawning`](Self::spawning) for a thread that was never started.
    pub fn spawn_failed(&self) {
        self.count_out();
    }

    /// Whether every thread of the scope has ended (everything they did happens before a
    /// `true` answer).
    pub fn all_ended(&self) -> bool {
        self.live.load(Ordering::Acquire) == 0
    }

    /// A failed thread's `join` reported its failure (so the scope need not).
    pub fn failure_reported(&self) {
        self.failed_unjoined.fetch_sub(1, Ordering::Relaxed);
    }

    /// Whether a thread of the scope failed without its `join` reporting it.
    pub fn unreported_failure(&self) -> bool {
        self.failed_unjoined.load(Ordering::Relaxed) != 0
    }

    fn count_out(&self) {
        self.owner.scope_links.live.fetch_sub(1, Ordering::Release);
        self.live.fetch_sub(1, Ordering::Release);
        unpark(&self.owner);
    }
}

/// The per-thread part: how many scoped threads the thread owns that have not ended, and the
/// scope it was spawned into, if any.
pub(crate) struct ScopeLinks {
    pub(super) scope: Option<Shared<ScopeData>>,
    pub(super) live: AtomicUsize,
    /// Whether the thread has an exit stack (read by the fault handler without the lock).
    pub(super) has_exit_stack: AtomicBool,
}

impl ScopeLinks {
    pub const fn new(scope: Option<Shared<ScopeData>>) -> Self {
        Self {
            scope,
            live: AtomicUsize::new(0),
            has_exit_stack: AtomicBool::new(false),
        }
    }

    /// Whether scoped threads this thread owns are still running.
    pub fn owns_live_threads(&self) -> bool {
        self.live.load(Ordering::Acquire) != 0
    }
}

/// Called by every thread as it exits, in its own context (IRQs on, no lock held), before it
/// leaves the scheduler: see the module docs.
pub(crate) fn thread_ending(info: &ThreadInfo, status: ExitStatus) {
    if status == ExitStatus::Failed && info.scope_links.owns_live_threads() {
        // What unwinding would have done first: give up (poisoned) every lock it holds, so
        // that a scoped thread waiting for one is not waited for in turn.
        super::schedule(|s, cpu| (s.abandon_mutexes(cpu), ()));
        while info.scope_links.owns_live_threads() {
            crate::thread::park();
        }
    }
    if let Some(scope) = &info.scope_links.scope {
        if status == ExitStatus::Failed {
            scope.failed_unjoined.fetch_add(1, Ordering::Relaxed);
        }
        scope.count_out();
    }
}

fn unpark(owner: &ThreadInfo) {
    if let Some(id) = sched_core::ThreadId::from_u64(owner.id_u64()) {
        crate::kernel::wait::notify(|s| {
            let _ = s.unpark(id);
        });
    }
}

/// Gives the calling thread its exit stack if it has none yet (see the module docs), and
/// returns its info (the scope's owner). Called when it opens a scope, in thread context.
///
/// # Panics
/// When the heap cannot hold the stack (the scope is not opened).
pub(crate) fn reserve_exit_stack() -> Shared<ThreadInfo> {
    let Some(info) = super::current_info() else {
        panic!("thread::scope called outside a thread");
    };
    if info.scope_links.has_exit_stack.load(Ordering::Relaxed) {
        return info;
    }
    let stack = Stack::new(MIN_STACK_SIZE).unwrap_or_else(|e| panic!("thread::scope: {e}"));
    let mut stack = Some(stack);
    with_sched(|s, cpu| {
        let me = s.current(cpu);
        if let Some(t) = s.data_mut(me) {
            t.exit_stack = stack.take();
        }
    });
    info.scope_links
        .has_exit_stack
        .store(stack.is_none(), Ordering::Relaxed);
    drop(stack); // not placed (never: the caller is a thread): freed here, with no lock held
    info
}
