//! Thread configuration and spawning.

use alloc::string::String;
use core::fmt;

use preempt_arch::SpinLock;

use super::join::{JoinHandle, Packet};
use super::{Priority, Thread, DEFAULT_PRIORITY};
use crate::kernel::shared::{try_box, Shared};
use alloc::boxed::Box;

use super::scope::{Scope, ScopedJoinHandle};
use crate::kernel::scope::ScopeData;
use crate::kernel::{self, stack::Stack, ThreadInfo, ThreadMain};

pub use crate::kernel::stack::{DEFAULT_STACK_SIZE, MIN_STACK_SIZE};

/// Why a thread could not be spawned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpawnError {
    /// The requested stack is smaller than [`MIN_STACK_SIZE`].
    StackTooSmall {
        /// Bytes asked for.
        requested: usize,
        /// The smallest accepted size.
        minimum: usize,
    },
    /// The heap cannot hold the thread's stack or the kernel's per-thread data.
    OutOfMemory {
        /// Bytes asked for.
        requested: usize,
    },
    /// The affinity mask ([`Builder::affinity`]) names no core that runs threads.
    NoRunningCore {
        /// The mask asked for.
        affinity: u32,
        /// The cores that run threads (bit n: core n).
        running: u32,
    },
}

impl fmt::Display for SpawnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::StackTooSmall { requested, minimum } => {
                write!(
                    f,
                    "stack size {requested} bytes is below the minimum of {minimum} bytes"
                )
            }
            Self::OutOfMemory { requested } => {
                write!(
                    f,
                    "out of memory spawning a thread with a {requested}-byte stack"
                )
            }
            Self::NoRunningCore { affinity, running } => {
                write!(
                    f,
                    "affinity mask {affinity:#x} names no core that runs threads (running: {running:#x})"
                )
            }
        }
    }
}

/// Thread settings: name, priority, stack size, the cores it may run on.
#[derive(Debug, Clone)]
pub struct Builder {
    name: Option<String>,
    priority: Priority,
    stack_size: usize,
    affinity: u32,
}

impl Default for Builder {
    fn default() -> Self {
        Self::new()
    }
}

impl Builder {
    /// Default settings: no name, priority [`DEFAULT_PRIORITY`], [`DEFAULT_STACK_SIZE`]
    /// bytes, every core.
    pub fn new() -> Self {
        Self {
            name: None,
            priority: DEFAULT_PRIORITY,
            stack_size: DEFAULT_STACK_SIZE,
            affinity: u32::MAX,
        }
    }

    /// Names the thread (shown in panic and fault reports).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Sets the priority: 0–255, higher runs first ([`DEFAULT_PRIORITY`] if not set). This is
    /// the thread's base priority: it may run higher while it holds a mutex a higher thread
    /// waits for, and [`Thread::set_priority`] changes it later.
    pub fn priority(mut self, priority: Priority) -> Self {
        self.priority = priority;
        self
    }

    /// Sets the cores the thread may run on: bit n allows core n (default: all). Bits of cores
    /// that do not run threads are ignored; a mask that names none of the running cores
    /// ([`cpu::count`](crate::cpu::count)) makes [`spawn`](Self::spawn) fail with
    /// [`SpawnError::NoRunningCore`]. The thread can change it later with
    /// [`thread::set_affinity`](super::set_affinity).
    pub fn affinity(mut self, mask: u32) -> Self {
        self.affinity = mask;
        self
    }

    /// Sets the stack size in bytes (at least [`MIN_STACK_SIZE`]).
    pub fn stack_size(mut self, bytes: usize) -> Self {
        self.stack_size = bytes;
        self
    }

