//! The scheduler lock held across a thread switch, as one audited type.
//!
//! Every kernel call that may switch threads has the same shape: mask IRQs, take the scheduler
//! lock, reach the scheduler, let `sched-core` decide, carry out the decision with
//! [`switch_context`], and release the lock — but the release is done by *whichever thread runs
//! next* ([`finish_switch`]), so that no other core can pick up a thread whose registers are
//! still being saved. A `SpinLockGuard` cannot express that (it would release on drop, in the
//! thread that took it), which is why this was once written out by hand at every such call,
//! each with its own `unsafe` dereference of the lock's contents. [`SchedLock`] is that shape
//! once: holding a value of it is holding the lock (taken by this thread, or handed over by
//! the switch that resumed it) with IRQs masked, and the only `&mut Sched` it hands out is
//! borrowed from it, never alive across a switch.
//!
//! An interrupt handler takes the lock without `irq_save` ([`SchedLock::take_in_irq`]) and,
//! for a switch, hands it to the IRQ vector together with the two contexts
//! ([`SchedLock::hand_to_irq_exit`]): the vector makes that switch itself.
//!
//! Everything here is `#[inline(always)]` except the switch itself: the paths through it are
//! the kernel's hottest, and the benchmarks (`cargo xtask bench`) hold them to the
//! instruction.

use alloc::boxed::Box;
use core::marker::PhantomData;
use core::ptr::NonNull;
use core::sync::atomic::Ordering;

use preempt_arch::{context::Context, cpu, irq_entry::IrqSwitch, switch_context};
use sched_core::{CpuId, Next, ThreadId};

use super::{
    deferred_work, fault, finish_switch_on, lock_sched_raw, lock_sched_raw_on, percpu,
    unlock_sched_raw, KThread, Sched,
};

/// The scheduler lock, held by this core with IRQs masked, possibly across switches.
pub(crate) struct SchedLock {
    irq: cpu::IrqState,
    /// The scheduler in `SCHED`, found (and checked to be made) once when the lock was taken:
    /// `SCHED` is never emptied again, so the address stays valid for the kernel's life.
    sched: NonNull<Sched>,
    /// Not `Send`: the lock belongs to this core's current thread.
    _here: PhantomData<*mut ()>,
}

impl SchedLock {
    /// Masks IRQs and takes the scheduler lock (spinning while another core holds it).
    #[inline(always)]
    pub(crate) fn take() -> Self {
        let irq = cpu::irq_save();
        lock_sched_raw();
        // SAFETY: this core has just taken the lock, IRQs masked; the reference ends here.
        let sched = unsafe { super::sched_held() };
        super::stamp(sched);
        let sched = NonNull::from(sched);
        Self {
            irq,
            sched,
            _here: PhantomData,
        }
    }

    /// [`take`](Self::take) for the interrupt handler, where IRQs have been masked since the
    /// exception was taken and the IRQ vector has probed the thread's stack already.
    /// `core` is this core's number (`cpu::core_id()`).
    #[inline(always)]
    pub(crate) fn take_in_irq(core: CpuId) -> Self {
        debug_assert!(cpu::irqs_masked());
        lock_sched_raw_on(core);
        // SAFETY: this core has just taken the lock, IRQs masked; the reference ends here.
        let sched = unsafe { super::sched_held() };
        super::stamp(sched);
        let sched = NonNull::from(sched);
        Self {
            irq: cpu::IrqState::IN_IRQ,
            sched,
            _here: PhantomData,
        }
    }

    /// [`release`](Self::release) in the interrupt handler after a decision that keeps the
    /// interrupted thread: no switch happened, so the per-CPU dead slot is empty (the thread
    /// running now emptied it when it was switched in) and there is nothing to bury; deferred
    /// work waits for thread context anyway.
    #[inline(always)]
    pub(crate) fn release_in_irq(mut self, core: CpuId) {
        end_hold(self.sched(), core);
        unlock_sched_raw();
    }

    /// [`perform`](Self::perform) in the interrupt handler for a switch: hands the lock and
    /// the two contexts to the IRQ vector, which makes the switch itself on the interrupted
    /// thread's stack (`preempt_arch::irq_entry`). The lock stays held: the thread switched to
    /// releases it ([`finish_switch`]), as after any switch; the interrupted thread, when it
    /// is resumed, comes back through `preempt_irq_resume`.
    #[inline(always)]
    pub(crate) fn hand_to_irq_exit(
        mut self,
        cpu: &percpu::PerCpu,
        from: ThreadId,
        to: ThreadId,
    ) -> IrqSwitch {
        let (prev, next) = contexts(self.sched(), cpu, from, to, None);
        // `self` ends here without a release (`SchedLock` has no `Drop`): the lock stays held.
        IrqSwitch::switch(prev, next)
    }

    /// The scheduler. The borrow ends before any switch ([`perform`](Self::perform) takes
    /// `&mut self`), so no reference made here outlives this thread's hold of the lock.
    #[inline(always)]
    pub(crate) fn sched(&mut self) -> &mut Sched {
        // SAFETY: `self.sched` points to the made scheduler in `SCHED`; a `SchedLock` exists
        // only while this core holds the raw lock with IRQs masked (taken or handed over by a
        // switch), and `&mut self` makes this the only reference made from it at a time.
        unsafe { self.sched.as_mut() }
    }

