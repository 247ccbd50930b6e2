//! The scheduler: one object owning every thread and answering who runs where.
//!
//! Policy in one paragraph: strict priority, highest number first; round robin
//! with a fixed time slice among threads of equal priority; a thread preempted by
//! a higher one goes back to the front of its level with the rest of its slice
//! (it has not had its turn yet), while a thread that yields or uses up its slice
//! goes to the back. Each CPU has an idle thread that runs only when nothing is
//! ready. One global ready queue serves all CPUs; only the per-CPU "current" and
//! slice counters are per CPU. Which CPUs must look again after a thread became
//! ready is decided here too (see `smp`: placement, affinity and kicks).
//!
//! The methods are split by concern over the child modules; this one holds the
//! state and the few moves (dispatch, requeue) every decision is built from.
//! The synchronization objects live here too (see `objects`), so that every
//! queue a thread can be in is reachable from its entry.

mod audit;
mod audit_sync;
mod blocking;
mod decide;
mod designation;
mod events;
mod inherit;
mod life;
mod mutex;
mod objects;
mod park;
mod pinned;
mod query;
mod queue;
mod room;
mod semaphore;
mod slice;
mod smp;
#[cfg(feature = "trace")]
mod tracing;
mod wait;

#[cfg(test)]
mod tests;

pub use room::{Growth, GrowthPlan};

use crate::object::Objects;
use crate::ready::ReadyQueue;
use crate::slab::{Slab, Slot};
use crate::store::{Checked, StoreKind};
use crate::thread::{State, Thread};
use crate::timers::TimerHeap;
use crate::{CpuId, Next, Priority, ThreadId, Ticks, MAX_CPUS};

/// All threads and the scheduling state of every CPU. `T` is the kernel's
/// per-thread data (stack, saved context, ...), stored and handed back verbatim.
///
/// `S` is the kind of store the thread and object tables live in (see [`SlotStore`]): the
/// bounds-checked [`Checked`] by default, a faster one supplied by the kernel.
///
/// [`SlotStore`]: crate::SlotStore
/// [`Checked`]: crate::Checked
pub struct Scheduler<T, S: StoreKind = Checked> {
    threads: Threads<T, S>,
    /// Wait queues, mutexes, semaphores and event flags.
    objects: Objects<S>,
    ready: ReadyQueue,
    timers: TimerHeap,
    /// The thread each started CPU is running.
    current: [Option<ThreadId>; MAX_CPUS],
    /// Each CPU's slice end and timer (see `slice`).
    clock: [slice::CpuClock; MAX_CPUS],
    /// The CPU whose timer follows the earliest deadline (see `slice`).
    watcher: CpuId,
    /// The idle thread of each CPU.
    idle: [Option<ThreadId>; MAX_CPUS],
    /// Number of idle threads registered (they are not counted as threads).
    idle_count: usize,
    /// Length of a fresh round-robin slice, in counter units.
    slice_len: Ticks,
    /// The time of the decisions being taken ([`set_now`](Self::set_now), `tick`).
    now: Ticks,
    /// A thread made ready that outranks every queued one, kept out of the ready queue: the
    /// next decision that wants the best ready thread takes it from here without pushing it
    /// onto its level and unlinking it again (a wake-up that preempts the waker, the common
    /// case of every blocking primitive). Logically it is at the tail of its level, which the
    /// queue leaves empty: before anything is queued at its level or above, it is queued
    /// first ([`before_push`](Self::before_push)), so FIFO order within a level holds.
    handoff: Option<ThreadId>,
    /// The priority of the hand-off thread when it went into the slot (kept beside it so that
    /// comparing against it costs no lookup; a priority change takes the thread out of the slot
    /// and puts it back, so the two never disagree — the audit checks).
    handoff_level: Priority,
    /// With one CPU (`simple`): set when a thread was made ready or the running one lowered,
    /// so that the next [`preempt_check`](Self::preempt_check) looks; clear, the check
    /// returns `Keep` at once — the common case after a kernel call that woke nobody. Unused
    /// with several CPUs, where a check always compares (see `smp`).
    check_due: u32,
    /// The CPUs [`take_new_kicks`](Self::take_new_kicks) found designated at its last call
    /// (several CPUs only).
    told: u32,
    /// Set by a yield that swapped two threads pinned to the yielding CPU alone, read (and
    /// cleared) by the [`take_new_kicks_on`](Self::take_new_kicks_on) that ends the same
    /// hold: such a swap changes neither the designation nor any other CPU's peers, so
    /// there is nothing new to tell (see `smp`, "The yield among pinned threads").
    kicks_settled: bool,
    /// Bit `cpu` set once `cpu` has been [`start`](Self::start)ed.
    started: u32,
    /// One started CPU (or none) and `restricted == 0`: the one-CPU scheduler. A thread made
    /// ready then only sets `check_due` (there is nobody to tell), and nobody is kicked.
    simple: bool,
    /// Live (non-zombie) threads whose affinity is not [`ALL_CPUS`](crate::ALL_CPUS). While it
    /// is 0 every ready thread may run anywhere and each CPU takes the head of the queue as a
    /// one-CPU scheduler does; otherwise the per-CPU choice walks the queue for an allowed
    /// thread (see `smp`).
    restricted: u32,
    /// Per CPU, the queued restricted threads allowed there (see `pinned`): which CPUs may
    /// take a queued thread, without a walk of the queue.
    pinned: pinned::Pinned,
    /// Events noted for an event trace (empty without the feature `trace`; see `trace`).
    trace: crate::trace::TraceLog,
}

