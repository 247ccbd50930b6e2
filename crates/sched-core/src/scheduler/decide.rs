//! The decisions taken while the current thread stays runnable.
//!
//! These run on every timer interrupt and after every wake-up, so they are kept
//! to O(log n) index shuffling with no allocation. The rules they share: a
//! strictly higher ready priority always wins, the idle thread yields to anyone,
//! and equal priorities only take turns at slice expiry or on a voluntary yield.

use super::{slice, Requeue, Scheduler};
use crate::{CpuId, Next, Priority, State, ThreadId, Ticks, MAX_CPUS};

impl<T, S: crate::StoreKind> Scheduler<T, S> {
    /// Picks the first thread `cpu` runs: the highest ready one, else its idle
    /// thread. It is marked `Running(cpu)` with a fresh slice.
    ///
    /// # Panics
    /// If `cpu` is out of range or already started, or if nothing is ready and
    /// `cpu` has no idle thread.
    pub fn start(&mut self, cpu: CpuId) -> ThreadId {
        assert!(cpu < MAX_CPUS, "cpu {cpu} out of range");
        assert!(self.current[cpu].is_none(), "cpu {cpu} started twice");
        self.started |= 1 << cpu;
        self.check_due &= !(1 << cpu);
        let id = self.dispatch(cpu);
        self.update_simple();
        id
    }

    /// Call after anything made a thread ready or changed a priority, on the calling CPU and
    /// on every CPU [`kicks`](Self::kicks) named: if a ready thread allowed on `cpu` outranks
    /// its current one, the current one goes back to the front of its level (keeping the
    /// rest of its slice) and the other runs. With one CPU, returns `Keep` at once unless a
    /// thread was made ready since the last check.
    pub fn preempt_check(&mut self, cpu: CpuId) -> Next {
        if !self.simple {
            return self.preempt_check_smp(cpu);
        }
        let bit = 1u32 << cpu;
        if self.check_due & bit == 0 {
            return Next::Keep;
        }
        self.check_due &= !bit;
        // A mask rather than a bounds check: `cpu` comes from the kernel's own core number
        // (and `running` below still panics for a CPU never started).
        let cpu = slice::cpu_slot(cpu);
        let cur = self.running(cpu);
        let Some(top) = self.ready_top() else {
            return Next::Keep;
        };
        let t = self.entry(cur);
        if t.is_idle() || top > t.priority {
            // One-CPU mode: no thread is restricted, nothing to count in `pinned`.
            self.requeue_current_inline::<false>(cpu, cur, Requeue::Head);
            // The common case, a wake-up that preempts the waker: the woken thread waits in
            // the hand-off slot, and this path makes no call (no registers to save). The
            // queue's case, out of line, ends the function (a tail call).
            let Some(to) = self.handoff.take() else {
                return self.switch_to_queued(cpu, cur);
            };
            self.run_on(cpu, to, false);
            Next::Switch { from: cur, to }
        } else {
            if top == t.priority && self.clock[cpu].slice_end == slice::UNTIMED {
                // A peer arrived for a thread running untimed: its turn ends a slice
                // from now.
                self.begin_slice(cpu, self.slice_len);
            }
            Next::Keep
        }
    }

    /// [`preempt_check`](Self::preempt_check)'s switch when the hand-off slot is empty:
    /// `cur` has been requeued; the head of the queue (or the idle thread) runs.
    #[inline(never)]
    fn switch_to_queued(&mut self, cpu: CpuId, cur: ThreadId) -> Next {
        let to = self.dispatch_inline(cpu);
        Next::Switch { from: cur, to }
    }