    /// Carries out `next`: for a switch, returns when this thread runs again, with the lock
    /// handed back to it by the thread that switched to it. Sends no kicks: the hold goes on
    /// in the thread switched to, which sends them when it lets go of the lock
    /// ([`finish_switch_on`](super::finish_switch_on), the one place a hold ends after a
    /// switch), and so sees this call's changes and its own.
    #[inline(always)]
    pub(crate) fn perform(&mut self, next: Next) {
        if let Next::Switch { from, to } = next {
            self.switch(from, to, None);
        }
    }

    /// Carries out the decision that ends the calling thread (`dead`: its control block, if
    /// its exit frees it). Never returns.
    pub(crate) fn exit(mut self, next: Next, dead: Option<Box<KThread>>) -> ! {
        if let Next::Switch { from, to } = next {
            self.switch(from, to, dead);
        }
        unreachable!("an exited thread was resumed");
    }

    /// Releases the lock (running deferred work once IRQs are back on), sending the kicks the
    /// hold asked for. Only the thread that took the lock, or was handed it, can: it consumes
    /// the value.
    #[inline(always)]
    pub(crate) fn release(mut self) {
        let deferred = finish_switch_on(percpu::this(), self.sched());
        cpu::irq_restore(self.irq);
        if deferred {
            deferred_work(percpu::this());
        }
    }

    /// The switching half of [`perform`](Self::perform), out of line so that the common
    /// `Keep` costs a compare.
    #[inline]
    fn switch(&mut self, from: ThreadId, to: ThreadId, dead: Option<Box<KThread>>) {
        let (prev, next) = contexts(self.sched(), percpu::this(), from, to, dead);
        // Both contexts live in boxed control blocks that stay allocated until this switch
        // completes: `next` is owned by the scheduler, `prev` by the scheduler or the per-CPU
        // dead slot, which only the next thread's `finish_switch` empties.
        // SAFETY: as just said; IRQs masked, lock held (`self`), no scheduler reference alive.
        unsafe { switch_context(prev, next) };
    }
}

/// What every hold of the scheduler lock does just before the lock is released:
///
/// - sends the reschedule interrupts the scheduler's state asks for
///   (`Scheduler::take_new_kicks`: the cores a ready thread became due on since the last
///   hold, and those whose untimed thread got a peer): the receiving core takes the lock for
///   its check and so sees every change made here;
/// - programs this core's timer if the hold brought forward the next moment its scheduler
///   has something to do (`Scheduler::retime`: a slice that started, a deadline that became
///   the earliest). Two loads and a compare when it did not.
///
/// Once per hold: a hold that switched ends in the thread switched to, whose
/// [`finish_switch_on`](super::finish_switch_on) calls this; a hold that did not ends in
/// [`SchedLock::release`] (which goes through the same function),
/// [`SchedLock::release_in_irq`] or a `SpinLockGuard`'s scope (`with_sched`, a core's join;
/// an interrupt handler's wake-up, `with_sched_unkicked`, leaves it to the reschedule check
/// it asks for on the way out). The kicks cost one load and a branch in the one-core mode,
/// where they are always 0.
#[inline(always)]
pub(super) fn end_hold(sched: &mut Sched, core: CpuId) {
    super::trace::hold_ends(sched, core);
    let kicks = sched.take_new_kicks_on(core);
    if kicks != 0 {
        kick_now(kicks);
    }
    if let Some(at) = sched.retime(core) {
        super::irq::program(at);
    }
}

/// [`end_hold`]'s sending half, out of line.
#[cold]
#[inline(never)]
fn kick_now(kicks: u32) {
    let core = cpu::core_id();
    let own = 1 << core;
    // This core's own decision left it outranked (a path that made a thread ready and
    // returned without a preemption check): an interrupt to itself makes the check as soon
    // as IRQs are back on.
    if kicks & own != 0 {
        super::ipi::send(core);
    }
    super::ipi::kick_others(kicks & !own);
}

/// Where the outgoing and the incoming thread's registers are saved; records the incoming
/// thread as this core's current one (`to`, its `Context`).
#[inline(always)]
fn contexts(
    sched: &mut Sched,
    this: &percpu::PerCpu,
    from: ThreadId,
    to: ThreadId,
    dead: Option<Box<KThread>>,
) -> (*mut Context, *const Context) {
    super::trace::switch(sched, this, from, to);
    let next: *mut Context = match sched.switch_data_mut(to) {
        Some(t) => super::accounting::switch_in(this, t),
        None => fault::kernel_halt(format_args!(
            "scheduler chose a thread with no control block"
        )),
    };
    if let Some(t) = dead {
        // SAFETY: the scheduler lock is held (the caller holds a `SchedLock`).
        unsafe { this.dead.put(t) };
    }
    // The outgoing thread is this core's current one: its `Context` was recorded when it was
    // switched in (or at boot), and its control block has not moved since (a `Box`, owned by
    // the scheduler or, if it exits, by the dead slot).
    let prev = this.current_ctx.load(Ordering::Relaxed);
    debug_assert!(core::ptr::eq(
        prev,
        match sched.switch_data_mut(from) {
            Some(t) => &mut t.ctx,
            None => prev, // exited: its block is in the dead slot
        }
    ));
    this.current.store(to.as_u64(), Ordering::Relaxed);
    this.current_ctx.store(next, Ordering::Relaxed);
    (prev, next)
}
