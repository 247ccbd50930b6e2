//! The waiters of one synchronization object, best first, linked through the
//! thread entries.
//!
//! Every blocking primitive is a wait list plus a little state, so the list is
//! where the shared guarantees live: waiters leave in order of effective
//! priority, and in arrival order among equals. Waking is the hot path (it runs
//! from interrupts, with the scheduler lock held), so the best waiter is always
//! the head and removal is O(1) through `prev`/`next` links stored in the thread
//! entry itself; nothing allocates. A thread waits on at most one thing, so one
//! link per thread is enough.
//!
//! Insertion walks back from the tail to find the waiter's place. That is O(n)
//! in the number of waiters of *this* object, which is paid by the thread going
//! to sleep (or whose priority changed), never by the waker. A per-object
//! priority bitmap would make it O(1) but cost kilobytes per mutex.

use crate::slab::NIL;
use crate::Priority;

/// The wait-list links embedded in each thread entry.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) struct WaitLink {
    prev: u32,
    next: u32,
    queued: bool,
}

impl WaitLink {
    /// Links of a thread that is in no wait list.
    pub(crate) const UNLINKED: Self = Self {
        prev: NIL,
        next: NIL,
        queued: false,
    };

    /// Whether the thread is in some wait list.
    pub(crate) fn is_queued(&self) -> bool {
        self.queued
    }
}

/// Whatever holds the [`WaitLink`] and the rank of each thread, by slot index.
pub(crate) trait WaitStore {
    /// Links of entry `index`.
    fn wlink(&self, index: u32) -> WaitLink;
    /// Mutable links of entry `index`.
    fn wlink_mut(&mut self, index: u32) -> &mut WaitLink;
    /// The priority entry `index` is ordered by.
    fn rank(&self, index: u32) -> Priority;
}

/// The waiters of one object: highest rank first, FIFO among equal ranks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct WaitList {
    head: u32,
    tail: u32,
    len: usize,
}

impl WaitList {
    /// An empty list.
    pub(crate) const fn new() -> Self {
        Self {
            head: NIL,
            tail: NIL,
            len: 0,
        }
    }

    /// Number of waiters.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Whether nobody waits.
    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The best waiter.
    pub(crate) fn head(&self) -> Option<u32> {
        (self.head != NIL).then_some(self.head)
    }

    /// The waiter after `index` (which must be in this list).
    pub(crate) fn next_of<S: WaitStore + ?Sized>(store: &S, index: u32) -> Option<u32> {
        let next = store.wlink(index).next;
        (next != NIL).then_some(next)
    }

    /// Puts `index` behind every waiter of equal or higher rank.
    pub(crate) fn insert<S: WaitStore + ?Sized>(&mut self, store: &mut S, index: u32) {
        debug_assert!(!store.wlink(index).queued, "thread waits twice");
        let rank = store.rank(index);
        // The last waiter that goes before the new one, searching from the back
        // (arrivals of low priority, the common case, stop at once).
        let mut before = self.tail;
        while before != NIL && store.rank(before) < rank {
            before = store.wlink(before).prev;
        }
        let after = if before == NIL {
            self.head
        } else {
            store.wlink(before).next
        };
        self.link(store, index, before, after);
    }

    /// Puts `index` ahead of every waiter of equal or lower rank, behind only better ones:
    /// for a thread that waited already and must not lose its turn among its peers.
    pub(crate) fn insert_first<S: WaitStore + ?Sized>(&mut self, store: &mut S, index: u32) {
        debug_assert!(!store.wlink(index).queued, "thread waits twice");
        let rank = store.rank(index);
        let mut after = self.head;
        while after != NIL && store.rank(after) > rank {
            after = store.wlink(after).next;
        }
        let before = if after == NIL {
            self.tail
        } else {
            store.wlink(after).prev
        };
        self.link(store, index, before, after);
    }

    /// Links `index` between `before` and `after` (neighbours, or `NIL` at an end).
    fn link<S: WaitStore + ?Sized>(&mut self, store: &mut S, index: u32, before: u32, after: u32) {
        *store.wlink_mut(index) = WaitLink {
            prev: before,
            next: after,
            queued: true,
        };
        if before == NIL {
            self.head = index;
        } else {
            store.wlink_mut(before).next = index;
        }
        if after == NIL {
            self.tail = index;
        } else {
            store.wlink_mut(after).prev = index;
        }
        self.len += 1;
    }

    /// Unlinks `index`, which the caller knows to be in this list.
    pub(crate) fn remove<S: WaitStore + ?Sized>(&mut self, store: &mut S, index: u32) {
        let WaitLink { prev, next, queued } = store.wlink(index);
        debug_assert!(queued, "removing a thread that does not wait");
        if prev == NIL {
            self.head = next;
        } else {
            store.wlink_mut(prev).next = next;
        }
        if next == NIL {
            self.tail = prev;
        } else {
            store.wlink_mut(next).prev = prev;
        }
        *store.wlink_mut(index) = WaitLink::UNLINKED;
        self.len -= 1;
    }

    /// Moves `index` to its place after its rank changed: behind its new peers.
    pub(crate) fn reposition<S: WaitStore + ?Sized>(&mut self, store: &mut S, index: u32) {
        self.remove(store, index);
        self.insert(store, index);
    }

