//! Interrupt entry from the vector table, and the periodic tick.
//!
//! The handler acknowledges and ends every pending interrupt *before* it lets the scheduler
//! switch, so the interrupt controller never keeps a priority level active while another
//! thread runs. The tick deadline advances by whole periods from the previous deadline rather
//! than from "now", so interrupt latency never accumulates into drift.

use core::sync::atomic::Ordering;

use preempt_arch::{timer, ExceptionKind, Frame};

use super::{fault, percpu, schedule};
use crate::{board, config};

/// The kernel's side of the arch layer's exception contract.
#[no_mangle]
extern "C" fn preempt_exception(kind: u64, frame: &mut Frame) {
    match ExceptionKind::from_index(kind) {
        ExceptionKind::Irq => handle_irq(),
        ExceptionKind::Sync => fault::handle_sync(frame),
        other => fault::handle_unexpected(other, frame),
    }
}

fn handle_irq() {
    let cpu = percpu::this();
    cpu.irq_depth.fetch_add(1, Ordering::Relaxed);
    let mut ticked = false;
    while let Some(line) = board::irq_acknowledge() {
        if line == board::timer_line() {
            advance_tick();
            ticked = true;
        } else {
            board::irq_unhandled(line);
        }
        board::irq_end(line);
    }
    cpu.irq_depth.fetch_sub(1, Ordering::Relaxed);
    if ticked {
        let now = timer::counter();
        schedule(|s, cpu| (s.tick(cpu, now), ()));
    }
}

/// Programs the next tick, one period after the previous one (skipping periods that have
/// already passed, so a long stall does not cause a burst).
fn advance_tick() {
    let cpu = percpu::this();
    cpu.ticks.fetch_add(1, Ordering::Relaxed);
    let period = config::tick_period_counts();
    let now = timer::counter();
    let mut next = cpu.next_tick.load(Ordering::Relaxed).wrapping_add(period);
    if next <= now {
        next = now + period - (now - next) % period;
    }
    cpu.next_tick.store(next, Ordering::Relaxed);
    timer::set_deadline(next);
}

/// Starts this core's periodic tick and enables its interrupt line.
pub(crate) fn start_tick() {
    let first = timer::counter() + config::tick_period_counts();
    percpu::this().next_tick.store(first, Ordering::Relaxed);
    timer::set_deadline(first);
    board::irq_enable_line(board::timer_line());
}

/// After a tick-rate change: bring this core's next tick forward if the new period ends
/// sooner than the deadline already programmed.
pub(crate) fn retune_tick() {
    let irq = preempt_arch::cpu::irq_save();
    let cpu = percpu::this();
    let soonest = timer::counter() + config::tick_period_counts();
    if soonest < cpu.next_tick.load(Ordering::Relaxed) {
        cpu.next_tick.store(soonest, Ordering::Relaxed);
        timer::set_deadline(soonest);
    }
    preempt_arch::cpu::irq_restore(irq);
}

/// Ticks taken on this core since boot.
pub(crate) fn ticks() -> u64 {
    percpu::this().ticks.load(Ordering::Relaxed)
}
