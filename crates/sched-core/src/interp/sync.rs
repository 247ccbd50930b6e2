//! Operations on wait queues, semaphores, event flags (their model is in `events`), park
//! tokens, and object creation and destruction. Each predicts its outcome from the model first,
//! then compares.

use crate::StoreKind;
use alloc::string::String;
use alloc::vec::Vec;

use super::model::{Handle, ObjRec, Sel};
use super::{Interp, Op};
use crate::{AcquirePoll, EventMode, Next, SchedError, State, ThreadId, WaitResult, LOCK_WAITERS};

impl<S: StoreKind> Interp<S> {
    pub(super) fn apply_sync_op(&mut self, op: &Op) -> Result<(), String> {
        match *op {
            Op::CreateQueue => {
                let q = self.s.create_queue();
                self.objs.push(ObjRec::new(Handle::Queue(q), 0, false));
            }
            Op::CreateSemaphore(n) => {
                let s = self.s.create_semaphore(u32::from(n));
                self.objs
                    .push(ObjRec::new(Handle::Sem(s), u32::from(n), false));
            }
            Op::CreateEvent => {
                let e = self.s.create_event_flags();
                self.objs.push(ObjRec::new(Handle::Event(e), 0, false));
            }
            Op::Destroy(n) => {
                if let Some(i) = self.pick_obj(Sel::Any, n) {
                    self.destroy(i)?;
                }
            }
            Op::WaitOn(c, n, timeout) => {
                if let Some(i) = self.pick_obj(Sel::Queue, n) {
                    self.wait_on(self.cpu(c), i, timeout)?;
                }
            }
            Op::WakeOne(c, n) | Op::WakeAll(c, n) => {
                if let Some(i) = self.pick_obj(Sel::Queue, n) {
                    self.wake_queue(i, matches!(op, Op::WakeAll(..)))?;
                    self.preempt(self.cpu(c))?;
                }
            }
            Op::SemAcquire(c, n, timeout) => {
                if let Some(i) = self.pick_obj(Sel::Sem, n) {
                    self.sem_acquire(self.cpu(c), i, timeout)?;
                }
            }
            Op::SemTryAcquire(n) => {
                if let Some(i) = self.pick_obj(Sel::Sem, n) {
                    let Handle::Sem(s) = self.objs[i].handle else {
                        unreachable!()
                    };
                    let o = &self.objs[i];
                    let expected = match (o.alive, o.permits) {
                        (false, _) => Err(SchedError::NoSuchObject),
                        (true, 0) => Ok(false),
                        (true, _) => Ok(true),
                    };
                    ensure_eq!(self.s.sem_try_acquire(s), expected, "sem_try_acquire");
                    if expected == Ok(true) {
                        self.objs[i].permits -= 1;
                    }
                }
            }
            Op::SemRelease(c, n) => {
                if let Some(i) = self.pick_obj(Sel::Sem, n) {
                    self.sem_release(i, false)?;
                    self.preempt(self.cpu(c))?;
                }
            }
            Op::SemReleaseDrain(c, n) => {
                if let Some(i) = self.pick_obj(Sel::Sem, n) {
                    self.sem_release(i, true)?;
                    self.preempt(self.cpu(c))?;
                }
            }
            Op::EventWait {
                cpu,
                pick,
                mask,
                any,
                clear,
                timeout,
            } => {
                if let Some(i) = self.pick_obj(Sel::Event, pick) {
                    let mode = if any { EventMode::Any } else { EventMode::All };
                    let req = (u32::from(mask), mode, clear);
                    self.event_wait(self.cpu(cpu), i, req, timeout)?;
                }
            }
            Op::EventSet(c, n, bits) => {
                if let Some(i) = self.pick_obj(Sel::Event, n) {
                    self.event_set(i, u32::from(bits))?;
                    self.preempt(self.cpu(c))?;
                }
            }
            Op::EventSync {
                cpu,
                pick,
                set,
                wait_for,
                timeout,
            } => {
                if let Some(i) = self.pick_obj(Sel::Event, pick) {
                    let bits = (u32::from(set), u32::from(wait_for));
                    self.event_sync(self.cpu(cpu), i, bits, timeout)?;
                }
            }
            Op::EventClear(n, bits) => {
                if let Some(i) = self.pick_obj(Sel::Event, n) {
                    let Handle::Event(e) = self.objs[i].handle else {
                        unreachable!()
                    };
                    let expected = if self.objs[i].alive {
                        Ok(())
                    } else {
                        Err(SchedError::NoSuchObject)
                    };
                    ensure_eq!(
                        self.s.event_clear(e, u32::from(bits)),
                        expected,
                        "event_clear"
                    );
                    self.objs[i].bits &= !u32::from(bits);
                }
            }
            Op::Park(c, timeout) => self.park(self.cpu(c), timeout)?,
            Op::Unpark(c, n) => {
                self.unpark(self.pick(n))?;
                self.preempt(self.cpu(c))?;
            }
            _ => unreachable!("not a synchronization operation"),
        }
        Ok(())
    }

