//! Mutex operations, played the way the kernel plays them.
//!
//! A "slow" mutex goes through `mutex_lock`/`mutex_try_lock`/`mutex_unlock`
//! only. A "fast" one follows the lock-word protocol documented on
//! [`Scheduler::mutex_lock_contended`](crate::Scheduler::mutex_lock_contended):
//! the interpreter keeps the word, performs the compare-and-swaps itself (it is
//! single-threaded, so a CAS is a compare and a store), and calls the
//! scheduler only where the protocol says to. That tests the protocol, not
//! just the calls: the checks compare the kernel-visible owner (derived from
//! the word) with the model after every step.

use crate::StoreKind;
use alloc::string::String;

use super::model::{Handle, ObjRec, Sel};
use super::{Interp, Op};
use crate::{LockPoll, MutexId, SchedError, State, ThreadId, Ticks, WaitResult, LOCK_WAITERS};

/// What a lock attempt should do, by the model.
#[derive(Debug, PartialEq, Eq)]
enum Expect {
    Acquire,
    Block,
    Fail(SchedError),
}

impl<S: StoreKind> Interp<S> {
    pub(super) fn apply_mutex_op(&mut self, op: &Op) -> Result<(), String> {
        if let Op::CreateMutex { fast } = *op {
            let m = self.s.create_mutex();
            self.objs.push(ObjRec::new(Handle::Mutex(m), 0, fast));
            return Ok(());
        }
        let (Op::Lock(_, n, _) | Op::TryLock(_, n) | Op::Unlock(_, n) | Op::ClearPoison(n)) = *op
        else {
            unreachable!("not a mutex operation");
        };
        let Some(i) = self.pick_obj(Sel::Mutex, n) else {
            return Ok(());
        };
        let m = self.objs[i].mutex();
        if let Op::Lock(c, ..) | Op::TryLock(c, _) | Op::Unlock(c, _) = *op {
            // The kernel claims a mutex handed to a thread before that thread does anything
            // else; a scenario that has the heir use the mutex first gives up the claim (the
            // mutex stays pending, in the model as in the scheduler).
            let cur = self.s.current(self.cpu(c));
            if self.claims.get(&cur).is_some_and(|&(j, _)| j == i) {
                self.claims.remove(&cur);
            }
        }
        match *op {
            Op::Lock(c, _, timeout) => self.lock(self.cpu(c), i, m, timeout),
            Op::TryLock(c, _) => self.try_lock(self.cpu(c), i, m),
            Op::Unlock(c, _) => self.unlock(self.cpu(c), i, m),
            _ => {
                let expected = if self.objs[i].alive {
                    Ok(())
                } else {
                    Err(SchedError::NoSuchObject)
                };
                ensure_eq!(self.s.mutex_clear_poison(m), expected, "clear_poison");
                self.objs[i].poisoned = false;
                Ok(())
            }
        }
    }

    fn is_dead(&self, t: ThreadId) -> bool {
        matches!(self.s.state(t), None | Some(State::Zombie(_)))
    }

    /// Whether `cur` may take mutex `i` over from its holder: the holder is pending and
    /// `cur`'s effective priority is at least the holder's. Checks on the way the property
    /// the rule exists for: such a taker outranks or equals every waiter.
    fn takes_over(&self, i: usize, cur: ThreadId) -> Result<bool, String> {
        let o = &self.objs[i];
        let Some(h) = o.holder.filter(|&h| o.pending && h != cur) else {
            return Ok(false);
        };
        let mine = self.s.priority(cur).unwrap_or(0);
        if mine < self.s.priority(h).unwrap_or(0) {
            return Ok(false);
        }
        for w in self.model_waiters(i) {
            ensure!(
                self.s.priority(w).unwrap_or(0) <= mine,
                "{cur:?} (priority {mine}) would take a mutex before the better waiter {w:?}"
            );
        }
        Ok(true)
    }

    /// The model's verdict on `cur` locking mutex `i` whose holder is `holder`.
    fn expect_lock(
        &self,
        i: usize,
        cur: ThreadId,
        holder: Option<ThreadId>,
    ) -> Result<Expect, String> {
        Ok(match holder {
            None => Expect::Acquire,
            Some(h) if h == cur => Expect::Fail(SchedError::Relock),
            Some(_) if self.takes_over(i, cur)? => Expect::Acquire,
            Some(h) if self.holder_chain_reaches(h, cur) => Expect::Fail(SchedError::Deadlock),
            Some(_) => Expect::Block,
        })
    }

