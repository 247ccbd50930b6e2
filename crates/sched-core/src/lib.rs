//! The scheduling core of preempt, kept apart from everything that touches hardware.
//!
//! Scheduling bugs are the hardest kind to chase on bare metal: they show up as a
//! hang or a lost wake-up long after the faulty decision. By keeping every policy
//! decision in plain, safe Rust with no architecture code, the whole state machine
//! can be exercised on the host, with unit tests and randomised operation
//! sequences, before it ever runs under an interrupt. The kernel owns the
//! mechanics (saving registers, programming the timer, locking); this crate only
//! answers "who runs next?" through [`Next`] values that the caller must act on.
//!
//! Nothing on a path an interrupt handler can take allocates: every structure that
//! grows is grown when a thread or object is created, so `tick`, `wake`, the
//! decision methods and the waking side of every synchronization primitive
//! (`wake_one`, `wake_all`, `sem_release`, `event_set`, `unpark`,
//! `mutex_unlock`) only shuffle indices.
//!
//! The blocking primitives (wait queues, mutexes with priority inheritance,
//! semaphores, event flags, park tokens) are state machines inside the
//! [`Scheduler`] rather than beside it: a timeout fires in `tick`, and a
//! priority change must re-sort whatever queue the thread sits in and pass a
//! boost along a chain of mutex owners, so the scheduler has to be able to
//! reach every queue a thread can be in. The kernel wraps each object around a
//! handle ([`QueueId`], [`MutexId`], [`SemId`], [`EventId`]) and calls these
//! methods under its one scheduler lock.

#![no_std]
#![forbid(unsafe_code)]

extern crate alloc;
#[cfg(test)]
extern crate std;

mod bitmap;
mod decision;
mod handles;
mod id;
#[cfg(feature = "interp")]
pub mod interp;
mod object;
pub mod periodic;
mod ready;
mod scheduler;
mod slab;
mod store;
mod thread;
mod timers;
pub mod trace;
mod wait_list;

pub use decision::{
    AcquirePoll, EventPoll, ExitOutcome, JoinPoll, LockPoll, Next, SchedError, WaitResult,
};
pub use handles::{
    EventId, EventMode, MutexId, QueueId, SemId, SyncObject, WaitingOn, LOCK_WAITERS,
};
pub use id::ThreadId;
pub use scheduler::{Growth, GrowthPlan, Scheduler};
pub use store::{Checked, CheckedStore, SlotStore, StoreKind};
pub use thread::{ExitStatus, State};

/// Number of CPUs the per-CPU arrays are sized for.
pub const MAX_CPUS: usize = 4;

/// Every CPU the scheduler can run: the default affinity (bit `n` allows CPU `n`).
pub const ALL_CPUS: u32 = (1 << MAX_CPUS) - 1;

/// Index of a CPU, `0..MAX_CPUS`.
pub type CpuId = usize;

/// Thread priority; a higher number runs first.
pub type Priority = u8;

/// Priority given to threads that do not ask for one.
pub const DEFAULT_PRIORITY: Priority = 128;

/// A point in time, in ticks of the generic counter (absolute, never relative).
pub type Ticks = u64;
