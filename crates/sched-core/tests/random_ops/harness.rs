//! The shadow model and the interpretation of each operation.

mod checks;

use std::collections::{HashMap, HashSet};

use proptest::prelude::*;
use sched_core::{ExitStatus, JoinPoll, Priority, SchedError, Scheduler, State, ThreadId, Ticks};

use super::{Op, CPUS};

pub(crate) struct Harness {
    s: Scheduler<u32>,
    /// Every id ever handed out, idle and stale ones included.
    known: Vec<ThreadId>,
    data_of: HashMap<ThreadId, u32>,
    /// Data values handed back by reap, detach or exit.
    returned: HashSet<u32>,
    /// Threads put to sleep and not woken yet, with their deadlines.
    sleepers: HashMap<ThreadId, Ticks>,
    now: Ticks,
    next_data: u32,
}

impl Harness {
    pub(crate) fn new(initial: &[Priority]) -> Self {
        let mut h = Self {
            s: Scheduler::new(3),
            known: Vec::new(),
            data_of: HashMap::new(),
            returned: HashSet::new(),
            sleepers: HashMap::new(),
            now: 0,
            next_data: 1000,
        };
        for cpu in 0..CPUS {
            let id = h.s.add_idle(cpu, cpu as u32);
            h.known.push(id);
        }
        for &p in initial {
            h.spawn(p);
        }
        for cpu in 0..CPUS {
            let id = h.s.start(cpu);
            assert_eq!(h.s.state(id), Some(State::Running(cpu)));
        }
        h
    }

    fn spawn(&mut self, p: Priority) -> ThreadId {
        let data = self.next_data;
        self.next_data += 1;
        let id = self.s.spawn(p, data);
        self.known.push(id);
        self.data_of.insert(id, data);
        id
    }

    fn pick(&self, n: usize) -> ThreadId {
        self.known[n % self.known.len()]
    }

    fn give_back(&mut self, data: u32) -> Result<(), TestCaseError> {
        prop_assert!(
            self.returned.insert(data),
            "data {} handed back twice",
            data
        );
        Ok(())
    }

    pub(crate) fn apply(&mut self, op: &Op) -> Result<(), TestCaseError> {
        match *op {
            Op::Spawn(p) => {
                let id = self.spawn(p);
                prop_assert_eq!(self.s.state(id), Some(State::Ready));
                prop_assert_eq!(self.s.priority(id), Some(p));
            }
            Op::Yield(cpu) => {
                let before = self.s.current(cpu);
                let next = self.s.yield_now(cpu);
                self.check_decision(cpu, before, next)?;
            }
            Op::PreemptCheck(cpu) => {
                let before = self.s.current(cpu);
                let next = self.s.preempt_check(cpu);
                self.check_decision(cpu, before, next)?;
            }
            Op::Tick(cpu, dt) => {
                self.now += dt;
                let before = self.s.current(cpu);
                let next = self.s.tick(cpu, self.now);
                self.check_decision(cpu, before, next)?;
                let now = self.now;
                let mut woken = Vec::new();
                for (&id, &deadline) in &self.sleepers {
                    let st = self.s.state(id);
                    if deadline <= now {
                        prop_assert_ne!(st, Some(State::Sleeping), "sleeper missed its deadline");
                        woken.push(id);
                    } else {
                        prop_assert_eq!(st, Some(State::Sleeping), "sleeper woken early");
                    }
                }
                for id in woken {
                    self.sleepers.remove(&id);
                }
            }
            Op::Sleep(cpu, rel) => {
                let before = self.s.current(cpu);
                if self.s.is_idle(before) {
                    return Ok(());
                }
                let deadline = self.now.saturating_add_signed(rel);
                let next = self.s.sleep_until(cpu, deadline);
                prop_assert!(next.is_switch());
                self.check_decision(cpu, before, next)?;
                prop_assert_eq!(self.s.state(before), Some(State::Sleeping));
                prop_assert_eq!(self.s.sleep_deadline(before), Some(deadline));
                self.sleepers.insert(before, deadline);
            }
            Op::Block(cpu) => {
                let before = self.s.current(cpu);
                if self.s.is_idle(before) {
                    return Ok(());
                }
                let next = self.s.block_current(cpu);
                prop_assert!(next.is_switch());
                self.check_decision(cpu, before, next)?;
                prop_assert_eq!(self.s.state(before), Some(State::Blocked));
            }
            Op::Wake(n) => {
                let id = self.pick(n);
                let expected = match self.s.state(id) {
                    None => Err(SchedError::NoSuchThread),
                    Some(_) if self.s.is_idle(id) => Err(SchedError::IdleThread),
                    Some(State::Blocked | State::Sleeping) => Ok(()),
                    Some(_) => Err(SchedError::NotBlocked),
                };
                prop_assert_eq!(self.s.wake(id), expected);
                if expected.is_ok() {
                    prop_assert_eq!(self.s.state(id), Some(State::Ready));
                    self.sleepers.remove(&id);
                }
            }
            Op::Exit(cpu, failed) => self.exit(cpu, failed)?,
            Op::Join(cpu, n) => self.join(cpu, n)?,
            Op::Reap(n) => {
                let id = self.pick(n);
                let st = self.s.state(id);
                match self.s.reap(id) {
                    Some((data, status)) => {
                        prop_assert_eq!(st, Some(State::Zombie(status)));
                        prop_assert_eq!(Some(&data), self.data_of.get(&id));
                        prop_assert_eq!(self.s.state(id), None);
                        self.give_back(data)?;
                    }
                    None => prop_assert!(!matches!(st, Some(State::Zombie(_)))),
                }
            }
            Op::Detach(n) => {
                let id = self.pick(n);
                let st = self.s.state(id);
                let idle = self.s.is_idle(id);
                match self.s.detach(id) {
                    Some(data) => {
                        prop_assert!(matches!(st, Some(State::Zombie(_))));
                        prop_assert_eq!(Some(&data), self.data_of.get(&id));
                        prop_assert_eq!(self.s.state(id), None);
                        self.give_back(data)?;
                    }
                    None => {
                        prop_assert!(!matches!(st, Some(State::Zombie(_))));
                        prop_assert_eq!(self.s.is_detached(id), st.is_some() && !idle);
                    }
                }
            }
            Op::SetPriority(n, p) => {
                let id = self.pick(n);
                let expected = match self.s.state(id) {
                    None => Err(SchedError::NoSuchThread),
                    Some(_) if self.s.is_idle(id) => Err(SchedError::IdleThread),
                    Some(_) => Ok(()),
                };
                prop_assert_eq!(self.s.set_priority(id, p), expected);
                if expected.is_ok() {
                    prop_assert_eq!(self.s.priority(id), Some(p));
                }
            }
        }
        Ok(())
    }

