//! The kernel proper: the thread table behind the scheduler lock, and the one place where a
//! scheduling decision becomes a context switch.
//!
//! Every operation follows the same shape — mask IRQs, take the scheduler lock, ask
//! `sched-core` for a decision, carry it out with [`switch_context`], release — whether it is
//! called by a thread (yield, sleep, join, spawn) or by the timer interrupt. The lock is held
//! across the switch and released by whichever thread runs next (`finish_switch`), so no other
//! core can pick up a thread whose registers are still being saved.

pub(crate) mod cause;
pub(crate) mod fault;
pub(crate) mod ipi;
pub(crate) mod irq;
pub(crate) mod percpu;
pub(crate) mod room;
pub(crate) mod sched_lock;
pub(crate) mod scope;
pub(crate) mod shared;
pub(crate) mod smp;
pub(crate) mod stack;
mod thread_info;
pub(crate) mod trace;
pub(crate) mod wait;

use alloc::boxed::Box;
use core::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};

use preempt_arch::{context::Context, cpu, SpinLock};
use sched_core::{CpuId, ExitStatus, Next, Priority, Scheduler, ThreadId};
use thread_store::Masked;

use sched_lock::SchedLock;
use shared::{try_box, Shared};
pub(crate) use smp::start_secondary;
use stack::Stack;

use crate::thread::local::{Block, TlsRoot};
pub(crate) use thread_info::{Failure, ThreadInfo};

/// What a thread runs. It stays in the control block (and so is freed with it) while it runs,
/// so a thread that panics or faults — there is no unwinding — leaks none of the kernel's
/// allocations: only what its own code had allocated.
pub(crate) trait ThreadMain: Send {
    /// Runs the thread's code; called once.
    fn run(&mut self);
}

impl<F: FnOnce() + Send> ThreadMain for Option<F> {
    fn run(&mut self) {
        if let Some(f) = self.take() {
            f();
        }
    }
}

/// A thread control block: the data `sched-core` keeps per thread for the kernel.
pub(crate) struct KThread {
    pub ctx: Context,
    /// `None` for a core's idle thread, which runs on the boot stack.
    pub stack: Option<Stack>,
    pub main: Option<Box<dyn ThreadMain>>,
    pub info: Shared<ThreadInfo>,
    pub id: Option<ThreadId>,
    /// Where the thread exits if it faults while scoped threads borrow from its stack (see
    /// `scope`); `None` until it first opens a scope.
    pub exit_stack: Option<Stack>,
    /// The next exited control block in this core's graveyard (see `percpu::Graveyard`).
    pub next_dead: Option<Box<KThread>>,
    /// The thread's thread-local block: the pointer the kernel trusts (`TPIDR_EL0` is only
    /// the fast path's copy, which user code may overwrite); freed with the control block.
    pub tls: TlsRoot,
}

/// The scheduler, its tables in the kernel's store: a power-of-two array indexed with a mask,
/// so that following the scheduler's own links costs no bounds check (crate `thread-store`).
pub(crate) type Sched = Scheduler<Box<KThread>, Masked>;

/// The scheduler: `None` until boot makes it ([`init_sched`]); the kernel's store cannot be
/// empty, so its first tables are allocated then.
static SCHED: SpinLock<Option<Sched>> = SpinLock::new(None);

/// [`SCHED`], as a value the compiler cannot see through. The scheduler is kilobytes long, so
/// its fields, reached from the symbol, fall in several pages, each access forming its page's
/// address anew; through this reference every field is one register plus an offset, and the
/// lock and the data share that register. No instruction of its own beyond forming the
/// address once (the compiler merges repeated calls).
#[inline(always)]
// The asm reads no memory through the pointer: it only passes its value through.
#[allow(clippy::pointers_in_nomem_asm_block)]
fn sched_static() -> &'static SpinLock<Option<Sched>> {
    let mut p: *const SpinLock<Option<Sched>> = &SCHED;
    // SAFETY: an empty template: `p` comes back unchanged, nothing else is touched.
    unsafe {
        core::arch::asm!("/* {0} */", inout(reg) p, options(pure, nomem, nostack, preserves_flags))
    };
    // SAFETY: `p` is `&SCHED`, unchanged: a `static`, live for the kernel's life.
    unsafe { &*p }
}

/// The scheduler, while this core holds the raw lock with IRQs masked.
///
/// # Safety
/// The caller holds [`SCHED`]'s raw lock (taken, or handed over by a switch) with IRQs masked
/// for as long as the reference is used, and makes no second reference meanwhile.
#[inline(always)]
unsafe fn sched_held() -> &'static mut Sched {
    // SAFETY: as the caller promises.
    made(unsafe { sched_static().get_unchecked() })
}

