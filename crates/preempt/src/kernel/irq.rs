//! Interrupt entry from the vector table, and each core's timer.
//!
//! The handler acknowledges and ends every pending interrupt *before* it lets the scheduler
//! switch, so the interrupt controller never keeps a priority level active while another
//! thread runs.
//!
//! There is no periodic tick. A core's timer is programmed for the one moment its scheduler
//! has something to do (`sched-core`'s `slice` module: the end of a slice while an
//! equal-priority thread waits, the earliest deadline on the core that watches them), and
//! stays off otherwise — idle or busy. The timer interrupt silences the timer, lets the
//! scheduler wake what is due and take its decision, and programs the next moment. Every
//! release of the scheduler lock that may have brought that moment forward (a slice started,
//! a deadline that became the earliest) programs it too (`sched_lock::end_hold`). So a sleep
//! ends at its deadline, not on a tick grid, and a core with nothing due takes no interrupt.

use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use preempt_arch::{cpu, irq_entry::IrqSwitch, layout::MAX_CPUS, timer, ExceptionKind, Frame};
use sched_core::{CpuId, Next, Ticks};

use super::sched_lock::SchedLock;
use super::{fault, finish_switch_on, percpu};
use crate::board;

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
/// then take the scheduling decision the handlers and the timer asked for. Returns the switch
/// for the IRQ vector to make ([`IrqSwitch::NONE`]: return to the interrupted thread), with the
/// scheduler lock held for it.
///
/// FP/SIMD access is off while this runs (the thread's FP state is saved only if something
/// here uses it: `preempt_arch::irq_entry`), so the path the timer or a short handler takes is
/// kept free of FP: the rare branches are out-of-line `#[cold]` functions, where the compiler
/// puts the NEON it uses for formatting and copies.
#[no_mangle]
extern "C" fn preempt_irq() -> IrqSwitch {
    // The closure captures nothing (the timer's handler reads the per-CPU pointer again), so
    // that no stack slot is live across the handler.
    board::irq_serve(
        #[inline(always)]
        |line| {
            super::trace::irq_enter(line);
            if line == board::timer_line() {
                timer_fired(percpu::this_in_irq());
            } else {
                run_handler(line);
            }
            super::trace::irq_exit(line);
        },
    );
    let cpu = percpu::this_in_irq();
    let work = cpu.irq_work.load(Ordering::Relaxed);
    if work == 0 {
        return IrqSwitch::NONE;
    }
    cpu.irq_work.store(0, Ordering::Relaxed);
    decide(cpu, work)
}

/// The scheduling half of an interrupt: the timer's decision or a preemption check, under the
/// scheduler lock. A switch is handed to the IRQ vector, which makes it on the interrupted
/// thread's stack. Out of line, so that an interrupt with nothing to decide pays none of its
/// registers; the C ABI returns the `IrqSwitch` in x0/x1, as `preempt_irq` passes it on.
#[inline(never)]
extern "C" fn decide(this: &'static percpu::PerCpu, work: u8) -> IrqSwitch {
    let core = cpu::core_id();
    let mut lock = SchedLock::take_in_irq(core);
    let next = if work & percpu::WORK_TIMER != 0 {
        timer_decision(lock.sched(), core, work)
    } else {
        lock.sched().preempt_check(core)
    };
    match next {
        Next::Keep => {
            lock.release_in_irq(core);
            IrqSwitch::NONE
        }
        Next::Switch { from, to } => lock.hand_to_irq_exit(this, from, to),
    }
}

/// The timer's decision (out of line: its registers are not the preemption check's): wake
/// what is due, end a slice that is over, then program the timer for the next moment the
/// scheduler has something to do on this core — for the thread that runs next.
#[inline(never)]
fn timer_decision(s: &mut super::Sched, core: CpuId, work: u8) -> Next {
    let now = s.now();
    let mut next = s.tick(core, now);
    // A reschedule request that came with the timer (a kick from another core, a handler's
    // wake-up) is still to be checked: `tick` compared only for its own reasons.
    if next == Next::Keep && (work & percpu::WORK_RESCHED != 0 || s.must_check(core)) {
        next = s.preempt_check(core);
    }
    program(s.retime_now(core));
    next
}

/// The timer interrupt's handler: count it and silence the timer (its interrupt line
/// drops before the interrupt is ended); the decision on the way out programs it again.
#[inline(always)]
fn timer_fired(cpu: &percpu::PerCpu) {
    // Own core, IRQs masked: a plain load and store.
    cpu.timer_irqs.store(
        cpu.timer_irqs.load(Ordering::Relaxed) + 1,
        Ordering::Relaxed,
    );
    timer::stop();
    cpu.add_irq_work(percpu::WORK_TIMER);
}