/// The thread table, in a store of kind `S`.
type Threads<T, S> = Slab<Thread<T>, ThreadId, <S as StoreKind>::Store<Slot<Thread<T>>>>;

/// [`Scheduler::running`]'s panics, out of line: formatting `cpu` takes its address, and
/// inlined that made every caller keep `cpu` in a stack frame of its own.
#[cold]
#[inline(never)]
fn not_started(cpu: CpuId) -> ! {
    panic!("cpu {cpu} has not been started")
}

#[cold]
#[inline(never)]
fn out_of_range(cpu: CpuId) -> ! {
    panic!("cpu {cpu} out of range")
}

/// Where a thread leaving the CPU while still runnable goes in its level.
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
enum Requeue {
    /// In front: it was interrupted and keeps the rest of its turn.
    Head,
    /// At the back: its turn is over.
    Tail,
}

impl<T, S: crate::StoreKind> Scheduler<T, S> {
    /// The entry of a thread the scheduler itself refers to (current, queued,
    /// timed, or an id checked on the way in): its absence is a bug here, not a
    /// user error. Release builds trust the id (a bounds check and an address);
    /// debug builds, where the host tests and the fuzzer run, check that it is live.
    #[inline]
    fn entry(&self, id: ThreadId) -> &Thread<T> {
        let slot = self.threads.slot(id.index());
        debug_assert_eq!(
            slot.generation(),
            id.generation(),
            "scheduler lost track of a thread"
        );
        slot.entry()
    }

    #[inline]
    fn entry_mut(&mut self, id: ThreadId) -> &mut Thread<T> {
        let slot = self.threads.slot_mut(id.index());
        debug_assert_eq!(
            slot.generation(),
            id.generation(),
            "scheduler lost track of a thread"
        );
        slot.entry_mut()
    }

    /// The id of the thread in slot `index`, which the scheduler's own links name.
    #[inline]
    fn id_of_slot(&self, index: u32) -> ThreadId {
        ThreadId::new(index, self.threads.slot(index).generation())
    }

    /// The thread running on `cpu`.
    ///
    /// # Panics
    /// If `cpu` is out of range or was never started.
    fn running(&self, cpu: CpuId) -> ThreadId {
        if cpu >= MAX_CPUS {
            out_of_range(cpu);
        }
        match self.current[cpu] {
            Some(id) => id,
            None => not_started(cpu),
        }
    }

    /// The running non-idle thread of `cpu`, for operations only real threads
    /// may perform.
    fn running_real(&self, cpu: CpuId, what: &str) -> ThreadId {
        let id = self.running(cpu);
        assert!(
            !self.entry(id).is_idle(),
            "idle thread of cpu {cpu} cannot {what}"
        );
        id
    }

    /// Makes `id` Ready at the back of its level.
    fn make_ready(&mut self, id: ThreadId) {
        let t = self.entry_mut(id);
        t.state = State::Ready;
        let level = t.priority;
        self.note_ready();
        self.enqueue_at(id, level);
    }

