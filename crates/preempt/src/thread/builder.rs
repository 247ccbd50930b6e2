//! Thread configuration and spawning.

use alloc::boxed::Box;
use alloc::string::String;
use alloc::sync::Arc;
use core::fmt;

use preempt_arch::SpinLock;

use super::join::{JoinHandle, Packet};
use super::{Priority, Thread, DEFAULT_PRIORITY};
use crate::kernel::{self, stack::Stack, ThreadInfo};

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
    /// The heap cannot hold the thread's stack.
    OutOfMemory {
        /// Bytes asked for.
        requested: usize,
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
                    "out of memory allocating a {requested}-byte thread stack"
                )
            }
        }
    }
}

/// Thread settings: name, priority, stack size.
#[derive(Debug, Clone)]
pub struct Builder {
    name: Option<String>,
    priority: Priority,
    stack_size: usize,
}

impl Default for Builder {
    fn default() -> Self {
        Self::new()
    }
}

impl Builder {
    /// Default settings: no name, priority [`DEFAULT_PRIORITY`], [`DEFAULT_STACK_SIZE`] bytes.
    pub fn new() -> Self {
        Self {
            name: None,
            priority: DEFAULT_PRIORITY,
            stack_size: DEFAULT_STACK_SIZE,
        }
    }

    /// Names the thread (shown in panic and fault reports).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Sets the priority: 0–255, higher runs first.
    pub fn priority(mut self, priority: Priority) -> Self {
        self.priority = priority;
        self
    }

    /// Sets the stack size in bytes (at least [`MIN_STACK_SIZE`]).
    pub fn stack_size(mut self, bytes: usize) -> Self {
        self.stack_size = bytes;
        self
    }

    /// Starts the thread. If it outranks the caller it runs before this returns.
    pub fn spawn<F, T>(self, f: F) -> Result<JoinHandle<T>, SpawnError>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        crate::kernel::wait::assert_may_block("thread::spawn");
        let stack = Stack::new(self.stack_size)?;
        let info = Arc::new(ThreadInfo::new(self.name, self.priority));
        let packet: Arc<Packet<T>> = Arc::new(SpinLock::new(None));
        let result = packet.clone();
        let main: Box<dyn FnOnce() + Send> = Box::new(move || {
            let value = f();
            *result.lock() = Some(value);
        });
        let thread = kernel::new_thread(stack, main, info.clone());
        let id = kernel::spawn(self.priority, thread);
        Ok(JoinHandle::new(id, packet, Thread::from_info(info)))
    }
}
