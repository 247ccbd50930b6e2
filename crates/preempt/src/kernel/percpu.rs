//! Per-CPU data, found through `TPIDR_EL1`.
//!
//! Everything a core needs without taking a lock lives here: the work an interrupt leaves for
//! its way out, its timer statistics, and the control block of a thread that exited on this core and can only
//! be freed once the core has switched off its stack. Fields are atomics, except the
//! exited-thread slot, which the scheduler lock already guards wherever it is used.

use alloc::boxed::Box;
use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, AtomicU8, AtomicUsize, Ordering};

use preempt_arch::{context::Context, cpu};
use sched_core::MAX_CPUS;

use super::KThread;

/// The per-CPU block.
pub(crate) struct PerCpu {
    /// This core's number, set once at boot ([`init_this_core`]): one load where reading
    /// `MPIDR_EL1` costs a system-register read and a mask.
    core: AtomicUsize,
    /// Timer interrupts taken by this core (statistics and tests).
    pub timer_irqs: AtomicU64,
    /// Counter units within which this core's timer always fires, whatever is due (0: no
    /// such bound; `irq::set_extra_period`).
    pub extra_period: AtomicU64,
    /// Scheduling work the interrupt being handled leaves for its way out: [`WORK_TIMER`]
    /// (the timer fired: a decision, and the timer programmed again) and [`WORK_RESCHED`] (a
    /// handler made a thread ready: check for preemption). Kept here rather than in
    /// registers so that nothing but this block's address stays live across a handler call.
    pub irq_work: AtomicU8,
    /// `ThreadId::as_u64()` of the thread running on this core (for mutex fast paths).
    pub current: AtomicU64,
    /// Where the thread running on this core saves its registers when it is switched out
    /// (its control block's `Context`, which never moves while the thread exists, nor while
    /// it waits in the dead slot): the switch reads it instead of looking the thread up.
    /// Set at boot for the idle thread and by every switch; only this core uses it.
    pub current_ctx: AtomicPtr<Context>,
    /// The control block of the thread running on this core, whose CPU time the next switch
    /// charges (`accounting`): set like `current_ctx`, only this core uses it.
    pub running: AtomicPtr<KThread>,
    /// A thread that exited here, to be freed after the switch away from its stack.
    pub dead: DeadSlot,
    /// Exited threads' control blocks waiting to be freed with IRQs enabled.
    pub graveyard: Graveyard,
    /// `kernel::leave_kernel` has work to do on this core (graveyard, object reserve).
    pub deferred: AtomicBool,
}

impl PerCpu {
    const fn new() -> Self {
        Self {
            core: AtomicUsize::new(0),
            timer_irqs: AtomicU64::new(0),
            extra_period: AtomicU64::new(0),
            irq_work: AtomicU8::new(0),
            current: AtomicU64::new(0),
            current_ctx: AtomicPtr::new(core::ptr::null_mut()),
            running: AtomicPtr::new(core::ptr::null_mut()),
            dead: DeadSlot(UnsafeCell::new(None)),
            graveyard: Graveyard {
                list: UnsafeCell::new(None),
            },
            deferred: AtomicBool::new(false),
        }
    }

    /// Adds `work` to [`irq_work`](Self::irq_work) (own core, IRQs masked: a plain load and
    /// store).
    #[inline(always)]
    pub fn add_irq_work(&self, work: u8) {
        let w = self.irq_work.load(Ordering::Relaxed);
        self.irq_work.store(w | work, Ordering::Relaxed);
    }

    /// This core's number (`cpu::core_id()`, as recorded at boot).
    #[inline(always)]
    pub fn core(&self) -> usize {
        self.core.load(Ordering::Relaxed)
    }

    /// Whether this core is inside an interrupt handler.
    ///
    /// That is: whether this code runs on the exception stack. Interrupt handlers are the
    /// only exception handlers that run kernel services (fault handlers report and end the
    /// thread with IRQs masked), so no per-CPU count is kept: `SPSel` says it for free.
    pub fn in_irq(&self) -> bool {
        cpu::on_exception_stack()
    }
}

/// [`PerCpu::irq_work`]: the timer fired (a decision, and the timer programmed again).
pub(crate) const WORK_TIMER: u8 = 1;
/// [`PerCpu::irq_work`]: a handler made a thread ready (check for preemption).
pub(crate) const WORK_RESCHED: u8 = 2;

static PERCPU: [PerCpu; MAX_CPUS] = [const { PerCpu::new() }; MAX_CPUS];

/// Timer interrupts taken by all cores since boot (statistics and tests).
pub(crate) fn timer_interrupts_all() -> u64 {
    PERCPU
        .iter()
        .map(|c| c.timer_irqs.load(Ordering::Relaxed))
        .sum()
}

/// Timer interrupts taken by core `core` since boot (0 for a core beyond `MAX_CPUS`).
pub(crate) fn timer_interrupts_on(core: usize) -> u64 {
    PERCPU
        .get(core)
        .map_or(0, |c| c.timer_irqs.load(Ordering::Relaxed))
}

