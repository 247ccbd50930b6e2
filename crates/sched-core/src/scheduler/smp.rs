//! Several CPUs: affinity, and which CPUs must be told that a ready thread outranks what
//! they run (kicks).
//!
//! # The guarantee
//!
//! After every operation, once every CPU named by [`kicks`](Scheduler::kicks) has run
//! [`preempt_check`](Scheduler::preempt_check) (and so on while `kicks` names any), there is
//! no ready thread `T` and started CPU `c` with `c` in `T`'s affinity and `T`'s priority above
//! that of `c`'s running thread (an idle thread ranks below every priority). That is global
//! scheduling: the running threads are the best ready threads allowed where they run. The
//! interpreter (`interp`) checks it after every step.
//!
//! # How
//!
//! One global ready queue; each CPU takes the best thread *allowed on it* when it chooses.
//! The scheduler keeps no record of which CPU was told what: which CPUs must take a ready
//! thread now (*designated*, [`kicks`](Scheduler::kicks)) is computed from the state itself.
//! The ready threads, best first, are each assigned the lowest-ranked started CPU of their
//! affinity not assigned yet (an idle CPU first, then the lowest priority; the lowest index
//! among equals); a CPU is designated when the thread assigned to it outranks what it runs.
//! So a thread made ready preempts the CPU running the lowest priority it may use, and no
//! other: another CPU's tick or check that sees it keeps its own thread.
//!
//! The kernel interrupts every designated CPU when it lets go of the scheduler lock (a CPU
//! whose own decision left it designated interrupts itself). A check compares under the
//! lock, so a kick that arrives late or merged with another interrupt costs a look, never a
//! wrong choice, and a kick that was lost to a race is sent again at the next release, since
//! nothing consumed it. Each check that switches puts the preempted thread back, which may
//! designate another CPU: the kicks go on until no CPU is designated, and then no ready
//! thread outranks a CPU it may use (the first ready thread that did would have been
//! assigned that CPU or a lower one): the guarantee holds.
//!
//! Rejected: kicking one CPU per thread made ready and marking it *pending* until it looked,
//! so that the next thread went elsewhere. It needs no computation at release, but every
//! path that consumes a kick must clear the mark and recheck the others; one such path
//! missed (a tick that merged with the interrupt, a CPU that blocked before its check) left
//! a CPU marked for good, skipped by every later placement while threads waited. Also
//! rejected: kicking every CPU a ready thread outranks (Zephyr's broadcast): simple, but the
//! first CPU to look takes the thread, which is then not always the lowest one.
//!
//! # The yield among pinned threads
//!
//! A yield that swaps the running thread with the head of its level, both pinned to the
//! yielding CPU alone, changes nothing another CPU could be told, and the hold's
//! [`take_new_kicks_on`](Scheduler::take_new_kicks_on) answers at once (`kicks_settled`),
//! leaving `told` as it was. The two threads can be assigned that CPU only, and its rank is
//! unchanged (the same priority runs). In the walk of the designation the head used to
//! remove that CPU from the free ones first thing in its level, and the yielding thread, now
//! last in that level, removes it after the others of the level; between the two, a thread
//! of that level or lower that finds the CPU still free and picks it (the lowest-ranked of its
//! affinity) cannot outrank it, so it designates nothing, there or elsewhere, and removes
//! its affinity's CPUs as before plus this one. By the end of the level the free CPUs and
//! the designated ones are as before, and so is the rest of the walk: the designation is the
//! same. No other CPU got a peer (both threads may run only here), and the yield starts the
//! new thread's slice. So whatever was due before the yield is still due after it, and still
//! unconsumed: a hold that left kicks to a later one (an interrupt handler's wake-up, whose
//! reschedule check sends them) keeps that promise. Debug builds check the designation and
//! the other CPUs' peers before and after every such yield; the audit checks that no hold
//! leaves the flag set.
//!
//! # Cost
//!
//! With one started CPU and no restricted thread (`simple`), `kicks` is one load and a
//! branch, and a thread made ready only marks the CPU's check as due, as a one-CPU scheduler
//! does. Otherwise the designation reads each started CPU's rank and walks the ready queue
//! from the best thread: at most one thread per CPU while no live thread has a restricted
//! affinity (`restricted == 0`), else until every CPU is assigned or the queue ends (bounded
//! by the number of ready threads).

use super::slice::{self, UNTIMED};
use super::{Requeue, Scheduler};
use crate::thread::{State, Thread};
use crate::{CpuId, Next, Priority, SchedError, ThreadId, ALL_CPUS, MAX_CPUS};

