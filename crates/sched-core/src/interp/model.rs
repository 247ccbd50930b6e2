//! The shadow model: what a caller of the scheduler knows independently.
//!
//! The model is deliberately simple (sorted vectors, recomputation from
//! scratch) so that it is obviously right; it predicts who must be woken or
//! handed an object, and the checks compare those predictions with what the
//! scheduler did.

use crate::StoreKind;
use alloc::vec::Vec;

use super::{Interp, Pick};
use crate::{
    EventId, EventMode, MutexId, Priority, QueueId, SemId, SyncObject, ThreadId, Ticks, WaitResult,
    WaitingOn,
};

/// Which kind an object of the model is, with its handle.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(super) enum Handle {
    Queue(QueueId),
    Mutex(MutexId),
    Sem(SemId),
    Event(EventId),
}

/// Kind selector for picking objects.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(super) enum Sel {
    Queue,
    Mutex,
    Sem,
    Event,
    Any,
}

/// One object ever created.
#[derive(Debug)]
pub(super) struct ObjRec {
    pub(super) handle: Handle,
    pub(super) alive: bool,
    pub(super) permits: u32,
    pub(super) bits: u32,
    /// Who holds a mutex from the kernel's point of view (fast path
    /// included); may be a dead thread that exited holding a fast-path lock.
    pub(super) holder: Option<ThreadId>,
    pub(super) poisoned: bool,
    /// The holder was handed the mutex while it waited and has not claimed it yet.
    pub(super) pending: bool,
    /// Driven through the lock-word protocol.
    pub(super) fast: bool,
    /// The kernel's lock word of a fast mutex.
    pub(super) word: u64,
}

impl ObjRec {
    pub(super) fn new(handle: Handle, permits: u32, fast: bool) -> Self {
        Self {
            handle,
            alive: true,
            permits,
            bits: 0,
            holder: None,
            poisoned: false,
            pending: false,
            fast,
            word: 0,
        }
    }

    fn matches(&self, sel: Sel) -> bool {
        matches!(
            (sel, self.handle),
            (Sel::Any, _)
                | (Sel::Queue, Handle::Queue(_))
                | (Sel::Mutex, Handle::Mutex(_))
                | (Sel::Sem, Handle::Sem(_))
                | (Sel::Event, Handle::Event(_))
        )
    }

    pub(super) fn waiting_on(&self) -> WaitingOn {
        match self.handle {
            Handle::Queue(q) => WaitingOn::Queue(q),
            Handle::Mutex(m) => WaitingOn::Mutex(m),
            Handle::Sem(s) => WaitingOn::Semaphore(s),
            Handle::Event(e) => WaitingOn::Event(e),
        }
    }

    pub(super) fn mutex(&self) -> MutexId {
        match self.handle {
            Handle::Mutex(m) => m,
            _ => unreachable!("picked as a mutex"),
        }
    }
}

/// A thread waiting on an object (`obj`) or parked (`obj == None`).
#[derive(Copy, Clone, Debug)]
pub(super) struct WaitRec {
    pub(super) obj: Option<usize>,
    pub(super) deadline: Option<Ticks>,
    /// Arrival order; renewed when the waiter's priority changes.
    pub(super) stamp: u64,
    /// Effective priority when stamped.
    pub(super) prio: Priority,
    pub(super) event: Option<(u32, EventMode, bool)>,
}

impl<S: StoreKind> Interp<S> {
    /// The `n`-th object (cyclically) of the selected kind, destroyed ones
    /// included so that stale handles get exercised.
    pub(super) fn pick_obj(&self, sel: Sel, n: Pick) -> Option<usize> {
        let of_kind: Vec<usize> = (0..self.objs.len())
            .filter(|&i| self.objs[i].matches(sel))
            .collect();
        (!of_kind.is_empty()).then(|| of_kind[usize::from(n) % of_kind.len()])
    }