    /// Puts the ready, unqueued `id`, of priority `level`, at the back of its level: in the
    /// hand-off slot when it outranks every queued thread and the slot is free.
    #[inline]
    fn enqueue_at(&mut self, id: ThreadId, level: Priority) {
        self.before_push::<true>(level);
        if self.handoff.is_none() && self.ready.highest().is_none_or(|top| level > top) {
            self.handoff = Some(id);
            self.handoff_level = level;
            return;
        }
        self.enqueue_queued(id, level);
    }

    /// [`enqueue_at`](Self::enqueue_at)'s queue case, out of line: the wake-ups that preempt
    /// (the hand-off slot) then pay nothing for its count in `pinned` (inlined, it cost
    /// each of them ten instructions of saved registers).
    #[inline(never)]
    fn enqueue_queued(&mut self, id: ThreadId, level: Priority) {
        self.pinned.add(self.entry(id).affinity);
        self.ready
            .push_tail(self.threads.slots_mut(), id.index(), level);
    }

    /// The highest priority among ready threads (the hand-off slot included).
    #[inline]
    fn ready_top(&self) -> Option<Priority> {
        match self.handoff {
            Some(_) => Some(self.handoff_level),
            None => self.ready.highest(),
        }
    }

    /// Call before queueing a thread at `level`: a hand-off thread at `level` or below goes
    /// into the queue first (it became ready earlier, and it must stay above every queued one).
    /// (`MAYBE_RESTRICTED`: as [`flush_handoff`](Self::flush_handoff)'s.)
    #[inline]
    fn before_push<const MAYBE_RESTRICTED: bool>(&mut self, level: Priority) {
        if self.handoff.is_some() && self.handoff_level <= level {
            self.flush_handoff::<MAYBE_RESTRICTED>();
        }
    }

    /// Queues the hand-off thread, if any, at the back of its level. `MAYBE_RESTRICTED`: it
    /// may be restricted, to be counted in `pinned` (false where the caller knows
    /// `restricted == 0`: the count's code, inlined into the one-CPU yield, made it save
    /// four more registers, and the wake-ups that preempt seven: so the counted case is out
    /// of line).
    #[inline]
    fn flush_handoff<const MAYBE_RESTRICTED: bool>(&mut self) {
        if MAYBE_RESTRICTED {
            self.flush_handoff_counted();
        } else if let Some(h) = self.handoff.take() {
            self.ready
                .push_tail(self.threads.slots_mut(), h.index(), self.handoff_level);
        }
    }

    /// [`flush_handoff`](Self::flush_handoff) counting the thread in `pinned`.
    #[inline(never)]
    fn flush_handoff_counted(&mut self) {
        if let Some(h) = self.handoff.take() {
            self.pinned.add(self.entry(h).affinity);
            self.ready
                .push_tail(self.threads.slots_mut(), h.index(), self.handoff_level);
        }
    }

    /// Takes `id`, ready, out of the ready queue or the hand-off slot; `false` if it was in
    /// neither.
    fn unqueue(&mut self, id: ThreadId) -> bool {
        if self.handoff == Some(id) {
            self.handoff = None;
            return true;
        }
        let queued = self.ready.remove(self.threads.slots_mut(), id.index());
        if queued {
            self.pinned.remove(self.entry(id).affinity);
        }
        queued
    }

    /// Takes `cpu`'s running thread off the CPU while it stays runnable. Idle threads simply
    /// stop running; they are never queued.
    #[inline(never)]
    fn requeue_current(&mut self, cpu: CpuId, id: ThreadId, place: Requeue) {
        self.requeue_current_inline::<true>(cpu, id, place);
    }