    fn exit(&mut self, cpu: usize, failed: bool) -> Result<(), TestCaseError> {
        let cur = self.s.current(cpu);
        if self.s.is_idle(cur) {
            return Ok(());
        }
        let status = if failed {
            ExitStatus::Failed
        } else {
            ExitStatus::Finished
        };
        let joiner = self
            .known
            .iter()
            .copied()
            .find(|&id| self.s.state(id) == Some(State::Joining(cur)));
        let detached = self.s.is_detached(cur);
        let out = self.s.exit_current(cpu, status);
        prop_assert!(out.next.is_switch());
        self.check_decision(cpu, cur, out.next)?;
        if detached {
            prop_assert_eq!(out.dead, self.data_of.get(&cur).copied());
            prop_assert_eq!(self.s.state(cur), None);
            self.give_back(out.dead.unwrap())?;
        } else {
            prop_assert_eq!(out.dead, None);
            prop_assert_eq!(self.s.state(cur), Some(State::Zombie(status)));
        }
        if let Some(j) = joiner {
            prop_assert!(
                matches!(self.s.state(j), Some(State::Ready | State::Running(_))),
                "joiner not woken by exit"
            );
        }
        Ok(())
    }

    fn join(&mut self, cpu: usize, n: usize) -> Result<(), TestCaseError> {
        let cur = self.s.current(cpu);
        let target = self.pick(n);
        let st = self.s.state(target);
        let result = self.s.join(cpu, target);
        if target == cur {
            prop_assert_eq!(result, Err(SchedError::JoinSelf));
        } else if st.is_none() {
            prop_assert_eq!(result, Err(SchedError::NoSuchThread));
        } else if self.s.is_idle(target) || self.s.is_idle(cur) {
            prop_assert_eq!(result, Err(SchedError::IdleThread));
        } else if self.s.is_detached(target) {
            prop_assert_eq!(result, Err(SchedError::Detached));
        }
        match result {
            Ok(JoinPoll::Exited(status)) => {
                prop_assert_eq!(st, Some(State::Zombie(status)));
                prop_assert_eq!(self.s.current(cpu), cur);
            }
            Ok(JoinPoll::Blocked(next)) => {
                prop_assert!(next.is_switch());
                self.check_decision(cpu, cur, next)?;
                prop_assert_eq!(self.s.state(cur), Some(State::Joining(target)));
            }
            Err(SchedError::AlreadyJoined | SchedError::Deadlock) => {
                prop_assert_eq!(self.s.current(cpu), cur);
            }
            Err(_) => {}
        }
        Ok(())
    }
}
