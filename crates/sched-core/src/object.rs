//! What the scheduler stores for each synchronization object.
//!
//! Every kind is a wait list plus a few words of state. Keeping them in one
//! table with one entry type means the code that ends a wait (wake, timeout,
//! priority change) handles all kinds alike and only asks "is this a mutex?"
//! where inheritance is concerned.

use crate::handles::ObjId;
use crate::slab::{Slab, Slot, NIL};
use crate::store::{Checked, SlotStore, StoreKind};
use crate::wait_list::WaitList;
use crate::ThreadId;

/// Which kind of object an entry is, without its state.
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub(crate) enum KindTag {
    Queue,
    Mutex,
    Semaphore,
    Event,
}

/// A mutex's state beyond its waiters.
#[derive(Debug)]
pub(crate) struct MutexState {
    /// The owner as far as the scheduler knows (a fast-path owner is unknown
    /// until someone contends).
    pub(crate) owner: Option<ThreadId>,
    /// Its last owner exited while holding it.
    pub(crate) poisoned: bool,
    /// The owner was handed the mutex while it waited and has not run since: a running
    /// thread of at least its priority may take the mutex from it (see `scheduler::mutex`).
    pub(crate) pending: bool,
    /// Links in the owner's list of owned mutexes (object slot indices).
    pub(crate) owned_prev: u32,
    pub(crate) owned_next: u32,
}

/// The kind-specific part of an object.
#[derive(Debug)]
pub(crate) enum Kind {
    Queue,
    Mutex(MutexState),
    Semaphore { permits: u32 },
    Event { bits: u32 },
}

/// One entry of the object table.
#[derive(Debug)]
pub(crate) struct Object {
    pub(crate) waiters: WaitList,
    pub(crate) kind: Kind,
}

impl crate::slab::Vacancy for Object {
    fn vacant() -> Self {
        Self {
            waiters: WaitList::new(),
            kind: Kind::Queue,
        }
    }
}

impl Object {
    pub(crate) fn new(tag: KindTag, permits: u32) -> Self {
        let kind = match tag {
            KindTag::Queue => Kind::Queue,
            KindTag::Mutex => Kind::Mutex(MutexState {
                owner: None,
                poisoned: false,
                pending: false,
                owned_prev: NIL,
                owned_next: NIL,
            }),
            KindTag::Semaphore => Kind::Semaphore { permits },
            KindTag::Event => Kind::Event { bits: 0 },
        };
        Self {
            waiters: WaitList::new(),
            kind,
        }
    }

    pub(crate) fn tag(&self) -> KindTag {
        match self.kind {
            Kind::Queue => KindTag::Queue,
            Kind::Mutex(_) => KindTag::Mutex,
            Kind::Semaphore { .. } => KindTag::Semaphore,
            Kind::Event { .. } => KindTag::Event,
        }
    }

    /// The mutex state; the caller has checked the kind.
    pub(crate) fn mutex(&self) -> &MutexState {
        match &self.kind {
            Kind::Mutex(m) => m,
            _ => unreachable!("object is not a mutex"),
        }
    }

    pub(crate) fn mutex_mut(&mut self) -> &mut MutexState {
        match &mut self.kind {
            Kind::Mutex(m) => m,
            _ => unreachable!("object is not a mutex"),
        }
    }
}

/// The object table, in a store of kind `S`.
pub(crate) type Objects<S = Checked> = Slab<Object, ObjId, <S as StoreKind>::Store<Slot<Object>>>;

/// The object `id` names, if it still exists and is of kind `tag`: the checked lookup of an
/// id that comes from outside. A function of the table alone, so that a caller can hold the
/// object and the thread table at once (`Scheduler::object_mut` borrows the whole scheduler).
pub(crate) fn object_of_kind<B: SlotStore<Elem = Slot<Object>>>(
    objects: &mut Slab<Object, ObjId, B>,
    id: ObjId,
    tag: KindTag,
) -> Result<&mut Object, crate::SchedError> {
    objects
        .get_mut(id)
        .filter(|o| o.tag() == tag)
        .ok_or(crate::SchedError::NoSuchObject)
}

/// The mutex in object slot `index` (which the caller knows to be one).
pub(crate) fn mutex_at<B: SlotStore<Elem = Slot<Object>>>(
    objects: &Slab<Object, ObjId, B>,
    index: u32,
) -> &MutexState {
    objects
        .at(index)
        .expect("owned list names a vacant slot")
        .mutex()
}

pub(crate) fn mutex_at_mut<B: SlotStore<Elem = Slot<Object>>>(
    objects: &mut Slab<Object, ObjId, B>,
    index: u32,
) -> &mut MutexState {
    objects
        .at_mut(index)
        .expect("owned list names a vacant slot")
        .mutex_mut()
}
