//! Interrupt entry from the vector table, the periodic tick and tickless idle.
//!
//! The handler acknowledges and ends every pending interrupt *before* it lets the scheduler
//! switch, so the interrupt controller never keeps a priority level active while another
//! thread runs. The tick deadline advances by whole periods from the previous deadline rather
//! than from "now", so interrupt latency never accumulates into drift.
//!
//! Tickless idle: when a core has nothing to run, its idle thread programs the timer for the
//! earliest sleep deadline (or stops it) instead of taking a tick every period. The first
//! interrupt that ends the idle period re-arms the periodic tick, so time slices work as
//! before once threads run again. While two or more equal-priority threads are runnable the
//! tick always runs, because they need it to share the CPU.

use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use preempt_arch::{cpu, irq_entry::IrqSwitch, layout::MAX_CPUS, timer, ExceptionKind, Frame};
use sched_core::{CpuId, Next};

use super::sched_lock::SchedLock;
use super::{fault, finish_switch_on, percpu};
use crate::{board, config};

/// Number of interrupt lines a handler can be registered for.
pub(crate) const MAX_LINES: usize = 1024;

/// Registered handlers, as `fn(u32)` pointers (0 = none): read on every interrupt without a
/// lock, written rarely.
static HANDLERS: [AtomicUsize; MAX_LINES] = [const { AtomicUsize::new(0) }; MAX_LINES];

/// The kernel's side of the arch layer's exception contract: faults and the unexpected.
#[no_mangle]
extern "C" fn preempt_exception(kind: u64, frame: &mut Frame) {
    match ExceptionKind::from_index(kind) {
        ExceptionKind::Sync => fault::handle_sync(frame),
        other => fault::handle_fatal(other, frame),
    }
}

/// An interrupt, on this core's exception stack: acknowledge and handle every pending line,
/// then take the scheduling decision the handlers and the tick asked for. Returns the switch
/// for the IRQ vector to make ([`IrqSwitch::NONE`]: return to the interrupted thread), with the
/// scheduler lock held for it.
///
/// FP/SIMD access is off while this runs (the thread's FP state is saved only if something
/// here uses it: `preempt_arch::irq_entry`), so the path a tick or a short handler takes is
/// kept free of FP: the rare branches are out-of-line `#[cold]` functions, where the compiler
/// puts the NEON it uses for formatting and copies.
#[no_mangle]
extern "C" fn preempt_irq() -> IrqSwitch {
    // The closure captures nothing (the tick reads the per-CPU pointer again), so that no
    // stack slot is live across the handler.
    board::irq_serve(
        #[inline(always)]
        |line| {
            if line == board::timer_line() {
                tick(percpu::this_in_irq());
            } else {
                run_handler(line);
            }
        },
    );
    let cpu = percpu::this_in_irq();
    // One load answers "anything to do?" for the common interrupt: the tickless flag shares
    // the byte with the scheduling work.
    let work = cpu.irq_work.load(Ordering::Relaxed);
    if work == 0 {
        return IrqSwitch::NONE;
    }
    cpu.irq_work.store(0, Ordering::Relaxed);
    if work & percpu::WORK_TICKLESS != 0 {
        return after_tickless(cpu, work);
    }
    decide(cpu, work)
}

/// Woken from tickless idle by something other than the timer (the tick clears the flag
/// itself): tick again, then decide as usual if there is work.
#[cold]
#[inline(never)]
fn after_tickless(cpu: &'static percpu::PerCpu, work: u8) -> IrqSwitch {
    rearm_periodic();
    let work = work & !percpu::WORK_TICKLESS;
    if work == 0 {
        return IrqSwitch::NONE;
    }
    decide(cpu, work)
}

/// The scheduling half of an interrupt: the tick's decision or a preemption check, under the
/// scheduler lock. A switch is handed to the IRQ vector, which makes it on the interrupted
/// thread's stack. Out of line, so that an interrupt with nothing to decide pays none of its
/// registers; the C ABI returns the `IrqSwitch` in x0/x1, as `preempt_irq` passes it on.
#[inline(never)]
extern "C" fn decide(this: &'static percpu::PerCpu, work: u8) -> IrqSwitch {
    let core = cpu::core_id();
    // The lock without the epoch step: a tick that changes nothing for the other cores
    // leaves their quiet stretches alone (`tick_decision`); everything else steps it.
    let mut lock = SchedLock::take_in_irq(core);
    let next = if work & percpu::WORK_TICK != 0 {
        match tick_decision(lock.sched(), this, core) {
            // A reschedule request that came with the tick (a kick from another core, a
            // handler's wake-up) is still to be checked: a tick that skipped the scheduler
            // (tickless, `quiet_until`) compared nothing.
            Next::Keep if work & percpu::WORK_RESCHED != 0 || lock.sched().must_check(core) => {
                super::sched_touched();
                lock.sched().preempt_check(core)
            }
            next => next,
        }
    } else {
        super::sched_touched();
        lock.sched().preempt_check(core)
    };
    match next {
        Next::Keep => {
            lock.release_in_irq();
            IrqSwitch::NONE
        }
        Next::Switch { from, to } => lock.hand_to_irq_exit(this, from, to),
    }
}

