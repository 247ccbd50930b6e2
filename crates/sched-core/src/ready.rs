//! The run queue: one FIFO per priority level, linked through the thread entries.
//!
//! Enqueueing happens inside `tick` and `wake`, which run with interrupts masked,
//! so it must neither allocate nor scan. Storing the `prev`/`next` links in the
//! thread entries themselves (an intrusive list) makes every operation a handful
//! of index writes, including removing a thread from the middle of its level when
//! its priority changes. The per-level heads feed a [`PrioBitmap`] so the best
//! level is found without looking at empty ones.

use crate::bitmap::PrioBitmap;
use crate::slab::NIL;
use crate::Priority;

const LEVELS: usize = 256;

/// The queue links embedded in each entry.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) struct Link {
    prev: u32,
    next: u32,
    /// The level the entry is queued at, or `None` when it is not queued.
    level: Option<Priority>,
}

impl Link {
    /// Links of an entry that is in no queue.
    pub(crate) const UNLINKED: Self = Self {
        prev: NIL,
        next: NIL,
        level: None,
    };

    /// The level the entry is queued at, if it is queued.
    pub(crate) fn level(&self) -> Option<Priority> {
        self.level
    }
}

/// Whatever holds the [`Link`] of each entry, addressed by slot index.
///
/// Implementations may panic for an index with no entry: the queue only ever
/// asks about indices it was given.
pub(crate) trait LinkStore {
    /// Links of entry `index`.
    fn link(&self, index: u32) -> Link;
    /// Mutable links of entry `index`.
    fn link_mut(&mut self, index: u32) -> &mut Link;
}

/// Ready entries grouped by priority, FIFO within a level.
pub(crate) struct ReadyQueue {
    heads: [u32; LEVELS],
    tails: [u32; LEVELS],
    occupied: PrioBitmap,
    len: usize,
}

impl ReadyQueue {
    /// An empty queue.
    pub(crate) const fn new() -> Self {
        Self {
            heads: [NIL; LEVELS],
            tails: [NIL; LEVELS],
            occupied: PrioBitmap::new(),
            len: 0,
        }
    }

    /// Number of queued entries.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// The highest level with a queued entry.
    pub(crate) fn highest(&self) -> Option<Priority> {
        self.occupied.highest()
    }

    /// The first entry of `level`, if any.
    pub(crate) fn head(&self, level: Priority) -> Option<u32> {
        let h = self.heads[usize::from(level)];
        (h != NIL).then_some(h)
    }

    /// Appends `index` to the end of `level` (it waits behind its peers).
    pub(crate) fn push_tail<S: LinkStore + ?Sized>(
        &mut self,
        store: &mut S,
        index: u32,
        level: Priority,
    ) {
        debug_assert_eq!(store.link(index).level, None, "entry queued twice");
        let l = usize::from(level);
        let old_tail = self.tails[l];
        *store.link_mut(index) = Link {
            prev: old_tail,
            next: NIL,
            level: Some(level),
        };
        if old_tail == NIL {
            self.heads[l] = index;
            self.occupied.set(level);
        } else {
            store.link_mut(old_tail).next = index;
        }
        self.tails[l] = index;
        self.len += 1;
    }

    /// Puts `index` in front of `level` (it runs before its peers).
    pub(crate) fn push_head<S: LinkStore + ?Sized>(
        &mut self,
        store: &mut S,
        index: u32,
        level: Priority,
    ) {
        debug_assert_eq!(store.link(index).level, None, "entry queued twice");
        let l = usize::from(level);
        let old_head = self.heads[l];
        *store.link_mut(index) = Link {
            prev: NIL,
            next: old_head,
            level: Some(level),
        };
        if old_head == NIL {
            self.tails[l] = index;
            self.occupied.set(level);
        } else {
            store.link_mut(old_head).prev = index;
        }
        self.heads[l] = index;
        self.len += 1;
    }

