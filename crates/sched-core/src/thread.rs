//! What the scheduler remembers about each thread.
//!
//! The entry bundles the kernel's own per-thread data with the few facts the
//! policy needs (state, priorities, queue links, who waits for it). Keeping the
//! base and effective priority apart from the start lets priority inheritance
//! raise the effective one later without losing what the thread asked for.
//!
//! The [`WaitRecord`] is everything blocking synchronization needs per thread
//! (what it waits on, its link in that object's wait list, why the wait ended,
//! the mutexes it owns). Embedding it here is what makes waking and timeouts
//! allocation-free: there is nothing to allocate when a thread starts waiting.

use crate::handles::{EventMode, ObjId};
use crate::ready::{Link, LinkStore};
use crate::slab::{Slab, Slot, Vacancy, NIL};
use crate::store::SlotStore;
use crate::wait_list::{WaitLink, WaitStore};
use crate::{CpuId, Priority, ThreadId, WaitResult};

/// How a thread ended.
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub enum ExitStatus {
    /// It returned normally.
    Finished,
    /// It panicked or was killed.
    Failed,
}

/// Where a thread is in its life.
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub enum State {
    /// Runnable and waiting for a CPU (an idle thread that is not running also
    /// reports this, though it never sits in the ready queue).
    Ready,
    /// On the given CPU right now.
    Running(CpuId),
    /// Waiting for a deadline (or an explicit [`wake`](crate::Scheduler::wake)).
    Sleeping,
    /// Waiting for the given thread to exit.
    Joining(ThreadId),
    /// Waiting for an explicit [`wake`](crate::Scheduler::wake), or on a
    /// synchronization object or park token (see
    /// [`waiting_on`](crate::Scheduler::waiting_on)), possibly with a deadline.
    Blocked,
    /// Finished, waiting to be reaped.
    Zombie(ExitStatus),
}

/// One slab entry.
///
/// Aligned to 16 bytes so that its slot (the entry and two words) fills 128 bytes exactly: a
/// slot's address is then a shift of its index rather than a multiply (see the `size` test).
#[repr(align(16))]
pub(crate) struct Thread<T> {
    /// The kernel's data; `None` only in a vacant slot.
    pub(crate) data: Option<T>,
    pub(crate) state: State,
    /// The priority the thread was given.
    pub(crate) base_priority: Priority,
    /// The priority it is scheduled at; never below `base_priority`.
    pub(crate) priority: Priority,
    /// How it ranks against what a CPU runs: 0 for an idle thread, `priority + 1` for anyone
    /// else (kept beside the priority so that putting a thread on a CPU copies it).
    pub(crate) rank: u16,
    /// Ticks left of a slice interrupted by preemption; 0 means "start fresh".
    pub(crate) saved_slice: u32,
    /// The thread waiting in `join` for this one, if any.
    pub(crate) joiner: Option<ThreadId>,
    /// Nobody will join: free the slot as soon as the thread exits.
    pub(crate) detached: bool,
    /// It failed and gave up its mutexes before it could exit
    /// ([`abandon_mutexes`](crate::Scheduler::abandon_mutexes)): it holds none from then on.
    pub(crate) abandoned: bool,
    /// `Some(cpu)` for the idle thread of `cpu` (a byte, not a [`CpuId`]: the slot then fits
    /// in 128 bytes).
    pub(crate) idle_of: Option<u8>,
    /// The CPUs it may run on (bit `n`: CPU `n`), within [`ALL_CPUS`](crate::ALL_CPUS).
    pub(crate) affinity: u32,
    pub(crate) link: Link,
    pub(crate) wait: WaitRecord,
}

/// What a `Blocked` thread is blocked on.
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub(crate) enum WaitOn {
    /// Nothing the scheduler tracks (`block_current`, sleeping, or not waiting).
    Nothing,
    /// The wait list of this object.
    Object(ObjId),
    /// Its own park token.
    Park,
}

/// What an event waiter asked for.
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub(crate) struct EventRequest {
    pub(crate) mask: u32,
    pub(crate) mode: EventMode,
    pub(crate) clear: bool,
}

