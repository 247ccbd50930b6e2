//! Creating, destroying and inspecting synchronization objects.
//!
//! Creation is the one place an object may allocate (the table can grow), so it
//! belongs to thread context; everything that later wakes a waiter only relinks
//! entries. Destruction refuses while anyone waits or a mutex is owned: a
//! waiter's entry points at the object, and silently dropping it would leave a
//! thread blocked forever on nothing.

use super::Scheduler;
use crate::handles::ObjId;
use crate::object::{Kind, KindTag, Object};
use crate::thread::WaitOn;
use crate::wait_list::WaitList;
use crate::{EventId, MutexId, QueueId, SchedError, SemId, SyncObject, ThreadId, WaitingOn};

impl<T, S: crate::StoreKind> Scheduler<T, S> {
    /// Creates a wait queue. May allocate: thread context only.
    pub fn create_queue(&mut self) -> QueueId {
        QueueId(self.objects.insert(Object::new(KindTag::Queue, 0)))
    }

    /// Creates an unowned, unpoisoned mutex. May allocate: thread context only.
    pub fn create_mutex(&mut self) -> MutexId {
        MutexId(self.objects.insert(Object::new(KindTag::Mutex, 0)))
    }

    /// Creates a semaphore holding `permits`. May allocate: thread context only.
    pub fn create_semaphore(&mut self, permits: u32) -> SemId {
        SemId(
            self.objects
                .insert(Object::new(KindTag::Semaphore, permits)),
        )
    }

    /// Creates a set of event flags, all clear. May allocate: thread context only.
    pub fn create_event_flags(&mut self) -> EventId {
        EventId(self.objects.insert(Object::new(KindTag::Event, 0)))
    }

    /// Destroys a wait queue.
    ///
    /// # Errors
    /// [`SchedError::NoSuchObject`] for a stale handle, [`SchedError::Busy`]
    /// while threads wait on it.
    pub fn destroy_queue(&mut self, q: QueueId) -> Result<(), SchedError> {
        self.destroy(q.0, KindTag::Queue)
    }

    /// Destroys a mutex. The scheduler can only refuse for an owner it knows
    /// of; a kernel using the lock-word fast path checks its word first.
    ///
    /// # Errors
    /// [`SchedError::NoSuchObject`] for a stale handle, [`SchedError::Busy`]
    /// while it is owned or waited for.
    pub fn destroy_mutex(&mut self, m: MutexId) -> Result<(), SchedError> {
        self.destroy(m.0, KindTag::Mutex)
    }

    /// Destroys a semaphore.
    ///
    /// # Errors
    /// As [`destroy_queue`](Self::destroy_queue).
    pub fn destroy_semaphore(&mut self, s: SemId) -> Result<(), SchedError> {
        self.destroy(s.0, KindTag::Semaphore)
    }

    /// Destroys a set of event flags.
    ///
    /// # Errors
    /// As [`destroy_queue`](Self::destroy_queue).
    pub fn destroy_event_flags(&mut self, e: EventId) -> Result<(), SchedError> {
        self.destroy(e.0, KindTag::Event)
    }

    fn destroy(&mut self, id: ObjId, tag: KindTag) -> Result<(), SchedError> {
        let o = self.object(id, tag)?;
        let owned = matches!(&o.kind, Kind::Mutex(m) if m.owner.is_some());
        if !o.waiters.is_empty() || owned {
            return Err(SchedError::Busy);
        }
        self.objects.remove(id);
        Ok(())
    }

    /// The object `id` names, if it still exists and is of kind `tag`.
    pub(super) fn object(&self, id: ObjId, tag: KindTag) -> Result<&Object, SchedError> {
        self.objects
            .get(id)
            .filter(|o| o.tag() == tag)
            .ok_or(SchedError::NoSuchObject)
    }

    pub(super) fn object_mut(
        &mut self,
        id: ObjId,
        tag: KindTag,
    ) -> Result<&mut Object, SchedError> {
        crate::object::object_of_kind(&mut self.objects, id, tag)
    }

    /// Number of threads waiting on `o`; `None` for a stale handle.
    #[must_use]
    pub fn waiter_count(&self, o: impl SyncObject) -> Option<usize> {
        self.objects.get(o.obj_id()).map(|o| o.waiters.len())
    }

    /// The waiter of `o` that would be woken (or handed it) first.
    #[must_use]
    pub fn peek_waiter(&self, o: impl SyncObject) -> Option<ThreadId> {
        let index = self.objects.get(o.obj_id())?.waiters.head()?;
        self.threads.id_at(index)
    }

    /// The waiters of `o`, best first (the order they would be woken in);
    /// empty for a stale handle.
    pub fn waiters(&self, o: impl SyncObject) -> impl Iterator<Item = ThreadId> + '_ {
        let mut cursor = self.objects.get(o.obj_id()).and_then(|o| o.waiters.head());
        core::iter::from_fn(move || {
            let index = cursor?;
            cursor = WaitList::next_of(self.threads.slots(), index);
            self.threads.id_at(index)
        })
    }

    /// What `id` is blocked on, if it waits on an object or its park token.
    #[must_use]
    pub fn waiting_on(&self, id: ThreadId) -> Option<WaitingOn> {
        match self.threads.get(id)?.wait.on {
            WaitOn::Nothing => None,
            WaitOn::Park => Some(WaitingOn::Park),
            WaitOn::Object(o) => Some(match self.objects.get(o)?.tag() {
                KindTag::Queue => WaitingOn::Queue(QueueId(o)),
                KindTag::Mutex => WaitingOn::Mutex(MutexId(o)),
                KindTag::Semaphore => WaitingOn::Semaphore(SemId(o)),
                KindTag::Event => WaitingOn::Event(EventId(o)),
            }),
        }
    }

    /// Synchronization objects that exist: what a leak check compares with 0.
    #[must_use]
    pub fn object_count(&self) -> usize {
        self.objects.live()
    }
}