    /// Unlinks `index` from wherever it is queued; `false` if it was not queued.
    pub(crate) fn remove<S: LinkStore + ?Sized>(&mut self, store: &mut S, index: u32) -> bool {
        let Link { prev, next, level } = store.link(index);
        let Some(level) = level else {
            return false;
        };
        let l = usize::from(level);
        if prev == NIL {
            self.heads[l] = next;
        } else {
            store.link_mut(prev).next = next;
        }
        if next == NIL {
            self.tails[l] = prev;
        } else {
            store.link_mut(next).prev = prev;
        }
        if self.heads[l] == NIL {
            self.occupied.clear(level);
        }
        *store.link_mut(index) = Link::UNLINKED;
        self.len -= 1;
        true
    }

    /// Takes the first entry of `level`: [`remove`](Self::remove) knowing that it has no
    /// predecessor.
    pub(crate) fn pop_head<S: LinkStore + ?Sized>(
        &mut self,
        store: &mut S,
        level: Priority,
    ) -> Option<u32> {
        let index = self.head(level)?;
        let l = usize::from(level);
        let next = store.link(index).next;
        self.heads[l] = next;
        if next == NIL {
            self.tails[l] = NIL;
            self.occupied.clear(level);
        } else {
            store.link_mut(next).prev = NIL;
        }
        *store.link_mut(index) = Link::UNLINKED;
        self.len -= 1;
        Some(index)
    }

    /// Puts `index` (not queued) at the end of `level` and takes the first entry of `level`
    /// off: one step of round robin, without touching the priority bitmap or the count. `None`
    /// (and nothing changed) if `level` is empty.
    ///
    /// The same four link writes whatever the level's length — append, then unlink the head,
    /// with no shortcut for a level of one — so that yielding costs the same among 2 threads
    /// as among 1,000 (`select_N` in the benchmarks).
    pub(crate) fn rotate<S: LinkStore + ?Sized>(
        &mut self,
        store: &mut S,
        index: u32,
        level: Priority,
    ) -> Option<u32> {
        debug_assert_eq!(store.link(index).level, None, "entry queued twice");
        let l = usize::from(level);
        let head = self.head(level)?;
        let tail = self.tails[l];
        store.link_mut(tail).next = index;
        *store.link_mut(index) = Link {
            prev: tail,
            next: NIL,
            level: Some(level),
        };
        self.tails[l] = index;
        let after = store.link(head).next; // never NIL: `index` follows at the latest
        store.link_mut(after).prev = NIL;
        self.heads[l] = after;
        *store.link_mut(head) = Link::UNLINKED;
        Some(head)
    }

    /// Takes the first entry of the highest non-empty level.
    pub(crate) fn pop_highest<S: LinkStore + ?Sized>(&mut self, store: &mut S) -> Option<u32> {
        let level = self.highest()?;
        self.pop_head(store, level)
    }

    /// The first entry, best level first and FIFO within a level, for which `wanted` holds,
    /// with its level: the per-CPU choice when some threads may not run everywhere. Visits
    /// every entry ahead of the one found (none are skipped over twice), so it costs the
    /// number of unwanted entries in front plus the number of levels they occupy.
    pub(crate) fn first_where<S: LinkStore + ?Sized>(
        &self,
        store: &S,
        mut wanted: impl FnMut(u32) -> bool,
    ) -> Option<(u32, Priority)> {
        let mut level = self.highest()?;
        loop {
            let mut cursor = self.heads[usize::from(level)];
            while cursor != NIL {
                if wanted(cursor) {
                    return Some((cursor, level));
                }
                cursor = store.link(cursor).next;
            }
            level = self.occupied.highest_below(level)?;
        }
    }

    /// Whether an entry of `level` satisfies `wanted` (walked front to back, up to the first
    /// that does).
    pub(crate) fn any_in<S: LinkStore + ?Sized>(
        &self,
        store: &S,
        level: Priority,
        mut wanted: impl FnMut(u32) -> bool,
    ) -> bool {
        let mut cursor = self.heads[usize::from(level)];
        while cursor != NIL {
            if wanted(cursor) {
                return true;
            }
            cursor = store.link(cursor).next;
        }
        false
    }