    pub(super) fn destroy(&mut self, i: usize) -> Result<(), String> {
        let o = &self.objs[i];
        let owned = match o.handle {
            Handle::Mutex(_) if o.fast => o.word & LOCK_WAITERS != 0 && o.holder.is_some(),
            Handle::Mutex(_) => o.holder.is_some(),
            _ => false,
        };
        let expected = if !o.alive {
            Err(SchedError::NoSuchObject)
        } else if owned || !self.model_waiters(i).is_empty() {
            Err(SchedError::Busy)
        } else {
            Ok(())
        };
        let got = match o.handle {
            Handle::Queue(q) => self.s.destroy_queue(q),
            Handle::Mutex(m) => self.s.destroy_mutex(m),
            Handle::Sem(s) => self.s.destroy_semaphore(s),
            Handle::Event(e) => self.s.destroy_event_flags(e),
        };
        ensure_eq!(got, expected, "destroy {:?}", o.handle);
        if got.is_ok() {
            self.objs[i].alive = false;
        }
        Ok(())
    }

    /// Common checks of a call that blocked `cur` on `cpu`.
    pub(super) fn blocked(
        &mut self,
        cpu: usize,
        cur: ThreadId,
        next: Next,
        obj: Option<usize>,
        deadline: Option<u64>,
        event: Option<(u32, EventMode, bool)>,
    ) -> Result<(), String> {
        ensure!(next.is_switch(), "blocking call did not switch");
        self.check_decision(cpu, cur, next)?;
        ensure_eq!(self.s.state(cur), Some(State::Blocked), "blocked state");
        self.begin_wait(cur, obj, deadline, event);
        Ok(())
    }

    fn wait_on(&mut self, cpu: usize, i: usize, timeout: Option<u64>) -> Result<(), String> {
        let Handle::Queue(q) = self.objs[i].handle else {
            unreachable!()
        };
        let cur = self.s.current(cpu);
        let deadline = self.deadline(timeout);
        let result = self.s.wait_on(cpu, q, deadline);
        if !self.objs[i].alive {
            ensure_eq!(
                result,
                Err(SchedError::NoSuchObject),
                "wait on a stale queue"
            );
        } else if self.s.is_idle(cur) {
            ensure_eq!(result, Err(SchedError::IdleThread), "idle waits");
        } else {
            let next = result.map_err(|e| alloc::format!("wait_on failed: {e}"))?;
            self.blocked(cpu, cur, next, Some(i), deadline, None)?;
        }
        Ok(())
    }

    fn wake_queue(&mut self, i: usize, all: bool) -> Result<(), String> {
        let Handle::Queue(q) = self.objs[i].handle else {
            unreachable!()
        };
        let order = self.model_waiters(i);
        if !self.objs[i].alive {
            ensure_eq!(
                self.s.wake_one(q),
                Err(SchedError::NoSuchObject),
                "stale wake_one"
            );
            ensure_eq!(
                self.s.wake_all(q),
                Err(SchedError::NoSuchObject),
                "stale wake_all"
            );
            return Ok(());
        }
        let woken: Vec<ThreadId> = if all {
            ensure_eq!(self.s.wake_all(q), Ok(order.len()), "wake_all count");
            order
        } else {
            let first = order.first().copied();
            ensure_eq!(self.s.wake_one(q), Ok(first), "wake_one: best waiter first");
            first.into_iter().collect()
        };
        for t in woken {
            self.end_wait(t, WaitResult::Woken);
        }
        Ok(())
    }