/// Makes the scheduler (its first, small tables). Boot core, once the heap is up, before
/// anything else takes the scheduler lock.
pub(crate) fn init_sched() {
    let sched = Sched::try_new(1)
        .unwrap_or_else(|_| fault::kernel_halt(format_args!("out of memory at boot")));
    let old = SCHED.lock().replace(sched);
    debug_assert!(old.is_none(), "scheduler made twice");
}

/// The scheduler in `slot`, which boot has filled.
#[inline(always)]
fn made(slot: &mut Option<Sched>) -> &mut Sched {
    match slot {
        Some(s) => s,
        None => not_made(),
    }
}

#[cold]
#[inline(never)]
fn not_made() -> ! {
    fault::kernel_halt(format_args!("the scheduler was used before boot made it"))
}

/// Takes the raw scheduler lock for a call that may switch (released by `finish_switch`,
/// possibly in another thread). IRQs must be masked.
#[inline(always)]
fn lock_sched_raw() {
    sched_static().raw().lock();
}

/// Takes the raw scheduler lock given this core's number (`cpu::core_id()`), for the
/// interrupt's decision.
#[inline(always)]
fn lock_sched_raw_on(core: CpuId) {
    sched_static().raw().lock_on(core);
}

/// Tells the scheduler the time of the decisions about to be taken (`Scheduler::set_now`):
/// right after the lock is taken, so that times only grow from one hold to the next. The
/// counter is read without an `isb`: a slice may start a few instructions early.
#[inline(always)]
fn stamp(sched: &mut Sched) {
    sched.set_now(preempt_arch::timer::counter_unordered());
    trace::hold_begins(sched);
}

/// Releases the raw scheduler lock taken by [`lock_sched_raw`] when no switch happened.
#[inline(always)]
fn unlock_sched_raw() {
    sched_static().raw().unlock();
}

/// Times the scheduler lock was taken since boot (wrapping): statistics for tests
/// (`preempt::testing::sched_lock_takes`).
pub(crate) fn sched_lock_takes() -> u32 {
    sched_static().raw().times_taken()
}

static STARTED: AtomicBool = AtomicBool::new(false);

/// How many cores run threads: counted on each core (`smp::join`) right after `sched-core`
/// made that core's idle thread its current one.
static CPUS_STARTED: AtomicUsize = AtomicUsize::new(0);

/// The cores that run threads, bit n for core n: set with [`CPUS_STARTED`] (`count_in`).
static CPUS_MASK: AtomicU32 = AtomicU32::new(0);

/// The number of cores that run threads (see [`CPUS_STARTED`]).
pub(crate) fn cpus_started() -> usize {
    CPUS_STARTED.load(Ordering::Acquire)
}

/// The cores that run threads, bit n for core n (see [`CPUS_MASK`]).
pub(crate) fn cpus_mask() -> u32 {
    CPUS_MASK.load(Ordering::Acquire)
}

/// Counts core `cpu` in as running threads; under the scheduler lock, right after
/// `sched-core` started it.
pub(super) fn count_in(cpu: CpuId) {
    CPUS_MASK.fetch_or(1 << cpu, Ordering::AcqRel);
    CPUS_STARTED.fetch_add(1, Ordering::AcqRel);
}

/// Whether `info` is the thread running the program's `main` (its failure ends the system).
pub(crate) fn is_main(info: &ThreadInfo) -> bool {
    info.is_main
}

/// Whether threads are running yet.
pub(crate) fn started() -> bool {
    STARTED.load(Ordering::Acquire)
}

/// Runs `f` on the scheduler under its lock, without switching.
pub(crate) fn with_sched<R>(f: impl FnOnce(&mut Sched, CpuId) -> R) -> R {
    let r = {
        let mut guard = SCHED.lock();
        let sched = made(&mut guard);
        stamp(sched);
        let core = cpu::core_id();
        let r = f(sched, core);
        sched_lock::end_hold(sched, core);
        r
    };
    leave_kernel(); // `f` may have created an object (lazily) that dipped into the reserve
    r
}