    /// [`requeue_current`](Self::requeue_current) inlined into its caller: for the
    /// preemption after a wake-up, where a call's prologue costs more than the body saves
    /// (inlined everywhere, it makes `yield_now` itself slower: register pressure).
    /// `MAYBE_RESTRICTED`: `id` may have a restricted affinity, to be counted in `pinned`
    /// (false only where the caller knows `restricted == 0`: the one-CPU mode).
    #[inline(always)]
    fn requeue_current_inline<const MAYBE_RESTRICTED: bool>(
        &mut self,
        cpu: CpuId,
        id: ThreadId,
        place: Requeue,
    ) {
        let left = self.slice_left_now(cpu);
        let t = self.entry_mut(id);
        t.state = State::Ready;
        if t.is_idle() {
            return;
        }
        let level = t.priority;
        let affinity = t.affinity;
        t.saved_slice = match place {
            Requeue::Head => left,
            Requeue::Tail => 0,
        };
        self.before_push::<MAYBE_RESTRICTED>(level);
        if MAYBE_RESTRICTED {
            self.pinned.add(affinity);
        } else {
            debug_assert_eq!(self.restricted, 0);
        }
        match place {
            Requeue::Head => self
                .ready
                .push_head(self.threads.slots_mut(), id.index(), level),
            Requeue::Tail => self
                .ready
                .push_tail(self.threads.slots_mut(), id.index(), level),
        }
    }

    /// Puts the best ready thread allowed on `cpu` (or the idle thread) on `cpu` and
    /// returns it.
    ///
    /// # Panics
    /// If nothing is ready and `cpu` has no idle thread.
    #[inline(never)]
    fn dispatch(&mut self, cpu: CpuId) -> ThreadId {
        if self.restricted != 0 {
            let id = self.take_allowed(cpu);
            // A thread of its level may be ready here (perhaps one not allowed here: then
            // the slice's end finds nobody and it runs on untimed).
            let t = self.entry(id);
            let timed = !t.is_idle() && self.ready.head(t.priority).is_some();
            self.run_on(cpu, id, timed);
            id
        } else {
            self.dispatch_inline(cpu)
        }
    }

    /// [`dispatch`](Self::dispatch) inlined into its caller (see
    /// [`requeue_current_inline`](Self::requeue_current_inline)), for when every thread may
    /// run everywhere (`restricted == 0`): the hand-off thread or the head of the queue.
    #[inline(always)]
    fn dispatch_inline(&mut self, cpu: CpuId) -> ThreadId {
        debug_assert_eq!(self.restricted, 0);
        // The hand-off thread outranks every queued one: nobody shares its level.
        if let Some(id) = self.handoff.take() {
            self.run_on(cpu, id, false);
            return id;
        }
        match self.ready.pop_highest(self.threads.slots_mut()) {
            Some(index) => {
                let id = self.id_of_slot(index);
                let level = self.entry(id).priority;
                let peer = self.ready.head(level).is_some();
                self.run_on(cpu, id, peer);
                id
            }
            None => self.run_idle(cpu),
        }
    }

    /// Puts `cpu`'s idle thread on it (nothing is ready for it) and returns it.
    fn run_idle(&mut self, cpu: CpuId) -> ThreadId {
        let id = self.idle[cpu]
            .unwrap_or_else(|| panic!("cpu {cpu} has nothing to run and no idle thread"));
        self.run_on(cpu, id, false);
        id
    }

    /// Makes `id`, just taken off the ready queue (or an idle thread), `cpu`'s running thread.
    /// `timed`: a thread of its priority may be ready for `cpu` (the caller knows it or
    /// cannot rule it out), so its slice matters: the rest of the one a preemption
    /// interrupted, else a fresh one, from now. Otherwise it runs untimed (see `slice`).
    #[inline(always)]
    fn run_on(&mut self, cpu: CpuId, id: ThreadId, timed: bool) {
        let fresh = self.slice_len;
        let t = self.entry_mut(id);
        t.state = State::Running(cpu);
        let saved = t.saved_slice;
        let len = if saved == 0 {
            fresh
        } else {
            t.saved_slice = 0;
            Ticks::from(saved)
        };
        if timed {
            self.begin_slice(cpu, len);
        } else {
            self.clock[cpu].slice_end = slice::UNTIMED;
        }
        self.current[cpu] = Some(id);
    }

    /// `from` has already left `cpu` (requeued, blocked or dead): run the next.
    fn switch_from(&mut self, cpu: CpuId, from: ThreadId) -> Next {
        let to = self.dispatch(cpu);
        debug_assert_ne!(from, to, "switch to the same thread");
        Next::Switch { from, to }
    }
}
