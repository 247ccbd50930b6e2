//! What must hold after every step, checked through the public API against
//! the model: decisions, wait membership and order, no lost wake-up, mutex
//! ownership and the lock word, and priority inheritance as a closure.

use crate::StoreKind;
use alloc::collections::BTreeSet;
use alloc::string::String;
use alloc::vec::Vec;

use super::model::Handle;
use super::Interp;
use crate::{Next, Priority, State, ThreadId, WaitingOn, LOCK_WAITERS};

impl<S: StoreKind> Interp<S> {
    /// Checks what a decision on `cpu` promised: a real switch to a thread now
    /// running there, allowed there, and nothing ready and allowed on `cpu` that outranks
    /// it. (A `Keep` may leave a better thread ready for a moment: placement may have
    /// kicked another CPU for it; [`check_guarantee`](Self::check_guarantee) judges the
    /// state once the kicks are handled.)
    pub(super) fn check_decision(
        &self,
        cpu: usize,
        before: ThreadId,
        next: Next,
    ) -> Result<(), String> {
        let cur = self.s.current(cpu);
        match next {
            Next::Keep => ensure_eq!(cur, before, "Keep changed the current thread"),
            Next::Switch { from, to } => {
                ensure_eq!(from, before, "switch from");
                ensure!(from != to, "switch to itself");
                ensure_eq!(to, cur, "switch to");
                let best = self.best_ready_for(cpu);
                if self.s.is_idle(cur) {
                    ensure_eq!(best, None, "switched to idle while something is ready");
                } else if let Some(best) = best {
                    ensure!(
                        self.s.priority(cur) >= Some(best),
                        "switched to {cur:?} while a better thread allowed here is ready"
                    );
                }
            }
        }
        let aff = self.s.affinity(cur).unwrap_or(0);
        ensure!(
            aff & (1 << cpu) != 0,
            "{cur:?} runs on cpu {cpu} outside its affinity"
        );
        Ok(())
    }

    /// The best priority among ready, non-idle threads allowed on `cpu`.
    fn best_ready_for(&self, cpu: usize) -> Option<Priority> {
        self.known
            .iter()
            .filter(|&&id| self.s.state(id) == Some(State::Ready) && !self.s.is_idle(id))
            .filter(|&&id| self.s.affinity(id).is_some_and(|a| a & (1 << cpu) != 0))
            .filter_map(|&id| self.s.priority(id))
            .max()
    }

    /// The scheduling guarantee (see the scheduler's `smp` module): no ready thread outranks
    /// the running thread of a started CPU it may run on; an idle CPU has nothing ready
    /// that it may run.
    ///
    /// # Errors
    /// The first CPU found outranked.
    pub fn check_guarantee(&self) -> Result<(), String> {
        ensure_eq!(self.s.kicks(), 0, "kicks left unhandled");
        for cpu in 0..self.cpus {
            let cur = self.s.current(cpu);
            let Some(best) = self.best_ready_for(cpu) else {
                continue;
            };
            ensure!(
                !self.s.is_idle(cur),
                "cpu {cpu} idles while a thread of priority {best} allowed there is ready"
            );
            ensure!(
                self.s.priority(cur) >= Some(best),
                "cpu {cpu} runs {cur:?} at {:?} while a thread of priority {best} allowed there is ready",
                self.s.priority(cur)
            );
        }
        Ok(())
    }

    /// Checks that hold after every operation, whatever it was.
    ///
    /// # Errors
    /// A description of the failed check.
    pub fn check_always(&self) -> Result<(), String> {
        self.s.check_invariants().map_err(String::from)?;
        self.check_guarantee()?;
        self.check_timers()?;
        self.check_threads()?;
        self.check_waits()?;
        for i in 0..self.objs.len() {
            if self.objs[i].alive {
                self.check_object(i)?;
            }
        }
        self.check_inheritance()
    }

    fn check_threads(&self) -> Result<(), String> {
        let mut currents = BTreeSet::new();
        for cpu in 0..self.cpus {
            let cur = self.s.current(cpu);
            ensure_eq!(
                self.s.state(cur),
                Some(State::Running(cpu)),
                "current state"
            );
            ensure!(currents.insert(cur), "two cpus run {cur:?}");
        }
        let mut ready = 0;
        for &id in &self.known {
            let Some(st) = self.s.state(id) else {
                ensure_eq!(self.s.data(id), None, "stale id has data");
                continue;
            };
            if let Some(d) = self.data_of.get(&id) {
                ensure_eq!(self.s.data(id), Some(d), "data of {id:?}");
            }
            if st == State::Ready && !self.s.is_idle(id) {
                ready += 1;
            }
            ensure_eq!(
                self.s.has_park_token(id),
                self.tokens.contains(&id),
                "park token of {id:?}"
            );
        }
        ensure_eq!(self.s.ready_count(), ready, "ready count");
        for &id in self.sleepers.keys() {
            ensure_eq!(self.s.state(id), Some(State::Sleeping), "sleeper {id:?}");
        }
        let deadlines: Vec<u64> = self
            .sleepers
            .values()
            .copied()
            .chain(self.waits.values().filter_map(|w| w.deadline))
            .collect();
        ensure_eq!(self.s.sleeping_count(), deadlines.len(), "timer count");
        ensure_eq!(
            self.s.next_deadline(),
            deadlines.iter().min().copied(),
            "next deadline"
        );
        Ok(())
    }