/// [`with_sched`] for an interrupt handler that asks for a reschedule check on its way out
/// (`percpu::WORK_RESCHED`): sends no kicks and programs no timer, as that check's hold of
/// the lock, which ends before the interrupt does, does both. Deferred work waits for thread context anyway.
pub(crate) fn with_sched_unkicked<R>(f: impl FnOnce(&mut Sched, CpuId) -> R) -> R {
    let mut guard = SCHED.lock();
    let sched = made(&mut guard);
    stamp(sched);
    let core = cpu::core_id();
    let r = f(sched, core);
    trace::hold_ends(sched, core);
    r
}

/// The work a kernel call leaves for thread context, done once the scheduler lock is released
/// and IRQs are back on (it frees and allocates): free the control blocks and stacks of
/// threads that exited on this core, top up the object reserve. One load of this core's
/// `deferred` flag when there is nothing to do; in interrupt context or with IRQs masked the
/// work waits for the next call from a thread.
#[inline]
pub(crate) fn leave_kernel() {
    let this = percpu::this();
    if this.deferred.load(Ordering::Relaxed) {
        deferred_work(this);
    }
}

#[cold]
#[inline(never)]
pub(crate) fn deferred_work(this: &percpu::PerCpu) {
    if cpu::irqs_masked() || this.in_irq() || !started() {
        return;
    }
    this.graveyard.reap(); // clears `deferred` once the graveyard is empty
    room::top_up();
}

/// Runs `f` on the scheduler under its lock and carries out the decision it returns.
///
/// Returns when the calling thread runs again (at once for [`Next::Keep`]).
pub(crate) fn schedule<R>(f: impl FnOnce(&mut Sched, CpuId) -> (Next, R)) -> R {
    let mut lock = SchedLock::take();
    let cpu = cpu::core_id();
    let (next, r) = f(lock.sched(), cpu);
    lock.perform(next);
    lock.release();
    r
}

/// Ends the calling thread with `status`; never returns.
pub(crate) fn exit_current(status: ExitStatus) -> ! {
    if let Some(info) = current_info() {
        scope::thread_ending(&info, status);
        record_final_peak(&info, 1);
    }
    let mut lock = SchedLock::take();
    trace::exiting(lock.sched(), status);
    let out = lock.sched().exit_current(cpu::core_id(), status);
    lock.exit(out.next, out.dead)
}

/// The second half of every switch, run by the thread that was switched to: release the lock
/// taken by the thread that switched away. A thread that exited is moved to this core's
/// graveyard (no freeing here: IRQs are still masked), to be freed by [`leave_kernel`].
///
/// Returns whether this core has deferred work (the caller, once IRQs are back on, does what
/// [`leave_kernel`] does, without reading the per-CPU block again).
///
/// Every hold of the lock that switched ends here (and so does every `SchedLock::release`),
/// so this is where the kicks the hold asked for are sent and the core's timer programmed if
/// the hold brought its next moment forward (`sched_lock::end_hold`): the switching thread
/// did neither.
#[inline]
fn finish_switch(sched: &mut Sched) -> bool {
    finish_switch_on(percpu::this(), sched)
}

/// [`finish_switch`] with this core's per-CPU block and the scheduler at hand.
#[inline(always)]
fn finish_switch_on(this: &percpu::PerCpu, sched: &mut Sched) -> bool {
    sched_lock::end_hold(sched, this.core());
    // SAFETY: the scheduler lock is still held here; it is released just below.
    let dead = unsafe { this.dead.take() };
    unlock_sched_raw();
    if let Some(dead) = dead {
        bury(this, dead);
    }
    this.deferred.load(Ordering::Relaxed)
}

/// [`finish_switch`]'s rare case, out of line so that the common one saves no registers.
#[cold]
#[inline(never)]
fn bury(this: &percpu::PerCpu, dead: Box<KThread>) {
    this.graveyard.bury(dead);
}

/// Frees an exited thread's control block and stack, in thread context with IRQs enabled.
/// (Its final stack peak, if a `Thread` handle may still ask, was recorded while the control
/// block was still in the scheduler's table: see [`record_final_peak`].)
pub(crate) fn retire(t: Box<KThread>) {
    drop(t);
}

/// Records the final stack peak of the thread `info` describes while its control block is
/// still in the scheduler's table, if a `Thread` handle may ask for it once the block is gone
/// (see [`ThreadInfo::peak_wanted_later`]). Called by the thread itself as it exits, and by
/// `join` and a dropped `JoinHandle` before they remove a finished thread's block: so there
/// is no moment at which the block is gone and the figure not yet recorded.
/// `extra` is how many of the references are the caller's own (its clone, or the handle it is
/// joining or dropping).
pub(crate) fn record_final_peak(info: &Shared<ThreadInfo>, extra: usize) {
    if ThreadInfo::peak_wanted_later(info, extra) {
        let peak = stack_peak(info);
        info.set_final_stack_peak(peak);
    }
}

