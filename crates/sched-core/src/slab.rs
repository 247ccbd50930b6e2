//! Storage for thread entries with stable indices and detectable staleness.
//!
//! The ready queue and the timer heap refer to threads by small integer index so
//! that linking and unlinking never allocate. Those indices must stay valid while
//! a thread lives, so entries never move; vacated slots are recycled through a
//! free list so the table does not grow without bound. Each slot carries a
//! generation that changes whenever it is vacated, so a [`ThreadId`] handed out
//! earlier can never be mistaken for the slot's next occupant.
//!
//! The same storage holds the synchronization objects, so the slab is generic
//! over the kind of id it hands out ([`SlabKey`]).
//!
//! **Every slot always holds a valid entry** (a vacant one holds
//! [`Vacancy::vacant`]), and the generation's parity says whether it is occupied
//! (odd) or vacant (even). That is what makes the scheduler's hot paths cheap in
//! safe code: following a queue link or reading the running thread's entry is one
//! trusted access of the store ([`Slab::slot`]; a bounds check with
//! [`CheckedStore`], a mask with the kernel's store, see [`crate::store`]), with no
//! test of an enum discriminant, and a checked lookup by id ([`Slab::get`]) is one
//! compare of the generation (which also rejects vacant slots, as ids only carry
//! odd generations). An `Option`-per-slot layout costs three more instructions per
//! access, about ten accesses per thread switch. It is also what lets a store be a
//! plain array: slots past the ones in use are vacant too.
//!
//! Generations stop at [`MAX_GENERATION`] (31 bits) so that the top bit of a
//! packed id is always clear: the kernel's mutex lock word uses it as its
//! "waiters" flag.

use core::marker::PhantomData;

use alloc::collections::TryReserveError;

use crate::store::{CheckedStore, SlotStore};
use crate::ThreadId;

/// Marks "no slot" in the free list and in the intrusive links elsewhere.
pub(crate) const NIL: u32 = u32::MAX;

/// The last generation an occupied slot may carry (odd); a slot vacated at it
/// is retired.
pub(crate) const MAX_GENERATION: u32 = u32::MAX >> 1;

/// An id made of a slot index and the slot's generation.
pub(crate) trait SlabKey: Copy {
    /// Builds the id of slot `index` at `generation`.
    fn from_parts(index: u32, generation: u32) -> Self;
    /// The slot index.
    fn index(self) -> u32;
    /// The generation of the slot when the id was handed out.
    fn generation(self) -> u32;
}

impl SlabKey for ThreadId {
    fn from_parts(index: u32, generation: u32) -> Self {
        Self::new(index, generation)
    }
    fn index(self) -> u32 {
        ThreadId::index(self)
    }
    fn generation(self) -> u32 {
        ThreadId::generation(self)
    }
}

/// What a vacant slot holds: an entry that is valid but belongs to nobody.
pub(crate) trait Vacancy {
    /// The entry of a vacant slot.
    fn vacant() -> Self;
}

/// One slot of a slab (public only as the element type of a [`SlotStore`]).
pub struct Slot<E> {
    /// Odd: occupied by the entry of that generation. Even: vacant.
    generation: u32,
    /// While vacant: the next vacant slot on the free list, or `NIL`.
    next_free: u32,
    entry: E,
}

impl<E> Slot<E> {
    fn occupied(&self) -> bool {
        self.generation & 1 == 1
    }

    /// The entry, occupied or not.
    pub(crate) fn entry(&self) -> &E {
        &self.entry
    }

    /// Mutable access to the entry, occupied or not.
    pub(crate) fn entry_mut(&mut self) -> &mut E {
        &mut self.entry
    }

    /// The generation an id of this slot's occupant carries.
    pub(crate) fn generation(&self) -> u32 {
        self.generation
    }
}

impl<E: Vacancy> Slot<E> {
    /// A slot never used.
    fn unused() -> Self {
        Self {
            generation: 0,
            next_free: NIL,
            entry: E::vacant(),
        }
    }
}

/// A store for a [`Slab`] to grow into, allocated (and filled with vacant slots) where
/// allocating is allowed (see [`Slab::grow_into`]).
pub struct SlabStorage<B>(B);

impl<B: SlotStore<Elem = Slot<E>>, E: Vacancy> SlabStorage<B> {
    /// A store of `slots` vacant slots (a power of two).
    ///
    /// # Errors
    /// When the allocation fails.
    pub(crate) fn try_with_capacity(slots: usize) -> Result<Self, TryReserveError> {
        B::try_filled(slots, Slot::unused).map(Self)
    }
}