    fn check_waits(&self) -> Result<(), String> {
        for &id in &self.known {
            let expected = self.waits.get(&id).map(|w| match w.obj {
                Some(i) => self.objs[i].waiting_on(),
                None => WaitingOn::Park,
            });
            ensure_eq!(self.s.waiting_on(id), expected, "what {id:?} waits on");
            if let Some(w) = self.waits.get(&id) {
                ensure_eq!(self.s.state(id), Some(State::Blocked), "waiter state");
                ensure_eq!(self.s.sleep_deadline(id), w.deadline, "waiter deadline");
                if w.obj.is_none() {
                    ensure!(!self.tokens.contains(&id), "parked with a token");
                }
            }
        }
        Ok(())
    }

    fn check_object(&self, i: usize) -> Result<(), String> {
        let o = &self.objs[i];
        let model = self.model_waiters(i);
        ensure_eq!(
            self.actual_waiters(i),
            model,
            "wait order of {:?}",
            o.handle
        );
        ensure_eq!(self.waiter_count(i), Some(model.len()), "waiter count");
        match o.handle {
            Handle::Queue(_) => {}
            Handle::Sem(s) => {
                ensure_eq!(self.s.sem_permits(s), Some(o.permits), "permits");
                ensure!(
                    o.permits == 0 || model.is_empty(),
                    "permits while threads wait"
                );
            }
            Handle::Event(e) => {
                ensure_eq!(self.s.event_bits(e), Some(o.bits), "event bits");
                for t in &model {
                    let Some((mask, mode, _)) = self.waits[t].event else {
                        return Err(alloc::format!("event waiter {t:?} has no request"));
                    };
                    ensure!(
                        !mode.satisfied(mask, o.bits),
                        "satisfied waiter {t:?} left blocked"
                    );
                }
            }
            Handle::Mutex(m) => {
                ensure_eq!(self.s.mutex_is_poisoned(m), Some(o.poisoned), "poison flag");
                let recorded = self.s.mutex_owner(m);
                ensure!(
                    recorded.is_some() || model.is_empty(),
                    "free mutex has waiters"
                );
                ensure!(
                    o.holder.is_some() || model.is_empty(),
                    "unheld mutex has waiters"
                );
                let kernel_owner = if !o.fast || o.word & LOCK_WAITERS != 0 {
                    recorded
                } else {
                    ensure_eq!(recorded, None, "owner recorded without the waiters bit");
                    ThreadId::from_u64(o.word)
                };
                ensure_eq!(kernel_owner, o.holder, "who holds {m:?}");
                if let Some(h) = o.holder {
                    let dead = matches!(self.s.state(h), None | Some(State::Zombie(_)));
                    ensure!(
                        !dead || (o.fast && recorded.is_none()),
                        "dead holder recorded"
                    );
                }
            }
        }
        Ok(())
    }

    /// Every thread's effective priority is the best base priority among
    /// itself and everyone waiting on it through chains of mutexes.
    fn check_inheritance(&self) -> Result<(), String> {
        for &t in &self.known {
            let Some(base) = self.s.base_priority(t) else {
                continue;
            };
            let mut best: Priority = base;
            let mut stack = alloc::vec![t];
            let mut seen = BTreeSet::new();
            while let Some(x) = stack.pop() {
                ensure!(seen.insert(x), "mutex wait cycle through {x:?}");
                for i in 0..self.objs.len() {
                    let o = &self.objs[i];
                    if o.alive && matches!(o.handle, Handle::Mutex(_)) && o.holder == Some(x) {
                        for w in self.model_waiters(i) {
                            best = best.max(self.s.base_priority(w).unwrap_or(0));
                            stack.push(w);
                        }
                    }
                }
            }
            ensure_eq!(
                self.s.priority(t),
                Some(best),
                "inherited priority of {t:?}"
            );
        }
        Ok(())
    }
}
