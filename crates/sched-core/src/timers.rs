//! Pending sleep deadlines, ordered so the earliest is always at hand.
//!
//! Every timer event asks "is anyone due?", and a woken or killed sleeper must take its
//! timer with it, so the structure needs cheap access to the minimum *and* cheap
//! removal of an arbitrary entry. A binary heap that remembers where each slot's
//! entry sits gives both in O(log n), and a cancelled timer leaves nothing behind
//! to be skipped later. Ties on the deadline are broken by an insertion sequence
//! number, so sleepers due at the same instant wake in the order they slept.
//!
//! Storage is grown only through [`TimerHeap::reserve_slots`], called when a
//! thread is created; inserting and removing never allocate.

use alloc::collections::TryReserveError;
use alloc::vec::Vec;

use crate::slab::NIL;
use crate::Ticks;

#[derive(Copy, Clone, Debug)]
pub(crate) struct Entry {
    deadline: Ticks,
    seq: u64,
    slot: u32,
}

impl Entry {
    fn key(&self) -> (Ticks, u64) {
        (self.deadline, self.seq)
    }
}

/// Empty buffers for a [`TimerHeap`] to grow into, allocated where allocating
/// is allowed.
pub struct TimerStorage {
    heap: Vec<Entry>,
    position: Vec<u32>,
}

impl TimerStorage {
    /// Empty buffers with room for one timer per slot below `slots`.
    ///
    /// # Errors
    /// When an allocation fails.
    pub(crate) fn try_with_capacity(slots: usize) -> Result<Self, TryReserveError> {
        let mut heap = Vec::new();
        heap.try_reserve_exact(slots)?;
        let mut position = Vec::new();
        position.try_reserve_exact(slots)?;
        Ok(Self { heap, position })
    }
}

/// A min-heap of deadlines, at most one per slot index.
pub(crate) struct TimerHeap {
    heap: Vec<Entry>,
    /// `position[slot]` is where that slot's entry sits in `heap`, or `NIL`.
    position: Vec<u32>,
    next_seq: u64,
}

impl TimerHeap {
    /// An empty heap with room for nothing.
    pub(crate) const fn new() -> Self {
        Self {
            heap: Vec::new(),
            position: Vec::new(),
            next_seq: 0,
        }
    }

    /// Makes room for one timer per slot index below `slots`. May allocate; call
    /// it whenever the thread table grows.
    pub(crate) fn reserve_slots(&mut self, slots: usize) {
        if self.position.len() < slots {
            self.position.resize(slots, NIL);
        }
        self.heap.reserve(slots.saturating_sub(self.heap.len()));
    }

    /// Whether timers for every slot index below `slots` fit without
    /// allocating.
    pub(crate) fn has_room_for(&self, slots: usize) -> bool {
        self.position.capacity() >= slots && self.heap.capacity() >= slots
    }

    /// Moves the heap into `storage` if it is larger (see [`TimerStorage`]) and
    /// hands back the old buffers, now empty, for the caller to free. Allocates
    /// nothing.
    pub(crate) fn grow_into(&mut self, mut storage: TimerStorage) -> TimerStorage {
        if storage.heap.capacity() > self.heap.capacity()
            && storage.heap.capacity() >= self.heap.len()
        {
            storage.heap.append(&mut self.heap);
            core::mem::swap(&mut self.heap, &mut storage.heap);
        }
        if storage.position.capacity() > self.position.capacity()
            && storage.position.capacity() >= self.position.len()
        {
            storage.position.append(&mut self.position);
            core::mem::swap(&mut self.position, &mut storage.position);
        }
        storage.heap.clear();
        storage.position.clear();
        storage
    }

    /// Number of pending timers.
    pub(crate) fn len(&self) -> usize {
        self.heap.len()
    }

    /// Whether `slot` has a pending timer.
    pub(crate) fn contains(&self, slot: u32) -> bool {
        self.position.get(slot as usize).is_some_and(|&p| p != NIL)
    }