    /// Starts the thread. If it outranks the caller it runs before this returns.
    ///
    /// # Errors
    /// [`SpawnError::StackTooSmall`] for a stack below [`MIN_STACK_SIZE`];
    /// [`SpawnError::OutOfMemory`] when the heap cannot hold the stack or any of the kernel's
    /// own per-thread data (nothing is leaked then, and `f` is dropped);
    /// [`SpawnError::NoRunningCore`] when the [affinity](Self::affinity) names no running
    /// core (checked before anything is allocated).
    pub fn spawn<F, T>(self, f: F) -> Result<JoinHandle<T>, SpawnError>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        // SAFETY: `F` and `T` are `'static`: nothing they hold can dangle.
        unsafe { self.spawn_unchecked(f, None) }
    }

    /// Like [`spawn`](Self::spawn), into `scope` (see [`thread::scope`](super::scope)): the
    /// thread may borrow what outlives the scope, and is joined at the scope's end at the
    /// latest.
    ///
    /// # Errors
    /// As for [`spawn`](Self::spawn).
    pub fn spawn_scoped<'scope, 'env, F, T>(
        self,
        scope: &'scope Scope<'scope, 'env>,
        f: F,
    ) -> Result<ScopedJoinHandle<'scope, T>, SpawnError>
    where
        F: FnOnce() -> T + Send + 'scope,
        T: Send + 'scope,
    {
        let data = scope.data();
        data.spawning();
        // SAFETY: the scope does not end (and so nothing `'scope` expires) before every
        // thread counted in it has ended (`kernel::scope`); this one is counted in above, and
        // out again by the spawn if it fails.
        let handle = unsafe { self.spawn_unchecked(f, Some(data.clone())) };
        handle.map(|h| ScopedJoinHandle::new(h, data.clone()))
    }

    /// Starts the thread, whatever the lifetimes of `F` and `T`; counts it into `scope` (and
    /// out again if the spawn fails).
    ///
    /// # Safety
    /// Everything `f` and its result borrow must outlive the thread: `F` and `T` are
    /// `'static`, or `scope` is the thread's scope, which waits for it.
    unsafe fn spawn_unchecked<'a, F, T>(
        self,
        f: F,
        scope: Option<Shared<ScopeData>>,
    ) -> Result<JoinHandle<T>, SpawnError>
    where
        F: FnOnce() -> T + Send + 'a,
        T: Send + 'a,
    {
        let counted = scope.clone();
        let result = (move || {
            crate::kernel::wait::assert_may_block("thread::spawn");
            let running = crate::cpu::running_mask();
            if self.affinity & running == 0 {
                return Err(SpawnError::NoRunningCore {
                    affinity: self.affinity,
                    running,
                });
            }
            let stack = Stack::new(self.stack_size)?;
            let oom = SpawnError::OutOfMemory {
                requested: self.stack_size,
            };
            let mut info = ThreadInfo::new(self.name, self.priority);
            if let Some(scope) = scope {
                info = info.in_scope(scope);
            }
            let info = Shared::try_new(info).map_err(|_| oom)?;
            let packet: Shared<Packet<T>> =
                Shared::try_new(SpinLock::new(None)).map_err(|_| oom)?;
            let main = try_box(Main {
                f: Some(f),
                packet: Some(packet.clone()),
            })
            .map_err(|_| oom)?;
            let main: Box<dyn ThreadMain + 'a> = main;
            // The kernel keeps `main` as `'static`. What `F` and `T` borrow outlives the thread
            // (this function's contract), which runs the closure and stores the result before it
            // ends; what is left of `main` after that (freed with the control block, maybe later)
            // is a spent closure and an emptied packet reference, whose drop touches no borrowed
            // data.
            // SAFETY: only the lifetime bound changes, and by the above nothing outlives it.
            let main = unsafe {
                core::mem::transmute::<Box<dyn ThreadMain + 'a>, Box<dyn ThreadMain>>(main)
            };
            let thread = kernel::new_thread(stack, main, info.clone()).map_err(|()| oom)?;
            let id =
                kernel::spawn(self.priority, self.affinity, thread).map_err(|(thread, why)| {
                    drop(thread);
                    match why {
                        kernel::SpawnFail::NoRoom => oom,
                        kernel::SpawnFail::NoAllowedCpu => SpawnError::NoRunningCore {
                            affinity: self.affinity,
                            running,
                        },
                    }
                })?;
            Ok(JoinHandle::new(id, packet, Thread::from_info(info)))
        })();
        if let (Err(_), Some(scope)) = (&result, counted) {
            scope.spawn_failed();
        }
        result
    }
}

/// A spawned thread's code and the packet its result goes to.
///
/// The control block owns this while the thread runs, so a thread that panics or faults (no
/// unwinding) leaves it to be freed with the control block: the kernel's part of the thread
/// never leaks. On success the thread drops its reference to the packet itself, so a detached
/// thread's result is dropped by that thread, not by whoever frees the control block.
struct Main<F, T> {
    f: Option<F>,
    packet: Option<Shared<Packet<T>>>,
}

impl<F, T> ThreadMain for Main<F, T>
where
    F: FnOnce() -> T + Send,
    T: Send,
{
    fn run(&mut self) {
        if let Some(f) = self.f.take() {
            let value = f();
            if let Some(packet) = self.packet.take() {
                *packet.lock() = Some(value);
            }
        }
    }
}
