//! Inter-processor interrupts: how one core makes another look at the scheduler now.
//!
//! When a decision on one core (a wake-up, a priority change, a spawn) makes a ready thread
//! outrank the thread running on *another* core, that core must check for preemption at once,
//! not when its timer next fires — which may never happen if nothing is due there. [`kick`] sends it the
//! reschedule interrupt: an SGI on a GIC (SGI 15), the core's mailbox 1 on the Raspberry Pi
//! (`board::send_ipi`). The receiving core's handler ([`receive`]) only marks
//! [`percpu::WORK_RESCHED`]; the interrupt's way out (`irq::preempt_irq`) then runs
//! `preempt_check` for that core under the scheduler lock, exactly as after a handler that
//! woke a thread locally, and the release of the lock there programs the core's timer if the
//! change asks for it (a slice that starts: `sched-core`'s `slice`).
//!
//! Nothing is lost between "the sender made a thread ready" and "the target decided to
//! sleep": the sender changes the scheduler under its lock *before* it sends, and the target
//! decides to idle under the same lock with IRQs masked, then waits in `wfi`, which returns at
//! once for an interrupt that became pending meanwhile (masking delays the interrupt, it does
//! not drop it). So either the target's decision saw the ready thread, or the interrupt
//! arrives after it and the target looks again. The protocol is modelled with `loom` in
//! `crates/lock-models` (`ipi_wakeup`).
//!
//! The interrupt is only sent to cores that have set it up ([`init_this_core`]): a kick to a
//! core not started is skipped, and so is the caller's own core (it runs `preempt_check`
//! itself). Counters of sent and received interrupts per core serve tests and benchmarks.

use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use preempt_arch::{cpu, layout::MAX_CPUS};

use super::{irq, percpu};
use crate::board;

/// Bit n: core n has set up its inter-processor interrupt (and may be kicked).
static ONLINE: AtomicU32 = AtomicU32::new(0);

/// Per core: reschedule interrupts sent to it (by any core, itself included).
static SENT: [AtomicU64; MAX_CPUS] = [const { AtomicU64::new(0) }; MAX_CPUS];

/// Per core: reschedule interrupts it received.
static RECEIVED: [AtomicU64; MAX_CPUS] = [const { AtomicU64::new(0) }; MAX_CPUS];

/// The calling core's set-up, after its interrupt controller's and before it unmasks IRQs:
/// installs the handler (once for all cores: the line number is the same on each), lets the
/// board enable the line on this core, and marks the core as one [`kick`] reaches.
pub(crate) fn init_this_core() {
    let core = cpu::core_id();
    // The handler first, so that the line never arrives without one (an unhandled line would
    // be disabled); a second core finds it installed.
    let _ = irq::install_handler(board::ipi_line(), receive);
    board::ipi_init_this_core(core);
    ONLINE.fetch_or(1 << core, Ordering::Release);
}

/// Sends the reschedule interrupt to every core in `mask` except the caller's own and those
/// not set up (see the module docs). Call after the change that needs the other cores'
/// attention was made under the scheduler lock (holding it still, or after releasing it).
#[inline]
pub(crate) fn kick(mask: u32) {
    kick_others(mask & !(1 << cpu::core_id()));
}

/// [`kick`] for a `mask` without the caller's own core.
#[inline]
pub(crate) fn kick_others(mask: u32) {
    if mask == 0 {
        return;
    }
    let mut targets = mask & ONLINE.load(Ordering::Acquire);
    while targets != 0 {
        let core = targets.trailing_zeros() as usize;
        targets &= targets - 1;
        send(core);
    }
}

/// Sends the reschedule interrupt to `core`, which may be the caller's own (a self-IPI: the
/// tests exercise the whole driver path on one core with it), and counts it.
pub(crate) fn send(core: usize) {
    if let Some(sent) = SENT.get(core) {
        sent.fetch_add(1, Ordering::Relaxed);
    }
    board::send_ipi(core);
}

/// The interrupt's handler, on the receiving core (acknowledged by the board's `irq_serve`):
/// count it and leave a preemption check for the interrupt's way out.
fn receive(_line: u32) {
    let this = percpu::this_in_irq();
    if let Some(received) = RECEIVED.get(cpu::core_id()) {
        // Own core, IRQs masked: nothing else writes this counter.
        received.store(received.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
    }
    this.add_irq_work(percpu::WORK_RESCHED);
}

/// Reschedule interrupts sent to `core` and received by it so far (0 for a core out of
/// range).
pub(crate) fn counts(core: usize) -> (u64, u64) {
    let get = |a: &[AtomicU64; MAX_CPUS]| a.get(core).map_or(0, |c| c.load(Ordering::Relaxed));
    (get(&SENT), get(&RECEIVED))
}

/// Cores that have set up their inter-processor interrupt (bit n: core n).
pub(crate) fn online() -> u32 {
    ONLINE.load(Ordering::Acquire)
}
