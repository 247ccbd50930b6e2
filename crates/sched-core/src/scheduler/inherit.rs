//! Priority inheritance: a mutex owner runs at least as high as anyone waiting
//! for it, transitively.
//!
//! Without it, a low-priority owner preempted by a medium thread keeps a high
//! waiter blocked indefinitely (priority inversion). The rule kept at all times
//! is a single equation per thread:
//!
//! ```text
//! effective(t) = max(base(t), effective(top waiter of m) for every mutex m t owns)
//! ```
//!
//! Because waiters are sorted by effective priority, the top waiter of each
//! mutex is its head, so the right-hand side costs one step per owned mutex
//! (kept in an intrusive list through the mutex entries, so ownership changes
//! never allocate). Transitivity comes for free: when a thread's effective
//! priority changes and it is itself waiting for a mutex, it is re-sorted in
//! that mutex's list and the equation is re-evaluated for that mutex's owner,
//! and so on up the chain ([`Scheduler::refresh_priority`]). The walk ends
//! because chains have no cycles: a lock that would close one is refused with
//! `Deadlock` ([`Scheduler::mutex_chain_reaches`]).

use super::Scheduler;
use crate::handles::ObjId;
use crate::object::{mutex_at, mutex_at_mut, KindTag};
use crate::slab::{SlabKey, NIL};
use crate::thread::{State, WaitOn};
use crate::{Priority, ThreadId};

impl<T, S: crate::StoreKind> Scheduler<T, S> {
    /// What `id`'s effective priority should be: its base, raised to the top
    /// waiter of every mutex it owns.
    pub(super) fn inherited_priority(&self, id: ThreadId) -> Priority {
        let t = self.entry(id);
        let mut prio = t.base_priority;
        let mut m = t.wait.owned_head;
        // The owned list and the wait lists are the scheduler's own links: trusted lookups
        // (checked in debug builds and by the audit).
        while m != NIL {
            let obj = self.objects.slot(m).entry();
            if let Some(top) = obj.waiters.head() {
                prio = prio.max(self.threads.slot(top).entry().priority);
            }
            m = obj.mutex().owned_next;
        }
        prio
    }

    /// Brings `id`'s effective priority in line with the rule, and passes any
    /// change on: re-sorted in the ready queue or in the wait list it is in,
    /// and, if it waits for a mutex, that mutex's owner is refreshed in turn.
    ///
    /// Inline up to "nothing changes", the common outcome (an unlock that took back no boost,
    /// a new owner nobody else waits for); the walk up the chain is out of line.
    #[inline]
    pub(super) fn refresh_priority(&mut self, id: ThreadId) {
        let new = self.inherited_priority(id);
        if self.entry(id).priority != new {
            self.propagate_priority(id, new);
        }
    }

    /// Gives `id` the effective priority `new` (not its current one) and walks up the chain
    /// of mutex owners it waits for, refreshing each in turn.
    #[inline(never)]
    fn propagate_priority(&mut self, id: ThreadId, new: Priority) {
        self.set_effective(id, new);
        let Some(mut at) = self.mutex_waited_by(id) else {
            return;
        };
        // No cycles exist, so a chain visits each thread at most once.
        for _ in 0..=self.threads.live() {
            let new = self.inherited_priority(at);
            if !self.set_effective(at, new) {
                return;
            }
            match self.mutex_waited_by(at) {
                Some(owner) => at = owner,
                None => return,
            }
        }
        unreachable!("mutex wait chain longer than the thread table");
    }

    /// Sets `id`'s effective priority and re-sorts it where it is queued.
    /// `false` if it already had that priority.
    fn set_effective(&mut self, id: ThreadId, prio: Priority) -> bool {
        let t = self.entry_mut(id);
        if t.priority == prio {
            return false;
        }
        let (old, base) = (t.priority, t.base_priority);
        let lowered = prio < old;
        t.priority = prio;
        t.rank = u16::from(prio) + 1;
        let (on, state) = (t.wait.on, t.state);
        if self.unqueue(id) {
            self.note_ready();
            self.enqueue_at(id, prio);
        } else if matches!(state, State::Running(_)) && lowered {
            self.note_ready();
        }
        if let WaitOn::Object(o) = on {
            let obj = self.objects.get_mut(o).expect("waiter's object vanished");
            obj.waiters.reposition(self.threads.slots_mut(), id.index());
        }
        self.trace.priority(id, old, prio, base);
        true
    }

