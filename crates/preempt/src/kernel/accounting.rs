//! Per-thread CPU time and switch counts, kept by the context switch, and the snapshot of the
//! thread table that `preempt::stats` turns into its report.
//!
//! Why in the switch: it is the one place where a core's thread changes — thread switches and
//! interrupt switches alike go through `sched_lock::contexts` — so one call there ([`switch_in`])
//! sees every run of every thread, with nothing to sample and no timer to keep. It costs a
//! handful of instructions, so it is always on.
//!
//! How: each control block has an [`Account`], each core points at the account of the thread
//! it runs (`PerCpu::account`). A switch at counter time `now` adds `now` to the outgoing
//! thread's `run` and subtracts it from the incoming one's (wrapping), and counts the incoming
//! one's switch. So `run` of a thread that is not running is its CPU time, and that of a
//! running thread is its CPU time less the counter at its switch-in: `run + now` is its CPU
//! time including the current run. One counter read, no per-core stamp to load and store.
//! Time spent in interrupt handlers is charged to the thread they interrupted (or to the idle
//! thread), as in most kernels that account at the switch.
//!
//! The snapshot ([`sample`]) walks the thread table under the scheduler lock without
//! allocating: the caller reserves the vector first, and only cheap handles are taken inside
//! (the thread's shared info and a share of its stack: two reference counts). Names are read,
//! stacks scanned and handles dropped after the lock is released.

use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, Ordering};

use preempt_arch::{context::Context, timer};
use sched_core::{CpuId, Priority, State, ThreadId, MAX_CPUS};

use super::percpu::PerCpu;
use super::shared::Shared;
use super::stack::Stack;
use super::{with_sched, KThread, ThreadInfo};

/// A thread's CPU time and switch count (see the module docs). Only touched under the
/// scheduler lock: by the switch, and by [`sample`].
#[derive(Default)]
#[repr(C)] // `start_run` updates both fields with one load pair and one store pair
pub(crate) struct Account {
    /// CPU time in counter ticks, less the counter value at its latest switch-in while the
    /// thread runs (wrapping arithmetic).
    run: u64,
    /// Times the thread was switched in (its first start included).
    switches: u64,
}

// The layout `start_run` relies on.
const _: () = assert!(
    core::mem::offset_of!(Account, run) == 0 && core::mem::offset_of!(Account, switches) == 8
);

impl Account {
    /// CPU time in counter ticks at counter time `now`; `running`: the thread is on a core.
    /// A read a few ticks before the switch-in's (counter reads are unordered) gives 0.
    fn ticks(&self, running: bool, now: u64) -> u64 {
        let t = if running {
            self.run.wrapping_add(now)
        } else {
            self.run
        };
        if (t as i64) < 0 {
            0
        } else {
            t
        }
    }
}

/// The switch-in of `t`: `run -= now`, `switches += 1` (wrapping) on its account, in four
/// instructions. Written out because the compiler makes a vector subtraction of the two
/// (`ldr q`, `movi`, `ins`, `sub v`, `str q`), which costs more and, in an interrupt's
/// switch, traps to save the FP registers (interrupt decisions run with FP access off).
#[inline(always)]
fn start_run(t: &mut KThread, now: u64) {
    // SAFETY: `t` is a valid, exclusive control block; its `account` lies at the constant
    // offset given, `run` then `switches` (`repr(C)`, two `u64`s, 8-aligned), so the pair
    // load and store touch exactly those 16 bytes. Only integer registers, no flags.
    unsafe {
        core::arch::asm!(
            "ldp {run}, {sw}, [{t}, #{off}]",
            "sub {run}, {run}, {now}",
            "add {sw}, {sw}, #1",
            "stp {run}, {sw}, [{t}, #{off}]",
            t = in(reg) core::ptr::from_mut(t),
            off = const core::mem::offset_of!(KThread, account),
            now = in(reg) now,
            run = out(reg) _,
            sw = out(reg) _,
            options(nostack, preserves_flags),
        );
    }
}

/// Counter value when core 0 started running threads (its boot flow became its idle thread).
static START: AtomicU64 = AtomicU64::new(0);

/// Counter ticks since core 0 started running threads.
pub(crate) fn uptime_ticks() -> u64 {
    timer::counter().saturating_sub(START.load(Ordering::Relaxed))
}

