//! Room to grow: the scheduler's tables get new memory from the kernel, never
//! from an allocation of their own under the kernel's lock.
//!
//! The kernel calls the scheduler with its lock held and interrupts masked,
//! where it must not allocate (the heap may be what a fault is about, and an
//! allocation there is unbounded work with interrupts off). So growth is split
//! in three steps: [`Scheduler::growth_plan`] (under the lock) says how big the
//! tables must become; [`GrowthPlan::allocate`] (outside the lock, fallible)
//! makes empty buffers of that size; [`Scheduler::grow`] (under the lock) moves
//! the tables into them and hands back the old, empty buffers to be freed
//! outside the lock again. Capacities double, so the move under the lock is
//! amortised O(1) per entry; [`Scheduler::spawn`] and object creation then
//! store without allocating. A caller that raced with another creator simply
//! asks again.
//!
//! The tables live in stores of the scheduler's [`StoreKind`]: [`Scheduler::new`] (a
//! `const fn`) makes empty bounds-checked ones; a kernel store that cannot be empty comes
//! with [`Scheduler::try_new`], which allocates the first, small tables.

use alloc::collections::TryReserveError;

use super::{Objects, Scheduler, Threads};
use crate::object::Object;
use crate::ready::ReadyQueue;
use crate::slab::{Slab, SlabStorage, Slot};
use crate::store::{Checked, StoreKind};
use crate::thread::Thread;
use crate::timers::{TimerHeap, TimerStorage};
use crate::{Ticks, MAX_CPUS};

/// How much the tables must grow; made under the lock, carried out outside it.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
#[must_use]
pub struct GrowthPlan {
    threads: Option<usize>,
    timers: Option<usize>,
    objects: Option<usize>,
}

/// Empty buffers for the tables to grow into, or the old buffers they left.
pub struct Growth<T, S: StoreKind = Checked> {
    threads: Option<SlabStorage<S::Store<Slot<Thread<T>>>>>,
    timers: Option<TimerStorage>,
    objects: Option<SlabStorage<S::Store<Slot<Object>>>>,
}

impl GrowthPlan {
    /// Allocates the buffers the plan calls for. Call it outside the kernel's
    /// lock.
    ///
    /// # Errors
    /// When the heap cannot hold them.
    pub fn allocate<T, S: StoreKind>(&self) -> Result<Growth<T, S>, TryReserveError> {
        Ok(Growth {
            threads: self
                .threads
                .map(SlabStorage::try_with_capacity)
                .transpose()?,
            timers: self
                .timers
                .map(TimerStorage::try_with_capacity)
                .transpose()?,
            objects: self
                .objects
                .map(SlabStorage::try_with_capacity)
                .transpose()?,
        })
    }
}

/// Thread slots [`Scheduler::try_new`] allocates.
const FIRST_THREADS: usize = 4;

/// Object slots [`Scheduler::try_new`] allocates.
const FIRST_OBJECTS: usize = 16;

impl<T> Scheduler<T> {
    /// An empty scheduler with bounds-checked tables and a round-robin slice of
    /// `slice_len` counter units (at least 1, at most `u32::MAX`). It allocates nothing.
    #[must_use]
    pub const fn new(slice_len: Ticks) -> Self {
        Self::with_tables(slice_len, Slab::new(), Slab::new())
    }
}

impl<T, S: StoreKind> Scheduler<T, S> {
    /// A scheduler with tables of kind `S` (room for a few threads and objects) and a
    /// round-robin slice of `slice_len` counter units (at least 1, at most `u32::MAX`).
    /// Allocates.
    ///
    /// # Errors
    /// When the heap cannot hold the first tables.
    pub fn try_new(slice_len: Ticks) -> Result<Self, TryReserveError> {
        let mut s = Self::with_tables(
            slice_len,
            Slab::try_with_room(FIRST_THREADS)?,
            Slab::try_with_room(FIRST_OBJECTS)?,
        );
        let timers = TimerStorage::try_with_capacity(s.threads.capacity())?;
        drop(s.timers.grow_into(timers));
        Ok(s)
    }

    const fn with_tables(slice_len: Ticks, threads: Threads<T, S>, objects: Objects<S>) -> Self {
        Self {
            threads,
            objects,
            ready: ReadyQueue::new(),
            timers: TimerHeap::new(),
            current: [None; MAX_CPUS],
            clock: [super::slice::CpuClock::NEW; MAX_CPUS],
            watcher: 0,
            idle: [None; MAX_CPUS],
            idle_count: 0,
            slice_len: if slice_len == 0 {
                1
            } else if slice_len > u32::MAX as Ticks {
                u32::MAX as Ticks
            } else {
                slice_len
            },
            now: 0,
            handoff: None,
            handoff_level: 0,
            check_due: 0,
            told: 0,
            kicks_settled: false,
            started: 0,
            simple: true,
            restricted: 0,
            pinned: super::pinned::Pinned::new(),
            trace: crate::trace::TraceLog::new(),
        }
    }

    /// What must be allocated so that `threads` more threads can be spawned
    /// and `objects` more synchronization objects created without allocating,
    /// or `None` if there is room already.
    pub fn growth_plan(&self, threads: usize, objects: usize) -> Option<GrowthPlan> {
        let thread_cap = self.threads.capacity_for(threads);
        // Timers are indexed by thread slot: cover every slot the table can hold.
        let slots = thread_cap.unwrap_or(self.threads.capacity());
        let plan = GrowthPlan {
            threads: thread_cap,
            timers: (!self.timers.has_room_for(slots)).then_some(slots),
            objects: self.objects.capacity_for(objects),
        };
        (plan.threads.is_some() || plan.timers.is_some() || plan.objects.is_some()).then_some(plan)
    }

    /// Moves the tables into the larger buffers of `growth` and returns what
    /// is left to free (the old buffers, or any buffer that turned out not to
    /// be larger). Never allocates.
    pub fn grow(&mut self, growth: Growth<T, S>) -> Growth<T, S> {
        Growth {
            threads: growth.threads.map(|g| self.threads.grow_into(g)),
            timers: growth.timers.map(|g| self.timers.grow_into(g)),
            objects: growth.objects.map(|g| self.objects.grow_into(g)),
        }
    }

    /// Whether one more thread can be spawned without allocating.
    #[must_use]
    pub fn has_thread_room(&self) -> bool {
        self.growth_plan(1, 0).is_none()
    }

    /// How many synchronization objects can be created without allocating.
    #[must_use]
    pub fn object_room(&self) -> usize {
        self.objects.room()
    }
}