    /// Calls `visit` with each entry of `level`, front to back. Stops (returning
    /// an error) if the list is longer than the whole queue, i.e. has a cycle.
    pub(crate) fn for_each_in<S: LinkStore + ?Sized>(
        &self,
        store: &S,
        level: Priority,
        mut visit: impl FnMut(u32),
    ) -> Result<(), &'static str> {
        let mut cursor = self.heads[usize::from(level)];
        let mut steps = 0;
        while cursor != NIL {
            steps += 1;
            if steps > self.len {
                return Err("ready list has a cycle");
            }
            visit(cursor);
            cursor = store.link(cursor).next;
        }
        Ok(())
    }

    /// Checks the queue's own structure against the links in `store`.
    pub(crate) fn audit<S: LinkStore + ?Sized>(&self, store: &S) -> Result<(), &'static str> {
        if !self.occupied.summary_consistent() {
            return Err("bitmap summary disagrees with its words");
        }
        let mut total = 0;
        for level in 0..=Priority::MAX {
            let l = usize::from(level);
            if self.occupied.contains(level) != (self.heads[l] != NIL) {
                return Err("bitmap bit disagrees with the level's list");
            }
            let mut expected_prev = NIL;
            let mut bad = None;
            self.for_each_in(store, level, |i| {
                let link = store.link(i);
                if link.level != Some(level) {
                    bad = Some("queued entry records a different level");
                } else if link.prev != expected_prev {
                    bad = Some("prev link does not point at the previous entry");
                }
                expected_prev = i;
                total += 1;
            })?;
            if let Some(e) = bad {
                return Err(e);
            }
            if self.tails[l] != expected_prev {
                return Err("tail does not point at the last entry");
            }
        }
        if total != self.len {
            return Err("queue length disagrees with its lists");
        }
        if self.occupied.is_empty() != (self.len == 0) {
            return Err("bitmap emptiness disagrees with the length");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::VecDeque;
    use std::vec::Vec;

    impl LinkStore for Vec<Link> {
        fn link(&self, index: u32) -> Link {
            self[index as usize]
        }
        fn link_mut(&mut self, index: u32) -> &mut Link {
            &mut self[index as usize]
        }
    }

    fn store(n: usize) -> Vec<Link> {
        std::vec![Link::UNLINKED; n]
    }

    fn level_contents(q: &ReadyQueue, s: &Vec<Link>, level: Priority) -> Vec<u32> {
        let mut out = Vec::new();
        q.for_each_in(s, level, |i| out.push(i)).unwrap();
        out
    }

    #[test]
    fn fifo_within_a_level() {
        let mut s = store(4);
        let mut q = ReadyQueue::new();
        for i in 0..4 {
            q.push_tail(&mut s, i, 10);
        }
        assert_eq!(q.len(), 4);
        let order: Vec<_> = core::iter::from_fn(|| q.pop_highest(&mut s)).collect();
        assert_eq!(order, [0, 1, 2, 3]);
        assert_eq!(q.len(), 0);
        q.audit(&s).unwrap();
    }

    #[test]
    fn higher_level_comes_first() {
        let mut s = store(3);
        let mut q = ReadyQueue::new();
        q.push_tail(&mut s, 0, 1);
        q.push_tail(&mut s, 1, 200);
        q.push_tail(&mut s, 2, 64);
        assert_eq!(q.highest(), Some(200));
        assert_eq!(q.pop_highest(&mut s), Some(1));
        assert_eq!(q.pop_highest(&mut s), Some(2));
        assert_eq!(q.pop_highest(&mut s), Some(0));
        assert_eq!(q.pop_highest(&mut s), None);
    }

    #[test]
    fn rotate_moves_the_head_to_the_back() {
        let mut s = store(4);
        let mut q = ReadyQueue::new();
        q.push_tail(&mut s, 0, 5);
        q.push_tail(&mut s, 1, 5);
        assert_eq!(q.rotate(&mut s, 2, 5), Some(0));
        assert_eq!(q.pop_head(&mut s, 5), Some(1));
        assert_eq!(q.rotate(&mut s, 3, 5), Some(2));
        assert_eq!(q.pop_head(&mut s, 5), Some(3));
        assert_eq!(q.pop_head(&mut s, 5), None);
        assert_eq!(q.rotate(&mut s, 0, 5), None);
        assert_eq!(q.len(), 0);
        assert_eq!(q.highest(), None);
    }

    #[test]
    fn push_head_jumps_the_line() {
        let mut s = store(3);
        let mut q = ReadyQueue::new();
        q.push_tail(&mut s, 0, 5);
        q.push_tail(&mut s, 1, 5);
        q.push_head(&mut s, 2, 5);
        assert_eq!(level_contents(&q, &s, 5), [2, 0, 1]);
        q.audit(&s).unwrap();
    }

    #[test]
    fn remove_from_middle_ends_and_absent() {
        let mut s = store(5);
        let mut q = ReadyQueue::new();
        for i in 0..4 {
            q.push_tail(&mut s, i, 7);
        }
        assert!(q.remove(&mut s, 1));
        assert_eq!(level_contents(&q, &s, 7), [0, 2, 3]);
        assert!(q.remove(&mut s, 3));
        assert!(q.remove(&mut s, 0));
        assert_eq!(level_contents(&q, &s, 7), [2]);
        assert!(!q.remove(&mut s, 4), "never queued");
        assert!(!q.remove(&mut s, 1), "already removed");
        q.audit(&s).unwrap();
        assert!(q.remove(&mut s, 2));
        assert_eq!(q.highest(), None);
        assert_eq!(s[2], Link::UNLINKED);
        q.audit(&s).unwrap();
    }

    #[test]
    fn audit_catches_a_corrupt_link() {
        let mut s = store(3);
        let mut q = ReadyQueue::new();
        for i in 0..3 {
            q.push_tail(&mut s, i, 9);
        }
        s[2].prev = 0;
        assert!(q.audit(&s).is_err());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn matches_a_reference_model(ops in prop::collection::vec((0u8..4, 0u32..16, 0u8..4), 0..300)) {
            // Few levels so that levels actually fill up and collide.
            const N: usize = 16;
            let mut s = store(N);
            let mut q = ReadyQueue::new();
            let mut model: Vec<VecDeque<u32>> = std::vec![VecDeque::new(); 256];
            let mut where_: [Option<u8>; N] = [None; N];
            for (op, index, lvl) in ops {
                let level = lvl * 60;
                match op {
                    0 | 1 if where_[index as usize].is_none() => {
                        if op == 0 {
                            q.push_tail(&mut s, index, level);
                            model[usize::from(level)].push_back(index);
                        } else {
                            q.push_head(&mut s, index, level);
                            model[usize::from(level)].push_front(index);
                        }
                        where_[index as usize] = Some(level);
                    }
                    2 => {
                        let removed = q.remove(&mut s, index);
                        prop_assert_eq!(removed, where_[index as usize].is_some());
                        if let Some(l) = where_[index as usize].take() {
                            model[usize::from(l)].retain(|&x| x != index);
                        }
                    }
                    _ => {
                        let expected_level = (0..256).rev().find(|&l| !model[l].is_empty());
                        let got = q.pop_highest(&mut s);
                        let expected = expected_level.and_then(|l| model[l].pop_front());
                        prop_assert_eq!(got, expected);
                        if let Some(i) = got {
                            where_[i as usize] = None;
                        }
                    }
                }
                q.audit(&s).map_err(TestCaseError::fail)?;
                prop_assert_eq!(q.len(), model.iter().map(VecDeque::len).sum::<usize>());
                for l in (0..=255u8).step_by(60) {
                    prop_assert_eq!(level_contents(&q, &s, l), model[usize::from(l)].iter().copied().collect::<Vec<_>>());
                }
            }
        }
    }
}
