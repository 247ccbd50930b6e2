//! Time: round-robin slices measured on the counter, and when each CPU's timer must fire.
//!
//! There is no periodic tick. Each CPU's timer is programmed for the one moment its
//! scheduler has something to do — its [`alarm`](Scheduler::alarm): the end of the running
//! thread's slice while an equal-priority thread waits for its turn, and, on the CPU that
//! watches the deadlines, the earliest sleep or timeout. With nothing due the timer stays
//! off, busy or idle.
//!
//! **Slices.** A thread put on a CPU gets a slice of [`time_slice`](Scheduler::time_slice)
//! counter units from then (or the rest of the one a preemption interrupted): its *slice
//! end*. A thread whose slice ends while no equal-priority thread is ready for its CPU, or
//! that was put on the CPU with none ready, runs *untimed* (slice end `Ticks::MAX`: no timer
//! for it) until one becomes ready; the newcomer then waits at most one slice (with several
//! CPUs, rarely two: a slice that ends while a better thread is on its way to another CPU is
//! renewed — see `tick`). With one CPU the preemption check that follows
//! every wake-up notices the newcomer; with several, the release of the scheduler lock does
//! ([`take_new_kicks`](Scheduler::take_new_kicks) names the CPU, whose interrupt programs
//! its timer).
//!
//! **Deadlines.** One heap holds every CPU's deadlines. One CPU at a time, the *watcher*,
//! keeps its timer at or before the earliest: the CPU that last made a deadline the earliest
//! one (its thread went to sleep), since that CPU is running the scheduler right then and
//! can program its own timer. A timer event on the watcher wakes everything due and
//! programs the next earliest. A CPU that stops being the watcher may take one early
//! interrupt that finds nothing due.
//!
//! **How the kernel is told.** The kernel records when it programmed each CPU's timer
//! ([`retime`](Scheduler::retime) returns the new value); a slice that starts before that
//! moment, or a deadline that became the earliest, makes `retime` answer. The check is two
//! loads and a compare on every release of the scheduler lock, where a thread switch or a
//! wake-up may have moved the alarm earlier. A later alarm is never programmed eagerly: the
//! timer fires early, finds nothing, and programs the right time.
//!
//! Rejected: one timer heap per CPU (each CPU arms for its own threads' deadlines). A
//! thread may wake on any CPU, so the heaps would follow every migration, and the
//! reservation at spawn would be per CPU. Also rejected: keeping a periodic tick while a
//! thread runs (ThreadX, FreeRTOS): a thread running alone would take an interrupt every
//! slice for nothing, and sleeps would end on the tick grid, up to a tick late.

use super::Scheduler;
use crate::{CpuId, Priority, Ticks, MAX_CPUS};

/// `cpu` as an index of the per-CPU arrays, masked rather than bounds-checked: for the hot
/// paths, where `cpu` is the kernel's own core number (checked in debug builds).
#[inline(always)]
pub(crate) fn cpu_slot(cpu: CpuId) -> CpuId {
    debug_assert!(cpu < MAX_CPUS, "cpu {cpu} out of range");
    cpu & (MAX_CPUS - 1)
}

/// The slice end of a CPU that needs no timer for its slice: its idle thread, or a thread
/// with nobody of its priority to share with (`Ticks::MAX` in the public accessors). Later
/// than any real slice end.
pub(crate) const UNTIMED: Ticks = Ticks::MAX - 1;

/// `timer_at` of a CPU whose timer is off (no alarm): no earlier than [`UNTIMED`], so that an
/// untimed thread asks for nothing.
pub(crate) const TIMER_OFF: Ticks = Ticks::MAX - 1;

/// `timer_at` of a CPU whose timer must be programmed anew (a deadline became the earliest
/// there): every slice end is earlier, [`UNTIMED`] included, so
/// [`retime`](Scheduler::retime) answers.
pub(crate) const TIMER_STALE: Ticks = Ticks::MAX;

/// A CPU's time: the two words every release of the scheduler lock compares, side by side
/// (one load of the pair).
#[derive(Clone, Copy, Debug)]
pub(crate) struct CpuClock {
    /// When the running thread's slice ends ([`UNTIMED`]: no slice to end — an idle thread,
    /// or nobody of its priority to share with).
    pub(crate) slice_end: Ticks,
    /// When the kernel last programmed the CPU's timer for ([`TIMER_OFF`]: off;
    /// [`TIMER_STALE`]: to be programmed anew).
    pub(crate) timer_at: Ticks,
}

impl CpuClock {
    /// A CPU not started: nothing to time, timer off.
    pub(crate) const NEW: Self = Self {
        slice_end: UNTIMED,
        timer_at: TIMER_OFF,
    };
}

