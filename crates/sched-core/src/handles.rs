//! Handles to the synchronization objects, and the small argument types that go
//! with them.
//!
//! All objects live in one generational table inside the scheduler, so that a
//! timeout or a priority change can find and fix whatever a thread waits on.
//! The kernel keeps only a handle. Each kind gets its own handle type so that a
//! semaphore cannot be passed where a mutex is expected; underneath they share
//! one id space, and a handle whose slot was destroyed (or, after a round trip
//! through `u64`, names an object of another kind) is reported as
//! [`SchedError::NoSuchObject`](crate::SchedError::NoSuchObject), never
//! confused with the slot's next occupant.

use crate::slab::SlabKey;

/// The untyped id of an object slot: index plus generation. Nominally `pub`
/// only because the sealed conversion trait mentions it; it cannot be named
/// outside this crate.
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug, PartialOrd, Ord)]
pub struct ObjId {
    index: u32,
    generation: u32,
}

impl SlabKey for ObjId {
    fn from_parts(index: u32, generation: u32) -> Self {
        Self { index, generation }
    }
    fn index(self) -> u32 {
        self.index
    }
    fn generation(self) -> u32 {
        self.generation
    }
}

impl ObjId {
    const fn as_u64(self) -> u64 {
        ((self.generation as u64) << 32) | self.index as u64
    }

    const fn from_u64(raw: u64) -> Option<Self> {
        let generation = (raw >> 32) as u32;
        if generation == 0 {
            None
        } else {
            Some(Self {
                index: raw as u32,
                generation,
            })
        }
    }
}

macro_rules! handle {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Copy, Clone, PartialEq, Eq, Hash, Debug, PartialOrd, Ord)]
        pub struct $name(pub(crate) ObjId);

        impl $name {
            /// Packs the handle into one nonzero word (generation high, index low),
            /// for a kernel object that stores it in an atomic.
            #[must_use]
            pub const fn as_u64(self) -> u64 {
                self.0.as_u64()
            }

            /// Inverse of `as_u64`; `None` for values no handle can produce.
            #[must_use]
            pub const fn from_u64(raw: u64) -> Option<Self> {
                match ObjId::from_u64(raw) {
                    Some(id) => Some(Self(id)),
                    None => None,
                }
            }
        }

        impl SyncObject for $name {}

        impl sealed::Sealed for $name {
            fn obj_id(self) -> ObjId {
                self.0
            }
        }
    };
}

handle!(
    /// A plain wait queue (a condition variable's or a futex's waiting room).
    QueueId
);
handle!(
    /// A mutex with priority inheritance.
    MutexId
);
handle!(
    /// A counting semaphore.
    SemId
);
handle!(
    /// A set of 32 event flags.
    EventId
);

pub(crate) mod sealed {
    /// Keeps [`SyncObject`](super::SyncObject) closed to this crate's handles,
    /// and carries their conversion to the untyped id.
    pub trait Sealed: Copy {
        fn obj_id(self) -> super::ObjId;
    }
}

/// Any object threads can wait on; lets the generic queries
/// ([`waiter_count`](crate::Scheduler::waiter_count),
/// [`peek_waiter`](crate::Scheduler::peek_waiter),
/// [`waiters`](crate::Scheduler::waiters)) take every handle type.
pub trait SyncObject: sealed::Sealed {}

/// How [`event_wait`](crate::Scheduler::event_wait) combines the mask.
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub enum EventMode {
    /// Every bit of the mask must be set.
    All,
    /// At least one bit of the mask must be set.
    Any,
}

impl EventMode {
    /// Whether `bits` satisfy a wait for `mask` in this mode.
    #[must_use]
    pub fn satisfied(self, mask: u32, bits: u32) -> bool {
        match self {
            Self::All => bits & mask == mask,
            Self::Any => bits & mask != 0,
        }
    }
}

/// What a blocked thread is waiting for, as reported by
/// [`waiting_on`](crate::Scheduler::waiting_on).
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub enum WaitingOn {
    /// In a plain wait queue.
    Queue(QueueId),
    /// For a mutex.
    Mutex(MutexId),
    /// For a semaphore permit.
    Semaphore(SemId),
    /// For event flags.
    Event(EventId),
    /// For its park token.
    Park,
}

/// The "waiters" bit of a kernel mutex lock word; see the module docs of the
/// mutex for the whole protocol. Bit 63 is never set in
/// [`ThreadId::as_u64`](crate::ThreadId::as_u64), so `owner.as_u64() |
/// LOCK_WAITERS` is unambiguous.
pub const LOCK_WAITERS: u64 = 1 << 63;