    /// [`preempt_check`](Self::preempt_check) with several CPUs or restricted threads: it
    /// always looks (the CPUs [`kicks`](Self::kicks) names may differ from the ones actually
    /// interrupted by the time they look), and switches if a ready thread is due here.
    #[inline(never)]
    fn preempt_check_smp(&mut self, cpu: CpuId) -> Next {
        let cur = self.running(cpu);
        // The cross-core wake-up of a thread pinned here while this CPU idles: the hand-off
        // thread is the only ready one and may run on no other started CPU, so the
        // designation gives it this CPU (any thread outranks an idle one). The same
        // decision as the general steps below, without them.
        if let Some(h) = self.handoff {
            if self.ready.highest().is_none()
                && self.entry(h).affinity & self.started == 1 << cpu
                && self.entry(cur).is_idle()
            {
                self.entry_mut(cur).state = State::Ready;
                self.handoff = None;
                // Nothing else is ready: it runs untimed.
                self.run_on(cpu, h, false);
                return Next::Switch { from: cur, to: h };
            }
        }
        if self.only_ready_elsewhere(cpu) {
            return Next::Keep;
        }
        self.preempt_check_general(cpu, cur)
    }

    /// [`preempt_check_smp`](Self::preempt_check_smp) past its short cuts for an idle CPU and
    /// for a thread ready only elsewhere (out of line, so that those keep a small frame).
    #[inline(never)]
    fn preempt_check_general(&mut self, cpu: CpuId, cur: ThreadId) -> Next {
        // The wake-up of a thread pinned here that outranks the running one (a thread
        // preempting its waker on their core): the designation gives it this CPU too (the
        // hand-off thread is assigned first, and this CPU is the only one it may use), and the
        // dispatch would take it first. The same decision, without the designation's
        // computation and the general requeue and dispatch.
        if let Some(h) = self.handoff {
            if self.entry(h).affinity & self.started == 1 << cpu
                && u16::from(self.handoff_level) + 1 > self.cpu_rank(cpu)
            {
                return self.take_pinned_handoff(cpu, cur, h);
            }
        }
        if self.designated() & (1 << cpu) == 0 {
            return Next::Keep;
        }
        // An idle CPU woken for a thread (the common cross-core wake-up) has nothing to
        // requeue: its idle thread only stops running, without the out-of-line call.
        let t = self.entry_mut(cur);
        if t.is_idle() {
            t.state = State::Ready;
        } else {
            self.requeue_current(cpu, cur, Requeue::Head);
        }
        let to = self.dispatch(cpu);
        Next::Switch { from: cur, to }
    }

    /// [`preempt_check_smp`](Self::preempt_check_smp)'s switch to the hand-off thread `h`,
    /// pinned to `cpu` and outranking `cur`: `cur` back to the front of its level (keeping
    /// the rest of its slice), `h` on the CPU, timed if a thread of its level is queued (as
    /// [`dispatch`](Self::dispatch) decides).
    #[inline(always)]
    fn take_pinned_handoff(&mut self, cpu: CpuId, cur: ThreadId, h: ThreadId) -> Next {
        let t = self.entry_mut(cur);
        if t.is_idle() {
            t.state = State::Ready;
        } else {
            self.requeue_current_inline::<true>(cpu, cur, Requeue::Head);
        }
        self.handoff = None;
        let timed = self.ready.head(self.handoff_level).is_some();
        self.run_on(cpu, h, timed);
        Next::Switch { from: cur, to: h }
    }

