//! Where a slab keeps its slots: a small storage trait, so that the kernel can supply a
//! faster buffer than the bounds-checked one this crate provides.
//!
//! The scheduler follows its own links and ids on every decision (the running thread's
//! entry, the neighbours in a ready or wait list), about a dozen slot accesses per thread
//! switch. In safe Rust each one is a bounds check: load the length, compare, branch. Those
//! indices are trusted (the scheduler made them), but this crate is safe code and cannot
//! prove that to the compiler, and a proof by `unsafe` here would make the kernel's memory
//! safety depend on every line of the scheduling policy being right.
//!
//! So the slab is written against [`SlotStore`], whose trusted accessors
//! ([`slot`](SlotStore::slot), [`slot_mut`](SlotStore::slot_mut)) promise nothing about an
//! index the slab never made except that using it is not undefined behaviour: a store may
//! panic or hand out another slot. [`CheckedStore`] (a `Vec`, bounds-checked) is what the
//! host tests, proptests and the fuzzer use; the kernel supplies a store over a
//! power-of-two array indexed with `index & mask`, which keeps every index, even a wrong
//! one, inside the allocation without a compare and branch (crate `thread-store`). Which
//! one a [`Scheduler`](crate::Scheduler) uses is its [`StoreKind`] parameter.
//!
//! Every slot of a store is initialised (the slab fills new stores with vacant slots), so a
//! store never has to know which slots are in use.

use alloc::collections::TryReserveError;
use alloc::vec::Vec;

/// A buffer of initialised slots, all `len()` of them.
///
/// Implementations must be memory-safe for every argument: the slab's indices are
/// trusted for *correctness* only.
pub trait SlotStore: Sized {
    /// What one slot holds.
    type Elem;

    /// A store of exactly `len` slots (a power of two; `len` ≥ 1), each made by `fill`.
    /// Called where allocating is allowed.
    ///
    /// # Errors
    /// When the allocation fails.
    fn try_filled(len: usize, fill: impl FnMut() -> Self::Elem) -> Result<Self, TryReserveError>;

    /// Number of slots.
    fn len(&self) -> usize;

    /// Whether the store has no slot.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Slot `index`, for an index below [`len`](Self::len) that the caller knows to be
    /// right. For any other index the store may panic or return any of its slots.
    fn slot(&self, index: u32) -> &Self::Elem;

    /// Mutable [`slot`](Self::slot).
    fn slot_mut(&mut self, index: u32) -> &mut Self::Elem;

    /// Slot `index`, or `None` if there is no such slot.
    fn get(&self, index: u32) -> Option<&Self::Elem>;

    /// Mutable [`get`](Self::get).
    fn get_mut(&mut self, index: u32) -> Option<&mut Self::Elem>;

    /// Every slot.
    fn as_slice(&self) -> &[Self::Elem];

    /// Every slot, mutable.
    fn as_mut_slice(&mut self) -> &mut [Self::Elem];
}

/// A kind of store, for any element type: the scheduler keeps threads and synchronization
/// objects in stores of the same kind.
pub trait StoreKind {
    /// The store of `E`s.
    type Store<E>: SlotStore<Elem = E>;
}

/// The bounds-checked store kind: a `Vec` per table.
#[derive(Debug)]
pub enum Checked {}

impl StoreKind for Checked {
    type Store<E> = CheckedStore<E>;
}

/// Slots in a `Vec`: every access is bounds-checked, an index out of range panics.
pub struct CheckedStore<E>(Vec<E>);

impl<E> CheckedStore<E> {
    /// A store with no slots (it allocates nothing).
    pub(crate) const EMPTY: Self = Self(Vec::new());
}

impl<E> SlotStore for CheckedStore<E> {
    type Elem = E;

    fn try_filled(len: usize, mut fill: impl FnMut() -> E) -> Result<Self, TryReserveError> {
        let mut v = Vec::new();
        v.try_reserve_exact(len)?;
        v.extend((0..len).map(|_| fill()));
        Ok(Self(v))
    }

    #[inline]
    fn len(&self) -> usize {
        self.0.len()
    }

    #[inline]
    fn slot(&self, index: u32) -> &E {
        &self.0[index as usize]
    }

    #[inline]
    fn slot_mut(&mut self, index: u32) -> &mut E {
        &mut self.0[index as usize]
    }

    #[inline]
    fn get(&self, index: u32) -> Option<&E> {
        self.0.get(index as usize)
    }

    #[inline]
    fn get_mut(&mut self, index: u32) -> Option<&mut E> {
        self.0.get_mut(index as usize)
    }

    #[inline]
    fn as_slice(&self) -> &[E] {
        &self.0
    }

    #[inline]
    fn as_mut_slice(&mut self) -> &mut [E] {
        &mut self.0
    }
}
