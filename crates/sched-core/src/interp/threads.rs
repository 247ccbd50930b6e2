//! Thread life-cycle operations: spawn, run, sleep, block, exit, join, reap.

use crate::StoreKind;
use alloc::string::String;
use alloc::vec::Vec;

use super::model::Handle;
use super::{Interp, Op, MAX_THREADS};
use crate::{
    ExitStatus, JoinPoll, Priority, SchedError, State, ThreadId, WaitResult, ALL_CPUS, LOCK_WAITERS,
};

impl<S: StoreKind> Interp<S> {
    pub(super) fn apply_thread_op(&mut self, op: &Op) -> Result<(), String> {
        match *op {
            Op::Spawn(p) => {
                if self.s.thread_count() < MAX_THREADS {
                    let id = self.spawn(p);
                    ensure_eq!(self.s.state(id), Some(State::Ready), "spawned state");
                    ensure_eq!(self.s.priority(id), Some(p), "spawned priority");
                }
            }
            Op::Yield(c) => {
                let cpu = self.cpu(c);
                let before = self.s.current(cpu);
                let next = self.s.yield_now(cpu);
                self.check_decision(cpu, before, next)?;
            }
            Op::PreemptCheck(c) => self.preempt(self.cpu(c))?,
            Op::Tick(c, dt) => self.tick(self.cpu(c), dt)?,
            Op::Sleep(c, rel) => {
                let cpu = self.cpu(c);
                let before = self.s.current(cpu);
                if self.s.is_idle(before) {
                    return Ok(());
                }
                let deadline = self.now.saturating_add_signed(i64::from(rel));
                let next = self.s.sleep_until(cpu, deadline);
                ensure!(next.is_switch(), "sleep did not switch");
                self.check_decision(cpu, before, next)?;
                ensure_eq!(self.s.state(before), Some(State::Sleeping), "sleeper state");
                ensure_eq!(self.s.sleep_deadline(before), Some(deadline), "deadline");
                self.sleepers.insert(before, deadline);
                self.results.remove(&before);
            }
            Op::Block(c) => {
                let cpu = self.cpu(c);
                let before = self.s.current(cpu);
                if self.s.is_idle(before) {
                    return Ok(());
                }
                let next = self.s.block_current(cpu);
                ensure!(next.is_switch(), "block did not switch");
                self.check_decision(cpu, before, next)?;
                ensure_eq!(self.s.state(before), Some(State::Blocked), "blocked state");
                self.results.remove(&before);
            }
            Op::Wake(n) => self.wake_thread(self.pick(n))?,
            Op::Exit(c, failed) => self.exit(self.cpu(c), failed)?,
            Op::Join(c, n) => self.join(self.cpu(c), self.pick(n))?,
            Op::Reap(n) => self.reap_thread(self.pick(n))?,
            Op::Detach(n) => self.detach(self.pick(n))?,
            Op::SetPriority(n, p) => self.set_priority(self.pick(n), p)?,
            Op::SpawnAffine(p, mask) => self.spawn_affine(p, u32::from(mask))?,
            Op::SetAffinity(c, mask) => self.set_affinity(self.cpu(c), u32::from(mask))?,
            Op::TakeResult(c) => {
                let cpu = self.cpu(c);
                let cur = self.s.current(cpu);
                let expected = self.results.remove(&cur).unwrap_or(WaitResult::Nothing);
                ensure_eq!(
                    self.s.take_wait_result(cpu),
                    expected,
                    "wait result of {cur:?}"
                );
                if let Some((i, deadline)) = self.claims.remove(&cur) {
                    self.claim(cpu, i, deadline)?;
                }
            }
            _ => unreachable!("not a thread operation"),
        }
        Ok(())
    }

    pub(super) fn spawn(&mut self, p: Priority) -> ThreadId {
        let data = self.next_data;
        self.next_data += 1;
        let id = self.s.spawn(p, data);
        self.known.push(id);
        self.data_of.insert(id, data);
        id
    }

