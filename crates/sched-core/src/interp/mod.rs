//! A random-operation interpreter that checks the scheduler after every step.
//!
//! Unit tests pin down the cases someone thought of; this looks for the
//! interleavings nobody did. It lives in the crate (behind the `interp`
//! feature) rather than in a test so that two drivers share it: the proptest
//! suite, which generates [`Op`] values and shrinks failures, and the
//! `cargo-fuzz` target in `fuzz/`, which feeds raw bytes to [`run`]. The saved
//! fuzz corpus is replayed by an ordinary test, so what the fuzzer learned
//! keeps being checked on stable.
//!
//! The interpreter plays the kernel: it calls the scheduler as the kernel
//! would (including the lock-word fast path of a mutex, see
//! [`Scheduler::mutex_lock_contended`]) and keeps a small shadow model of what
//! only a caller can know (who holds which mutex, deadlines, arrival order,
//! expected wait results). It also plays the kernel's time and interrupts (see `time`):
//! each operation ends as a release of the scheduler lock does, programming the CPU's timer
//! if the scheduler asks and interrupting the CPUs it names, whose `preempt_check`s run
//! until nobody is left to tell; time advances at `Tick`, and the CPUs whose timers are due
//! take their interrupts. Then it checks the scheduler's own audit, the global scheduling
//! guarantee, the timers (a peer never waits for an untimed thread, a deadline always has a
//! timer at or before it), the model against the public API, no lost wake-up, wake order
//! and priority inheritance; at the end it tears everything down and checks that nothing
//! leaked.

macro_rules! ensure {
    ($cond:expr, $($fmt:tt)+) => {
        if !$cond {
            return Err(alloc::format!($($fmt)+));
        }
    };
}

macro_rules! ensure_eq {
    ($left:expr, $right:expr, $($fmt:tt)+) => {{
        let (left, right) = (&$left, &$right);
        if left != right {
            return Err(alloc::format!(
                "{}: {:?} != {:?}",
                alloc::format!($($fmt)+),
                left,
                right
            ));
        }
    }};
}

mod checks;
mod events;
mod model;
mod mutex;
mod op;
mod sync;
mod teardown;
mod threads;
mod time;

use alloc::collections::{BTreeMap, BTreeSet};
use alloc::string::String;
use alloc::vec::Vec;

pub use op::{decode, encode, Cpu, Op, Pick, PRIORITIES};

use crate::{Checked, Priority, Scheduler, StoreKind, ThreadId, Ticks, WaitResult};
use model::{ObjRec, WaitRec};

/// Number of CPUs the interpreter runs by default, and at most (fewer than
/// [`MAX_CPUS`](crate::MAX_CPUS), so that affinity masks can also name a CPU that never
/// started). With one, the scheduler works in its one-CPU mode, whose decisions differ.
pub const CPUS: usize = 3;

/// Longest operation sequence [`run`] interprets (longer inputs are cut).
pub const MAX_OPS: usize = 1024;

/// Threads beyond which `Spawn` is ignored, to keep each step cheap.
const MAX_THREADS: usize = 48;

/// Decodes `bytes` into a scenario, runs it with every check on [`CPUS`] CPUs and again on
/// one, and tears it down each time. `Err` describes the first violated property.
///
/// # Errors
/// A description of the failed check.
pub fn run(bytes: &[u8]) -> Result<(), String> {
    run_on(CPUS, bytes)?;
    run_on(1, bytes).map_err(|e| alloc::format!("one cpu: {e}"))
}

/// [`run`] on `cpus` CPUs (1 to [`CPUS`]).
///
/// # Errors
/// A description of the failed check.
pub fn run_on(cpus: usize, bytes: &[u8]) -> Result<(), String> {
    let (initial, ops) = decode(bytes, MAX_OPS);
    let mut it = Interp::with_cpus(cpus, &initial);
    it.check_always()?;
    for (step, op) in ops.iter().enumerate() {
        it.apply(op)
            .and_then(|()| it.check_always())
            .map_err(|e| alloc::format!("step {step} ({op:?}): {e}"))?;
    }
    it.tear_down().map_err(|e| alloc::format!("tear-down: {e}"))
}

/// The scheduler under test (its tables in stores of kind `S`) plus the shadow model.
pub struct Interp<S: StoreKind = Checked> {
    s: Scheduler<u32, S>,
    /// How many CPUs are started (1 to [`CPUS`]).
    cpus: usize,
    /// Every thread id ever handed out, idle and stale ones included.
    known: Vec<ThreadId>,
    data_of: BTreeMap<ThreadId, u32>,
    /// Data values handed back by reap, detach or exit.
    returned: BTreeSet<u32>,
    /// Threads put to sleep and not woken yet, with their deadlines.
    sleepers: BTreeMap<ThreadId, Ticks>,
    /// Threads waiting on an object or parked.
    waits: BTreeMap<ThreadId, WaitRec>,
    /// Why each thread's last wait ended, until it reads it.
    results: BTreeMap<ThreadId, WaitResult>,
    tokens: BTreeSet<ThreadId>,
    /// Every object ever created, destroyed ones included.
    objs: Vec<ObjRec>,
    now: Ticks,
    next_data: u32,
    /// Arrival counter for wait-order checks (counts up from [`FIRST_STAMP`]).
    stamp: u64,
    /// Stamps of retried mutex locks, which go ahead of every arrival (count down from it).
    front_stamp: u64,
    /// Threads handed a mutex (object index) while they waited, with the deadline of that
    /// wait, until they claim it at `TakeResult`, as the kernel's woken locker does.
    claims: BTreeMap<ThreadId, (usize, Option<Ticks>)>,
    /// What each CPU's timer is programmed for, as the kernel keeps it (`Ticks::MAX`: off).
    timer: [Ticks; CPUS],
    /// CPUs sent a reschedule interrupt they have not handled yet.
    pending: u32,
}

