//! The kernel's event trace (feature `trace`): what ran where and why, recorded as it
//! happens and written to a file (`trace_format`) as the program exits, for `cargo xtask
//! trace` to turn into a timeline.
//!
//! - **Where events come from.** Switches are seen in one place
//!   (`sched_lock::contexts`, every thread and interrupt switch), with the reason read from
//!   the outgoing thread's state after the decision; spawns, exits, interrupt handlers and
//!   user marks at their own single sites. Wake-ups (with cause and waker), priority
//!   inheritance and deadlines happen inside `sched-core`, which notes them in a small log of
//!   its own (`sched_core::trace`); every hold of the scheduler lock drains that log into the
//!   ring as it ends, or just before its switch, so a core's records stay in time order.
//! - **Rings** (`ring`): one per core in static memory, written only by that core with IRQs
//!   masked for the write; the newest [`ring::CAPACITY`] records are kept and the overwritten
//!   ones counted. No allocation, no lock, bounded: safe from any context.
//! - **Names** (`names`): a fixed table filled at spawn, so names outlive their threads.
//! - **The file** (`file`): at `board::exit` (normal exit, kernel panic or fault), the first
//!   core to get there freezes every ring and writes them through semihosting.
//! - **Zero cost when off**: every trace point has an empty `#[inline(always)]` twin in `off`;
//!   the sites are one call line each, with no `cfg` of their own.

#[cfg(feature = "trace")]
mod file;
#[cfg(feature = "trace")]
mod hooks;
#[cfg(feature = "trace")]
mod names;
#[cfg(not(feature = "trace"))]
mod off;
#[cfg(feature = "trace")]
mod ring;

#[cfg(feature = "trace")]
pub(crate) use hooks::*;
#[cfg(not(feature = "trace"))]
pub(crate) use off::*;
