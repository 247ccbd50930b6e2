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

use core::sync::atomic::{AtomicUsize, Ordering};

use preempt_arch::{cpu, timer, ExceptionKind, Frame};
use sched_core::Next;

use super::{fault, percpu, schedule, with_sched};
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

/// `preempt_irq`'s answer: the tick ran (a scheduling decision is due).
const WORK_TICK: u64 = 1;
/// `preempt_irq`'s answer: a handler made a thread ready (check for preemption).
const WORK_RESCHED: u64 = 2;

/// An interrupt, on this core's exception stack: acknowledge and handle every pending line.
/// Returns the scheduling work left for [`preempt_irq_exit`], which runs on the interrupted
/// thread's stack because it may switch threads.
#[no_mangle]
extern "C" fn preempt_irq() -> u64 {
    let cpu = percpu::this();
    percpu::PerCpu::bump(&cpu.irq_depth, 1);
    let mut ticked = false;
    while let Some(ack) = board::irq_acknowledge() {
        let line = ack.line();
        if line == board::timer_line() {
            advance_tick();
            ticked = true;
        } else {
            match handler(line) {
                Some(h) => h(line),
                None => board::irq_unhandled(line),
            }
        }
        board::irq_end(ack);
    }
    if percpu::PerCpu::take_flag(&cpu.tickless) && !ticked {
        // Woken from tickless idle by something other than the timer: tick again.
        rearm_periodic();
    }
    percpu::PerCpu::bump(&cpu.irq_depth, -1);
    let resched = percpu::PerCpu::take_flag(&cpu.need_resched);
    if ticked && !quiet_tick(cpu) {
        WORK_TICK
    } else if resched {
        WORK_RESCHED
    } else {
        0
    }
}

/// Whether this tick needs no scheduling decision: nothing has taken the scheduler lock since
/// the last decision found the CPU quiet until a time still in the future (no timer due, no
/// ready thread that could share or take the CPU; `Scheduler::quiet_until`). Then the tick
/// skips the scheduler lock altogether — the common case for a thread that computes alone.
#[inline]
fn quiet_tick(cpu: &percpu::PerCpu) -> bool {
    cpu.quiet_epoch.load(Ordering::Relaxed) == super::sched_epoch()
        && timer::counter() < cpu.quiet_until.load(Ordering::Relaxed)
}

/// The scheduling half of an interrupt, on the interrupted thread's stack (the IRQ vector
/// probed room for it): the tick's decision or a preemption check, and the switch it asks for.
#[no_mangle]
extern "C" fn preempt_irq_exit(work: u64) {
    if work == WORK_TICK {
        let now = timer::counter();
        schedule(|s, cpu| {
            let next = s.tick(cpu, now);
            if next == Next::Keep {
                // Under the lock, after this call's own epoch step: any later change to the
                // scheduler moves the epoch on and ends the quiet stretch.
                let this = percpu::this();
                this.quiet_until
                    .store(s.quiet_until(cpu), Ordering::Relaxed);
                this.quiet_epoch
                    .store(super::sched_epoch(), Ordering::Relaxed);
            }
            (next, ())
        });
    } else {
        schedule(|s, cpu| (s.preempt_check(cpu), ()));
    }
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

/// Programs the next tick: one period after the previous one (skipping periods that have
/// already passed, so a long stall does not cause a burst), or right after a tickless stretch.
fn advance_tick() {
    let cpu = percpu::this();
    cpu.ticks
        .store(cpu.ticks.load(Ordering::Relaxed) + 1, Ordering::Relaxed); // own core, IRQs masked
    if percpu::PerCpu::take_flag(&cpu.tickless) {
        rearm_periodic();
        return;
    }
    let period = config::tick_period_counts();
    let now = timer::counter();
    let mut next = cpu.next_tick.load(Ordering::Relaxed).wrapping_add(period);
    if next <= now {
        next = now + period - (now - next) % period;
    }
    cpu.next_tick.store(next, Ordering::Relaxed);
    timer::set_deadline(next);
}

fn rearm_periodic() {
    let next = timer::counter() + config::tick_period_counts();
    percpu::this().next_tick.store(next, Ordering::Relaxed);
    timer::set_deadline(next);
}

/// Starts this core's periodic tick and enables its interrupt line.
pub(crate) fn start_tick() {
    rearm_periodic();
    board::irq_enable_line(board::timer_line());
}

/// After a tick-rate change: bring this core's next tick forward if the new period ends
/// sooner than the deadline already programmed.
pub(crate) fn retune_tick() {
    let irq = cpu::irq_save();
    let this = percpu::this();
    let soonest = timer::counter() + config::tick_period_counts();
    if !this.tickless.load(Ordering::Relaxed) && soonest < this.next_tick.load(Ordering::Relaxed) {
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
        let deadline = with_sched(|s, _| (s.ready_count() == 0).then(|| s.next_deadline()));
        if let Some(deadline) = deadline {
            let this = percpu::this();
            this.tickless.store(true, Ordering::Relaxed);
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