    fn lock(
        &mut self,
        cpu: usize,
        i: usize,
        m: MutexId,
        timeout: Option<Ticks>,
    ) -> Result<(), String> {
        let deadline = self.deadline(timeout);
        self.lock_at(cpu, i, m, deadline, false)
    }

    /// A lock; `retry`: the one a woken heir makes after losing the mutex
    /// (`mutex_lock_retry`, which queues it ahead of its peers).
    fn lock_at(
        &mut self,
        cpu: usize,
        i: usize,
        m: MutexId,
        deadline: Option<Ticks>,
        retry: bool,
    ) -> Result<(), String> {
        let cur = self.s.current(cpu);
        let (alive, fast, holder, w) = {
            let o = &self.objs[i];
            (o.alive, o.fast, o.holder, o.word)
        };
        let call = |s: &mut crate::Scheduler<u32, S>, hint: Option<ThreadId>| match (retry, hint) {
            (true, hint) => s.mutex_lock_retry(cpu, m, hint, deadline),
            (false, Some(h)) => s.mutex_lock_contended(cpu, m, h, deadline),
            (false, None) => s.mutex_lock(cpu, m, deadline),
        };
        let (expect, result) = if !alive {
            let r = call(&mut self.s, None);
            (Expect::Fail(SchedError::NoSuchObject), r)
        } else if self.s.is_idle(cur) {
            if fast {
                return Ok(()); // The kernel never lets an idle thread lock.
            }
            (
                Expect::Fail(SchedError::IdleThread),
                call(&mut self.s, None),
            )
        } else if !fast {
            let expect = self.expect_lock(i, cur, holder)?;
            (expect, call(&mut self.s, None))
        } else {
            if w == 0 {
                // Fast path: CAS(0 -> me); the scheduler is not involved.
                self.objs[i].word = cur.as_u64();
                self.objs[i].holder = Some(cur);
                return Ok(());
            }
            if w == cur.as_u64() {
                return Ok(()); // The kernel sees its own relock in the word.
            }
            // Slow path: set the waiters bit, then let the scheduler decide.
            let recorded = w & LOCK_WAITERS != 0 && holder.is_some();
            self.objs[i].word = w | LOCK_WAITERS;
            let hint = ThreadId::from_u64(w & !LOCK_WAITERS);
            // `LOCK_WAITERS` alone: handed over to a pending owner (or left by one that died
            // pending); the scheduler's record is all there is.
            ensure!(
                hint.is_some() || w == LOCK_WAITERS,
                "lock word {w:#x} names no thread"
            );
            // Unrecorded means the word names the holder; by the protocol a
            // word with the bit set but nobody recorded names a dead thread.
            let dead_hint =
                hint.is_some_and(|h| !recorded && (holder.is_none() || self.is_dead(h)));
            let expect = if dead_hint {
                self.objs[i].poisoned = true;
                Expect::Acquire
            } else {
                self.expect_lock(i, cur, holder)?
            };
            (expect, call(&mut self.s, hint))
        };
        match (expect, result) {
            (Expect::Acquire, Ok(LockPoll::Acquired)) => self.acquired(i, m, cur),
            (Expect::Block, Ok(LockPoll::Blocked(next))) => {
                self.blocked(cpu, cur, next, Some(i), deadline, None)?;
                if retry {
                    let stamp = self.next_front_stamp();
                    self.begin_wait_stamped(cur, Some(i), deadline, None, stamp);
                }
                Ok(())
            }
            (Expect::Fail(e), Err(got)) if e == got => {
                ensure_eq!(self.s.current(cpu), cur, "refused lock switched");
                Ok(())
            }
            (expect, result) => Err(alloc::format!("lock: expected {expect:?}, got {result:?}")),
        }
    }

    /// `cur` now holds mutex `i` (and runs: not pending); a fast mutex's word is refreshed.
    fn acquired(&mut self, i: usize, m: MutexId, cur: ThreadId) -> Result<(), String> {
        self.objs[i].holder = Some(cur);
        self.objs[i].pending = false;
        ensure_eq!(
            self.s.mutex_is_pending(m),
            Some(false),
            "pending after a take"
        );
        ensure_eq!(
            self.s.mutex_owner(m),
            Some(cur),
            "acquirer is not the owner"
        );
        if self.objs[i].fast {
            self.objs[i].word = self.s.mutex_lock_word(m).unwrap_or(0);
            ensure_eq!(self.objs[i].word, cur.as_u64() | LOCK_WAITERS, "lock word");
        }
        Ok(())
    }

