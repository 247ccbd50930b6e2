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
//! grows is grown when a thread is created, so `tick`, `wake` and the decision
//! methods only shuffle indices.

#![no_std]
#![forbid(unsafe_code)]

extern crate alloc;
#[cfg(test)]
extern crate std;

mod bitmap;
mod decision;
mod id;
mod ready;
mod scheduler;
mod slab;
mod thread;
mod timers;

pub use decision::{ExitOutcome, JoinPoll, Next, SchedError};
pub use id::ThreadId;
pub use scheduler::Scheduler;
pub use thread::{ExitStatus, State};

/// Number of CPUs the per-CPU arrays are sized for.
pub const MAX_CPUS: usize = 4;

/// Index of a CPU, `0..MAX_CPUS`.
pub type CpuId = usize;

/// Thread priority; a higher number runs first.
pub type Priority = u8;

/// Priority given to threads that do not ask for one.
pub const DEFAULT_PRIORITY: Priority = 128;

/// A point in time, in ticks of the generic counter (absolute, never relative).
pub type Ticks = u64;
