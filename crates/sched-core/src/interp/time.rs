//! The kernel's side of time and of its inter-processor interrupts, as the interpreter plays
//! it, and the checks that the timers it programs are never late.
//!
//! Every operation is one hold of the scheduler lock on some CPU (the one it names, else
//! CPU 0; with one CPU, the kernel's own `preempt_check` follows an operation that may have
//! made a thread ready, see `checks_after`). The hold starts with [`set_now`](crate::Scheduler::set_now) and ends, as the
//! kernel's release does (`end_hold`), with
//! [`take_new_kicks_on`](crate::Scheduler::take_new_kicks_on) that CPU, whose CPUs get an
//! interrupt that runs `preempt_check` in a hold of its own, which ends the same way, then
//! [`retime`](crate::Scheduler::retime) for that CPU (the interpreter keeps its own copy of
//! what each CPU's timer was programmed for). A timer interrupt is a hold that runs
//! [`tick`](crate::Scheduler::tick) and [`retime_now`](crate::Scheduler::retime_now), and
//! ends the same way.
//!
//! Time moves only at a `Tick` operation; every CPU whose timer is then due takes its
//! interrupt (a `Tick` of no time also interrupts the CPU it names, whether due or not: an
//! early or spurious interrupt must change nothing that matters). Between two `Tick`s a due
//! interrupt may stay pending, as one does while the lock is held elsewhere.
//!
//! What must hold after every operation, once the interrupts sent have been handled: the
//! scheduler's record of each timer is what was programmed; a CPU whose running thread has a
//! peer (a ready thread of its priority allowed there) has a finite slice end and a timer at
//! or before it (the peer never waits for an untimed thread, nor longer than the slice); and
//! some CPU's timer is at or before the earliest deadline. After a `Tick`, nothing is
//! overdue: no deadline and no slice end with a peer waiting is at or before the time.

use crate::StoreKind;
use alloc::string::String;

use super::{Interp, Op, CPUS};
use crate::{State, Ticks, WaitResult};

/// How many interrupts (reschedule or timer) one operation may cause before the interpreter
/// calls it a livelock: each check that switches raises the CPU's running rank, and a timer
/// interrupt leaves its CPU's next alarm in the future, so a few per CPU are plenty.
const MAX_INTERRUPTS: usize = 8 * CPUS + 8;

impl<S: StoreKind> Interp<S> {
    /// The CPU an operation runs on: the one it names, else CPU 0. `None` for a `Tick`, which
    /// is the timer interrupts it causes.
    pub(super) fn caller(&self, op: &Op) -> Option<usize> {
        let c = match *op {
            Op::Tick(..) => return None,
            Op::Yield(c)
            | Op::PreemptCheck(c)
            | Op::Sleep(c, _)
            | Op::Block(c)
            | Op::Exit(c, _)
            | Op::Join(c, _)
            | Op::TakeResult(c)
            | Op::WaitOn(c, ..)
            | Op::WakeOne(c, _)
            | Op::WakeAll(c, _)
            | Op::Lock(c, ..)
            | Op::TryLock(c, _)
            | Op::Unlock(c, _)
            | Op::SemAcquire(c, ..)
            | Op::SemRelease(c, _)
            | Op::SemReleaseDrain(c, _)
            | Op::EventWait { cpu: c, .. }
            | Op::EventSet(c, ..)
            | Op::EventSync { cpu: c, .. }
            | Op::Park(c, _)
            | Op::Unpark(c, _)
            | Op::SetAffinity(c, _) => c,
            _ => 0,
        };
        Some(self.cpu(c))
    }

    /// With one CPU, whether the kernel follows `op` with a `preempt_check` of its own (there
    /// are no kicks in the one-CPU mode): after every call that may have made a thread ready
    /// or changed a priority, which are those that neither decide for themselves (a switch,
    /// a yield, the timer) nor are followed by one in the interpreter already.
    pub(super) fn checks_after(op: &Op) -> bool {
        !matches!(
            op,
            Op::Tick(..)
                | Op::Yield(_)
                | Op::PreemptCheck(_)
                | Op::Sleep(..)
                | Op::Block(_)
                | Op::Exit(..)
                | Op::Join(..)
                | Op::WaitOn(..)
                | Op::SemAcquire(..)
                | Op::EventWait { .. }
                | Op::EventSync { .. }
                | Op::Park(..)
                | Op::WakeOne(..)
                | Op::WakeAll(..)
                | Op::SemRelease(..)
                | Op::SemReleaseDrain(..)
                | Op::EventSet(..)
                | Op::Unpark(..)
        )
    }

    /// The end of a hold on `cpu`, in the kernel's order (`end_hold`): the CPUs
    /// [`take_new_kicks_on`](crate::Scheduler::take_new_kicks_on) `cpu` names are interrupted
    /// (a slice it starts on `cpu` itself is left to the retime), then `cpu`'s timer is
    /// programmed anew if the scheduler asks.
    pub(super) fn release(&mut self, cpu: usize) -> Result<(), String> {
        let kicks = self.s.take_new_kicks_on(cpu);
        self.send(kicks)?;
        if let Some(at) = self.s.retime(cpu) {
            self.timer[cpu] = at;
        }
        Ok(())
    }

