//! The two shapes every synchronization primitive is built from: *wait* (decide under the
//! scheduler lock whether to block, and if so, learn after waking why) and *notify* (change
//! state under the lock and let a woken thread of higher priority run — at once from a thread,
//! on the way out of the handler from an interrupt).
//!
//! Blocking objects keep their `sched-core` handle in an `AtomicU64` created on first use, so
//! every primitive can have a `const fn new` and live in a `static`.

use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicU64, Ordering};
use core::time::Duration;

use preempt_arch::{cpu, timer};
use sched_core::{CpuId, Next, Ticks, WaitResult};

use super::sched_lock::SchedLock;
use super::{percpu, Sched};

/// What the first half of a wait decided.
pub(crate) enum Wait<R> {
    /// No need to block: here is the answer.
    Done(R),
    /// Blocked: carry out this decision, then ask `after` once woken.
    Block(Next),
}

/// Runs `decide` under the scheduler lock; if it blocks, switches away and, once this thread
/// runs again (still under the lock the waker's switch handed over), runs `after` with the
/// reason it was woken.
pub(crate) fn wait<R>(
    decide: impl FnOnce(&mut Sched, CpuId) -> Wait<R>,
    after: impl FnOnce(&mut Sched, CpuId, WaitResult) -> R,
) -> R {
    let mut lock = SchedLock::take();
    let cpu = cpu::core_id();
    let r = match decide(lock.sched(), cpu) {
        Wait::Done(r) => {
            // Not blocking, but the decision may have woken a thread that outranks us.
            let next = lock.sched().preempt_check(cpu);
            lock.perform(next);
            r
        }
        Wait::Block(next) => {
            lock.perform(next);
            // Resumed: the thread that switched to us handed over the lock — on whichever
            // core woke us, not necessarily the one we blocked on.
            let cpu = cpu::core_id();
            let sched = lock.sched();
            let res = sched.take_wait_result(cpu);
            after(sched, cpu, res)
        }
    };
    lock.release();
    r
}

/// Runs `f` under the scheduler lock for a state change that may wake threads, then lets a
/// woken thread that outranks the caller run: now from a thread, on handler exit from an
/// interrupt handler.
pub(crate) fn notify<R>(f: impl FnOnce(&mut Sched) -> R) -> R {
    let this = percpu::this();
    if this.in_irq() {
        // No kicks sent here: the check this asks for on the handler's way out takes the
        // lock again, and that hold sends them (see `sched_lock::end_hold`).
        let r = super::with_sched_unkicked(|s, _| f(s));
        this.add_irq_work(percpu::WORK_RESCHED);
        r
    } else {
        super::schedule(|s, cpu| {
            let r = f(s);
            (s.preempt_check(cpu), r)
        })
    }
}

/// The running thread's id as a nonzero word, read without the scheduler lock.
#[inline]
pub(crate) fn current_id_word() -> u64 {
    let irq = cpu::irq_save_stackless(); // two loads, no stack
    let id = percpu::this().current.load(Ordering::Relaxed);
    cpu::irq_restore(irq);
    id
}

/// Whether the caller may block (a thread, not an interrupt handler).
#[inline(always)]
pub(crate) fn assert_may_block(what: &str) {
    if percpu::this().in_irq() {
        blocking_in_irq(what);
    }
}

/// Stops the system: `what` would block inside an interrupt handler. Out of line, so that the
/// check above costs a load and a branch on every blocking call's fast path.
#[cold]
#[inline(never)]
fn blocking_in_irq(what: &str) -> ! {
    super::fault::kernel_halt(format_args!(
        "{what} would block inside an interrupt handler"
    ))
}

/// An absolute counter deadline `timeout` from now (saturating: "practically never").
pub(crate) fn deadline_after(timeout: Duration) -> Ticks {
    let ns = u64::try_from(timeout.as_nanos()).unwrap_or(u64::MAX);
    timer::counter().saturating_add(timer::ns_to_ticks(ns, timer::frequency()))
}

/// Returns the handle stored in `slot`, creating it with `create` on first use. Must be
/// called under the scheduler lock (which makes the check-and-create atomic).
pub(crate) fn lazy_handle(
    slot: &AtomicU64,
    s: &mut Sched,
    create: impl FnOnce(&mut Sched) -> u64,
) -> u64 {
    let v = slot.load(Ordering::Acquire);
    if v != 0 {
        return v;
    }
    let v = create(s);
    super::room::note_object_created(s.object_room());
    slot.store(v, Ordering::Release);
    v
}

/// Whether the thread with id word `id` may hold locks: spawned, not yet ended, and not a
/// failed thread that gave its locks up (`Scheduler::may_hold_locks`). A lock naming a thread
/// for which this is `false` has a dead holder.
pub(crate) fn thread_alive(id: u64) -> bool {
    let Some(t) = sched_core::ThreadId::from_u64(id) else {
        return false;
    };
    super::with_sched(|s, _| s.may_hold_locks(t))
}

/// Data guarded by the scheduler lock itself: reachable only with the `&mut Sched` that proves
/// the lock is held. Used by objects whose state must change atomically with wait queues
/// (channels), so no second lock and no lock ordering question arises.
pub(crate) struct SchedCell<T>(UnsafeCell<T>);

// SAFETY: every access goes through `get`, which requires the scheduler lock; `T: Send` lets the
// value be used from whichever thread holds it.
unsafe impl<T: Send> Sync for SchedCell<T> {}

impl<T> SchedCell<T> {
    pub const fn new(value: T) -> Self {
        Self(UnsafeCell::new(value))
    }

    /// The value, for as long as the scheduler-lock proof `s` is borrowed.
    #[allow(clippy::mut_from_ref)]
    pub fn get<'a>(&'a self, _s: &'a mut Sched) -> &'a mut T {
        // SAFETY: `&mut Sched` exists only under the scheduler lock, and borrowing it mutably for
        // `'a` prevents a second `get` (through the same proof) while this reference lives.
        unsafe { &mut *self.0.get() }
    }
}