    fn try_lock(&mut self, cpu: usize, i: usize, m: MutexId) -> Result<(), String> {
        let cur = self.s.current(cpu);
        let o = &self.objs[i];
        if !o.alive {
            ensure_eq!(
                self.s.mutex_try_lock(cpu, m),
                Err(SchedError::NoSuchObject),
                "stale"
            );
            return Ok(());
        }
        if self.s.is_idle(cur) {
            if !o.fast {
                ensure_eq!(
                    self.s.mutex_try_lock(cpu, m),
                    Err(SchedError::IdleThread),
                    "idle"
                );
            }
            return Ok(());
        }
        if o.fast {
            if o.word == 0 {
                self.objs[i].word = cur.as_u64();
                self.objs[i].holder = Some(cur);
                return Ok(());
            }
            if o.word & LOCK_WAITERS == 0 {
                return Ok(()); // Busy (or the kernel's own relock): no call.
            }
        }
        let expected = match o.holder {
            None => Ok(true),
            Some(h) if h == cur => Err(SchedError::Relock),
            Some(_) if self.takes_over(i, cur)? => Ok(true),
            Some(_) => Ok(false),
        };
        ensure_eq!(self.s.mutex_try_lock(cpu, m), expected, "try_lock");
        if expected == Ok(true) {
            self.acquired(i, m, cur)?;
        }
        Ok(())
    }

    fn unlock(&mut self, cpu: usize, i: usize, m: MutexId) -> Result<(), String> {
        let cur = self.s.current(cpu);
        let o = &self.objs[i];
        if !o.alive {
            ensure_eq!(
                self.s.mutex_unlock(cpu, m),
                Err(SchedError::NoSuchObject),
                "stale"
            );
            return Ok(());
        }
        if o.fast {
            if o.word == cur.as_u64() {
                // Fast path: CAS(me -> 0) succeeds because nobody waits.
                ensure_eq!(self.model_waiters(i).len(), 0, "fast unlock with waiters");
                self.objs[i].word = 0;
                self.objs[i].holder = None;
                return Ok(());
            }
            if o.word & LOCK_WAITERS == 0 || self.s.is_idle(cur) {
                return Ok(()); // The kernel sees the caller is not the owner.
            }
        }
        let heir = self.model_waiters(i).first().copied();
        let result = self.s.mutex_unlock(cpu, m);
        if o.holder != Some(cur) {
            ensure_eq!(result, Err(SchedError::NotOwner), "unlock by a non-owner");
            return Ok(());
        }
        let next = result.map_err(|e| alloc::format!("owner's unlock failed: {e}"))?;
        self.hand_over(i, heir);
        ensure_eq!(self.s.mutex_owner(m), heir, "handoff to the best waiter");
        ensure_eq!(
            self.s.mutex_is_pending(m),
            Some(heir.is_some()),
            "heir pending"
        );
        if self.objs[i].fast {
            self.objs[i].word = self.s.mutex_lock_word(m).unwrap_or(0);
            let expected = heir.map_or(0, |_| LOCK_WAITERS);
            ensure_eq!(self.objs[i].word, expected, "lock word after unlock");
        }
        self.check_decision(cpu, cur, next)
    }

    /// Mutex `i` goes to `heir` (its best waiter, woken with `Acquired`), pending until it
    /// claims it, or becomes free.
    pub(super) fn hand_over(&mut self, i: usize, heir: Option<ThreadId>) {
        self.objs[i].holder = heir;
        self.objs[i].pending = heir.is_some();
        if let Some(h) = heir {
            let deadline = self.waits.get(&h).and_then(|w| w.deadline);
            self.end_wait(h, WaitResult::Acquired);
            self.claims.insert(h, (i, deadline));
        }
    }

    /// The current thread of `cpu`, handed mutex `i` while it waited (with `deadline`),
    /// claims it as the kernel's woken locker does, and locks again if it was taken over.
    pub(super) fn claim(
        &mut self,
        cpu: usize,
        i: usize,
        deadline: Option<Ticks>,
    ) -> Result<(), String> {
        let cur = self.s.current(cpu);
        let m = self.objs[i].mutex();
        let expected = if self.objs[i].alive {
            Ok(self.objs[i].holder == Some(cur))
        } else {
            Err(SchedError::NoSuchObject)
        };
        ensure_eq!(self.s.mutex_claim(cpu, m), expected, "claim by {cur:?}");
        match expected {
            Ok(true) => self.acquired(i, m, cur),
            Ok(false) => self.lock_at(cpu, i, m, deadline, true),
            Err(_) => Ok(()),
        }
    }
}
