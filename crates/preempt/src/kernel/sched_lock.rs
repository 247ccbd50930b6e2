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
//! Everything here is `#[inline(always)]` except the switch itself: the paths through it are
//! the kernel's hottest, and the benchmarks (`cargo xtask bench`) hold them to the
//! instruction.

use alloc::boxed::Box;
use core::marker::PhantomData;
use core::ptr::NonNull;
use core::sync::atomic::Ordering;

use preempt_arch::{context::Context, cpu, switch_context};
use sched_core::{Next, ThreadId};

use super::{deferred_work, fault, finish_switch, lock_sched_raw, percpu, KThread, Sched, SCHED};

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
        let sched = NonNull::from(super::made(unsafe { SCHED.get_unchecked() }));
        Self {
            irq,
            sched,
            _here: PhantomData,
        }
    }

    /// The scheduler. The borrow ends before any switch ([`perform`](Self::perform) takes
    /// `&mut self`), so no reference made here outlives this thread's hold of the lock.
    #[inline(always)]
    pub(crate) fn sched(&mut self) -> &mut Sched {
        // SAFETY: `self.sched` points to the scheduler in `SCHED`, which stays made; a
        // `SchedLock` exists only while this core holds the raw lock, IRQs masked (taken, or
        // handed over by the switch that resumed this thread); `&mut self` makes this the
        // only reference made from it at a time.
        unsafe { self.sched.as_mut() }
    }

    /// Carries out `next`: for a switch, returns when this thread runs again, with the lock
    /// handed back to it by the thread that switched to it.
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

    /// Releases the lock (running deferred work once IRQs are back on). Only the thread that
    /// took the lock, or was handed it, can: it consumes the value.
    #[inline(always)]
    pub(crate) fn release(self) {
        let deferred = finish_switch();
        cpu::irq_restore(self.irq);
        if deferred {
            deferred_work(percpu::this());
        }
    }

    /// The switching half of [`perform`](Self::perform), out of line so that the common
    /// `Keep` costs a compare.
    #[inline]
    fn switch(&mut self, from: ThreadId, to: ThreadId, dead: Option<Box<KThread>>) {
        let (prev, next) = contexts(self.sched(), from, to, dead);
        percpu::this().current.store(to.as_u64(), Ordering::Relaxed);
        // Both contexts live in boxed control blocks that stay allocated until this switch
        // completes: `next` is owned by the scheduler, `prev` by the scheduler or the per-CPU
        // dead slot, which only the next thread's `finish_switch` empties.
        // SAFETY: as just said; IRQs masked, lock held (`self`), no scheduler reference alive.
        unsafe { switch_context(prev, next) };
    }
}

/// Where the outgoing and the incoming thread's registers are saved.
#[inline(always)]
fn contexts(
    sched: &mut Sched,
    from: ThreadId,
    to: ThreadId,
    dead: Option<Box<KThread>>,
) -> (*mut Context, *const Context) {
    let next: *const Context = match sched.switch_data(to) {
        Some(t) => &t.ctx,
        None => fault::kernel_halt(format_args!(
            "scheduler chose a thread with no control block"
        )),
    };
    let prev: *mut Context = match dead {
        // SAFETY: the scheduler lock is held (the caller holds a `SchedLock`).
        Some(t) => &mut unsafe { percpu::this().dead.put(t) }.ctx,
        None => match sched.switch_data_mut(from) {
            Some(t) => &mut t.ctx,
            None => fault::kernel_halt(format_args!(
                "switching away from a thread with no control block"
            )),
        },
    };
    (prev, next)
}