impl<T, S: crate::StoreKind> Scheduler<T, S> {
    /// Changes the length of future slices, in counter units (at least 1, at most
    /// `u32::MAX`). Slices already under way end as they were.
    pub fn set_time_slice(&mut self, len: Ticks) {
        self.slice_len = len.clamp(1, Ticks::from(u32::MAX));
    }

    /// The time of the decisions now being taken: the kernel calls this with the counter's
    /// value whenever it takes the scheduler lock, before asking for a decision. Slices
    /// start and end by it. Not checked for going backwards (the counter does not).
    #[inline(always)]
    pub fn set_now(&mut self, now: Ticks) {
        self.now = now;
    }

    /// Starts a slice of `len` from now on `cpu`.
    #[inline(always)]
    pub(super) fn begin_slice(&mut self, cpu: CpuId, len: Ticks) {
        // The counter takes thousands of years to come near wrapping.
        self.clock[cpu].slice_end = self.now.wrapping_add(len);
    }

    /// What is left of `cpu`'s slice now, to keep for a preempted thread: 0 (a fresh one
    /// later) if it was untimed, at least 1 if it is over but not yet taken away.
    #[inline(always)]
    pub(super) fn slice_left_now(&self, cpu: CpuId) -> u32 {
        let end = self.clock[cpu].slice_end;
        if end == UNTIMED {
            return 0;
        }
        // At most `slice_len`, which fits (see `set_time_slice`).
        end.saturating_sub(self.now).clamp(1, Ticks::from(u32::MAX)) as u32
    }

    /// `cpu`'s slice ended with nobody to share with: it runs on untimed.
    #[inline(always)]
    pub(super) fn go_untimed(&mut self, cpu: CpuId) {
        self.clock[cpu].slice_end = UNTIMED;
    }

    /// Whether a ready thread allowed on `cpu` has the priority of its running thread: a peer
    /// to take turns with, for whom its slice matters. (A better ready thread is no peer: if
    /// it is due on `cpu`, the kick makes `cpu` take it whatever its slice; if it is due
    /// elsewhere, `cpu`'s slice is none of its business, and counting it made every wake-up
    /// of a thread for an idle CPU interrupt each CPU running a lower thread untimed.)
    pub(super) fn has_peer(&self, cpu: CpuId) -> bool {
        let t = self.entry(self.running(cpu));
        !t.is_idle() && self.peer_ready(cpu, t.priority)
    }

    /// Whether a thread of priority `level` allowed on `cpu` is ready.
    #[inline]
    fn peer_ready(&self, cpu: CpuId, level: Priority) -> bool {
        let bit = 1 << cpu;
        let allowed = |t: &crate::thread::Thread<T>| self.restricted == 0 || t.affinity & bit != 0;
        if let Some(h) = self.handoff {
            if self.handoff_level == level && allowed(self.entry(h)) {
                return true;
            }
        }
        if self.restricted == 0 {
            return self.ready.head(level).is_some();
        }
        let threads = &self.threads;
        self.ready.any_in(threads.slots(), level, |i| {
            threads.slot(i).entry().affinity & bit != 0
        })
    }

    /// With several CPUs, while threads are ready: the CPUs running a thread untimed that
    /// now has someone to share with start a slice. Returns them: their timers must be
    /// programmed, so the kernel interrupts them as it does for a kick. (With one CPU the
    /// preemption check after a wake-up does this for its own CPU.) `designated`: the CPUs
    /// about to take a ready thread ([`designated`](Self::designated)), which are skipped.
    ///
    /// While every thread may run everywhere, the designated CPUs take the first ready
    /// threads in queue order, one each; only the next one waits, and it is the peer of the
    /// CPUs running its priority (no other CPU runs below it, or it would be designated).
    /// Counting the threads an idle CPU is about to take as peers interrupted every CPU
    /// running their priority untimed at each such wake-up, for nothing. With restricted
    /// threads, any ready thread of the running one's priority allowed on the CPU counts.
    #[inline(never)]
    pub(super) fn peers_arrived(&mut self, designated: u32) -> u32 {
        let mut left = self.started & !designated;
        let waiting = if self.restricted == 0 {
            match self.nth_ready_level(designated.count_ones()) {
                Some(level) => Some(level),
                None => return 0,
            }
        } else {
            // Only a CPU some ready thread may use can have a peer (see `pinned`): with
            // threads pinned to one core, the idle others are not looked at.
            left &= self.ready_cpus();
            None
        };
        let mut found = 0;
        while left != 0 {
            let cpu = cpu_slot(left.trailing_zeros() as CpuId);
            left &= left - 1;
            if self.clock[cpu].slice_end != UNTIMED {
                continue;
            }
            let peer = match waiting {
                Some(level) => {
                    let t = self.entry(self.running(cpu));
                    !t.is_idle() && t.priority == level
                }
                None => self.has_peer(cpu),
            };
            if peer {
                self.begin_slice(cpu, self.slice_len);
                found |= 1 << cpu;
            }
        }
        found
    }