    /// The current thread gives up its turn: it goes to the back of its level
    /// and the best ready thread runs. Stays on the CPU, untimed (see `slice`), if
    /// nothing of equal or higher priority is ready.
    pub fn yield_now(&mut self, cpu: CpuId) -> Next {
        // A mask rather than a bounds check, as in `preempt_check`.
        let cpu = slice::cpu_slot(cpu);
        let cur = self.running(cpu);
        let t = self.entry(cur);
        let (idle, prio) = (t.is_idle(), t.priority);
        match self.ready_top() {
            // The common case: an equal is ready, nothing higher. One round-robin step of the
            // level: the current thread to its back, its head on the CPU. The yielding thread
            // outranks no CPU its peer, just as good and allowed everywhere, did not outrank
            // before (see `smp`).
            Some(top) if !idle && top == prio => {
                if self.restricted != 0 {
                    // With restricted threads, the same step when the head shares the yielding
                    // thread's affinity (threads pinned to one core take turns there): it may
                    // run here, and the per-CPU counts do not change. Anything else, out of
                    // line.
                    let affinity = self.entry(cur).affinity;
                    if self.handoff.is_some() || !self.head_shares_affinity(affinity, prio) {
                        return self.yield_restricted(cpu, cur, idle, prio);
                    }
                    if affinity == 1 << cpu {
                        // Two threads pinned to this CPU alone: the hold has nothing new to
                        // tell (see `smp`, "The yield among pinned threads").
                        self.kicks_settled = true;
                        if cfg!(debug_assertions) {
                            return self.pinned_swap_checked(cpu, cur, prio);
                        }
                    }
                } else if self.handoff.is_some() {
                    // The rotation works on the queue alone (nobody is restricted: no count).
                    self.flush_handoff::<false>();
                }
                self.rotate_to_head(cpu, cur, prio)
            }
            Some(top) if idle || top >= prio => {
                if self.restricted != 0 {
                    // The best thread allowed here may be lower than `top`.
                    return self.yield_restricted(cpu, cur, idle, prio);
                }
                self.requeue_current(cpu, cur, Requeue::Tail);
                self.switch_from(cpu, cur)
            }
            // Nobody to take turns with: the thread runs on untimed (with restricted threads
            // too: nothing allowed here can be better than the best of all).
            _ => {
                self.go_untimed(cpu);
                Next::Keep
            }
        }
    }

    /// The round-robin step between two threads pinned to `cpu` alone, in debug builds:
    /// checks that it changes neither the designation nor which other CPUs have a peer,
    /// which is what lets the hold's [`take_new_kicks_on`](Self::take_new_kicks_on) answer
    /// at once.
    #[inline(never)]
    fn pinned_swap_checked(&mut self, cpu: CpuId, cur: ThreadId, prio: Priority) -> Next {
        let before = (self.designated(), self.cpus_with_peer(cpu));
        let next = self.rotate_to_head(cpu, cur, prio);
        let after = (self.designated(), self.cpus_with_peer(cpu));
        assert_eq!(
            before, after,
            "a yield between threads pinned to cpu {cpu} changed the designation or the peers"
        );
        next
    }

    /// The started CPUs other than `except` whose running thread has a ready peer.
    fn cpus_with_peer(&self, except: CpuId) -> u32 {
        (0..MAX_CPUS)
            .filter(|&c| c != except && self.started & (1 << c) != 0 && self.has_peer(c))
            .fold(0, |mask, c| mask | 1 << c)
    }

    /// Whether the head of level `prio` (queued) has the affinity `affinity`.
    #[inline(always)]
    fn head_shares_affinity(&self, affinity: u32, prio: Priority) -> bool {
        self.ready
            .head(prio)
            .is_some_and(|head| self.threads.slot(head).entry().affinity == affinity)
    }

    /// [`yield_now`](Self::yield_now) while some threads may not run everywhere: the
    /// current thread goes to the back of its level if a thread allowed here is as good.
    #[inline(never)]
    fn yield_restricted(&mut self, cpu: CpuId, cur: ThreadId, idle: bool, prio: Priority) -> Next {
        // The common case again, when the peer at the head of the level may run here: then
        // it is the best ready thread allowed here, and one rotation does it.
        if !idle && self.ready_top() == Some(prio) {
            if self.handoff.is_some() {
                self.flush_handoff::<true>();
            }
            if let Some(head) = self.ready.head(prio) {
                let affinity = self.threads.slot(head).entry().affinity;
                if affinity & (1 << cpu) != 0 {
                    // The head leaves the queue, `cur` joins it.
                    self.pinned.swap(affinity, self.entry(cur).affinity);
                    return self.rotate_to_head(cpu, cur, prio);
                }
            }
        }
        match self.top_for(cpu) {
            Some(top) if idle || top >= prio => {
                self.requeue_current(cpu, cur, Requeue::Tail);
                self.switch_from(cpu, cur)
            }
            // Nobody to take turns with: the thread runs on untimed.
            _ => {
                self.go_untimed(cpu);
                Next::Keep
            }
        }
    }