/// A tick's decision (out of line: its registers are not the preemption check's), under the
/// scheduler lock taken without the epoch step. It steps the epoch only if it changed what
/// another core's tick would decide: a switch (the queues changed) or a timer that fell due
/// (a thread became ready). Otherwise it changed only this core's slice, which no other
/// core's `quiet_until` depends on — and stepping the epoch for it would, with several
/// cores, end every other core's quiet stretch at each tick, so that every tick of every
/// core took this lock (measured: all of them did, four cores computing alone).
#[inline(never)]
fn tick_decision(s: &mut super::Sched, this: &percpu::PerCpu, core: CpuId) -> Next {
    // A tick's only timer work is popping the due ones, all of them: the earliest deadline
    // changes exactly when it woke somebody.
    let due = s.next_deadline();
    let next = s.tick(core, timer::counter());
    if next != Next::Keep || s.next_deadline() != due {
        super::sched_touched();
    }
    if next == Next::Keep {
        // Under the lock, after this call's own epoch step (if any): any later change to the
        // scheduler moves the epoch on and ends the quiet stretch.
        this.quiet_until
            .store(s.quiet_until(core), Ordering::Relaxed);
        this.quiet_epoch
            .store(super::sched_epoch(), Ordering::Relaxed);
    }
    next
}

/// Run by the IRQ vector when a thread that an interrupt switched away from is switched back
/// in (on its own stack, IRQs masked): the second half of the switch, releasing the scheduler
/// lock handed over, after sending the kicks of the hold that ends here. Deferred work
/// (freeing exited threads) waits for thread context, as it would with IRQs masked anywhere.
#[no_mangle]
extern "C" fn preempt_irq_resume() {
    // SAFETY: the lock is held (handed over by the switch), IRQs masked; the reference ends
    // before `finish_switch_on` releases the lock.
    let sched = unsafe { super::sched_held() };
    let _deferred = finish_switch_on(percpu::this_in_irq(), sched);
}

/// Calls the handler registered for `line`.
#[inline(always)]
fn run_handler(line: u32) {
    match handler(line) {
        Some(h) => h(line),
        None => unhandled(line),
    }
}

#[cold]
#[inline(never)]
fn unhandled(line: u32) {
    board::irq_unhandled(line);
}

/// The periodic tick: count it, program the next one (one period after the previous deadline,
/// skipping periods that have already passed so a long stall does not cause a burst; or one
/// period from now after a tickless stretch), and ask for a scheduling decision ([`percpu::WORK_TICK`]) —
/// unless nothing has taken the scheduler lock since the last decision found the CPU quiet
/// until a time still in the future (no timer due, no ready thread that could share or take
/// the CPU; `Scheduler::quiet_until`). A quiet tick skips the scheduler lock altogether — the
/// common case for a thread that computes alone.
#[inline(always)]
fn tick(cpu: &percpu::PerCpu) {
    // Own core, IRQs masked: a plain load and store.
    cpu.ticks
        .store(cpu.ticks.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
    let now = if cpu.take_irq_work(percpu::WORK_TICKLESS) {
        rearm_periodic()
    } else {
        let now = timer::counter();
        let mut next = cpu
            .next_tick
            .load(Ordering::Relaxed)
            .wrapping_add(config::tick_period_counts());
        if next <= now {
            next = skip_missed(now, next);
        }
        cpu.next_tick.store(next, Ordering::Relaxed);
        // The timer fired, so it is armed: only the compare value changes.
        timer::set_compare(next);
        now
    };
    if !(cpu.quiet_epoch.load(Ordering::Relaxed) == super::sched_epoch()
        && now < cpu.quiet_until.load(Ordering::Relaxed))
    {
        cpu.add_irq_work(percpu::WORK_TICK);
    }
}

/// The first deadline after `now` on the grid of periods through the missed deadline `next`.
#[cold]
fn skip_missed(now: u64, next: u64) -> u64 {
    let period = config::tick_period_counts();
    now + period - (now - next) % period
}

/// Whether `line` has a handler.
pub(crate) fn has_handler(line: u32) -> bool {
    handler(line).is_some()
}

fn handler(line: u32) -> Option<fn(u32)> {
    let raw = HANDLERS.get(line as usize)?.load(Ordering::Acquire);
    if raw == 0 {
        return None;
    }
    // SAFETY: non-zero entries are only ever stored by `install_handler`, from a valid `fn(u32)`.
    Some(unsafe { core::mem::transmute::<usize, fn(u32)>(raw) })
}

/// Why a handler could not be installed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum InstallError {
    /// The line is outside the table.
    OutOfRange,
    /// The line already has a handler.
    Occupied,
}

/// Installs `h` for `line` if the line has no handler yet (one atomic step, so two racing
/// registrations cannot both succeed).
pub(crate) fn install_handler(line: u32, h: fn(u32)) -> Result<(), InstallError> {
    let slot = HANDLERS
        .get(line as usize)
        .ok_or(InstallError::OutOfRange)?;
    slot.compare_exchange(0, h as usize, Ordering::AcqRel, Ordering::Acquire)
        .map(drop)
        .map_err(|_| InstallError::Occupied)
}