    /// Calls `visit` with each waiter, best first, after checking the links
    /// and the order. Fails on a cycle, a broken back link or a rank that rises.
    pub(crate) fn audit<S: WaitStore + ?Sized>(
        &self,
        store: &S,
        mut visit: impl FnMut(u32) -> Result<(), &'static str>,
    ) -> Result<(), &'static str> {
        let mut cursor = self.head;
        let mut prev = NIL;
        let mut count = 0;
        while cursor != NIL {
            count += 1;
            if count > self.len {
                return Err("wait list is longer than its length (cycle?)");
            }
            let link = store.wlink(cursor);
            if !link.queued || link.prev != prev {
                return Err("wait list back link is broken");
            }
            if prev != NIL && store.rank(prev) < store.rank(cursor) {
                return Err("wait list is not in priority order");
            }
            visit(cursor)?;
            prev = cursor;
            cursor = link.next;
        }
        if count != self.len || self.tail != prev {
            return Err("wait list length or tail is off");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::vec::Vec;

    struct Store {
        links: Vec<WaitLink>,
        ranks: Vec<Priority>,
    }

    impl WaitStore for Store {
        fn wlink(&self, index: u32) -> WaitLink {
            self.links[index as usize]
        }
        fn wlink_mut(&mut self, index: u32) -> &mut WaitLink {
            &mut self.links[index as usize]
        }
        fn rank(&self, index: u32) -> Priority {
            self.ranks[index as usize]
        }
    }

    fn store(ranks: &[Priority]) -> Store {
        Store {
            links: std::vec![WaitLink::UNLINKED; ranks.len()],
            ranks: ranks.to_vec(),
        }
    }

    fn contents(l: &WaitList, s: &Store) -> Vec<u32> {
        let mut out = Vec::new();
        l.audit(s, |i| {
            out.push(i);
            Ok(())
        })
        .unwrap();
        out
    }

    #[test]
    fn best_first_then_arrival_order() {
        let mut s = store(&[5, 9, 5, 1, 9]);
        let mut l = WaitList::new();
        for i in 0..5 {
            l.insert(&mut s, i);
        }
        assert_eq!(contents(&l, &s), [1, 4, 0, 2, 3]);
        assert_eq!(l.head(), Some(1));
        assert_eq!(WaitList::next_of(&s, 1), Some(4));
    }

    #[test]
    fn remove_and_reposition() {
        let mut s = store(&[5, 5, 5]);
        let mut l = WaitList::new();
        for i in 0..3 {
            l.insert(&mut s, i);
        }
        l.remove(&mut s, 1);
        assert_eq!(contents(&l, &s), [0, 2]);
        assert_eq!(s.links[1], WaitLink::UNLINKED);
        s.ranks[2] = 7;
        l.reposition(&mut s, 2);
        assert_eq!(contents(&l, &s), [2, 0]);
        s.ranks[2] = 5;
        l.reposition(&mut s, 2);
        assert_eq!(
            contents(&l, &s),
            [0, 2],
            "a moved waiter goes behind its peers"
        );
        l.remove(&mut s, 0);
        l.remove(&mut s, 2);
        assert!(l.is_empty());
        assert_eq!(l.head(), None);
    }

    #[test]
    fn insert_first_goes_ahead_of_its_peers_only() {
        let mut s = store(&[5, 9, 5, 1, 5, 5]);
        let mut l = WaitList::new();
        for i in 0..4 {
            l.insert(&mut s, i);
        }
        l.insert_first(&mut s, 4);
        assert_eq!(contents(&l, &s), [1, 4, 0, 2, 3]);
        let mut e = WaitList::new();
        e.insert_first(&mut s, 5);
        assert_eq!(contents(&e, &s), [5]);
        l.remove(&mut s, 3);
        l.remove(&mut s, 0);
        l.remove(&mut s, 2);
        l.insert_first(&mut s, 3);
        assert_eq!(contents(&l, &s), [1, 4, 3], "last when all outrank it");
    }

    #[test]
    fn audit_catches_disorder() {
        let mut s = store(&[1, 2]);
        let mut l = WaitList::new();
        l.insert(&mut s, 0);
        l.insert(&mut s, 1);
        s.ranks[0] = 3;
        assert!(l.audit(&s, |_| Ok(())).is_err());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn matches_a_stable_sort(ops in prop::collection::vec((any::<bool>(), 0u32..12, 0u8..4), 0..200)) {
            let mut s = store(&[0; 12]);
            let mut l = WaitList::new();
            // (index, rank, arrival) of every waiter.
            let mut model: Vec<(u32, Priority, u32)> = Vec::new();
            for (step, (insert, index, rank)) in ops.into_iter().enumerate() {
                let present = model.iter().any(|w| w.0 == index);
                if insert && !present {
                    s.ranks[index as usize] = rank;
                    l.insert(&mut s, index);
                    model.push((index, rank, step as u32));
                } else if !insert && present {
                    l.remove(&mut s, index);
                    model.retain(|w| w.0 != index);
                }
                let mut expected = model.clone();
                expected.sort_by_key(|&(_, r, a)| (core::cmp::Reverse(r), a));
                let expected: Vec<u32> = expected.into_iter().map(|w| w.0).collect();
                prop_assert_eq!(contents(&l, &s), expected);
                prop_assert_eq!(l.len(), model.len());
            }
        }
    }
}