/// The peak stack use of the thread `info` describes, in bytes: scanned now while its stack
/// exists, its final figure afterwards (0 for a thread without a stack of its own, and for a
/// live thread asked from an interrupt handler, which must not free a stack).
pub(crate) fn stack_peak(info: &ThreadInfo) -> usize {
    if let Some(peak) = info.final_stack_peak() {
        return peak;
    }
    // A scan may take thousands of instructions, and dropping the share may free the stack:
    // never with IRQs masked.
    if cpu::irqs_masked() || percpu::this().in_irq() || SCHED.raw().held_by_this_core() {
        return info.final_stack_peak().unwrap_or(0);
    }
    let Some(id) = ThreadId::from_u64(info.id_u64()) else {
        return 0;
    };
    let stack = with_sched(|s, _| {
        s.data(id)
            .and_then(|t| t.stack.as_ref().map(|st| st.share()))
    });
    match stack {
        Some(stack) => stack.peak(), // the share is dropped here, in thread context
        None => info.final_stack_peak().unwrap_or(0),
    }
}

/// First code of every new thread (see `Context::new_thread`).
///
/// The switch that started it handed over the scheduler lock: `main` is looked up under that
/// hold, before [`finish_switch`] ends it, rather than under a second one.
extern "C" fn thread_entry(_arg: usize) -> ! {
    // SAFETY: the lock is held (handed over by the switch), IRQs masked; the reference ends
    // before `finish_switch` releases the lock.
    let sched = unsafe { sched_held() };
    let id = sched.current(cpu::core_id());
    let (main, tls) = match sched.data_mut(id) {
        Some(t) => (
            t.main.as_deref_mut().map(|m| m as *mut dyn ThreadMain),
            &t.tls as *const TlsRoot,
        ),
        None => (None, core::ptr::null()),
    };
    let _ = finish_switch(sched); // deferred work: `leave_kernel` below, once IRQs are on
    cpu::irq_enable();
    leave_kernel();
    if let Some(main) = main {
        // SAFETY: the control block that owns `main` is freed only after this thread has
        // exited and switched away for good (graveyard or reap), and nothing else touches
        // `main` after the thread started, so this is the only reference while `run` lasts.
        unsafe { (*main).run() };
    }
    // The thread-locals' destructors, in this thread and before the exit `join` waits for
    // (the block as the control block knows it, whatever TPIDR_EL0 now holds).
    if !tls.is_null() {
        // SAFETY: `tls` is in the control block, which outlives the thread (as for `main`);
        // it is only read, through its atomic.
        let block = unsafe { (*tls).get() };
        crate::thread::local::run_destructors(block);
    }
    exit_current(ExitStatus::Finished)
}

/// Creates a control block for a new thread running `main`; `Err` (with nothing leaked) when
/// the heap cannot hold it.
pub(crate) fn new_thread(
    stack: Stack,
    main: Box<dyn ThreadMain>,
    info: Shared<ThreadInfo>,
) -> Result<Box<KThread>, ()> {
    let ctx = Context::new_thread(stack.top(), thread_entry, 0);
    try_box(KThread {
        ctx,
        stack: Some(stack),
        main: Some(main),
        info,
        id: None,
        exit_stack: None,
        next_dead: None,
        tls: TlsRoot::new(),
    })
    .map_err(drop)
}

/// Why [`spawn`] gave a control block back.
pub(crate) enum SpawnFail {
    /// The heap cannot hold the larger thread table.
    NoRoom,
    /// The affinity mask names no core that runs threads.
    NoAllowedCpu,
}