/// Removes the handler of `line` (if any); returns false if out of range.
pub(crate) fn remove_handler(line: u32) -> bool {
    match HANDLERS.get(line as usize) {
        Some(slot) => {
            slot.store(0, Ordering::Release);
            true
        }
        None => false,
    }
}

/// Starts the periodic tick after a tickless stretch; returns now. On one core one period
/// from now; with several, at this core's first tick time at least half a period away.
#[cold]
fn rearm_periodic() -> u64 {
    let now = timer::counter();
    let mut next = now + config::tick_period_counts();
    if super::cpus_started() > 1 {
        next = next_on_grid(now + config::tick_period_counts() / 2, cpu::core_id());
    }
    arm_tick_at(next);
    now
}

#[inline(always)]
fn arm_tick_at(next: u64) {
    percpu::this().next_tick.store(next, Ordering::Relaxed);
    timer::set_deadline(next);
}

/// Core 0's grid: the first tick time of the first core that started its tick (see
/// [`next_on_grid`]).
static TICK_EPOCH: AtomicU64 = AtomicU64::new(0);

/// The first of `core`'s tick times after `t`. With several cores each ticks on its own grid
/// of periods, shifted by `core / MAX_CPUS` of a period from core 0's (as Linux's
/// `skew_tick`), rather than one period from whenever its tick was last started: the cores'
/// ticks never pile up on the same instant, where each would wait for the others' turns at
/// the scheduler lock. Under QEMU's round robin (`-icount`) ticks that fall together also
/// starve a core: the one whose new compare value is the machine's earliest timer deadline is
/// sent to the back of the queue by QEMU when it programs it, and comes back only after that
/// deadline has passed — a fresh tick is pending and the core never gets past its interrupt
/// handler (docs/design.md, "Tickless idle").
#[inline(never)]
fn next_on_grid(t: u64, core: usize) -> u64 {
    let period = config::tick_period_counts();
    let base = TICK_EPOCH.load(Ordering::Relaxed) + period * core as u64 / MAX_CPUS as u64;
    if t < base {
        return base;
    }
    base + ((t - base) / period + 1) * period
}

/// Starts this core's periodic tick and enables its interrupt line.
/// The first core to get here fixes the grids ([`TICK_EPOCH`]) one period from now, so that
/// a single core ticks exactly as without grids.
pub(crate) fn start_tick() {
    config::cache_tick_period();
    let now = timer::counter();
    let period = config::tick_period_counts();
    let _ = TICK_EPOCH.compare_exchange(0, now + period, Ordering::Relaxed, Ordering::Relaxed);
    arm_tick_at(next_on_grid(now + period / 2, cpu::core_id()));
    board::irq_enable_line(board::timer_line());
}

/// After a tick-rate change: bring this core's next tick forward if the new period ends
/// sooner than the deadline already programmed.
pub(crate) fn retune_tick() {
    let irq = cpu::irq_save();
    let this = percpu::this();
    let soonest = timer::counter() + config::tick_period_counts();
    if this.irq_work.load(Ordering::Relaxed) & percpu::WORK_TICKLESS == 0
        && soonest < this.next_tick.load(Ordering::Relaxed)
    {
        this.next_tick.store(soonest, Ordering::Relaxed);
        timer::set_deadline(soonest);
    }
    cpu::irq_restore(irq);
}

/// The idle thread's loop: with IRQs masked, stop the periodic tick if nothing is ready (the
/// timer then fires only for the earliest sleep deadline), wait for an interrupt, and let it
/// in. The interrupt handler switches to whatever became ready.
pub(crate) fn idle_loop() -> ! {
    loop {
        let irq = cpu::irq_save();
        // Another core that makes a thread ready for this one interrupts it (`ipi::kick`):
        // the decision below and that change are ordered by the scheduler lock, and `wfi`
        // returns at once for an interrupt that became pending after it.
        // It looks at the queue before it sleeps (see `Scheduler::must_check`): a kick may
        // have merged with the interrupt that ended its last sleep.
        let deadline = super::schedule(|s, cpu| {
            if s.must_check(cpu) {
                let next = s.preempt_check(cpu);
                if next != Next::Keep {
                    return (next, None);
                }
            }
            (
                Next::Keep,
                (s.ready_count() == 0).then(|| s.next_deadline()),
            )
        });
        if let Some(deadline) = deadline {
            let this = percpu::this();
            this.add_irq_work(percpu::WORK_TICKLESS);
            match deadline {
                Some(d) => timer::set_deadline(d),
                None => timer::stop(),
            }
        }
        cpu::wait_for_interrupt();
        cpu::irq_restore(irq);
        super::leave_kernel();
    }
}

/// Ticks taken on this core since boot.
pub(crate) fn ticks() -> u64 {
    percpu::this().ticks.load(Ordering::Relaxed)
}