    fn spawn_affine(&mut self, p: Priority, mask: u32) -> Result<(), String> {
        if self.s.thread_count() >= MAX_THREADS {
            return Ok(());
        }
        let allowed = mask & ALL_CPUS;
        let data = self.next_data;
        match self.s.spawn_with_affinity(p, mask, data) {
            Ok(id) => {
                ensure!(
                    allowed & self.started() != 0,
                    "spawned with no started cpu: {mask:#b}"
                );
                self.next_data += 1;
                self.known.push(id);
                self.data_of.insert(id, data);
                ensure_eq!(self.s.state(id), Some(State::Ready), "spawned state");
                ensure_eq!(self.s.affinity(id), Some(allowed), "spawned affinity");
            }
            Err(e) => {
                ensure_eq!(e, SchedError::NoAllowedCpu, "spawn_with_affinity {mask:#b}");
                ensure!(
                    allowed & self.started() == 0,
                    "refused a mask naming a started cpu"
                );
            }
        }
        Ok(())
    }

    fn set_affinity(&mut self, cpu: usize, mask: u32) -> Result<(), String> {
        let cur = self.s.current(cpu);
        let allowed = mask & ALL_CPUS;
        let old = self.s.affinity(cur);
        let expected = if self.s.is_idle(cur) {
            Err(SchedError::IdleThread)
        } else if allowed & self.started() == 0 {
            Err(SchedError::NoAllowedCpu)
        } else {
            Ok(())
        };
        let result = self.s.set_affinity(cpu, mask);
        ensure_eq!(result.map(|_| ()), expected, "set_affinity {mask:#b}");
        match result {
            Ok(next) => {
                ensure_eq!(self.s.affinity(cur), Some(allowed), "affinity after set");
                ensure_eq!(
                    next.is_switch(),
                    allowed & (1 << cpu) == 0,
                    "a thread moves exactly when its cpu is no longer allowed"
                );
                self.check_decision(cpu, cur, next)?;
            }
            Err(_) => ensure_eq!(self.s.affinity(cur), old, "refused set_affinity changed it"),
        }
        Ok(())
    }

    /// What the kernel does after making a thread ready.
    pub(super) fn preempt(&mut self, cpu: usize) -> Result<(), String> {
        let before = self.s.current(cpu);
        let next = self.s.preempt_check(cpu);
        self.check_decision(cpu, before, next)
    }

    /// Time passes; the CPUs whose timers are due then take their interrupts (see
    /// `time`). No time passing interrupts `cpu` whatever its timer: an early interrupt.
    fn tick(&mut self, cpu: usize, dt: u64) -> Result<(), String> {
        self.now += dt;
        if dt == 0 {
            self.timer_interrupt(cpu)?;
        }
        Ok(())
    }

    pub(super) fn wake_thread(&mut self, id: ThreadId) -> Result<(), String> {
        let expected = match self.s.state(id) {
            None => Err(SchedError::NoSuchThread),
            Some(_) if self.s.is_idle(id) => Err(SchedError::IdleThread),
            Some(State::Blocked | State::Sleeping) => Ok(()),
            Some(_) => Err(SchedError::NotBlocked),
        };
        ensure_eq!(self.s.wake(id), expected, "wake {id:?}");
        if expected.is_ok() {
            ensure_eq!(self.s.state(id), Some(State::Ready), "woken state");
            ensure_eq!(self.s.waiting_on(id), None, "woken thread still waits");
            self.end_wait(id, WaitResult::Woken);
        }
        Ok(())
    }

    pub(super) fn exit(&mut self, cpu: usize, failed: bool) -> Result<(), String> {
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
        // Mutexes the scheduler knows `cur` holds go to their best waiters; a
        // fast-path lock it never told anyone about stays with the dead.
        let handoffs: Vec<(usize, Option<ThreadId>)> = (0..self.objs.len())
            .filter(|&i| {
                let o = &self.objs[i];
                let recorded = !o.fast || o.word & LOCK_WAITERS != 0;
                o.alive && o.holder == Some(cur) && matches!(o.handle, Handle::Mutex(_)) && recorded
            })
            .map(|i| (i, self.model_waiters(i).first().copied()))
            .collect();
        let out = self.s.exit_current(cpu, status);
        ensure!(out.next.is_switch(), "exit did not switch");
        self.check_decision(cpu, cur, out.next)?;
        if detached {
            ensure_eq!(out.dead, self.data_of.get(&cur).copied(), "detached data");
            ensure_eq!(self.s.state(cur), None, "detached exit frees the slot");
            self.give_back(out.dead.unwrap_or(0))?;
        } else {
            ensure_eq!(out.dead, None, "joinable exit returns no data");
            ensure_eq!(self.s.state(cur), Some(State::Zombie(status)), "zombie");
        }
        if let Some(j) = joiner {
            ensure!(
                matches!(self.s.state(j), Some(State::Ready | State::Running(_))),
                "joiner not woken by exit"
            );
        }
        self.claims.remove(&cur);
        for (i, heir) in handoffs {
            self.objs[i].poisoned = true;
            self.hand_over(i, heir);
        }
        self.tokens.remove(&cur);
        Ok(())
    }