/// Points this core's `TPIDR_EL1` at its block. Called once per core at boot.
pub(crate) fn init_this_core() {
    let id = cpu::core_id();
    assert!(id < MAX_CPUS, "core {id} is beyond MAX_CPUS");
    PERCPU[id].core.store(id, Ordering::Relaxed);
    // SAFETY: PERCPU is a static that lives forever; only this core uses entry `id`.
    unsafe { cpu::set_percpu(&PERCPU[id] as *const PerCpu as usize) };
}

/// This core's block.
pub(crate) fn this() -> &'static PerCpu {
    let p = cpu::percpu();
    if p == 0 {
        return early();
    }
    // SAFETY: TPIDR_EL1 is only ever set by `init_this_core` to an element of PERCPU.
    unsafe { &*(p as *const PerCpu) }
}

/// This core's block, from an interrupt handler or a thread an interrupt switched away from
/// (`preempt_irq_resume`): IRQs are unmasked only long after `init_this_core`, so `TPIDR_EL1`
/// is set and the early fallback of [`this`] is not needed.
#[inline(always)]
pub(crate) fn this_in_irq() -> &'static PerCpu {
    let p = cpu::percpu();
    debug_assert!(p != 0, "an interrupt before init_this_core");
    // SAFETY: TPIDR_EL1 is only ever set by `init_this_core` to an element of PERCPU, and
    // interrupts are taken only after it ran (they are masked from reset until threads run).
    unsafe { &*(p as *const PerCpu) }
}

/// Before `init_this_core` (very early faults): fall back on the core number.
#[cold]
fn early() -> &'static PerCpu {
    &PERCPU[cpu::core_id().min(MAX_CPUS - 1)]
}

/// The control block of a thread that exited on this core, kept until the next thread has
/// switched off its stack. It is only touched with the scheduler lock held (by the exiting
/// thread in `perform`, by the next one in `finish_switch`), so it needs no lock of its own.
pub(crate) struct DeadSlot(UnsafeCell<Option<Box<KThread>>>);

// SAFETY: every access goes through `put`/`take`, whose callers hold the scheduler lock, and
// each core only reaches its own slot.
unsafe impl Sync for DeadSlot {}

impl DeadSlot {
    /// Parks `t` here and returns a reference to it.
    ///
    /// # Safety
    /// The scheduler lock must be held, and the slot must be empty (the previous occupant was
    /// taken by the `finish_switch` that followed its exit).
    #[allow(clippy::mut_from_ref)]
    pub unsafe fn put(&self, t: Box<KThread>) -> &mut KThread {
        // SAFETY: exclusive under the scheduler lock, per the contract.
        unsafe { (*self.0.get()).insert(t) }
    }

    /// Takes the parked control block, if any.
    ///
    /// # Safety
    /// The scheduler lock must be held.
    pub unsafe fn take(&self) -> Option<Box<KThread>> {
        // SAFETY: exclusive under the scheduler lock, per the contract.
        unsafe { (*self.0.get()).take() }
    }
}

/// Control blocks (and stacks) of threads that exited on this core, linked through
/// `KThread::next_dead` so that burying one never allocates. The switch buries them with IRQs
/// masked (and raises the core's `deferred` flag); [`reap`](Self::reap) frees them later, from
/// `kernel::leave_kernel` in thread context with IRQs enabled, because freeing is heap work,
/// which the kernel never does with IRQs masked.
pub(crate) struct Graveyard {
    list: UnsafeCell<Option<Box<KThread>>>,
}

// SAFETY: each core reaches only its own graveyard (through `this()`), and touches `list` only
// with IRQs masked, so nothing else on this core interleaves with it.
unsafe impl Sync for Graveyard {}

impl Graveyard {
    /// Adds an exited thread's control block. Call with IRQs masked.
    pub fn bury(&self, mut t: Box<KThread>) {
        debug_assert!(cpu::irqs_masked());
        // SAFETY: this core's graveyard, IRQs masked (see the `Sync` impl).
        let list = unsafe { &mut *self.list.get() };
        t.next_dead = list.take();
        *list = Some(t);
        this().deferred.store(true, Ordering::Relaxed);
    }

    /// Frees everything buried here. Thread context with IRQs enabled (`leave_kernel`).
    ///
    /// One block at a time, each taken off the list with IRQs masked: if the calling thread
    /// is ended halfway (its stack overflows in a free), the rest stay buried and this core's
    /// `deferred` flag stays up for the next caller. The flag is cleared only by the take that
    /// finds the list empty.
    pub fn reap(&self) {
        loop {
            let irq = cpu::irq_save();
            // SAFETY: this core's graveyard, IRQs masked (see the `Sync` impl).
            let list = unsafe { &mut *self.list.get() };
            let next = list.take().map(|mut t| {
                *list = t.next_dead.take();
                t
            });
            if next.is_none() {
                this().deferred.store(false, Ordering::Relaxed);
            }
            cpu::irq_restore(irq);
            match next {
                Some(t) => super::retire(t),
                None => return,
            }
        }
    }
}
