//! Host tests of the slab: ids, reuse, retirement, growth.

use super::*;
use alloc::vec::Vec;
use proptest::prelude::*;
use std::collections::HashMap;

impl Vacancy for &str {
    fn vacant() -> Self {
        ""
    }
}
impl Vacancy for i32 {
    fn vacant() -> Self {
        0
    }
}
impl Vacancy for u32 {
    fn vacant() -> Self {
        0
    }
}
impl Vacancy for char {
    fn vacant() -> Self {
        '\0'
    }
}

#[test]
fn insert_get_remove() {
    let mut s: Slab<_> = Slab::new();
    let a = s.insert("a");
    let b = s.insert("b");
    assert_eq!(s.live(), 2);
    assert_eq!(s.get(a), Some(&"a"));
    assert_eq!(s.get(b), Some(&"b"));
    assert_eq!(s.remove(a), Some("a"));
    assert_eq!(s.get(a), None);
    assert_eq!(s.remove(a), None);
    assert_eq!(s.live(), 1);
}

#[test]
fn reused_slot_gets_a_new_generation() {
    let mut s: Slab<_> = Slab::new();
    let a = s.insert(1);
    s.remove(a);
    let b = s.insert(2);
    assert_eq!(a.index(), b.index(), "vacant slot is reused");
    assert_ne!(a, b);
    assert_eq!(s.get(a), None, "old id does not alias the new occupant");
    assert_eq!(s.get_mut(a), None);
    assert_eq!(s.get(b), Some(&2));
    assert_eq!(s.slot_count(), 1);
}

#[test]
fn free_list_is_reused_before_growing() {
    let mut s: Slab<_> = Slab::new();
    let ids: Vec<_> = (0..4).map(|i| s.insert(i)).collect();
    s.remove(ids[1]);
    s.remove(ids[3]);
    s.insert(10);
    s.insert(11);
    assert_eq!(s.slot_count(), 4);
    s.insert(12);
    assert_eq!(s.slot_count(), 5);
}

#[test]
fn room_counts_vacant_slots_and_capacity_and_grow_moves_everything() {
    let mut s: Slab<u32> = Slab::new();
    assert_eq!(s.room(), 0);
    let want = s.capacity_for(3).expect("an empty slab needs room");
    assert!(want >= 3);
    let old = s.grow_into(SlabStorage::try_with_capacity(want).unwrap());
    assert_eq!(old.0.len(), 0);
    assert_eq!(s.room(), want);
    let ids: Vec<_> = (0..want as u32).map(|i| s.insert(i)).collect();
    assert_eq!(s.room(), 0);
    s.remove(ids[1]);
    assert_eq!(s.room(), 1);
    assert_eq!(s.capacity_for(1), None);
    let bigger = s.capacity_for(2).unwrap();
    assert!(bigger >= 2 * want);
    let old = s.grow_into(SlabStorage::try_with_capacity(bigger).unwrap());
    assert!(
        old.0.len() == want && old.0.as_slice().iter().all(|s| !s.occupied()),
        "old buffer handed back, holding only vacant slots"
    );
    for (i, id) in ids.iter().enumerate() {
        if i != 1 {
            assert_eq!(s.get(*id), Some(&(i as u32)), "entries survive the move");
        }
    }
    assert_eq!(s.room(), 1 + bigger - want);
}

#[test]
fn slot_at_last_generation_is_retired() {
    let mut s: Slab<i32> = Slab::new();
    let a = s.insert(1);
    let a = s.force_generation(a.index(), MAX_GENERATION);
    assert_eq!(s.remove(a), Some(1));
    let b = s.insert(2);
    assert_ne!(b.index(), a.index(), "retired slot must not be reused");
    assert_eq!(s.get(a), None);
    assert_eq!(s.id_at(a.index()), None);
}

#[test]
fn packed_ids_never_use_the_top_bit() {
    let mut s: Slab<i32> = Slab::new();
    let a = s.insert(1);
    let last = s.force_generation(a.index(), MAX_GENERATION - 2);
    assert_eq!(last.as_u64() >> 63, 0);
    s.remove(last);
    let b = s.insert(2);
    assert_eq!(b.generation(), MAX_GENERATION);
    assert_eq!(b.as_u64() >> 63, 0, "bit 63 is free for the lock word");
    s.remove(b);
    assert_ne!(s.insert(3).index(), b.index(), "retired at the cap");
}

#[test]
fn index_access_ignores_generation() {
    let mut s: Slab<_> = Slab::new();
    let a = s.insert('x');
    assert_eq!(s.at(a.index()), Some(&'x'));
    *s.at_mut(a.index()).unwrap() = 'y';
    assert_eq!(s.id_at(a.index()), Some(a));
    assert_eq!(s.get(a), Some(&'y'));
    s.remove(a);
    assert_eq!(s.at(a.index()), None);
    assert_eq!(s.at(99), None);
    assert_eq!(s.iter().count(), 0);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn behaves_like_a_map_and_never_aliases(ops in prop::collection::vec(any::<(bool, u8)>(), 0..200)) {
        let mut s: Slab<_> = Slab::new();
        let mut live: HashMap<ThreadId, u32> = HashMap::new();
        let mut dead: Vec<ThreadId> = Vec::new();
        let mut next = 0u32;
        for (insert, pick) in ops {
            if insert || live.is_empty() {
                let id = s.insert(next);
                prop_assert!(!live.contains_key(&id));
                prop_assert!(!dead.contains(&id), "a stale id was handed out again");
                live.insert(id, next);
                next += 1;
            } else {
                let mut keys: Vec<_> = live.keys().copied().collect();
                keys.sort();
                let id = keys[pick as usize % keys.len()];
                prop_assert_eq!(s.remove(id), live.remove(&id));
                dead.push(id);
            }
            prop_assert_eq!(s.live(), live.len());
            for (id, v) in &live {
                prop_assert_eq!(s.get(*id), Some(v));
            }
            for id in &dead {
                prop_assert_eq!(s.get(*id), None);
            }
            prop_assert_eq!(s.iter().count(), live.len());
        }
    }
}
