//! The consistency check of the synchronization state.
//!
//! Blocking is recorded on both sides (the thread says what it waits on, the
//! object lists its waiters; the mutex names its owner, the owner lists its
//! mutexes), and priorities are derived from the waiters. Every one of those
//! redundancies is a way for a wake-up to be lost or a boost to linger, so the
//! audit checks each against the other, plus the per-kind "no lost wake-up"
//! rules. Like the rest of the audit it is for tests and debug builds only.

use alloc::vec;

use super::Scheduler;
use crate::object::Kind;
use crate::thread::{State, Thread, WaitOn};
use crate::ThreadId;

impl<T, S: crate::StoreKind> Scheduler<T, S> {
    /// Audits objects, wait lists, ownership, inheritance and timers.
    pub(super) fn audit_sync(&self) -> Result<(), &'static str> {
        // How many times each thread slot was found in a wait list.
        let mut listed = vec![0u8; self.threads.slot_count()];
        let mut owned_mutexes = 0;
        for (oid, obj) in self.objects.iter() {
            obj.waiters.audit(self.threads.slots(), |i| {
                let Some(t) = self.threads.at(i) else {
                    return Err("wait list names a vacant thread slot");
                };
                if t.state != State::Blocked || t.wait.on != WaitOn::Object(oid) {
                    return Err("listed waiter is not blocked on that object");
                }
                listed[i as usize] += 1;
                if let Kind::Event { bits } = obj.kind {
                    let req = t.wait.event;
                    if req.mask == 0 || req.mode.satisfied(req.mask, bits) {
                        return Err("event waiter left blocked although satisfied");
                    }
                }
                Ok(())
            })?;
            match &obj.kind {
                Kind::Mutex(m) => match m.owner {
                    Some(owner) => {
                        owned_mutexes += 1;
                        match self.threads.get(owner) {
                            Some(t) if !t.is_idle() && !matches!(t.state, State::Zombie(_)) => {}
                            _ => return Err("mutex owner is stale, idle or dead"),
                        }
                    }
                    None if !obj.waiters.is_empty() => return Err("free mutex has waiters"),
                    None => {}
                },
                Kind::Semaphore { permits } if *permits > 0 && !obj.waiters.is_empty() => {
                    return Err("semaphore has permits while threads wait");
                }
                _ => {}
            }
        }
        let mut owned_total = 0;
        for (id, t) in self.threads.iter() {
            if listed[id.index() as usize] != u8::from(matches!(t.wait.on, WaitOn::Object(_))) {
                return Err("thread is not listed exactly once where it waits");
            }
            self.audit_wait_record(id, t)?;
            self.for_each_owned(id, |_| owned_total += 1)?;
        }
        if owned_total != owned_mutexes {
            return Err("owned-mutex lists disagree with mutex owners");
        }
        Ok(())
    }

    fn audit_wait_record(&self, id: ThreadId, t: &Thread<T>) -> Result<(), &'static str> {
        let waits = t.wait.on != WaitOn::Nothing;
        if waits && t.state != State::Blocked {
            return Err("thread records a wait but is not blocked");
        }
        if t.wait.link.is_queued() != matches!(t.wait.on, WaitOn::Object(_)) {
            return Err("wait link disagrees with what the thread waits on");
        }
        let timed = self.timers.contains(id.index());
        if timed != t.wait.timed {
            return Err("timer flag disagrees with the timer heap");
        }
        if t.state == State::Sleeping && !timed {
            return Err("sleeping thread has no timer");
        }
        if timed && t.state != State::Sleeping && !waits {
            return Err("timer entry for a thread that is neither asleep nor a timed waiter");
        }
        if matches!(t.state, State::Blocked | State::Sleeping)
            && t.wait.result != crate::WaitResult::Nothing
        {
            return Err("a waiting thread holds a stale wait result");
        }
        let mut owner_ok = Ok(());
        self.for_each_owned(id, |m| {
            let o = crate::object::mutex_at(&self.objects, m).owner;
            if o != Some(id) {
                owner_ok = Err("owned-mutex list names a mutex of another owner");
            }
        })?;
        owner_ok?;
        if (t.is_idle() || matches!(t.state, State::Zombie(_))) && self.first_owned(id).is_some() {
            return Err("an idle or dead thread owns a mutex");
        }
        if t.is_idle() && t.wait.park_token {
            return Err("idle thread holds a park token");
        }
        if t.priority != self.inherited_priority(id) {
            return Err("effective priority is not max(base, waiters of owned mutexes)");
        }
        // The chain of mutex owners from here must end (no cycle).
        let mut at = id;
        for _ in 0..=self.threads.live() {
            let WaitOn::Object(o) = self.entry(at).wait.on else {
                return Ok(());
            };
            match &self.objects.get(o).map(|o| &o.kind) {
                Some(Kind::Mutex(m)) => match m.owner {
                    Some(owner) if owner == id => return Err("mutex wait chain has a cycle"),
                    Some(owner) => at = owner,
                    None => return Err("thread waits for a free mutex"),
                },
                Some(_) => return Ok(()),
                None => return Err("thread waits on a destroyed object"),
            }
        }
        Err("mutex wait chain longer than the thread table")
    }

    /// Timers must be exactly the sleepers plus the timed waiters.
    pub(super) fn audit_timer_count(&self) -> Result<(), &'static str> {
        let timed = self
            .threads
            .iter()
            .filter(|(id, _)| self.timers.contains(id.index()))
            .count();
        if timed != self.timers.len() {
            return Err("timer count disagrees with timed threads");
        }
        Ok(())
    }
}
