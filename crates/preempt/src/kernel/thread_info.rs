//! What is known about a thread outside the scheduler lock, shared by its control block and
//! every `Thread` / `JoinHandle` for it: name, base priority, how it failed, its final stack
//! peak, its scope links. Kept apart from the control block so that handles can answer after
//! the thread is gone.

use alloc::string::String;
use core::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, AtomicUsize, Ordering};

use preempt_arch::SpinLock;
use sched_core::Priority;

use super::shared::Shared;
use super::{cause, scope};

/// What a thread failed with, recorded for its `JoinError`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum Failure {
    None = 0,
    Panicked = 1,
    Faulted = 2,
}

/// What is known about a thread outside the scheduler lock; shared with `Thread` handles.
pub(crate) struct ThreadInfo {
    pub(super) id: AtomicU64,
    pub name: Option<String>,
    /// The thread's base priority: as spawned, then as last set by `Thread::set_priority`
    /// (written under the scheduler lock together with `sched-core`'s copy), so that it is
    /// still right once the thread has ended and left the scheduler's table.
    base_priority: AtomicU8,
    /// The thread running the program's `main`.
    pub is_main: bool,
    failure: AtomicU8,
    /// The stack's peak use once it is final (`usize::MAX` until then).
    final_stack_peak: AtomicUsize,
    /// A `JoinHandle` for the thread still exists (cleared when it is dropped unjoined).
    joinable: AtomicBool,
    /// What the thread failed with, once it has (the panic message or the fault's record).
    cause: SpinLock<Option<cause::Cause>>,
    /// Its scoped threads and its own scope (see `scope`).
    pub scope_links: scope::ScopeLinks,
}

impl ThreadInfo {
    pub fn new(name: Option<String>, base_priority: Priority) -> Self {
        Self {
            id: AtomicU64::new(0),
            name,
            base_priority: AtomicU8::new(base_priority),
            is_main: false,
            failure: AtomicU8::new(0),
            final_stack_peak: AtomicUsize::new(usize::MAX),
            joinable: AtomicBool::new(true),
            cause: SpinLock::new(None),
            scope_links: scope::ScopeLinks::new(None),
        }
    }
    /// The info of a thread spawned into `scope` (`thread::scope`).
    pub fn in_scope(self, scope: Shared<scope::ScopeData>) -> Self {
        Self {
            scope_links: scope::ScopeLinks::new(Some(scope)),
            ..self
        }
    }
    /// The info of the thread that runs the program's `main`.
    pub fn main(base_priority: Priority) -> Self {
        Self {
            is_main: true,
            ..Self::new(Some(String::from("main")), base_priority)
        }
    }
    /// The base priority as spawned or last set (see the field).
    pub fn base_priority(&self) -> Priority {
        self.base_priority.load(Ordering::Relaxed)
    }
    /// Records a new base priority; call under the scheduler lock, right after `sched-core`
    /// accepted it.
    pub fn set_base_priority(&self, priority: Priority) {
        self.base_priority.store(priority, Ordering::Relaxed);
    }
    pub fn id_u64(&self) -> u64 {
        self.id.load(Ordering::Relaxed)
    }
    pub fn set_failure(&self, f: Failure) {
        self.failure.store(f as u8, Ordering::Relaxed);
    }
    /// Records what the thread failed with (the first record stays: a panic while reporting a
    /// panic keeps the first message). Moves `cause` in; nothing is allocated or freed with
    /// the lock held, so a fault handler (IRQs masked) may call it.
    pub fn set_cause(&self, cause: cause::Cause) {
        let mut slot = self.cause.lock();
        if slot.is_none() {
            *slot = Some(cause);
            return;
        }
        drop(slot);
        drop(cause);
    }
    /// The description of what the thread failed with, if it did.
    pub fn cause_description(&self) -> Option<String> {
        let cause = self.cause.lock().take()?;
        let text = cause.describe();
        *self.cause.lock() = Some(cause);
        Some(text)
    }
    pub fn failure(&self) -> Failure {
        match self.failure.load(Ordering::Relaxed) {
            1 => Failure::Panicked,
            2 => Failure::Faulted,
            _ => Failure::None,
        }
    }
    /// Records the thread's final stack peak (at a stack overflow, or before its stack is
    /// freed).
    pub fn set_final_stack_peak(&self, bytes: usize) {
        self.final_stack_peak.store(bytes, Ordering::Relaxed);
    }
    pub(super) fn final_stack_peak(&self) -> Option<usize> {
        let v = self.final_stack_peak.load(Ordering::Relaxed);
        (v != usize::MAX).then_some(v)
    }
    /// Its `JoinHandle` is being dropped without a join.
    pub fn set_unjoinable(&self) {
        self.joinable.store(false, Ordering::Relaxed);
    }
    /// Whether someone other than the control block, the `JoinHandle` (which can only ask
    /// while the thread is still in the scheduler's table) and the caller's own `extra`
    /// references holds this info — a `Thread` handle that may ask for the stack peak after
    /// the control block is gone.
    pub fn peak_wanted_later(this: &Shared<ThreadInfo>, extra: usize) -> bool {
        let handle = usize::from(this.joinable.load(Ordering::Relaxed));
        Shared::count(this) > 1 + handle + extra && this.final_stack_peak().is_none()
    }
    /// The name for reports: control characters escaped, so it cannot break a console line.
    pub fn display_name(&self) -> crate::console::Escaped<'_> {
        crate::console::Escaped(self.name.as_deref().unwrap_or("<unnamed>"))
    }
}