    /// Marks the CPUs of `kicks` as interrupted.
    fn send(&mut self, kicks: u32) -> Result<(), String> {
        ensure!(
            kicks & !self.started() == 0,
            "kicked a cpu that never started: {kicks:#b}"
        );
        self.pending |= kicks;
        Ok(())
    }

    /// `cpu`'s timer interrupt at the current time: the tick, then the timer programmed for
    /// the next alarm. Checks that every deadline due has ended its wait.
    pub(super) fn timer_interrupt(&mut self, cpu: usize) -> Result<(), String> {
        let now = self.now;
        self.s.set_now(now);
        let before = self.s.current(cpu);
        let next = self.s.tick(cpu, now);
        self.check_decision(cpu, before, next)?;
        let due_sleepers = self
            .sleepers
            .iter()
            .filter(|(_, &d)| d <= now)
            .map(|(&t, _)| t);
        let due_waiters = self
            .waits
            .iter()
            .filter(|(_, w)| w.deadline.is_some_and(|d| d <= now))
            .map(|(&t, _)| t);
        let due: alloc::vec::Vec<_> = due_sleepers.chain(due_waiters).collect();
        for t in due {
            let st = self.s.state(t);
            ensure!(
                !matches!(st, Some(State::Sleeping | State::Blocked)),
                "{t:?} missed its deadline"
            );
            self.end_wait(t, WaitResult::TimedOut);
        }
        // A timed-out mutex waiter may have lowered the holder, moving other waiters.
        self.restamp_moved_waiters();
        self.timer[cpu] = self.s.retime_now(cpu);
        // The interrupt's hold ends as every hold does (the kernel's `end_hold`).
        self.release(cpu)
    }

    /// Handles the interrupts sent, one CPU at a time (each a hold of its own, which may send
    /// more), and with `fire`, the timer interrupts due, until none is left.
    pub(super) fn settle(&mut self, fire: bool) -> Result<(), String> {
        for _ in 0..MAX_INTERRUPTS {
            if self.pending != 0 {
                let cpu = self.pending.trailing_zeros() as usize;
                self.pending &= !(1 << cpu);
                self.s.set_now(self.now);
                self.preempt(cpu)?;
                self.release(cpu)?;
            } else if let Some(cpu) = (0..self.cpus).find(|&c| fire && self.timer[c] <= self.now) {
                self.timer_interrupt(cpu)?;
            } else {
                return if fire { self.check_on_time() } else { Ok(()) };
            }
        }
        Err(alloc::format!(
            "interrupts still due after {MAX_INTERRUPTS} of them (pending {:#b}, timers {:?} at {})",
            self.pending,
            self.timer,
            self.now
        ))
    }

    /// Whether a ready thread of priority `prio` allowed on `cpu` exists.
    fn peer_for(&self, cpu: usize, prio: crate::Priority) -> bool {
        self.known.iter().any(|&id| {
            self.s.state(id) == Some(State::Ready)
                && !self.s.is_idle(id)
                && self.s.priority(id) == Some(prio)
                && self.s.affinity(id).is_some_and(|a| a & (1 << cpu) != 0)
        })
    }

    /// The timers (see the module docs).
    pub(super) fn check_timers(&self) -> Result<(), String> {
        ensure_eq!(self.pending, 0, "interrupts left unhandled");
        for cpu in 0..self.cpus {
            ensure_eq!(
                self.s.timer_at(cpu),
                self.timer[cpu],
                "cpu {cpu}'s timer as recorded"
            );
            let cur = self.s.current(cpu);
            let end = self.s.slice_end(cpu);
            if self.s.is_idle(cur) {
                ensure_eq!(end, Ticks::MAX, "cpu {cpu}'s idle thread's slice end");
                continue;
            }
            let Some(prio) = self.s.priority(cur) else {
                return Err(alloc::format!(
                    "cpu {cpu} runs {cur:?}, which has no priority"
                ));
            };
            if self.peer_for(cpu, prio) {
                ensure!(
                    end != Ticks::MAX,
                    "cpu {cpu} runs {cur:?} untimed while a peer of priority {prio} waits"
                );
                ensure!(
                    self.timer[cpu] <= end,
                    "cpu {cpu}'s timer at {} is after its slice end {end}, and a peer waits",
                    self.timer[cpu]
                );
            }
        }
        if let Some(d) = self.s.next_deadline() {
            ensure!(
                self.timer.iter().any(|&t| t <= d),
                "no timer at or before the earliest deadline {d} (timers {:?}, watcher {})",
                self.timer,
                self.s.deadline_watcher()
            );
        }
        Ok(())
    }

    /// Once the due timers have fired: nothing is overdue.
    fn check_on_time(&self) -> Result<(), String> {
        let now = self.now;
        if let Some(d) = self.s.next_deadline() {
            ensure!(d > now, "deadline {d} still pending at {now}");
        }
        for cpu in 0..self.cpus {
            let cur = self.s.current(cpu);
            if self.s.is_idle(cur) {
                continue;
            }
            let end = self.s.slice_end(cpu);
            let prio = self.s.priority(cur).unwrap_or(0);
            ensure!(
                end > now || !self.peer_for(cpu, prio),
                "cpu {cpu}'s slice ended at {end}, it is {now}, and a peer still waits"
            );
        }
        Ok(())
    }
}
