//! The kernel's trace points (feature `trace`): each builds a [`Record`] from what the site
//! has at hand and writes it into this core's ring. The sites call these through one line
//! each; without the feature they call `off`'s empty twins instead.

use core::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};

use preempt_arch::timer;
use sched_core::trace::{TraceEvent, WakeCause as Cause};
use sched_core::{CpuId, ExitStatus, Priority, State, ThreadId, WaitingOn, MAX_CPUS};
use trace_format::{Kind, Reason, Record, WaitKind, WakeCause};

use super::{names, ring};
use crate::kernel::{percpu, Sched, ThreadInfo};
use crate::testing::trace::RecordFields;

/// A record of `kind` about `thread`, for `ring::record` to stamp.
#[inline(always)]
fn now(kind: Kind, thread: u64) -> Record {
    Record::new(0, kind, thread)
}

/// Per core: the switch about to be made comes from `yield_now` (set and read under the
/// scheduler lock; cleared at the end of every hold).
static YIELDING: [AtomicBool; MAX_CPUS] = [const { AtomicBool::new(false) }; MAX_CPUS];

/// Where each thread last ran, to see migrations: indexed by the low bits of the thread's slot
/// index, the id beside the core so that a slot shared by two threads is never mistaken for
/// the other's. Read and written under the scheduler lock. A thread whose entry another one
/// took shows no migration on its next switch in: a missed event, never a false one.
const LAST_SLOTS: usize = 1024;
static LAST_ID: [AtomicU64; LAST_SLOTS] = [const { AtomicU64::new(0) }; LAST_SLOTS];
static LAST_CORE: [AtomicU8; LAST_SLOTS] = [const { AtomicU8::new(0) }; LAST_SLOTS];

/// A hold of the scheduler lock begins on this core (`kernel::stamp`): names its actor.
#[inline(always)]
pub(crate) fn hold_begins(sched: &mut Sched) {
    let this = percpu::this();
    sched.trace_begin(this.core(), this.in_irq());
}

/// A hold of the scheduler lock ends (`sched_lock::end_hold` and the holds that do not go
/// through it): what `sched-core` noted goes into the ring.
#[inline(always)]
pub(crate) fn hold_ends(sched: &mut Sched, core: CpuId) {
    drain(sched);
    if let Some(flag) = YIELDING.get(core) {
        flag.store(false, Ordering::Relaxed);
    }
}

/// Moves the scheduler's noted events into this core's ring (a load and a branch when there
/// are none).
#[inline(always)]
fn drain(sched: &mut Sched) {
    if sched.trace_pending() {
        drain_now(sched);
    }
}

#[inline(never)]
fn drain_now(sched: &mut Sched) {
    let lost = sched.trace_dropped();
    ring::as_writer(|ring| {
        let time = timer::virtual_counter();
        sched.trace_drain(|e| ring.push(event_record(time, e)));
        if lost != 0 {
            ring.lose(lost);
        }
    });
}

/// The record of an event `sched-core` noted.
fn event_record(time: u64, e: TraceEvent) -> Record {
    let id = |t: Option<ThreadId>| t.map_or(0, ThreadId::as_u64);
    match e {
        TraceEvent::Wake {
            thread,
            cause,
            waker,
        } => Record {
            detail: match cause {
                Cause::Thread => WakeCause::Thread,
                Cause::Interrupt => WakeCause::Interrupt,
                Cause::Timeout => WakeCause::Timeout,
                Cause::Spawned => WakeCause::Spawned,
            } as u8,
            other: id(waker),
            ..Record::new(time, Kind::Wake, thread.as_u64())
        },
        TraceEvent::Boost {
            thread,
            new,
            old,
            by,
        } => Record {
            detail: new,
            aux: u16::from(old),
            other: id(by),
            ..Record::new(time, Kind::Boost, thread.as_u64())
        },
        TraceEvent::Restore { thread, new, old } => Record {
            detail: new,
            aux: u16::from(old),
            ..Record::new(time, Kind::Restore, thread.as_u64())
        },
        TraceEvent::TimerExpiry { thread } => Record::new(time, Kind::TimerExpiry, thread.as_u64()),
    }
}

/// The calling thread yields (under the scheduler lock): a switch in this hold is a yield.
#[inline(always)]
pub(crate) fn yielding(core: CpuId) {
    if let Some(flag) = YIELDING.get(core) {
        flag.store(true, Ordering::Relaxed);
    }
}

/// The core of `this` switches from `from` to `to` (`sched_lock::contexts`, the decision
/// taken): the events the hold noted so far, then SwitchOut, a Migrate if `to` last ran
/// elsewhere, and SwitchIn. (`this` rather than its core number: the load of the number would
/// stay in the switch path even with the trace off.)
#[inline(always)]
pub(crate) fn switch(sched: &mut Sched, this: &percpu::PerCpu, from: ThreadId, to: ThreadId) {
    let core = this.core();
    drain(sched);
    // Own core, lock held: a plain load and store, no atomic swap.
    let yielded = YIELDING.get(core).is_some_and(|f| {
        let y = f.load(Ordering::Relaxed);
        f.store(false, Ordering::Relaxed);
        y
    });
    let out = switch_out(sched, from, yielded);
    let prio = sched.priority(to).unwrap_or(0);
    let slot = (to.as_u64() as u32 as usize) % LAST_SLOTS;
    let last = (LAST_ID[slot].load(Ordering::Relaxed) == to.as_u64())
        .then(|| LAST_CORE[slot].load(Ordering::Relaxed));
    LAST_ID[slot].store(to.as_u64(), Ordering::Relaxed);
    LAST_CORE[slot].store(core as u8, Ordering::Relaxed);
    ring::as_writer(|ring| {
        let out = Record {
            time: timer::virtual_counter(),
            ..out
        };
        ring.push(out);
        if let Some(old) = last.filter(|&c| usize::from(c) != core) {
            ring.push(Record {
                detail: core as u8,
                aux: u16::from(old),
                ..Record::new(out.time, Kind::Migrate, to.as_u64())
            });
        }
        ring.push(Record {
            detail: prio,
            ..Record::new(out.time, Kind::SwitchIn, to.as_u64())
        });
    });
}