    /// The deadline pending for `slot`, if any.
    pub(crate) fn deadline_of(&self, slot: u32) -> Option<Ticks> {
        let p = *self.position.get(slot as usize)?;
        (p != NIL).then(|| self.heap[p as usize].deadline)
    }

    /// The earliest pending deadline and whose it is.
    pub(crate) fn peek(&self) -> Option<(Ticks, u32)> {
        self.heap.first().map(|e| (e.deadline, e.slot))
    }

    /// Arms a timer for `slot`, replacing any it already had.
    ///
    /// # Panics
    /// If `slot` was never covered by [`TimerHeap::reserve_slots`]: that would
    /// mean allocating here, which this path must not do.
    pub(crate) fn insert(&mut self, slot: u32, deadline: Ticks) {
        assert!(
            (slot as usize) < self.position.len(),
            "timer slot {slot} was not reserved"
        );
        self.remove(slot);
        debug_assert!(self.heap.len() < self.heap.capacity());
        let seq = self.next_seq;
        self.next_seq += 1;
        let at = self.heap.len();
        self.heap.push(Entry {
            deadline,
            seq,
            slot,
        });
        self.position[slot as usize] = at as u32;
        self.sift_up(at);
    }

    /// Cancels `slot`'s timer, returning its deadline if it had one.
    ///
    /// Inline up to the test for "no timer" (every wake of a waiter without a deadline
    /// asks), so that case costs four instructions rather than a call and its frame.
    #[inline]
    pub(crate) fn remove(&mut self, slot: u32) -> Option<Ticks> {
        let at = *self.position.get(slot as usize)?;
        if at == NIL {
            return None;
        }
        self.remove_at(slot, at as usize)
    }

    /// [`remove`](Self::remove) of the entry at heap position `at`.
    #[inline(never)]
    fn remove_at(&mut self, slot: u32, at: usize) -> Option<Ticks> {
        let last = self.heap.len() - 1;
        self.swap(at, last);
        let removed = self.heap.pop().expect("heap holds the entry being removed");
        self.position[slot as usize] = NIL;
        if at < self.heap.len() {
            // The entry moved into the hole may belong above or below it.
            self.sift_up(at);
            self.sift_down(at);
        }
        Some(removed.deadline)
    }

    /// Takes the earliest timer if its deadline is at or before `now`.
    pub(crate) fn pop_due(&mut self, now: Ticks) -> Option<u32> {
        let (deadline, slot) = self.peek()?;
        if deadline > now {
            return None;
        }
        self.remove(slot);
        Some(slot)
    }

    fn swap(&mut self, a: usize, b: usize) {
        self.heap.swap(a, b);
        self.position[self.heap[a].slot as usize] = a as u32;
        self.position[self.heap[b].slot as usize] = b as u32;
    }

    fn sift_up(&mut self, mut at: usize) {
        while at > 0 {
            let parent = (at - 1) / 2;
            if self.heap[at].key() >= self.heap[parent].key() {
                break;
            }
            self.swap(at, parent);
            at = parent;
        }
    }

    fn sift_down(&mut self, mut at: usize) {
        loop {
            let left = 2 * at + 1;
            let right = left + 1;
            let mut smallest = at;
            if left < self.heap.len() && self.heap[left].key() < self.heap[smallest].key() {
                smallest = left;
            }
            if right < self.heap.len() && self.heap[right].key() < self.heap[smallest].key() {
                smallest = right;
            }
            if smallest == at {
                break;
            }
            self.swap(at, smallest);
            at = smallest;
        }
    }