/// Where arrival stamps start: room below for the stamps of retried locks.
const FIRST_STAMP: u64 = 1 << 62;

impl Interp {
    /// A scheduler with `CPUS` started CPUs and the given threads spawned, its
    /// tables starting empty.
    #[must_use]
    pub fn new(initial: &[Priority]) -> Self {
        Self::with_cpus(CPUS, initial)
    }

    /// [`new`](Self::new) with `cpus` started CPUs (1 to [`CPUS`]).
    ///
    /// # Panics
    /// If `cpus` is out of that range.
    #[must_use]
    pub fn with_cpus(cpus: usize, initial: &[Priority]) -> Self {
        Self::with_scheduler(Scheduler::new(SLICE), cpus, initial)
    }
}

/// The round-robin slice of the interpreter's schedulers, in the time units of its `Tick`s.
const SLICE: Ticks = 3;

impl<S: StoreKind> Interp<S> {
    /// A scheduler with tables of kind `S` (made by [`Scheduler::try_new`]), `CPUS`
    /// started CPUs and the given threads spawned: what a differential test runs
    /// against the default.
    ///
    /// # Panics
    /// If the heap cannot hold the first tables.
    #[must_use]
    pub fn with_store(initial: &[Priority]) -> Self {
        Self::with_scheduler(Scheduler::try_new(SLICE).expect("host heap"), CPUS, initial)
    }

    fn with_scheduler(s: Scheduler<u32, S>, cpus: usize, initial: &[Priority]) -> Self {
        assert!((1..=CPUS).contains(&cpus), "{cpus} cpus");
        let mut it = Self {
            s,
            cpus,
            known: Vec::new(),
            data_of: BTreeMap::new(),
            returned: BTreeSet::new(),
            sleepers: BTreeMap::new(),
            waits: BTreeMap::new(),
            results: BTreeMap::new(),
            tokens: BTreeSet::new(),
            objs: Vec::new(),
            now: 0,
            next_data: 1000,
            stamp: FIRST_STAMP,
            front_stamp: FIRST_STAMP,
            claims: BTreeMap::new(),
            timer: [Ticks::MAX; CPUS],
            pending: 0,
        };
        for cpu in 0..cpus {
            let id = it.s.add_idle(cpu, cpu as u32);
            it.known.push(id);
        }
        for &p in initial {
            it.spawn(p);
        }
        for cpu in 0..cpus {
            let _ = it.s.start(cpu);
        }
        for cpu in 0..cpus {
            it.release(cpu)
                .expect("starting kicks nothing out of range");
        }
        it.settle(false).expect("the CPUs' first interrupts settle");
        it
    }

    /// The scheduler, for extra checks by a driver.
    #[must_use]
    pub fn scheduler(&self) -> &Scheduler<u32, S> {
        &self.s
    }

    /// Every thread id handed out so far, idle and stale ones included, in order.
    #[must_use]
    pub fn known_threads(&self) -> &[ThreadId] {
        &self.known
    }

    /// Applies one operation and checks what it promised.
    ///
    /// # Errors
    /// A description of the failed check.
    pub fn apply(&mut self, op: &Op) -> Result<(), String> {
        self.s.set_now(self.now);
        let result = match *op {
            Op::Spawn(_)
            | Op::Yield(_)
            | Op::PreemptCheck(_)
            | Op::Tick(..)
            | Op::Sleep(..)
            | Op::Block(_)
            | Op::Wake(_)
            | Op::Exit(..)
            | Op::Join(..)
            | Op::Reap(_)
            | Op::Detach(_)
            | Op::SetPriority(..)
            | Op::SpawnAffine(..)
            | Op::SetAffinity(..)
            | Op::TakeResult(_) => self.apply_thread_op(op),
            Op::CreateMutex { .. }
            | Op::Lock(..)
            | Op::TryLock(..)
            | Op::Unlock(..)
            | Op::ClearPoison(_) => self.apply_mutex_op(op),
            _ => self.apply_sync_op(op),
        };
        self.restamp_moved_waiters();
        result?;
        if let Some(cpu) = self.caller(op) {
            if self.cpus == 1 && Self::checks_after(op) {
                self.preempt(cpu)?;
            }
            self.release(cpu)?;
        }
        self.settle(matches!(op, Op::Tick(..)))
    }

    fn pick(&self, n: Pick) -> ThreadId {
        self.known[usize::from(n) % self.known.len()]
    }

    fn cpu(&self, c: Cpu) -> usize {
        usize::from(c) % self.cpus
    }

    /// The started CPUs (bit `n`: CPU `n`).
    fn started(&self) -> u32 {
        (1 << self.cpus) - 1
    }

    fn deadline(&self, timeout: Option<Ticks>) -> Option<Ticks> {
        timeout.map(|t| self.now + t)
    }

    fn next_stamp(&mut self) -> u64 {
        self.stamp += 1;
        self.stamp
    }

    fn next_front_stamp(&mut self) -> u64 {
        self.front_stamp -= 1;
        self.front_stamp
    }
}
