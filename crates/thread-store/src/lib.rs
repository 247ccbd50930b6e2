//! The store the kernel keeps the scheduler's thread and object tables in.
//!
//! `sched-core` is safe code, so every slot access it makes is bounds-checked, although the
//! indices of its hot paths (the running thread, the neighbours in a ready or wait list) are
//! its own and always in range: about a dozen compares and branches per thread switch. It
//! is written against [`SlotStore`] so that the kernel can do better without trusting it.
//!
//! [`MaskedStore`] holds a power-of-two number of slots, every one initialised (a vacant
//! slot holds a valid, vacant entry), and reaches slot `index` at `index & mask`. Whatever
//! the index, even a wrong one, the access stays inside the allocation: memory safety holds
//! without assuming anything about the scheduler, and a wrong index costs at most a wrong
//! (but valid) slot, as it would with any other logic error in safe code. The checked
//! accessors ([`SlotStore::get`]) still compare against the length, since they answer for
//! ids that come from outside.
//!
//! The two `get_unchecked` calls of this crate are the kernel's whole trust in the scheduling
//! policy's indexing. Growth is unchanged: the scheduler asks for a larger store, which the
//! kernel allocates outside its lock, and moves the slots over under it.

#![no_std]
#![forbid(unsafe_op_in_unsafe_fn)]

extern crate alloc;

use alloc::boxed::Box;
use alloc::collections::TryReserveError;
use alloc::vec::Vec;

use sched_core::{SlotStore, StoreKind};

/// The store kind of the kernel's scheduler: `Scheduler<T, Masked>`.
#[derive(Debug)]
pub enum Masked {}

impl StoreKind for Masked {
    type Store<E> = MaskedStore<E>;
}

/// A power-of-two array of initialised slots, indexed with `index & mask`.
///
/// Invariant: `slots.len() == mask + 1`, a power of two (at least 1). `mask` comes first so
/// that it sits next to the slots' address and both load with one instruction.
#[repr(C)]
pub struct MaskedStore<E> {
    mask: usize,
    slots: Box<[E]>,
}

impl<E> MaskedStore<E> {
    /// Where `index` lands: always below `slots.len()` (the invariant).
    #[inline(always)]
    fn place(&self, index: u32) -> usize {
        index as usize & self.mask
    }
}

impl<E> SlotStore for MaskedStore<E> {
    type Elem = E;

    /// `len` is rounded up to a power of two (at least 1).
    fn try_filled(len: usize, mut fill: impl FnMut() -> E) -> Result<Self, TryReserveError> {
        let len = len.max(1).next_power_of_two();
        let mut v = Vec::new();
        v.try_reserve_exact(len)?;
        v.extend((0..len).map(|_| fill()));
        Ok(Self {
            mask: len - 1,
            slots: v.into_boxed_slice(),
        })
    }

    #[inline]
    fn len(&self) -> usize {
        self.mask + 1
    }

    #[inline]
    fn slot(&self, index: u32) -> &E {
        let i = self.place(index);
        // SAFETY: `i = index & mask <= mask < slots.len()` (the invariant: `mask + 1` slots,
        // all initialised since `try_filled` made them), so `i` is in bounds.
        unsafe { self.slots.get_unchecked(i) }
    }

    #[inline]
    fn slot_mut(&mut self, index: u32) -> &mut E {
        let i = self.place(index);
        // SAFETY: as in `slot`: `i <= mask < slots.len()`.
        unsafe { self.slots.get_unchecked_mut(i) }
    }

    #[inline]
    fn get(&self, index: u32) -> Option<&E> {
        self.slots.get(index as usize)
    }

    #[inline]
    fn get_mut(&mut self, index: u32) -> Option<&mut E> {
        self.slots.get_mut(index as usize)
    }

    #[inline]
    fn as_slice(&self) -> &[E] {
        &self.slots
    }

    #[inline]
    fn as_mut_slice(&mut self) -> &mut [E] {
        &mut self.slots
    }
}

#[cfg(test)]
mod tests {
    extern crate std;

    use super::*;
    use proptest::prelude::*;

    #[test]
    fn lengths_are_powers_of_two_and_every_slot_is_filled() {
        for (asked, got) in [(0, 1), (1, 1), (3, 4), (4, 4), (5, 8), (1000, 1024)] {
            let mut n = 0;
            let s = MaskedStore::try_filled(asked, || {
                n += 1;
                n
            })
            .unwrap();
            assert_eq!(s.len(), got);
            assert_eq!(n, got, "one fill per slot");
            assert_eq!(s.as_slice(), (1..=got).collect::<Vec<_>>().as_slice());
        }
    }

    #[test]
    fn checked_access_rejects_indices_past_the_end() {
        let mut s = MaskedStore::try_filled(4, || 7u8).unwrap();
        assert_eq!(s.get(3), Some(&7));
        assert_eq!(s.get(4), None);
        assert_eq!(s.get_mut(u32::MAX), None);
    }

    proptest! {
        /// Any index, however wrong, lands on one of the store's own slots: the one
        /// `index & mask` names.
        #[test]
        fn every_index_stays_inside(len in 0usize..300, index in any::<u32>()) {
            let mut s = MaskedStore::try_filled(len, || 0u32).unwrap();
            for (i, v) in s.as_mut_slice().iter_mut().enumerate() {
                *v = i as u32;
            }
            let want = index as usize % s.len();
            prop_assert_eq!(*s.slot(index) as usize, want);
            *s.slot_mut(index) += 1000;
            prop_assert_eq!(s.as_slice()[want] as usize, want + 1000);
        }
    }
}