/// The SwitchOut record of `from` (time left 0), from its state after the decision.
fn switch_out(sched: &Sched, from: ThreadId, yielded: bool) -> Record {
    let (reason, wait, object) = match sched.state(from) {
        Some(State::Ready | State::Running(_)) if yielded => (Reason::Yielded, WaitKind::None, 0),
        Some(State::Ready | State::Running(_)) => (Reason::Preempted, WaitKind::None, 0),
        Some(State::Sleeping) => (Reason::Slept, WaitKind::None, 0),
        Some(State::Joining(t)) => (Reason::Joining, WaitKind::Join, t.as_u64()),
        Some(State::Blocked) => {
            let (wait, object) = match sched.waiting_on(from) {
                None => (WaitKind::None, 0),
                Some(WaitingOn::Queue(q)) => (WaitKind::Queue, q.as_u64()),
                Some(WaitingOn::Mutex(m)) => (WaitKind::Mutex, m.as_u64()),
                Some(WaitingOn::Semaphore(s)) => (WaitKind::Semaphore, s.as_u64()),
                Some(WaitingOn::Event(e)) => (WaitKind::Event, e.as_u64()),
                Some(WaitingOn::Park) => (WaitKind::Park, 0),
            };
            (Reason::Blocked, wait, object)
        }
        // A detached thread that exited has left the table already.
        Some(State::Zombie(_)) | None => (Reason::Exited, WaitKind::None, 0),
    };
    Record {
        detail: reason as u8,
        aux: wait as u16,
        other: object,
        ..Record::new(0, Kind::SwitchOut, from.as_u64())
    }
}

/// `id` was spawned by the thread running on `core`, at base priority `priority`, described
/// by `info` (under the scheduler lock, right after `sched-core` took it).
#[inline(always)]
pub(crate) fn spawned(
    sched: &Sched,
    core: CpuId,
    id: ThreadId,
    priority: Priority,
    info: &ThreadInfo,
) {
    let parent = sched
        .try_current(core)
        .filter(|&t| !sched.is_idle(t))
        .map_or(0, ThreadId::as_u64);
    named(id, info);
    ring::record(Record {
        detail: priority,
        other: parent,
        ..now(Kind::Spawn, id.as_u64())
    });
}

/// Records `id`'s name, if it has one.
#[inline(always)]
pub(crate) fn named(id: ThreadId, info: &ThreadInfo) {
    if let Some(name) = info.name.as_deref() {
        ring::as_writer(|_| names::record(id.as_u64(), name));
    }
}

/// The thread running on this core ends with `status` (`exit_current`, lock held).
#[inline(always)]
pub(crate) fn exiting(sched: &Sched, status: ExitStatus) {
    let Some(id) = sched.try_current(percpu::this().core()) else {
        return;
    };
    ring::record(Record {
        detail: u8::from(status == ExitStatus::Failed),
        ..now(Kind::Exit, id.as_u64())
    });
}

/// An interrupt handler for `line` starts.
#[inline(always)]
pub(crate) fn irq_enter(line: u32) {
    ring::record(Record {
        arg: line,
        ..now(Kind::IrqEnter, 0)
    });
}

/// The interrupt handler for `line` ended.
#[inline(always)]
pub(crate) fn irq_exit(line: u32) {
    ring::record(Record {
        arg: line,
        ..now(Kind::IrqExit, 0)
    });
}

/// A user's marker, from the thread running on this core.
#[inline(always)]
pub(crate) fn mark(label: &'static str) {
    record_for_current(Record {
        arg: label.len() as u32,
        other: label.as_ptr() as u64,
        ..now(Kind::Mark, 0)
    });
}

/// Records `rec` for the thread running on this core — 0 in an interrupt handler — read
/// with IRQs masked, so that a thread moved to another core meanwhile is never recorded under
/// the other core's thread.
#[inline(always)]
fn record_for_current(rec: Record) {
    ring::as_writer(|ring| {
        let this = percpu::this();
        let thread = if this.in_irq() {
            0
        } else {
            this.current.load(Ordering::Relaxed)
        };
        ring.push(Record {
            time: preempt_arch::timer::virtual_counter(),
            thread,
            ..rec
        })
    });
}

/// Records written on this core since boot, and the `back`-th newest as (kind, detail, aux,
/// arg, thread, other), for `preempt::testing::trace`.
pub(crate) fn newest_here(back: usize) -> (u64, Option<RecordFields>) {
    let (n, r) = ring::newest_here(back);
    (
        n,
        r.map(|r| (r.kind, r.detail, r.aux, r.arg, r.thread, r.other)),
    )
}

/// The main thread returned: its Exit (the system ends without `exit_current`).
#[inline(always)]
pub(crate) fn main_returned() {
    record_for_current(now(Kind::Exit, 0));
}

/// The program ends: freeze the trace and write the file (semihosting boards only).
pub(crate) fn at_exit() {
    super::file::write_at_exit();
}
