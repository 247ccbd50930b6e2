//! Reserving room in the scheduler's tables before it is needed, so that nothing allocates
//! under the scheduler lock (see `sched_core::GrowthPlan`).
//!
//! Threads: `spawn` reserves a slot for its thread (and the thread's timer) outside the lock
//! and fails with `Err(OutOfMemory)` when the heap cannot hold it. Synchronization objects are
//! created lazily, on first contention, *under* the lock, so a spare reserve of [`OBJECT_SPARE`]
//! free object slots is kept: a creation that dips below it raises a flag, and the next thread
//! context leaving the kernel tops the reserve up again, outside the lock. Only more than
//! [`OBJECT_SPARE`] first uses by interrupt handlers in a row, with no thread in between, could
//! exhaust it; the table then grows in place as a last resort.

use core::sync::atomic::{AtomicBool, Ordering};

use preempt_arch::cpu;

use super::{percpu, with_sched};

/// Free object slots kept in reserve for lazy creation under the lock.
pub(crate) const OBJECT_SPARE: usize = 16;

/// The object reserve fell below [`OBJECT_SPARE`].
static OBJECTS_LOW: AtomicBool = AtomicBool::new(false);

/// Not enough heap to grow the tables.
#[derive(Debug, Clone, Copy)]
pub(crate) struct NoRoom;

/// Grows the tables until `threads` more threads and `objects` more objects fit without
/// allocating. Thread context, outside the scheduler lock (it allocates).
pub(crate) fn reserve(threads: usize, objects: usize) -> Result<(), NoRoom> {
    loop {
        let Some(plan) = with_sched(|s, _| s.growth_plan(threads, objects)) else {
            return Ok(());
        };
        let growth = plan.allocate().map_err(|_| NoRoom)?;
        let old = with_sched(|s, _| s.grow(growth));
        drop(old); // the old buffers, freed outside the lock
    }
}

/// Creates `count` synchronization objects with `create` under the scheduler lock, having
/// made room for them first (thread context; elsewhere it draws on the reserve).
pub(crate) fn create_objects<R>(count: usize, create: impl FnOnce(&mut super::Sched) -> R) -> R {
    if !cpu::irqs_masked() && !percpu::this().in_irq() {
        // Out of memory: the reserve, then growing in place, are the fall-backs.
        let _ = reserve(0, count);
    }
    with_sched(|s, _| {
        let r = create(s);
        note_object_created(s.object_room());
        r
    })
}

/// Called under the scheduler lock after an object was created: notes a reserve that needs
/// topping up, for `leave_kernel` on this core.
pub(crate) fn note_object_created(object_room: usize) {
    if object_room < OBJECT_SPARE {
        OBJECTS_LOW.store(true, Ordering::Relaxed);
        percpu::this().deferred.store(true, Ordering::Relaxed);
    }
}

/// Tops up the object reserve if it ran low. Thread context, IRQs enabled, outside the lock
/// (`leave_kernel`).
pub(crate) fn top_up() {
    if OBJECTS_LOW.swap(false, Ordering::Relaxed) && reserve(0, OBJECT_SPARE).is_err() {
        // Out of memory: the next creation notes it again; until the heap has room, creation
        // draws on what is left of the reserve, then grows the table in place.
        OBJECTS_LOW.store(true, Ordering::Relaxed);
    }
}