impl<T, S: crate::StoreKind> Scheduler<T, S> {
    /// Creates a thread allowed on the CPUs of `affinity` (bit `n`: CPU `n`; bits of CPUs
    /// beyond [`MAX_CPUS`] are ignored), Ready at the back of its level. Follow with
    /// [`take_new_kicks`](Self::take_new_kicks) and [`preempt_check`](Self::preempt_check).
    ///
    /// # Errors
    /// [`SchedError::NoAllowedCpu`] if `affinity` names no started CPU (nothing is created).
    pub fn spawn_with_affinity(
        &mut self,
        priority: Priority,
        affinity: u32,
        data: T,
    ) -> Result<ThreadId, SchedError> {
        let affinity = affinity & ALL_CPUS;
        if affinity & self.started == 0 {
            return Err(SchedError::NoAllowedCpu);
        }
        let mut thread = Thread::new(data, priority, None);
        thread.affinity = affinity;
        let id = self.insert(thread);
        if affinity != ALL_CPUS {
            self.restricted += 1;
            self.update_simple();
        }
        self.make_ready(id);
        self.trace.wake(id, Some(crate::trace::WakeCause::Spawned));
        Ok(id)
    }

    /// Restricts the running thread of `cpu` to the CPUs of `mask` (bits beyond
    /// [`MAX_CPUS`] ignored). If `cpu` is still allowed it keeps running ([`Next::Keep`]);
    /// otherwise it goes back to the front of its level, a CPU it may use is kicked if it
    /// outranks what runs there, and `cpu` switches.
    ///
    /// # Errors
    /// [`SchedError::IdleThread`] for an idle thread, [`SchedError::NoAllowedCpu`] if `mask`
    /// names no started CPU (nothing changes).
    pub fn set_affinity(&mut self, cpu: CpuId, mask: u32) -> Result<Next, SchedError> {
        let cur = self.running(cpu);
        let mask = mask & ALL_CPUS;
        if self.entry(cur).is_idle() {
            return Err(SchedError::IdleThread);
        }
        if mask & self.started == 0 {
            return Err(SchedError::NoAllowedCpu);
        }
        let old = core::mem::replace(&mut self.entry_mut(cur).affinity, mask);
        if old != ALL_CPUS {
            self.restricted -= 1;
        }
        if mask != ALL_CPUS {
            self.restricted += 1;
        }
        self.update_simple();
        if mask & (1 << cpu) != 0 {
            return Ok(Next::Keep);
        }
        self.requeue_current(cpu, cur, Requeue::Head);
        Ok(self.switch_from(cpu, cur))
    }

    /// The CPUs `id` may run on; `None` for a stale id.
    #[must_use]
    pub fn affinity(&self, id: ThreadId) -> Option<u32> {
        self.threads.get(id).map(|t| t.affinity)
    }

    /// The CPUs [`start`](Self::start)ed so far (bit `n`: CPU `n`).
    #[must_use]
    pub fn started_cpus(&self) -> u32 {
        self.started
    }

    /// The started CPUs that must run [`preempt_check`](Self::preempt_check) because a ready
    /// thread is due there (bit `n`: CPU `n`; see the module docs), the calling CPU's own bit
    /// included. Always 0 in the one-CPU mode, where the CPU's own decisions look at the
    /// queue.
    #[must_use]
    #[inline]
    pub fn kicks(&self) -> u32 {
        if self.simple {
            return 0;
        }
        self.designated()
    }

    /// The CPUs to interrupt now: those [`kicks`](Self::kicks) names that it did not name at
    /// the previous call, and those whose running thread, untimed, has just got a peer that
    /// no designated CPU is about to take (its slice starts now and the CPU's timer must be
    /// programmed: see `slice`). A CPU stays designated until its check takes a thread, and
    /// one interrupt makes that check, so it is told once: the caller sends after the change
    /// that designated it, under the lock, and the check takes the lock after. (Sending to
    /// every designated CPU at every release made a storm of interrupts at a CPU slow to
    /// look.) Always 0 in the one-CPU mode.
    #[inline]
    pub fn take_new_kicks(&mut self) -> u32 {
        self.take_new_kicks_on(MAX_CPUS)
    }

    /// [`take_new_kicks`](Self::take_new_kicks) called on `cpu`, which programs its own timer
    /// after it ([`retime`](Self::retime)): a slice that starts on `cpu` for a newly arrived
    /// peer needs no interrupt to `cpu`, and its bit is left out (a designated `cpu` is still
    /// named). `MAX_CPUS` or more: no such CPU.
    #[inline]
    pub fn take_new_kicks_on(&mut self, cpu: CpuId) -> u32 {
        if self.simple {
            return 0;
        }
        if self.kicks_settled {
            // A yield that swapped two threads pinned to this CPU alone: nothing new (see
            // "The yield among pinned threads" in the module docs); `told` stays.
            self.kicks_settled = false;
            return 0;
        }
        self.new_kicks_smp(cpu)
    }