/// A generational slab of `E`, handing out ids of type `K`, keeping its slots in a `B`.
pub(crate) struct Slab<E, K = ThreadId, B = CheckedStore<Slot<E>>> {
    slots: B,
    /// Slots ever used; every index handed out is below this, and every slot from here on
    /// is unused (vacant, not on the free list).
    created: usize,
    free_head: u32,
    /// Slots on the free list.
    vacant: usize,
    live: usize,
    key: PhantomData<(E, K)>,
}

impl<E, K> Slab<E, K, CheckedStore<Slot<E>>> {
    /// An empty slab with a bounds-checked store.
    pub(crate) const fn new() -> Self {
        Self::with_store(CheckedStore::EMPTY)
    }
}

impl<E, K, B> Slab<E, K, B> {
    const fn with_store(slots: B) -> Self {
        Self {
            slots,
            created: 0,
            free_head: NIL,
            vacant: 0,
            live: 0,
            key: PhantomData,
        }
    }
}

impl<E: Vacancy, K: SlabKey, B: SlotStore<Elem = Slot<E>>> Slab<E, K, B> {
    /// An empty slab with room for `slots` entries (rounded up to a power of two).
    ///
    /// # Errors
    /// When the allocation fails.
    pub(crate) fn try_with_room(slots: usize) -> Result<Self, TryReserveError> {
        SlabStorage::try_with_capacity(slots.max(1).next_power_of_two())
            .map(|s| Self::with_store(s.0))
    }

    /// How many entries can be stored without allocating: vacant slots on the
    /// free list plus unused slots.
    pub(crate) fn room(&self) -> usize {
        self.vacant + (self.slots.len() - self.created)
    }

    /// The capacity (in slots, a power of two) that leaves room for `more` new entries, or
    /// `None` if there is room already. Grows by doubling, so moving into new
    /// storage is amortised O(1) per slot.
    pub(crate) fn capacity_for(&self, more: usize) -> Option<usize> {
        if self.room() >= more {
            return None;
        }
        let want = self.created + (more - self.vacant);
        Some(want.max(self.slots.len() * 2).max(4).next_power_of_two())
    }

    /// Moves every used slot into `storage` (filled with unused slots, larger than the
    /// slots in use) and hands back the old store, now holding only vacant slots, so that
    /// the caller frees it where freeing is allowed. Allocates nothing.
    ///
    /// # Panics
    /// If `storage` is too small to take every used slot.
    pub(crate) fn grow_into(&mut self, mut storage: SlabStorage<B>) -> SlabStorage<B> {
        assert!(
            storage.0.len() >= self.created,
            "slab storage must be large enough"
        );
        if storage.0.len() <= self.slots.len() {
            return storage; // no bigger than what we have: keep ours
        }
        let n = self.created;
        storage.0.as_mut_slice()[..n].swap_with_slice(&mut self.slots.as_mut_slice()[..n]);
        core::mem::swap(&mut self.slots, &mut storage.0);
        storage
    }

    /// Stores `value`, reusing a vacant slot when there is one. Allocates only
    /// without [`room`](Self::room); kernels reserve first.
    pub(crate) fn insert(&mut self, value: E) -> K {
        let index = if self.free_head != NIL {
            let index = self.free_head;
            let slot = &mut self.slots.as_mut_slice()[index as usize];
            assert!(!slot.occupied(), "free list points at an occupied slot");
            self.free_head = slot.next_free;
            self.vacant -= 1;
            index
        } else {
            let index = u32::try_from(self.created)
                .ok()
                .filter(|&i| i != NIL)
                .expect("thread table index space exhausted");
            if self.created == self.slots.len() {
                self.grow_in_place();
            }
            self.created += 1;
            index
        };
        self.live += 1;
        let slot = &mut self.slots.as_mut_slice()[index as usize];
        slot.generation += 1;
        slot.next_free = NIL;
        slot.entry = value;
        K::from_parts(index, slot.generation)
    }

    /// Doubles the store where it is: allocates, the last resort of an insert without room.
    #[cold]
    fn grow_in_place(&mut self) {
        let len = self
            .capacity_for(1)
            .expect("a full slab has no room for one more");
        let storage = SlabStorage::try_with_capacity(len).unwrap_or_else(|_| {
            alloc::alloc::handle_alloc_error(alloc::alloc::Layout::new::<Slot<E>>())
        });
        drop(self.grow_into(storage));
    }

