//! Thread identities that can outlive the thread they name.
//!
//! A user may keep a handle long after its thread has been reaped and its slot
//! recycled. Pairing the slot index with a generation counter means such a handle
//! is recognised as stale instead of silently naming whichever thread now lives in
//! that slot.

use core::num::NonZeroU64;

/// Names one thread for as long as it exists, and nothing afterwards.
///
/// Made of the thread's slot index and the slot's generation at the time the
/// thread was created; generations start at 1, so the packed form is never zero.
///
/// Stored packed, as one `NonZeroU64` (generation in the high half, index in the
/// low half): an `Option<ThreadId>` is the size of a `ThreadId` and testing it for
/// `None` is a compare with zero (the scheduler keeps one per CPU for its running
/// thread), the index is the low 32-bit register half, and anything holding ids —
/// a [`Next`](crate::Next), the results built around it — is 8-byte aligned, so it is
/// copied and returned in whole registers.
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug, PartialOrd, Ord)]
pub struct ThreadId(NonZeroU64);

impl ThreadId {
    /// # Panics
    /// If `generation` is zero (slabs start generations at 1).
    pub(crate) const fn new(index: u32, generation: u32) -> Self {
        let raw = ((generation as u64) << 32) | index as u64;
        Self(NonZeroU64::new(raw).expect("thread generations start at 1"))
    }

    /// Slot index inside the thread table.
    pub(crate) const fn index(self) -> u32 {
        self.0.get() as u32
    }

    /// Generation of the slot when this thread was created.
    pub(crate) const fn generation(self) -> u32 {
        (self.0.get() >> 32) as u32
    }

    /// Packs the id into one word: generation in the high half, index in the low
    /// half. Distinct ids give distinct values, the value is never zero, and bit
    /// 63 is always clear (generations stop below 2^31), which leaves it free for
    /// [`LOCK_WAITERS`](crate::LOCK_WAITERS) in a mutex lock word.
    #[must_use]
    pub const fn as_u64(self) -> u64 {
        self.0.get()
    }

    /// Inverse of [`ThreadId::as_u64`]; `None` for values no id can produce
    /// (generation zero).
    #[must_use]
    pub const fn from_u64(raw: u64) -> Option<Self> {
        if raw >> 32 == 0 {
            None
        } else {
            Some(Self::new(raw as u32, (raw >> 32) as u32))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packed_form_round_trips_and_is_nonzero() {
        let id = ThreadId::new(0, 1);
        assert_ne!(id.as_u64(), 0);
        assert_eq!(ThreadId::from_u64(id.as_u64()), Some(id));
        let id = ThreadId::new(u32::MAX, u32::MAX);
        assert_eq!(ThreadId::from_u64(id.as_u64()), Some(id));
    }

    #[test]
    fn packed_form_separates_index_and_generation() {
        let a = ThreadId::new(1, 2);
        let b = ThreadId::new(2, 1);
        assert_ne!(a.as_u64(), b.as_u64());
        assert_eq!(a.index(), 1);
        assert_eq!(a.generation(), 2);
    }

    #[test]
    fn option_of_an_id_costs_nothing() {
        assert_eq!(
            core::mem::size_of::<Option<ThreadId>>(),
            core::mem::size_of::<ThreadId>()
        );
    }

    #[test]
    fn zero_generation_is_rejected() {
        assert_eq!(ThreadId::from_u64(0), None);
        assert_eq!(ThreadId::from_u64(7), None);
    }
}