    fn sem_acquire(&mut self, cpu: usize, i: usize, timeout: Option<u64>) -> Result<(), String> {
        let Handle::Sem(s) = self.objs[i].handle else {
            unreachable!()
        };
        let cur = self.s.current(cpu);
        let deadline = self.deadline(timeout);
        let result = self.s.sem_acquire(cpu, s, deadline);
        let o = &self.objs[i];
        if !o.alive {
            ensure_eq!(result, Err(SchedError::NoSuchObject), "acquire stale");
        } else if o.permits > 0 {
            ensure_eq!(result, Ok(AcquirePoll::Acquired), "acquire with permits");
            self.objs[i].permits -= 1;
        } else if self.s.is_idle(cur) {
            ensure_eq!(result, Err(SchedError::IdleThread), "idle acquires");
        } else {
            let Ok(AcquirePoll::Blocked(next)) = result else {
                return Err(alloc::format!("acquire without permits: {result:?}"));
            };
            self.blocked(cpu, cur, next, Some(i), deadline, None)?;
        }
        Ok(())
    }

    /// A release (`drain`: through `sem_release_drain`, which also hands the whole count back
    /// once nobody waits).
    fn sem_release(&mut self, i: usize, drain: bool) -> Result<(), String> {
        let Handle::Sem(s) = self.objs[i].handle else {
            unreachable!()
        };
        let heir = self.model_waiters(i).first().copied();
        let o = &self.objs[i];
        let expected = match (o.alive, heir, o.permits) {
            (false, _, _) => Err(SchedError::NoSuchObject),
            (true, None, u32::MAX) => Err(SchedError::Overflow),
            _ => Ok(()),
        };
        if drain {
            let last = self.model_waiters(i).len() <= 1;
            let expected = expected.map(|()| match heir {
                Some(_) => last.then_some(0),
                None => Some(o.permits + 1),
            });
            ensure_eq!(self.s.sem_release_drain(s), expected, "sem_release_drain");
        } else {
            ensure_eq!(self.s.sem_release(s), expected, "sem_release");
        }
        match (expected, heir) {
            (Ok(()), Some(h)) => self.end_wait(h, WaitResult::Acquired),
            (Ok(()), None) if drain => self.objs[i].permits = 0,
            (Ok(()), None) => self.objs[i].permits += 1,
            _ => {}
        }
        Ok(())
    }

    fn park(&mut self, cpu: usize, timeout: Option<u64>) -> Result<(), String> {
        let cur = self.s.current(cpu);
        if self.s.is_idle(cur) {
            return Ok(());
        }
        let deadline = self.deadline(timeout);
        let next = self.s.park(cpu, deadline);
        if self.tokens.remove(&cur) {
            ensure_eq!(next, Next::Keep, "park with a token must not block");
        } else {
            self.blocked(cpu, cur, next, None, deadline, None)?;
        }
        Ok(())
    }

    fn unpark(&mut self, t: ThreadId) -> Result<(), String> {
        let parked = self.waits.get(&t).is_some_and(|w| w.obj.is_none());
        let expected = match self.s.state(t) {
            None => Err(SchedError::NoSuchThread),
            Some(_) if self.s.is_idle(t) => Err(SchedError::IdleThread),
            Some(_) => Ok(()),
        };
        let zombie = matches!(self.s.state(t), Some(State::Zombie(_)));
        ensure_eq!(self.s.unpark(t), expected, "unpark {t:?}");
        if expected.is_ok() {
            if parked {
                self.end_wait(t, WaitResult::Woken);
            } else if !zombie {
                self.tokens.insert(t);
            }
        }
        Ok(())
    }
}
