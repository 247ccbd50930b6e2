//! Per-thread statistics at run time: who exists, in what state, at what priority, how much CPU
//! time each has had, how often it was switched in and how much of its stack it has used.
//!
//! Why: the first question about a system that misbehaves in the field — which thread eats
//! the CPU, which one never runs, which stack is nearly full — needs these figures while it
//! runs, not a debugger. [`threads`] takes a snapshot of every thread; [`print`] writes it as a
//! `ps`-like table on the console.
//!
//! The figures cost the scheduler almost nothing: CPU time and switches are kept by the
//! context switch itself (a counter read and a few adds per switch, see `kernel/accounting.rs`
//! and docs/design.md), stack peaks are measured on demand on the painted stacks
//! ([`Thread::stack_peak`](crate::thread::Thread::stack_peak)). A snapshot takes the
//! scheduler lock once, for a walk of the thread table that allocates nothing; names are
//! copied and stacks scanned after the lock is released.
//!
//! ```ignore
//! for t in preempt::stats::threads() {
//!     preempt::println!("{:?} {:?} {:?}", t.name, t.state, t.cpu_time);
//! }
//! preempt::stats::print();
//! ```

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::{self, Write};

use preempt_arch::timer;
use sched_core::State;

use crate::kernel::{self, accounting, percpu};
use crate::thread::{Priority, ThreadId};
use crate::time::Duration;

/// Where a thread is in its life, as a snapshot saw it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ThreadState {
    /// On core `n` (`preempt::cpu::current()` numbering) at the moment of the snapshot.
    Running(usize),
    /// Ready to run, waiting for a core (also an idle thread whose core runs another thread).
    Ready,
    /// In `thread::sleep` / `sleep_until`.
    Sleeping,
    /// Waiting on a mutex, semaphore, channel, condition variable, event flags or park token
    /// (with or without a timeout).
    Blocked,
    /// In `JoinHandle::join`, waiting for the thread named.
    Joining(ThreadId),
    /// Returned normally; its `JoinHandle` has not joined it yet.
    Finished,
    /// Panicked or faulted; its `JoinHandle` has not joined it yet.
    Failed,
}

impl ThreadState {
    fn from_sched(state: State) -> Self {
        match state {
            State::Running(cpu) => Self::Running(cpu),
            State::Ready => Self::Ready,
            State::Sleeping => Self::Sleeping,
            State::Blocked => Self::Blocked,
            State::Joining(id) => Self::Joining(id),
            State::Zombie(sched_core::ExitStatus::Finished) => Self::Finished,
            State::Zombie(sched_core::ExitStatus::Failed) => Self::Failed,
        }
    }
}

impl fmt::Display for ThreadState {
    /// Short forms for a table: `running 0`, `ready`, `sleeping`, `blocked`, `joining`,
    /// `finished`, `failed`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            Self::Running(cpu) => return f.pad(&alloc::format!("running {cpu}")),
            Self::Ready => "ready",
            Self::Sleeping => "sleeping",
            Self::Blocked => "blocked",
            Self::Joining(_) => "joining",
            Self::Finished => "finished",
            Self::Failed => "failed",
        };
        f.pad(s)
    }
}

/// One thread in a [`threads`] snapshot.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ThreadStats {
    /// Its id ([`Thread::id`](crate::thread::Thread::id)).
    pub id: ThreadId,
    /// Its name, if it was given one (idle threads are named `"idle"`).
    pub name: Option<String>,
    /// `Some(n)`: this is core `n`'s idle thread, which runs when nothing else can there (its
    /// CPU time is the core's idle time, interrupts taken while idle included).
    pub idle_of: Option<usize>,
    /// The priority it runs at: its base priority raised by priority inheritance.
    pub priority: Priority,
    /// The priority it was given (spawned with, or last set).
    pub base_priority: Priority,
    /// Its state at the moment of the snapshot.
    pub state: ThreadState,
    /// CPU time since it started, its current run included if it is running; time spent in
    /// interrupt handlers counts for the thread they interrupted.
    pub cpu_time: Duration,
    /// How many times it was switched in (its first start included, and for an idle thread
    /// its core's start).
    pub switches: u64,
    /// Usable bytes of its stack (0 for an idle thread, which runs on its core's boot stack).
    pub stack_size: usize,
    /// Its peak stack use in bytes, as [`Thread::stack_peak`](crate::thread::Thread::stack_peak)
    /// measures it (0 for an idle thread).
    pub stack_peak: usize,
}

impl ThreadStats {
    /// Whether this is a core's idle thread.
    pub fn is_idle(&self) -> bool {
        self.idle_of.is_some()
    }
}

/// How many times [`threads`] reserves room and walks the table before it gives up on a
/// table that keeps growing, and what it reserves beyond the count it saw.
const ATTEMPTS: usize = 4;
const SLACK: usize = 8;

