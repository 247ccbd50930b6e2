//! A full consistency check of the scheduler's redundant bookkeeping.
//!
//! The same fact is recorded in several places (a thread's state, its queue
//! links, the bitmap, the timer heap, the per-CPU current), which is what makes
//! the fast paths fast and also what lets them drift apart unnoticed. This
//! audit cross-checks all of them (the synchronization objects in
//! `audit_sync`). It is O(threads + objects + 256) and meant for tests
//! and debug builds of the kernel, never for an interrupt path.

use super::Scheduler;
use crate::thread::State;
use crate::MAX_CPUS;

impl<T, S: crate::StoreKind> Scheduler<T, S> {
    /// Checks every internal invariant, naming the first one found broken.
    ///
    /// # Errors
    /// A short description of the broken invariant.
    pub fn check_invariants(&self) -> Result<(), &'static str> {
        self.ready.audit(self.threads.slots())?;
        self.timers.audit()?;
        self.audit_timer_count()?;
        self.audit_sync()?;
        self.audit_smp()?;

        let mut queued = 0;
        let mut idle = 0;
        for (id, t) in self.threads.iter() {
            if t.priority < t.base_priority {
                return Err("effective priority below base priority");
            }
            let is_ready = t.state == State::Ready;
            match t.link.level() {
                Some(level) => {
                    queued += 1;
                    if !is_ready || t.is_idle() {
                        return Err("queued thread is not a ready non-idle thread");
                    }
                    if level != t.priority {
                        return Err("thread queued at a level other than its priority");
                    }
                }
                None if is_ready && !t.is_idle() && self.handoff != Some(id) => {
                    return Err("ready thread is not queued");
                }
                None => {}
            }
            if t.state != State::Ready && t.saved_slice != 0 {
                return Err("a saved slice outlived the thread's preemption");
            }
            match t.state {
                State::Running(cpu) if cpu >= MAX_CPUS || self.current[cpu] != Some(id) => {
                    return Err("running thread is not its cpu's current");
                }
                State::Joining(target) => {
                    if target == id {
                        return Err("thread joins itself");
                    }
                    let Some(target) = self.threads.get(target) else {
                        return Err("thread joins a stale id");
                    };
                    if target.joiner != Some(id) {
                        return Err("join target does not know its joiner");
                    }
                    if matches!(target.state, State::Zombie(_)) {
                        return Err("joiner still waits for a zombie");
                    }
                }
                State::Zombie(_) if t.detached => return Err("detached zombie was not freed"),
                _ => {}
            }
            if let Some(cpu) = t.idle_of {
                let cpu = usize::from(cpu);
                idle += 1;
                if self.idle[cpu] != Some(id) {
                    return Err("idle thread not registered for its cpu");
                }
                if !matches!(t.state, State::Ready) && t.state != State::Running(cpu) {
                    return Err("idle thread in a waiting state or on a foreign cpu");
                }
            }
        }
        if let Some(h) = self.handoff {
            match self.threads.get(h) {
                Some(t) if t.state == State::Ready && !t.is_idle() && t.link.level().is_none() => {
                    if t.priority != self.handoff_level {
                        return Err("hand-off level disagrees with the thread's priority");
                    }
                    if self.ready.highest().is_some_and(|top| top >= t.priority) {
                        return Err("hand-off thread does not outrank the queue");
                    }
                }
                _ => return Err("hand-off slot holds no ready, unqueued thread"),
            }
        }
        if queued != self.ready.len() {
            return Err("ready queue length disagrees with queued threads");
        }
        if idle != self.idle_count {
            return Err("idle thread count is off");
        }
        for cpu in 0..MAX_CPUS {
            if let Some(id) = self.current[cpu] {
                match self.threads.get(id) {
                    Some(t) if t.state == State::Running(cpu) => {}
                    _ => return Err("cpu's current is not running on it"),
                }
                if self.clock[cpu].slice_end != super::slice::UNTIMED && self.entry(id).is_idle() {
                    return Err("an idle thread has a time slice");
                }
            }
            if let Some(id) = self.idle[cpu] {
                if self.threads.get(id).is_none() {
                    return Err("idle thread vanished");
                }
            }
        }
        Ok(())
    }
}