    /// [`take_new_kicks_on`](Self::take_new_kicks_on) with several CPUs or restricted threads.
    #[inline(never)]
    fn new_kicks_smp(&mut self, caller: CpuId) -> u32 {
        if self.handoff.is_none() && self.ready.highest().is_none() {
            // Nothing ready: nothing is due anywhere, and nobody has a new peer.
            self.told = 0;
            return 0;
        }
        let own = if caller < MAX_CPUS { 1 << caller } else { 0 };
        if self.restricted != 0 {
            let may = self.ready_cpus();
            if may & may.wrapping_sub(1) == 0 {
                // Everything ready may run on one CPU at most (threads pinned to one core: the
                // caller's own, or another's — a wake-up for a thread pinned elsewhere). Then
                // `peers_arrived` would look at that CPU alone: the same steps, without the
                // walk and without computing `ready_cpus` twice more.
                let now = self.designated_among(may);
                let new = now & !self.told;
                self.told = now;
                let cpu = slice::cpu_slot(may.trailing_zeros() as CpuId);
                if may & self.started & !now != 0
                    && self.clock[cpu].slice_end == UNTIMED
                    && self.has_peer(cpu)
                {
                    // A CPU running a thread untimed whose peer just became ready must program
                    // its timer for the slice that starts now (the caller does its own).
                    self.begin_slice(cpu, self.slice_len);
                    return new | (may & !own);
                }
                return new;
            }
        }
        let now = self.designated();
        let new = now & !self.told;
        self.told = now;
        // A CPU running a thread untimed whose peer just became ready must program its timer
        // for the slice that starts now (the caller does its own).
        new | (self.peers_arrived(now) & !own)
    }

    /// Whether `cpu` must take a ready thread now: always with one CPU when one outranks its
    /// running thread; with several, only if `cpu` is the one that thread is due on.
    #[inline]
    pub(super) fn must_take(&self, cpu: CpuId) -> bool {
        self.simple || self.designated() & (1 << cpu) != 0
    }

    /// The started CPUs some ready thread (queued or in the hand-off slot) may run on; 0 if
    /// nothing is ready. Every ready thread may run on one of them at least (an affinity
    /// names a started CPU when it is set, and CPUs do not stop).
    #[inline]
    pub(super) fn ready_cpus(&self) -> u32 {
        let hand = self.handoff.map_or(0, |h| self.entry(h).affinity);
        (self.pinned.cpus(self.ready.len()) | hand) & self.started
    }

    /// Recomputes `simple` after a CPU started or `restricted` changed. Entering the one-CPU
    /// mode, where a check returns at once unless marked due, marks it due: with several
    /// CPUs nothing kept the mark.
    pub(super) fn update_simple(&mut self) {
        let simple = self.started & self.started.wrapping_sub(1) == 0 && self.restricted == 0;
        if simple && !self.simple {
            self.check_due = u32::MAX;
            self.told = 0;
        }
        self.simple = simple;
    }

    /// A thread has become ready, or a running one was lowered: with one CPU, its next check
    /// must look. With several, [`kicks`](Self::kicks) finds the CPUs concerned; the mark is
    /// set all the same (a store, cheaper than testing `simple`), and read only in the
    /// one-CPU mode, which marks every CPU due when it is entered anyway.
    #[inline]
    pub(super) fn note_ready(&mut self) {
        self.check_due = u32::MAX;
    }

    /// Whether the one ready thread waits in the hand-off slot and may not run on `cpu`: a
    /// wake-up for a thread pinned elsewhere, seen by the waker's CPU. That CPU cannot be
    /// designated, and this test costs a few loads where the designation walks the CPUs.
    #[inline]
    pub(super) fn only_ready_elsewhere(&self, cpu: CpuId) -> bool {
        self.handoff
            .is_some_and(|h| self.entry(h).affinity & (1 << cpu) == 0)
            && self.ready.highest().is_none()
    }

    /// The highest priority among ready threads allowed on `cpu`.
    #[inline]
    pub(super) fn top_for(&self, cpu: CpuId) -> Option<Priority> {
        if self.restricted == 0 {
            return self.ready_top();
        }
        self.allowed_top(cpu)
    }