    /// The waiters of object `i` in the order the model expects them to be
    /// woken: effective priority, then arrival.
    pub(super) fn model_waiters(&self, i: usize) -> Vec<ThreadId> {
        let mut w: Vec<(Priority, u64, ThreadId)> = self
            .waits
            .iter()
            .filter(|(_, r)| r.obj == Some(i))
            .map(|(&t, r)| (self.s.priority(t).unwrap_or(0), r.stamp, t))
            .collect();
        w.sort_by_key(|&(p, stamp, _)| (core::cmp::Reverse(p), stamp));
        w.into_iter().map(|(_, _, t)| t).collect()
    }

    /// The scheduler's waiters of object `i`.
    pub(super) fn actual_waiters(&self, i: usize) -> Vec<ThreadId> {
        match self.objs[i].handle {
            Handle::Queue(q) => self.s.waiters(q).collect(),
            Handle::Mutex(m) => self.s.waiters(m).collect(),
            Handle::Sem(s) => self.s.waiters(s).collect(),
            Handle::Event(e) => self.s.waiters(e).collect(),
        }
    }

    pub(super) fn waiter_count(&self, i: usize) -> Option<usize> {
        fn count<S: StoreKind>(s: &crate::Scheduler<u32, S>, o: impl SyncObject) -> Option<usize> {
            s.waiter_count(o)
        }
        match self.objs[i].handle {
            Handle::Queue(q) => count(&self.s, q),
            Handle::Mutex(m) => count(&self.s, m),
            Handle::Sem(s) => count(&self.s, s),
            Handle::Event(e) => count(&self.s, e),
        }
    }

    /// `t` started waiting on `obj` (or parked).
    pub(super) fn begin_wait(
        &mut self,
        t: ThreadId,
        obj: Option<usize>,
        deadline: Option<Ticks>,
        event: Option<(u32, EventMode, bool)>,
    ) {
        let stamp = self.next_stamp();
        self.begin_wait_stamped(t, obj, deadline, event, stamp);
    }

    /// [`begin_wait`](Self::begin_wait) with a given arrival stamp (a retried mutex lock
    /// goes ahead of its peers: a stamp below every other).
    pub(super) fn begin_wait_stamped(
        &mut self,
        t: ThreadId,
        obj: Option<usize>,
        deadline: Option<Ticks>,
        event: Option<(u32, EventMode, bool)>,
        stamp: u64,
    ) {
        let prio = self.s.priority(t).unwrap_or(0);
        self.results.remove(&t);
        self.claims.remove(&t);
        self.waits.insert(
            t,
            WaitRec {
                obj,
                deadline,
                stamp,
                prio,
                event,
            },
        );
    }

    /// `t`'s wait (or sleep) ended for `why`.
    pub(super) fn end_wait(&mut self, t: ThreadId, why: WaitResult) {
        self.waits.remove(&t);
        self.sleepers.remove(&t);
        self.results.insert(t, why);
    }

    /// Whether, in the model, `from` reaches `to` by following "waits for a
    /// mutex held by" (`from == to` counts).
    pub(super) fn holder_chain_reaches(&self, from: ThreadId, to: ThreadId) -> bool {
        let mut at = from;
        for _ in 0..=self.known.len() {
            if at == to {
                return true;
            }
            let next = self
                .waits
                .get(&at)
                .and_then(|w| w.obj)
                .filter(|&i| matches!(self.objs[i].handle, Handle::Mutex(_)))
                .and_then(|i| self.objs[i].holder);
            match next {
                Some(n) => at = n,
                None => return false,
            }
        }
        false
    }

    /// Renews the stamps of waiters whose priority changed, in the order the
    /// scheduler now lists them (the model cannot know the order among
    /// several moved in one step; it checks they went behind their peers).
    pub(super) fn restamp_moved_waiters(&mut self) {
        for i in 0..self.objs.len() {
            if !self.objs[i].alive {
                continue;
            }
            for t in self.actual_waiters(i) {
                let now = self.s.priority(t).unwrap_or(0);
                let stamp = self.stamp + 1;
                if let Some(w) = self.waits.get_mut(&t) {
                    if w.prio != now {
                        w.prio = now;
                        w.stamp = stamp;
                        self.stamp = stamp;
                    }
                }
            }
        }
    }
}