    /// The owner of the mutex `id` waits for, if it waits for an owned mutex.
    fn mutex_waited_by(&self, id: ThreadId) -> Option<ThreadId> {
        let WaitOn::Object(o) = self.entry(id).wait.on else {
            return None;
        };
        let obj = self.objects.get(o).expect("waiter's object vanished");
        (obj.tag() == KindTag::Mutex)
            .then(|| obj.mutex().owner)
            .flatten()
    }

    /// Whether following "waits for a mutex owned by" from `from` reaches `to`
    /// (`from == to` counts). Bounded in case of a bug.
    pub(super) fn mutex_chain_reaches(&self, from: ThreadId, to: ThreadId) -> bool {
        let mut at = from;
        for _ in 0..=self.threads.live() {
            if at == to {
                return true;
            }
            match self.mutex_waited_by(at) {
                Some(owner) => at = owner,
                None => return false,
            }
        }
        unreachable!("mutex wait chain longer than the thread table");
    }

    /// Records `owner` as the owner of the free mutex `m` (linking it into the
    /// owner's list) and applies the boost its waiters give.
    pub(super) fn own(&mut self, m: ObjId, owner: ThreadId) {
        let old_head = self.entry(owner).wait.owned_head;
        let state = mutex_at_mut(&mut self.objects, m.index());
        debug_assert!(state.owner.is_none(), "mutex owned twice");
        state.owner = Some(owner);
        state.owned_prev = NIL;
        state.owned_next = old_head;
        if old_head != NIL {
            mutex_at_mut(&mut self.objects, old_head).owned_prev = m.index();
        }
        self.entry_mut(owner).wait.owned_head = m.index();
        self.refresh_priority(owner);
    }

    /// Clears the owner of `m`, unlinking it from the owner's list. The former
    /// owner's priority is *not* refreshed; the caller does that when done.
    pub(super) fn disown(&mut self, m: ObjId) -> Option<ThreadId> {
        let state = mutex_at_mut(&mut self.objects, m.index());
        let owner = state.owner.take()?;
        state.pending = false;
        let (prev, next) = (state.owned_prev, state.owned_next);
        state.owned_prev = NIL;
        state.owned_next = NIL;
        if prev == NIL {
            self.entry_mut(owner).wait.owned_head = next;
        } else {
            mutex_at_mut(&mut self.objects, prev).owned_next = next;
        }
        if next != NIL {
            mutex_at_mut(&mut self.objects, next).owned_prev = prev;
        }
        Some(owner)
    }

    /// The first mutex `id` owns, as an object id.
    pub(super) fn first_owned(&self, id: ThreadId) -> Option<ObjId> {
        let head = self.entry(id).wait.owned_head;
        (head != NIL).then(|| self.objects.id_at(head).expect("owned slot vacant"))
    }

    /// Calls `visit` with the slot index of every mutex `id` owns. Used by
    /// the audit; bounded by the object count.
    pub(super) fn for_each_owned(
        &self,
        id: ThreadId,
        mut visit: impl FnMut(u32),
    ) -> Result<(), &'static str> {
        let mut m = self.entry(id).wait.owned_head;
        let mut prev = NIL;
        let mut steps = 0;
        while m != NIL {
            steps += 1;
            if steps > self.objects.live() {
                return Err("owned-mutex list has a cycle");
            }
            let Some(obj) = self.objects.at(m) else {
                return Err("owned-mutex list names a vacant slot");
            };
            if obj.tag() != KindTag::Mutex {
                return Err("owned-mutex list names a non-mutex");
            }
            if mutex_at(&self.objects, m).owned_prev != prev {
                return Err("owned-mutex back link is broken");
            }
            visit(m);
            prev = m;
            m = mutex_at(&self.objects, m).owned_next;
        }
        Ok(())
    }
}