/// Programs this core's timer for `at` (`Ticks::MAX`: off). A time already passed makes it
/// fire at once. A core with an extra period ([`set_extra_period`]) fires no later than that
/// period from now.
#[inline(never)]
pub(crate) fn program(mut at: Ticks) {
    let extra = percpu::this().extra_period.load(Ordering::Relaxed);
    if extra != 0 {
        at = at.min(timer::counter().saturating_add(extra));
    }
    let turn = ICOUNT_TURN.load(Ordering::Relaxed);
    if turn != 0 {
        at = at.min(next_turn(turn, timer::counter(), cpu::core_id()));
    }
    if at == Ticks::MAX {
        timer::stop();
    } else {
        timer::set_deadline(at);
    }
}

/// Makes this core's timer fire at least every `period` counter units (0: only when something
/// is due), with interrupts that find nothing to do: for measuring what such an interrupt
/// costs (`preempt::testing::set_extra_timer_period`). This core's timer is brought forward
/// now if it would fire later.
pub(crate) fn set_extra_period(period: Ticks) {
    let irq = cpu::irq_save();
    percpu::this().extra_period.store(period, Ordering::Relaxed);
    if period != 0 {
        let at = timer::counter().saturating_add(period);
        if !timer::enabled() || at < timer::deadline() {
            timer::set_deadline(at);
        }
    }
    cpu::irq_restore(irq);
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

/// Programs this core's timer for what its scheduler has due and enables its interrupt line.
/// Programs this core's timer for what its scheduler has due and enables its interrupt line.
/// The first core here reads the emulator's turn from the command line ([`ICOUNT_TURN`]).
pub(crate) fn start_timer() {
    if cpu::core_id() == 0 {
        if let Some(us) = board::command_line_number(ICOUNT_TICK_ARG) {
            let turn = timer::ns_to_ticks(us.saturating_mul(1000), timer::frequency());
            TURN_ORIGIN.store(timer::counter(), Ordering::Relaxed);
            ICOUNT_TURN.store(turn, Ordering::Relaxed);
        }
    }
    super::with_sched(|s, core| program(s.retime_now(core)));
    board::irq_enable_line(board::timer_line());
}

/// The command-line key of [`ICOUNT_TURN`], in microseconds (`cargo xtask` passes it under
/// `-icount` with several cores).
const ICOUNT_TICK_ARG: &str = "icount-tick-us";

/// Under QEMU's `-icount` with several cores only (0 otherwise): every core's timer fires at
/// least at each point of its own grid of this period, the grids of the cores shifted by
/// `core / MAX_CPUS` of a period. Not scheduling, emulation: QEMU runs the cores one after
/// another on one host thread, each for a turn as long as the time to the machine's next
/// timer deadline (shared among the cores), and a core that programs the machine's earliest
/// deadline loses the rest of its turn. With no periodic tick, a core spinning alone would
/// keep the host for up to a quarter of QEMU's 100 ms round-robin period at each turn, while
/// a core that programs its timer would lose every turn at once: a thread there would wait
/// tens of milliseconds of virtual time for a few instructions (docs/design.md, "Time").
/// With a deadline always near and the cores' points apart, turns stay short and a core's
/// next grid point is rarely the machine's earliest. Real hardware and runs without
/// `-icount` have none of this.
static ICOUNT_TURN: AtomicU64 = AtomicU64::new(0);

/// [`ICOUNT_TURN`], if there is one.
pub(crate) fn icount_turn() -> Option<Ticks> {
    Some(ICOUNT_TURN.load(Ordering::Relaxed)).filter(|&t| t != 0)
}

/// The counter value the grids of [`ICOUNT_TURN`] start from.
static TURN_ORIGIN: AtomicU64 = AtomicU64::new(0);

/// The first point of `core`'s grid of period `turn` after `now` (see [`ICOUNT_TURN`]).
#[cold]
fn next_turn(turn: Ticks, now: Ticks, core: usize) -> Ticks {
    let base = TURN_ORIGIN.load(Ordering::Relaxed) + turn * core as u64 / MAX_CPUS as u64;
    if now < base {
        return base;
    }
    base + ((now - base) / turn + 1) * turn
}

/// The idle thread's loop: with IRQs masked, look at the queue once more, wait for an
/// interrupt, and let it in. The interrupt handler switches to whatever became ready. The
/// timer needs nothing here: it is programmed for what is due whether the core idles or not.
pub(crate) fn idle_loop() -> ! {
    loop {
        let irq = cpu::irq_save();
        // Another core that makes a thread ready for this one interrupts it (`ipi::kick`):
        // the decision below and that change are ordered by the scheduler lock, and `wfi`
        // returns at once for an interrupt that became pending after it.
        // It looks at the queue before it sleeps (see `Scheduler::must_check`): a kick may
        // have merged with the interrupt that ended its last sleep.
        super::schedule(|s, cpu| {
            if s.must_check(cpu) {
                return (s.preempt_check(cpu), ());
            }
            (Next::Keep, ())
        });
        cpu::wait_for_interrupt();
        cpu::irq_restore(irq);
        super::leave_kernel();
    }
}

/// Timer interrupts taken on this core since boot.
pub(crate) fn timer_interrupts() -> u64 {
    percpu::this().timer_irqs.load(Ordering::Relaxed)
}