/// A snapshot of every thread: one entry per thread in the scheduler's table — idle threads
/// (one per core, [`ThreadStats::idle_of`]) and finished threads not yet joined included — in
/// table order.
///
/// Callable from any thread; not from an interrupt handler (it allocates), where it stops the
/// system with a message saying so. The table is walked in one hold of the scheduler lock,
/// into room reserved before it is taken; if threads were spawned in between so that they do
/// not fit, it tries again with more room, a few times, and then returns the threads that
/// fitted.
pub fn threads() -> Vec<ThreadStats> {
    if percpu::this().in_irq() || !kernel::started() {
        refused();
    }
    let mut samples = Vec::new();
    let mut want = accounting::thread_count() + SLACK;
    for _ in 0..ATTEMPTS {
        samples.clear(); // drops the last attempt's handles, with the lock released
        samples.reserve_exact(want);
        let total = accounting::sample(&mut samples);
        if total <= samples.len() {
            break;
        }
        want = total + SLACK;
    }
    let freq = timer::frequency();
    samples
        .into_iter()
        .map(|s| ThreadStats {
            id: s.id,
            name: s.info.name.clone(),
            idle_of: s.idle_of,
            priority: s.priority,
            base_priority: s.base_priority,
            state: ThreadState::from_sched(s.state),
            cpu_time: Duration::from_nanos(timer::ticks_to_ns(s.cpu_ticks, freq)),
            switches: s.switches,
            stack_size: s.stack_size(),
            stack_peak: s.stack_peak(),
        })
        .collect()
}

#[cold]
#[inline(never)]
fn refused() -> ! {
    kernel::fault::kernel_halt(format_args!(
        "preempt::stats::threads called inside an interrupt handler (it allocates)"
    ))
}

/// Time since the scheduler started (core 0 began running threads): what [`print`]'s CPU%
/// column divides by.
pub fn uptime() -> Duration {
    Duration::from_nanos(timer::ticks_to_ns(
        accounting::uptime_ticks(),
        timer::frequency(),
    ))
}

/// The header line of [`print`]'s table.
pub const HEADER: &str =
    "ID        NAME             PRIO     STATE             CPU ms   CPU%   SWITCHES  STACK used/size";

/// Prints a [`threads`] snapshot as a table, one line per thread after [`HEADER`]:
///
/// - `ID`: the id's slot index and generation, `index.generation`;
/// - `NAME`: the name (escaped, cut to 16 characters), `-` for none, `idle/N` for core N's
///   idle thread;
/// - `PRIO`: effective/base priority;
/// - `STATE`: see [`ThreadState`]'s `Display`;
/// - `CPU ms`: CPU time in milliseconds, 3 decimals;
/// - `CPU%`: CPU time as a percentage of one core's time since the scheduler started
///   ([`uptime`]), so the column sums to about 100 per core;
/// - `SWITCHES`: times switched in;
/// - `STACK used/size`: peak use and size in bytes (`-` for an idle thread).
///
/// Same rules as [`threads`] (not from an interrupt handler).
pub fn print() {
    let list = threads();
    let up = uptime();
    crate::println!(
        "threads: {}, cores: {}, uptime {}.{:03} ms",
        list.len(),
        crate::cpu::count(),
        up.as_millis(),
        up.subsec_micros() % 1000
    );
    crate::println!("{HEADER}");
    let mut line = String::new();
    for t in &list {
        line.clear();
        let _ = write_row(&mut line, t, up);
        crate::println!("{line}");
    }
}

/// One row of [`print`]'s table.
fn write_row(out: &mut String, t: &ThreadStats, up: Duration) -> fmt::Result {
    let raw = t.id.as_u64();
    let id = alloc::format!("{}.{}", raw as u32, raw >> 32);
    let mut name = String::new();
    match (t.idle_of, &t.name) {
        (Some(cpu), _) => write!(name, "idle/{cpu}")?,
        (None, Some(n)) => write!(name, "{}", crate::console::Escaped(n))?,
        (None, None) => name.push('-'),
    }
    if let Some((cut, _)) = name.char_indices().nth(16) {
        name.truncate(cut);
    }
    let prio = alloc::format!("{}/{}", t.priority, t.base_priority);
    let us = t.cpu_time.as_micros();
    let pct_tenths = match up.as_micros() {
        0 => 0,
        total => (us * 1000 + total / 2) / total,
    };
    write!(
        out,
        "{id:<9} {name:<16} {prio:<8} {state:<12} {ms:>7}.{frac:03} {pi:>3}.{pf}% {sw:>10}  ",
        state = t.state,
        ms = us / 1000,
        frac = us % 1000,
        pi = pct_tenths / 10,
        pf = pct_tenths % 10,
        sw = t.switches,
    )?;
    if t.is_idle() {
        out.push('-');
        Ok(())
    } else {
        write!(out, "{}/{}", t.stack_peak, t.stack_size)
    }
}