    /// [`top_for`](Self::top_for) when some threads are restricted: the hand-off thread if
    /// allowed, else a walk of the queue.
    #[inline(never)]
    fn allowed_top(&self, cpu: CpuId) -> Option<Priority> {
        let bit = 1 << cpu;
        if let Some(h) = self.handoff {
            if self.entry(h).affinity & bit != 0 {
                return Some(self.handoff_level);
            }
        }
        if !self.pinned.any_for(cpu, self.ready.len()) {
            return None;
        }
        let threads = &self.threads;
        self.ready
            .first_where(threads.slots(), |i| {
                threads.slot(i).entry().affinity & bit != 0
            })
            .map(|(_, level)| level)
    }

    /// [`allowed_top`](Self::allowed_top) by a walk of every ready thread (the audit's).
    fn allowed_top_by_walk(&self, cpu: CpuId) -> Option<Priority> {
        let bit = 1 << cpu;
        let hand = self
            .handoff
            .filter(|&h| self.entry(h).affinity & bit != 0)
            .map(|_| self.handoff_level);
        let mut best = None;
        for (_, t) in self.threads.iter() {
            if t.link.level().is_some() && t.affinity & bit != 0 {
                best = best.max(Some(t.priority));
            }
        }
        hand.or(best)
    }

    /// Takes the best ready thread allowed on `cpu` off the queue (or names `cpu`'s idle
    /// thread): the dispatch when some threads are restricted.
    #[inline(never)]
    pub(super) fn take_allowed(&mut self, cpu: CpuId) -> ThreadId {
        let bit = 1 << cpu;
        // The hand-off thread outranks every queued one: first choice where it is allowed,
        // and where it is not it may stay in its slot.
        if let Some(h) = self.handoff {
            if self.entry(h).affinity & bit != 0 {
                self.handoff = None;
                return h;
            }
        }
        if !self.pinned.any_for(cpu, self.ready.len()) {
            return self.idle_of(cpu);
        }
        let threads = &self.threads;
        let found = self.ready.first_where(threads.slots(), |i| {
            threads.slot(i).entry().affinity & bit != 0
        });
        match found {
            Some((index, _)) => {
                self.ready.remove(self.threads.slots_mut(), index);
                let id = self.id_of_slot(index);
                self.pinned.remove(self.entry(id).affinity);
                id
            }
            None => self.idle_of(cpu),
        }
    }

    /// `cpu`'s idle thread, for when nothing ready may run there.
    fn idle_of(&self, cpu: CpuId) -> ThreadId {
        self.idle[cpu].unwrap_or_else(|| panic!("cpu {cpu} has nothing to run and no idle thread"))
    }

    /// A thread that was restricted no longer counts (it exited).
    pub(super) fn forget_affinity(&mut self, id: ThreadId) {
        let t = self.entry_mut(id);
        if core::mem::replace(&mut t.affinity, ALL_CPUS) != ALL_CPUS {
            self.restricted -= 1;
            self.update_simple();
        }
    }

    /// Checks the SMP bookkeeping: started CPUs, ranks, the restricted count.
    pub(super) fn audit_smp(&self) -> Result<(), &'static str> {
        for cpu in 0..MAX_CPUS {
            let started = self.started & (1 << cpu) != 0;
            if started != self.current[cpu].is_some() {
                return Err("started mask disagrees with the cpus' current threads");
            }
        }
        let mut restricted = 0;
        for (_, t) in self.threads.iter() {
            if t.affinity & !ALL_CPUS != 0 || t.affinity == 0 {
                return Err("affinity names no cpu or a cpu beyond MAX_CPUS");
            }
            if !t.is_idle() && t.affinity != ALL_CPUS {
                if matches!(t.state, State::Zombie(_)) {
                    return Err("a zombie keeps a restricted affinity");
                }
                restricted += 1;
            }
            if let State::Running(cpu) = t.state {
                if t.affinity & (1 << cpu) == 0 {
                    return Err("thread runs on a cpu outside its affinity");
                }
            }
        }
        if restricted != self.restricted {
            return Err("restricted-thread count is off");
        }
        let queued = self
            .threads
            .iter()
            .filter(|(_, t)| t.link.level().is_some());
        if super::pinned::Pinned::recount(queued.map(|(_, t)| t.affinity)) != self.pinned {
            return Err("per-cpu counts of queued restricted threads are off");
        }
        if self.designated() != self.designated_by_walk() {
            return Err("designated cpus differ from the walk of every ready thread");
        }
        for cpu in 0..MAX_CPUS {
            if self.started & (1 << cpu) != 0
                && self.allowed_top(cpu) != self.allowed_top_by_walk(cpu)
            {
                return Err("best ready thread allowed on a cpu differs from the walk");
            }
        }
        if self.kicks_settled {
            return Err("a yield's settled kicks outlived its hold");
        }
        if self.simple != (self.started.count_ones() <= 1 && self.restricted == 0) {
            return Err("one-CPU mode flag is off");
        }
        Ok(())
    }
}
