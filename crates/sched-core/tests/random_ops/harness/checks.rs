//! What must hold after every step, and the final leak check.

use std::collections::HashSet;

use proptest::prelude::*;
use sched_core::{ExitStatus, Next, State, ThreadId};

use super::Harness;
use crate::CPUS;

impl Harness {
    /// Checks what a decision on `cpu` promised: a real switch to a thread now
    /// running there, and nothing ready that outranks it.
    pub(crate) fn check_decision(
        &self,
        cpu: usize,
        before: ThreadId,
        next: Next,
    ) -> Result<(), TestCaseError> {
        let cur = self.s.current(cpu);
        match next {
            Next::Keep => prop_assert_eq!(cur, before),
            Next::Switch { from, to } => {
                prop_assert_eq!(from, before);
                prop_assert_ne!(from, to);
                prop_assert_eq!(to, cur);
            }
        }
        let best_ready = self
            .known
            .iter()
            .filter(|&&id| self.s.state(id) == Some(State::Ready) && !self.s.is_idle(id))
            .filter_map(|&id| self.s.priority(id))
            .max();
        if self.s.is_idle(cur) {
            prop_assert_eq!(best_ready, None, "idle runs while something is ready");
        } else if let Some(best) = best_ready {
            prop_assert!(
                self.s.priority(cur).unwrap() >= best,
                "a ready thread outranks the running one"
            );
        }
        Ok(())
    }

    /// Checks that hold after every operation, whatever it was.
    pub(crate) fn check_always(&self) -> Result<(), TestCaseError> {
        self.s.check_invariants().map_err(TestCaseError::fail)?;
        let mut currents = HashSet::new();
        for cpu in 0..CPUS {
            let cur = self.s.current(cpu);
            prop_assert_eq!(self.s.state(cur), Some(State::Running(cpu)));
            prop_assert!(currents.insert(cur), "two cpus run the same thread");
        }
        let mut ready = 0;
        for &id in &self.known {
            let Some(st) = self.s.state(id) else {
                prop_assert_eq!(self.s.data(id), None);
                continue;
            };
            if let Some(d) = self.data_of.get(&id) {
                prop_assert_eq!(self.s.data(id), Some(d));
            }
            if st == State::Ready && !self.s.is_idle(id) {
                ready += 1;
            }
            if let State::Running(cpu) = st {
                prop_assert_eq!(self.s.current(cpu), id);
            }
        }
        prop_assert_eq!(self.s.ready_count(), ready);
        for &id in self.sleepers.keys() {
            prop_assert_eq!(
                self.s.state(id),
                Some(State::Sleeping),
                "sleeper woken without a tick or wake"
            );
        }
        prop_assert_eq!(self.s.sleeping_count(), self.sleepers.len());
        prop_assert_eq!(
            self.s.next_deadline(),
            self.sleepers.values().min().copied()
        );
        Ok(())
    }

    /// Wakes, exits and reaps everything, then checks nothing is left.
    pub(crate) fn tear_down(&mut self) -> Result<(), TestCaseError> {
        for _ in 0..10_000 {
            if self.s.thread_count() == 0 {
                break;
            }
            for id in self.known.clone() {
                match self.s.state(id) {
                    Some(State::Blocked | State::Sleeping) if !self.s.is_idle(id) => {
                        self.s.wake(id).unwrap();
                        self.sleepers.remove(&id);
                    }
                    Some(State::Zombie(_)) => {
                        let (data, _) = self.s.reap(id).unwrap();
                        self.give_back(data)?;
                    }
                    _ => {}
                }
            }
            for cpu in 0..CPUS {
                let _ = self.s.preempt_check(cpu);
                if !self.s.is_idle(self.s.current(cpu)) {
                    if let Some(data) = self.s.exit_current(cpu, ExitStatus::Finished).dead {
                        self.give_back(data)?;
                    }
                }
                self.check_always()?;
            }
        }
        prop_assert_eq!(self.s.thread_count(), 0);
        prop_assert_eq!(self.s.live_entries(), CPUS, "only the idle threads remain");
        prop_assert_eq!(self.s.ready_count(), 0);
        prop_assert_eq!(self.s.sleeping_count(), 0);
        prop_assert_eq!(self.s.next_deadline(), None);
        let all: HashSet<u32> = self.data_of.values().copied().collect();
        prop_assert_eq!(
            &self.returned,
            &all,
            "some thread data was never handed back"
        );
        for cpu in 0..CPUS {
            prop_assert!(self.s.is_idle(self.s.current(cpu)));
        }
        self.s.check_invariants().map_err(TestCaseError::fail)?;
        Ok(())
    }
}