/// The switch's accounting: charges the run that ends now to the thread this core ran, starts
/// `t`'s, makes `t` the block this core's next switch charges, and returns where `t`'s
/// registers are (`t.ctx`). Called once per switch, by `sched_lock::contexts`, under the
/// scheduler lock. Ten instructions.
#[inline(always)]
pub(super) fn switch_in(this: &PerCpu, t: &mut KThread) -> *mut Context {
    let now = timer::counter_unordered();
    let out = this.running.load(Ordering::Relaxed);
    debug_assert!(!out.is_null(), "a switch on a core that has not started");
    // `out` is the control block of the thread this core runs (set at its switch-in below,
    // or by `start_core` for the boot flow): boxed, and allocated until after this switch (in
    // the scheduler's table, or in the per-CPU dead slot, which only the next thread
    // empties). The scheduler lock is held, so nothing else touches its account, and no
    // reference to it is alive: `t` is another thread's (a switch never switches to the
    // thread it leaves).
    // SAFETY: as just said; only the account is touched, through a place, not a reference.
    unsafe { (*out).account.run = (*out).account.run.wrapping_add(now) };
    start_run(t, now);
    this.running.store(t, Ordering::Relaxed);
    &mut t.ctx
}

/// Starts the accounts of a core's boot flow, which becomes its idle (and current) thread
/// without a switch: under the scheduler lock, before the core's first switch.
pub(super) fn start_core(this: &PerCpu, idle: &mut KThread) {
    let now = timer::counter();
    let _ = START.compare_exchange(0, now, Ordering::Relaxed, Ordering::Relaxed);
    idle.account.run = 0u64.wrapping_sub(now);
    idle.account.switches = 1;
    this.running.store(idle, Ordering::Relaxed);
}

/// One thread as [`sample`] saw it under the scheduler lock.
pub(crate) struct Sample {
    pub info: Shared<ThreadInfo>,
    pub id: ThreadId,
    pub priority: Priority,
    pub base_priority: Priority,
    pub state: State,
    /// `Some(cpu)`: the idle thread of `cpu`.
    pub idle_of: Option<CpuId>,
    pub cpu_ticks: u64,
    pub switches: u64,
    /// A share of its stack (`None` for an idle thread), so that it can be scanned after the
    /// lock is released; dropped in thread context.
    stack: Option<Stack>,
}

impl Sample {
    /// Usable bytes of the thread's stack (0 for an idle thread, which runs on its core's boot
    /// stack).
    pub fn stack_size(&self) -> usize {
        self.stack.as_ref().map_or(0, Stack::size)
    }

    /// Peak stack use in bytes (`Thread::stack_peak`): its final figure once recorded, else a
    /// scan of the stack now. Thread context, lock not held.
    pub fn stack_peak(&self) -> usize {
        self.info
            .final_stack_peak()
            .or_else(|| self.stack.as_ref().map(Stack::peak))
            .unwrap_or(0)
    }
}

/// Threads in the scheduler's table, idle threads and unjoined finished ones included.
pub(crate) fn thread_count() -> usize {
    with_sched(|s, _| s.live_entries())
}

/// Fills `out`, which must be empty, with one [`Sample`] per thread in the table, in one hold
/// of the scheduler lock and without allocating: at most `out.capacity()` of them. Returns
/// how many threads the table held (more than `out.len()`: the list is cut short).
pub(crate) fn sample(out: &mut Vec<Sample>) -> usize {
    debug_assert!(out.is_empty());
    with_sched(|s, _| {
        let now = s.now();
        for id in s.thread_ids() {
            if out.len() == out.capacity() {
                break;
            }
            let (Some(t), Some(state), Some(priority), Some(base_priority)) =
                (s.data(id), s.state(id), s.priority(id), s.base_priority(id))
            else {
                continue;
            };
            let idle_of = (0..MAX_CPUS).find(|&cpu| s.idle_thread(cpu) == Some(id));
            let running = matches!(state, State::Running(_));
            out.push(Sample {
                info: t.info.clone(),
                id,
                priority,
                base_priority,
                state,
                idle_of,
                cpu_ticks: t.account.ticks(running, now),
                switches: t.account.switches,
                stack: t.stack.as_ref().map(Stack::share),
            });
        }
        s.live_entries()
    })
}
