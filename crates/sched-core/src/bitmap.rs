//! Which priority levels have somebody waiting, answerable in constant time.
//!
//! Picking the next thread must not cost more with 256 levels than with one, and
//! must not scan while interrupts are masked. Two layers of bits do it: one bit per
//! level in four words, and a summary with one bit per non-empty word. Two
//! `leading_zeros` calls then find the highest occupied level. The answer is also
//! kept (`top`): the scheduler asks for it several times per decision and it only
//! changes when a level is set above it or the top level empties, so asking is one
//! load, and only clearing the top level pays for the two `leading_zeros`.

use crate::Priority;

const WORDS: usize = 4;

/// Set of non-empty priority levels.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct PrioBitmap {
    words: [u64; WORDS],
    /// Bit `w` is set exactly when `words[w]` is nonzero.
    summary: u8,
    /// The highest occupied level plus one; 0 when empty.
    top: u16,
}

const fn split(level: Priority) -> (usize, u32) {
    ((level / 64) as usize, (level % 64) as u32)
}

impl PrioBitmap {
    /// An empty set.
    pub(crate) const fn new() -> Self {
        Self {
            words: [0; WORDS],
            summary: 0,
            top: 0,
        }
    }

    /// Marks `level` as occupied.
    pub(crate) fn set(&mut self, level: Priority) {
        let (w, b) = split(level);
        self.words[w] |= 1 << b;
        self.summary |= 1 << w;
        self.top = self.top.max(u16::from(level) + 1);
    }

    /// Marks `level` as empty.
    pub(crate) fn clear(&mut self, level: Priority) {
        let (w, b) = split(level);
        self.words[w] &= !(1 << b);
        if self.words[w] == 0 {
            self.summary &= !(1 << w);
        }
        if u16::from(level) + 1 == self.top {
            self.top = self.scan().map_or(0, |l| u16::from(l) + 1);
        }
    }

    /// Whether `level` is marked occupied.
    pub(crate) fn contains(&self, level: Priority) -> bool {
        let (w, b) = split(level);
        self.words[w] & (1 << b) != 0
    }

    /// The highest occupied level, if any.
    #[inline]
    pub(crate) fn highest(&self) -> Option<Priority> {
        // top <= 256, so top - 1 fits in a u8.
        self.top.checked_sub(1).map(|t| t as Priority)
    }

    /// The highest occupied level strictly below `level`, if any: the next level down for a
    /// walk over the queue (at most four words looked at).
    pub(crate) fn highest_below(&self, level: Priority) -> Option<Priority> {
        let (w, b) = split(level);
        let mut word = self.words[w] & ((1u64 << b) - 1);
        let mut w = w;
        loop {
            if word != 0 {
                let b = 63 - word.leading_zeros() as usize;
                // w < 4 and b < 64, so the level fits in a u8.
                return Some((w * 64 + b) as Priority);
            }
            if w == 0 {
                return None;
            }
            w -= 1;
            word = self.words[w];
        }
    }

    /// The highest occupied level, found from the bits.
    fn scan(&self) -> Option<Priority> {
        if self.summary == 0 {
            return None;
        }
        let w = 7 - self.summary.leading_zeros() as usize;
        let b = 63 - self.words[w].leading_zeros() as usize;
        // w < 4 and b < 64, so the level fits in a u8.
        Some((w * 64 + b) as Priority)
    }

    /// Whether no level is occupied.
    pub(crate) fn is_empty(&self) -> bool {
        self.summary == 0
    }

    /// Whether the summary agrees with the words (used by the invariant audit).
    pub(crate) fn summary_consistent(&self) -> bool {
        (0..WORDS).all(|w| (self.summary >> w) & 1 == u8::from(self.words[w] != 0))
            && self.summary >> WORDS == 0
            && self.highest() == self.scan()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeSet;

    #[test]
    fn empty_has_no_highest() {
        let b = PrioBitmap::new();
        assert!(b.is_empty());
        assert_eq!(b.highest(), None);
        assert!(b.summary_consistent());
    }

    #[test]
    fn highest_crosses_word_boundaries() {
        let mut b = PrioBitmap::new();
        for level in [0u8, 63, 64, 127, 128, 191, 192, 255] {
            b.set(level);
            assert_eq!(b.highest(), Some(level));
            assert!(b.contains(level));
        }
        for level in [255u8, 192, 191, 128, 127, 64, 63] {
            b.clear(level);
            assert!(!b.contains(level));
            assert!(b.highest().unwrap() < level);
        }
        assert_eq!(b.highest(), Some(0));
        b.clear(0);
        assert!(b.is_empty());
        assert!(b.summary_consistent());
    }

    #[test]
    fn clearing_one_bit_keeps_word_summary_while_others_remain() {
        let mut b = PrioBitmap::new();
        b.set(70);
        b.set(100);
        b.clear(100);
        assert_eq!(b.highest(), Some(70));
        assert!(b.summary_consistent());
        b.clear(70);
        assert!(b.is_empty());
    }

    #[test]
    fn setting_twice_and_clearing_absent_are_harmless() {
        let mut b = PrioBitmap::new();
        b.set(5);
        b.set(5);
        b.clear(200);
        assert_eq!(b.highest(), Some(5));
        assert!(b.summary_consistent());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn matches_a_reference_set(ops in prop::collection::vec((any::<bool>(), any::<u8>()), 0..200)) {
            let mut b = PrioBitmap::new();
            let mut model = BTreeSet::new();
            for (insert, level) in ops {
                if insert {
                    b.set(level);
                    model.insert(level);
                } else {
                    b.clear(level);
                    model.remove(&level);
                }
                prop_assert_eq!(b.highest(), model.iter().next_back().copied());
                prop_assert_eq!(b.highest_below(level), model.range(..level).next_back().copied());
                prop_assert!(b.summary_consistent());
                prop_assert_eq!(b.is_empty(), model.is_empty());
            }
        }
    }
}