    /// The priority of the ready thread `n` places after the first in queue order (the
    /// hand-off thread first, then best level first, FIFO within a level), if there is one.
    fn nth_ready_level(&self, n: u32) -> Option<Priority> {
        let mut skip = n;
        if self.handoff.is_some() {
            if skip == 0 {
                return Some(self.handoff_level);
            }
            skip -= 1;
        }
        self.ready
            .first_where(self.threads.slots(), |_| {
                let found = skip == 0;
                skip = skip.saturating_sub(1);
                found
            })
            .map(|(_, level)| level)
    }

    /// Call when a deadline was added for a thread of `cpu`: if it is now the earliest,
    /// `cpu` becomes the watcher and its timer must be programmed for it.
    #[inline]
    pub(super) fn deadline_added(&mut self, cpu: CpuId, deadline: Ticks) {
        if self.next_deadline() == Some(deadline) {
            self.watcher = cpu;
            self.clock[cpu].timer_at = TIMER_STALE;
        }
    }

    /// When `cpu`'s timer must fire next: the end of its slice if a thread of the running
    /// one's priority is ready for it, and the earliest deadline if `cpu` watches them.
    /// `Ticks::MAX`: never (stop the timer). A slice end found to have no peer makes the
    /// CPU untimed, which saves an interrupt that would find nothing to do.
    pub fn alarm(&mut self, cpu: CpuId) -> Ticks {
        assert!(cpu < MAX_CPUS, "cpu {cpu} out of range");
        let mut at = self.clock[cpu].slice_end;
        if at == UNTIMED {
            at = Ticks::MAX;
        } else if self.current[cpu].is_some() && !self.has_peer(cpu) {
            self.go_untimed(cpu);
            at = Ticks::MAX;
        }
        if self.watcher == cpu {
            if let Some(d) = self.next_deadline() {
                at = at.min(d);
            }
        }
        at
    }

    /// Whether `cpu`'s timer, last programmed for `timer_at(cpu)`, fires too late for what
    /// the scheduler now knows: if so, the new [`alarm`](Self::alarm) (`Ticks::MAX`: stop
    /// it), recorded as programmed. Call before every release of the scheduler lock (and
    /// from the timer interrupt, after its decision).
    ///
    /// One compare: a slice that ends before the timer fires, where a timer that is off
    /// reads [`TIMER_OFF`] (no earlier than an untimed thread's [`UNTIMED`]) and one that
    /// must be programmed anew, because a deadline became the earliest, reads
    /// [`TIMER_STALE`] (later than every slice end, `UNTIMED` included).
    #[inline(always)]
    pub fn retime(&mut self, cpu: CpuId) -> Option<Ticks> {
        debug_assert!(cpu < MAX_CPUS, "cpu {cpu} out of range");
        // A mask rather than a bounds check: `cpu` comes from the kernel's own core number.
        let c = self.clock[cpu & (MAX_CPUS - 1)];
        if c.slice_end >= c.timer_at {
            return None;
        }
        Some(self.retime_now(cpu))
    }

    /// The timer interrupt's [`retime`](Self::retime): always computes the alarm (the one
    /// programmed has just fired).
    pub fn retime_now(&mut self, cpu: CpuId) -> Ticks {
        let at = self.alarm(cpu);
        self.clock[cpu].timer_at = if at == Ticks::MAX { TIMER_OFF } else { at };
        at
    }

    /// When the kernel last programmed `cpu`'s timer for (`Ticks::MAX`: off, or to be
    /// programmed anew).
    #[must_use]
    pub fn timer_at(&self, cpu: CpuId) -> Ticks {
        match self.clock[cpu].timer_at {
            TIMER_OFF | TIMER_STALE => Ticks::MAX,
            at => at,
        }
    }

    /// The length of a fresh slice, in counter units.
    #[must_use]
    pub fn time_slice(&self) -> Ticks {
        self.slice_len
    }

    /// When the slice of `cpu`'s running thread ends (`Ticks::MAX`: untimed, or an idle
    /// thread, or `cpu` not started).
    #[must_use]
    pub fn slice_end(&self, cpu: CpuId) -> Ticks {
        match self.current.get(cpu) {
            Some(Some(_)) if self.clock[cpu].slice_end != UNTIMED => self.clock[cpu].slice_end,
            _ => Ticks::MAX,
        }
    }

    /// The CPU that keeps its timer at or before the earliest deadline.
    #[must_use]
    pub fn deadline_watcher(&self) -> CpuId {
        self.watcher
    }
}