/// Hands a new control block to the scheduler, to run on the cores in `affinity` (bit n: core
/// n); switches at once if it outranks the caller. Reserves the thread's slot first, outside
/// the lock: `Err` gives the control block back when the heap cannot hold the larger thread
/// table, or when `affinity` names no running core.
pub(crate) fn spawn(
    priority: Priority,
    affinity: u32,
    thread: Box<KThread>,
) -> Result<ThreadId, (Box<KThread>, SpawnFail)> {
    let info = thread.info.clone();
    let mut thread = Some(thread);
    loop {
        if room::reserve(1, 0).is_err() {
            return Err((thread.take().expect("control block"), SpawnFail::NoRoom));
        }
        let placed = schedule(|s, cpu| {
            // Another thread may have taken the reserved room meanwhile: then try again.
            if !s.has_thread_room() {
                return (Next::Keep, None);
            }
            // Checked before the control block moves in, so that a refusal hands it back to
            // be freed outside the lock.
            if affinity & s.started_cpus() == 0 {
                return (Next::Keep, Some(Err(())));
            }
            let data = thread.take().expect("control block");
            let Ok(id) = s.spawn_with_affinity(priority, affinity, data) else {
                fault::kernel_halt(format_args!("spawn refused a checked affinity"))
            };
            if let Some(t) = s.data_mut(id) {
                t.id = Some(id);
            }
            info.id.store(id.as_u64(), Ordering::Relaxed);
            trace::spawned(s, cpu, id, priority, &info);
            (s.preempt_check(cpu), Some(Ok(id)))
        });
        match placed {
            Some(Ok(id)) => return Ok(id),
            Some(Err(())) => {
                return Err((
                    thread.take().expect("control block"),
                    SpawnFail::NoAllowedCpu,
                ))
            }
            None => {}
        }
    }
}

/// Boot's last step on core 0: the boot flow becomes the idle thread, the timer starts, the
/// other cores are started (`smp`), `main` is spawned, and this function idles forever.
pub(crate) fn start(main: Box<KThread>, main_priority: Priority) -> ! {
    let cpu = cpu::core_id();
    let idle = smp::make_idle();
    {
        let mut guard = SCHED.lock();
        let sched = made(&mut guard);
        sched.set_time_slice(crate::config::time_slice_counts());
        smp::join(sched, cpu, idle);
    }
    STARTED.store(true, Ordering::Release);
    if room::reserve(8, room::OBJECT_SPARE).is_err() {
        fault::kernel_halt(format_args!("out of memory at boot"));
    }
    irq::start_timer();
    ipi::init_this_core();
    smp::start_secondaries();
    if spawn(main_priority, u32::MAX, main).is_err() {
        fault::kernel_halt(format_args!("out of memory at boot"));
    }
    cpu::irq_enable();
    irq::idle_loop()
}

/// The current thread's info, if threads are running and this is not an interrupt handler.
pub(crate) fn current_info() -> Option<Shared<ThreadInfo>> {
    if !started() || SCHED.raw().held_by_this_core() {
        return None;
    }
    with_sched(|s, cpu| s.data(s.current(cpu)).map(|t| t.info.clone()))
}

/// The calling thread's thread-local block as its control block keeps it (null before its
/// first use); `None` outside a thread (interrupt handler, idle thread, before start).
pub(crate) fn current_tls() -> Option<*mut Block> {
    if !started() || percpu::this().in_irq() || SCHED.raw().held_by_this_core() {
        return None;
    }
    with_current_thread(|t| t.tls.get())
}

/// `f` of the calling core's current thread's control block, under the scheduler lock; `None`
/// for an idle thread. The caller has checked that it may take the lock.
fn with_current_thread<R>(f: impl FnOnce(&KThread) -> R) -> Option<R> {
    with_sched(|s, cpu| {
        let id = s.current(cpu);
        if s.is_idle(id) {
            None
        } else {
            s.data(id).map(|t| f(t))
        }
    })
}

/// Records `block` as the calling thread's thread-local block (its first use of a key).
pub(crate) fn set_current_tls(block: core::ptr::NonNull<Block>) {
    let set = with_sched(|s, cpu| {
        let id = s.current(cpu);
        match s.data(id) {
            Some(t) if !s.is_idle(id) => {
                t.tls.set(block);
                true
            }
            _ => false,
        }
    });
    assert!(set, "thread-local block made outside a thread");
}

/// Whether the code that raised a panic or fault is an ordinary thread that can be ended alone
/// (not the kernel, an interrupt handler or the idle thread). `irqs_were_masked` is the IRQ
/// mask of the failing code: a thread never runs with IRQs masked outside kernel critical
/// sections. `in_handler`: the failing code is an interrupt handler (for a panic, where it
/// runs: `in_irq()`; a fault handled by `fault::handle_sync` never is — it was taken from
/// `SP_EL0`, and faults in handlers go to the fatal path — although its handler runs on the
/// exception stack, where `in_irq()` is true).
pub(crate) fn failing_thread(
    irqs_were_masked: bool,
    in_handler: bool,
) -> Option<Shared<ThreadInfo>> {
    if irqs_were_masked || in_handler || !started() || SCHED.raw().held_by_this_core() {
        return None;
    }
    with_current_thread(|t| t.info.clone())
}