/// Per-thread state of blocking synchronization.
pub(crate) struct WaitRecord {
    pub(crate) on: WaitOn,
    pub(crate) link: WaitLink,
    /// Meaningful while waiting on event flags.
    pub(crate) event: EventRequest,
    /// Why the last wait ended, until taken.
    pub(crate) result: WaitResult,
    pub(crate) park_token: bool,
    /// The thread has an entry in the timer heap (a sleeper or a timed waiter). Kept beside
    /// the heap's own index so that ending a wait without a deadline — most of them — costs a
    /// test of a field already at hand instead of a lookup in the heap (the audit checks that
    /// the two agree).
    pub(crate) timed: bool,
    /// First mutex (object slot index) of the list of mutexes it owns, or `NIL`.
    pub(crate) owned_head: u32,
}

impl WaitRecord {
    const fn new() -> Self {
        Self {
            on: WaitOn::Nothing,
            link: WaitLink::UNLINKED,
            event: EventRequest {
                mask: 0,
                mode: EventMode::All,
                clear: false,
            },
            result: WaitResult::Nothing,
            park_token: false,
            timed: false,
            owned_head: NIL,
        }
    }
}

impl<T> Thread<T> {
    pub(crate) fn new(data: T, priority: Priority, idle_of: Option<CpuId>) -> Self {
        Self {
            data: Some(data),
            state: State::Ready,
            base_priority: priority,
            priority,
            rank: if idle_of.is_some() {
                0
            } else {
                u16::from(priority) + 1
            },
            saved_slice: 0,
            joiner: None,
            detached: false,
            abandoned: false,
            idle_of: idle_of.map(|cpu| {
                debug_assert!(cpu < crate::MAX_CPUS);
                cpu as u8
            }),
            affinity: match idle_of {
                Some(cpu) => 1 << cpu,
                None => crate::ALL_CPUS,
            },
            link: Link::UNLINKED,
            wait: WaitRecord::new(),
        }
    }

    pub(crate) fn is_idle(&self) -> bool {
        self.idle_of.is_some()
    }

    /// Its [rank](Self::rank) against what a CPU runs.
    #[inline]
    pub(crate) fn rank(&self) -> u16 {
        self.rank
    }
}

impl<T> Vacancy for Thread<T> {
    fn vacant() -> Self {
        Self {
            data: None,
            state: State::Zombie(ExitStatus::Finished),
            base_priority: 0,
            priority: 0,
            rank: 0,
            saved_slice: 0,
            joiner: None,
            detached: false,
            abandoned: false,
            idle_of: None,
            affinity: crate::ALL_CPUS,
            link: Link::UNLINKED,
            wait: WaitRecord::new(),
        }
    }
}

// The queues follow links through the slab (`Slab::slots_mut`), one trusted slot access per
// step: a bounds check with the checked store, a mask with the kernel's. The links were made
// by the scheduler, so they name occupied slots; a vacant one would only hold the links of
// nobody, never a foreign thread's data.
impl<T, B: SlotStore<Elem = Slot<Thread<T>>>> LinkStore for Slab<Thread<T>, ThreadId, B> {
    #[inline]
    fn link(&self, index: u32) -> Link {
        self.slot(index).entry().link
    }

    #[inline]
    fn link_mut(&mut self, index: u32) -> &mut Link {
        &mut self.slot_mut(index).entry_mut().link
    }
}

impl<T, B: SlotStore<Elem = Slot<Thread<T>>>> WaitStore for Slab<Thread<T>, ThreadId, B> {
    #[inline]
    fn wlink(&self, index: u32) -> WaitLink {
        self.slot(index).entry().wait.link
    }

    #[inline]
    fn wlink_mut(&mut self, index: u32) -> &mut WaitLink {
        &mut self.slot_mut(index).entry_mut().wait.link
    }

    #[inline]
    fn rank(&self, index: u32) -> Priority {
        self.slot(index).entry().priority
    }
}

#[cfg(test)]
mod size {
    /// A thread's slot, with the kernel's data (a pointer), is 128 bytes: its address is then
    /// a shift of the index, not a multiply (every switch computes a few).
    #[test]
    fn a_thread_slot_is_128_bytes() {
        type Entry = super::Thread<alloc::boxed::Box<u64>>;
        assert_eq!(core::mem::size_of::<crate::slab::Slot<Entry>>(), 128);
    }
}