    fn join(&mut self, cpu: usize, target: ThreadId) -> Result<(), String> {
        let cur = self.s.current(cpu);
        let st = self.s.state(target);
        let result = self.s.join(cpu, target);
        if target == cur {
            ensure_eq!(result, Err(SchedError::JoinSelf), "join self");
        } else if st.is_none() {
            ensure_eq!(result, Err(SchedError::NoSuchThread), "join stale");
        } else if self.s.is_idle(target) || self.s.is_idle(cur) {
            ensure_eq!(result, Err(SchedError::IdleThread), "join idle");
        } else if self.s.is_detached(target) {
            ensure_eq!(result, Err(SchedError::Detached), "join detached");
        }
        match result {
            Ok(JoinPoll::Exited(status)) => {
                ensure_eq!(st, Some(State::Zombie(status)), "joined a non-zombie");
                ensure_eq!(self.s.current(cpu), cur, "exited join switched");
            }
            Ok(JoinPoll::Blocked(next)) => {
                ensure!(next.is_switch(), "blocked join did not switch");
                self.check_decision(cpu, cur, next)?;
                ensure_eq!(self.s.state(cur), Some(State::Joining(target)), "joining");
            }
            Err(SchedError::AlreadyJoined | SchedError::Deadlock) => {
                ensure_eq!(self.s.current(cpu), cur, "refused join switched");
            }
            Err(_) => {}
        }
        Ok(())
    }

    pub(super) fn reap_thread(&mut self, id: ThreadId) -> Result<(), String> {
        let st = self.s.state(id);
        match self.s.reap(id) {
            Some((data, status)) => {
                ensure_eq!(st, Some(State::Zombie(status)), "reaped a non-zombie");
                ensure_eq!(Some(&data), self.data_of.get(&id), "reaped data");
                ensure_eq!(self.s.state(id), None, "reaped id still live");
                self.give_back(data)?;
            }
            None => ensure!(!matches!(st, Some(State::Zombie(_))), "zombie not reaped"),
        }
        Ok(())
    }

    fn detach(&mut self, id: ThreadId) -> Result<(), String> {
        let st = self.s.state(id);
        let idle = self.s.is_idle(id);
        match self.s.detach(id) {
            Some(data) => {
                ensure!(
                    matches!(st, Some(State::Zombie(_))),
                    "detach freed a live thread"
                );
                ensure_eq!(Some(&data), self.data_of.get(&id), "detached data");
                self.give_back(data)?;
            }
            None => {
                ensure!(!matches!(st, Some(State::Zombie(_))), "zombie not freed");
                ensure_eq!(
                    self.s.is_detached(id),
                    st.is_some() && !idle,
                    "detached flag"
                );
            }
        }
        Ok(())
    }

    fn set_priority(&mut self, id: ThreadId, p: Priority) -> Result<(), String> {
        let expected = match self.s.state(id) {
            None => Err(SchedError::NoSuchThread),
            Some(_) if self.s.is_idle(id) => Err(SchedError::IdleThread),
            Some(_) => Ok(()),
        };
        ensure_eq!(self.s.set_priority(id, p), expected, "set_priority");
        if expected.is_ok() {
            ensure_eq!(self.s.base_priority(id), Some(p), "base after set_priority");
            ensure!(self.s.priority(id) >= Some(p), "effective below base");
        }
        Ok(())
    }

    pub(super) fn give_back(&mut self, data: u32) -> Result<(), String> {
        ensure!(self.returned.insert(data), "data {data} handed back twice");
        Ok(())
    }
}