    /// One round-robin step of level `prio` (the best ready level, queued only, its head
    /// allowed on `cpu`): the running `cur` to the back, the head onto `cpu`.
    #[inline(always)]
    fn rotate_to_head(&mut self, cpu: CpuId, cur: ThreadId, prio: Priority) -> Next {
        let t = self.entry_mut(cur);
        t.state = State::Ready;
        t.saved_slice = 0;
        let index = self
            .ready
            .rotate(self.threads.slots_mut(), cur.index(), prio);
        let to = self.id_of_slot(index.expect("the ready level had a head"));
        // `cur` waits in the level: the two take turns.
        self.run_on(cpu, to, true);
        Next::Switch { from: cur, to }
    }

    /// The timer interrupt of `cpu` at time `now` (which also becomes the time of the
    /// decisions: [`set_now`](Self::set_now), never backwards here).
    ///
    /// Every sleeper and timed waiter whose deadline is at or before `now`
    /// becomes ready (at the back of its level, earliest deadline first); a
    /// waiter leaves its object and reads [`WaitResult::TimedOut`](crate::WaitResult::TimedOut).
    /// Then a strictly higher ready thread preempts the current one (with several CPUs, only
    /// if it is due on `cpu`: see [`kicks`](Self::kicks)); otherwise, once the current
    /// thread's slice has ended and a peer of equal priority is ready, the two take turns.
    /// A slice that ended with no peer leaves the thread running untimed (see `slice`). An
    /// idle current yields to anything ready.
    ///
    /// A preempted thread with slice left goes to the front of its level; one
    /// whose slice has ended goes to the back, as its turn is over either way.
    /// The timer may fire early (a slice that changed since it was programmed, a deadline
    /// that went away): then nothing is due and the decision is `Keep`.
    pub fn tick(&mut self, cpu: CpuId, now: Ticks) -> Next {
        let cur = self.running(cpu);
        self.now = self.now.max(now);
        self.wake_due(self.now);

        let t = self.entry(cur);
        let (idle, prio) = (t.is_idle(), t.priority);
        let top = self.top_for(cpu);
        if idle {
            if top.is_none() || !self.must_take(cpu) {
                return Next::Keep;
            }
            self.requeue_current(cpu, cur, Requeue::Tail);
            return self.switch_from(cpu, cur);
        }
        let end = self.clock[cpu].slice_end;
        let expired = end <= self.now;
        if let Some(top) = top {
            // A better thread preempts here only if it is due here (with several CPUs, the
            // one running the lowest priority takes it); an equal one takes turns. (A slice
            // that ends while a better thread waits for the CPU it is due on leaves the
            // current one running, and the peers behind that thread may wait a second slice:
            // a window as short as the kick's way there.)
            if (top > prio && self.must_take(cpu)) || (top == prio && expired) {
                let place = if expired {
                    Requeue::Tail
                } else {
                    Requeue::Head
                };
                self.requeue_current(cpu, cur, place);
                return self.switch_from(cpu, cur);
            }
            if top == prio && end == slice::UNTIMED {
                self.begin_slice(cpu, self.slice_len);
                return Next::Keep;
            }
        }
        if expired {
            // Nobody to hand over to: run on untimed until somebody comes.
            self.go_untimed(cpu);
        }
        Next::Keep
    }

    /// Moves every sleeper and timed waiter due at `now` to the ready queue.
    fn wake_due(&mut self, now: Ticks) {
        while let Some(index) = self.timers.pop_due(now) {
            let id = self.id_of_slot(index);
            self.trace.expiry(id);
            self.expire(id);
        }
    }
}