    /// Checks heap order and that every position entry points back correctly.
    pub(crate) fn audit(&self) -> Result<(), &'static str> {
        for (i, e) in self.heap.iter().enumerate() {
            if i > 0 && self.heap[(i - 1) / 2].key() > e.key() {
                return Err("timer heap order violated");
            }
            if self.position.get(e.slot as usize) != Some(&(i as u32)) {
                return Err("timer position does not point at its entry");
            }
        }
        let armed = self.position.iter().filter(|&&p| p != NIL).count();
        if armed != self.heap.len() {
            return Err("timer positions disagree with heap length");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    fn heap(slots: usize) -> TimerHeap {
        let mut h = TimerHeap::new();
        h.reserve_slots(slots);
        h
    }

    #[test]
    fn pops_in_deadline_order_and_only_when_due() {
        let mut h = heap(4);
        h.insert(0, 30);
        h.insert(1, 10);
        h.insert(2, 20);
        assert_eq!(h.peek(), Some((10, 1)));
        assert_eq!(h.pop_due(9), None);
        assert_eq!(h.pop_due(10), Some(1));
        assert_eq!(h.pop_due(10), None);
        assert_eq!(h.pop_due(100), Some(2));
        assert_eq!(h.pop_due(100), Some(0));
        assert_eq!(h.pop_due(u64::MAX), None);
        h.audit().unwrap();
    }

    #[test]
    fn equal_deadlines_pop_in_insertion_order() {
        let mut h = heap(4);
        for slot in [3, 1, 2, 0] {
            h.insert(slot, 5);
        }
        let order: std::vec::Vec<_> = core::iter::from_fn(|| h.pop_due(5)).collect();
        assert_eq!(order, [3, 1, 2, 0]);
    }

    #[test]
    fn removing_leaves_no_trace() {
        let mut h = heap(3);
        h.insert(0, 1);
        h.insert(1, 2);
        h.insert(2, 3);
        assert_eq!(h.remove(0), Some(1));
        assert_eq!(h.remove(0), None);
        assert!(!h.contains(0));
        assert_eq!(h.len(), 2);
        assert_eq!(h.peek(), Some((2, 1)));
        h.audit().unwrap();
    }

    #[test]
    fn reinserting_replaces() {
        let mut h = heap(2);
        h.insert(0, 50);
        h.insert(0, 5);
        assert_eq!(h.len(), 1);
        assert_eq!(h.deadline_of(0), Some(5));
    }

    #[test]
    fn reserved_capacity_is_not_exceeded() {
        let mut h = heap(8);
        let cap = h.heap.capacity();
        for slot in 0..8 {
            h.insert(slot, u64::from(8 - slot));
        }
        assert_eq!(h.heap.capacity(), cap, "insert must not reallocate");
    }

    #[test]
    #[should_panic(expected = "not reserved")]
    fn unreserved_slot_is_a_contract_violation() {
        heap(1).insert(1, 0);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn matches_a_reference_model(ops in prop::collection::vec((0u8..3, 0u32..12, 0u64..50), 0..300)) {
            let mut h = heap(12);
            // slot -> (deadline, seq) for the reference.
            let mut model: BTreeMap<u32, (u64, u64)> = BTreeMap::new();
            let mut seq = 0u64;
            for (op, slot, t) in ops {
                match op {
                    0 => {
                        h.insert(slot, t);
                        model.insert(slot, (t, seq));
                        seq += 1;
                    }
                    1 => {
                        prop_assert_eq!(h.remove(slot), model.remove(&slot).map(|(d, _)| d));
                    }
                    _ => {
                        let due = model
                            .iter()
                            .filter(|(_, &(d, _))| d <= t)
                            .min_by_key(|(_, &k)| k)
                            .map(|(&s, _)| s);
                        prop_assert_eq!(h.pop_due(t), due);
                        if let Some(s) = due {
                            model.remove(&s);
                        }
                    }
                }
                h.audit().map_err(TestCaseError::fail)?;
                prop_assert_eq!(h.len(), model.len());
                let min = model.iter().min_by_key(|(_, &k)| k).map(|(&s, &(d, _))| (d, s));
                prop_assert_eq!(h.peek(), min);
            }
        }
    }
}