    /// Removes and returns the entry `id` names, if it is still there.
    ///
    /// The slot's generation moves on, so `id` stays stale forever. A slot whose
    /// generation cannot move on any more is retired rather than reused.
    pub(crate) fn remove(&mut self, id: K) -> Option<E> {
        self.get(id)?;
        let slot = &mut self.slots.as_mut_slice()[id.index() as usize];
        let old = core::mem::replace(&mut slot.entry, E::vacant());
        slot.generation += 1; // even: vacant
        if slot.generation < MAX_GENERATION {
            slot.next_free = self.free_head;
            self.free_head = id.index();
            self.vacant += 1;
        } // else retired: never on the free list again, its ids stay stale
        self.live -= 1;
        Some(old)
    }

    /// The entry `id` names, unless it has been removed.
    #[inline]
    pub(crate) fn get(&self, id: K) -> Option<&E> {
        let slot = self.slots.get(id.index())?;
        (slot.generation == id.generation() && slot.occupied()).then_some(&slot.entry)
    }

    /// Mutable access to the entry `id` names, unless it has been removed.
    #[inline]
    pub(crate) fn get_mut(&mut self, id: K) -> Option<&mut E> {
        let slot = self.slots.get_mut(id.index())?;
        (slot.generation == id.generation() && slot.occupied()).then_some(&mut slot.entry)
    }

    /// The id of whatever currently occupies slot `index`.
    pub(crate) fn id_at(&self, index: u32) -> Option<K> {
        let slot = self.slots.get(index)?;
        slot.occupied()
            .then(|| K::from_parts(index, slot.generation))
    }

    /// The occupant of slot `index`, whatever its generation.
    pub(crate) fn at(&self, index: u32) -> Option<&E> {
        let slot = self.slots.get(index)?;
        slot.occupied().then_some(&slot.entry)
    }

    /// Mutable access to the occupant of slot `index`, whatever its generation.
    pub(crate) fn at_mut(&mut self, index: u32) -> Option<&mut E> {
        let slot = self.slots.get_mut(index)?;
        slot.occupied().then_some(&mut slot.entry)
    }

    /// Slot `index`, occupied or not: for paths that follow the scheduler's own
    /// links and ids, whose targets are occupied by construction (debug builds
    /// check). What it costs is the store's: a bounds check with the checked store.
    ///
    /// # Panics
    /// If `index` names no slot (with a store that checks).
    #[inline]
    pub(crate) fn slot(&self, index: u32) -> &Slot<E> {
        let slot = self.slots.slot(index);
        debug_assert!(slot.occupied(), "slot {index} is vacant");
        slot
    }

    /// Mutable [`slot`](Self::slot).
    ///
    /// # Panics
    /// If `index` names no slot (with a store that checks).
    #[inline]
    pub(crate) fn slot_mut(&mut self, index: u32) -> &mut Slot<E> {
        let slot = self.slots.slot_mut(index);
        debug_assert!(slot.occupied(), "slot {index} is vacant");
        slot
    }

    /// The slab as the store of a sequence of link operations (the queues'
    /// `LinkStore` and `WaitStore` are implemented on the slab).
    #[inline]
    pub(crate) fn slots_mut(&mut self) -> &mut Self {
        self
    }

    /// Shared [`slots_mut`](Self::slots_mut).
    #[inline]
    pub(crate) fn slots(&self) -> &Self {
        self
    }

    /// Number of occupied slots.
    pub(crate) fn live(&self) -> usize {
        self.live
    }

    /// Slots the storage holds without allocating.
    pub(crate) fn capacity(&self) -> usize {
        self.slots.len()
    }

    /// Number of slots ever used; every index handed out is below this.
    pub(crate) fn slot_count(&self) -> usize {
        self.created
    }

    /// Every occupant with its id, in slot order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (K, &E)> + '_ {
        self.slots.as_slice()[..self.created]
            .iter()
            .enumerate()
            .filter(|(_, slot)| slot.occupied())
            // Slot indices are checked to fit in u32 when slots are created.
            .map(|(i, slot)| (K::from_parts(i as u32, slot.generation), &slot.entry))
    }

    /// Forces the generation of slot `index` (tests of the retirement rule).
    #[cfg(test)]
    fn force_generation(&mut self, index: u32, generation: u32) -> K {
        self.slots.as_mut_slice()[index as usize].generation = generation;
        K::from_parts(index, generation)
    }
}

#[cfg(test)]
#[path = "slab_tests.rs"]
mod tests;
