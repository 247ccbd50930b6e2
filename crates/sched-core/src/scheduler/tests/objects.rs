//! Object lifetimes: destruction rules, stale and mistyped handles.

use super::{park_far, setup, spawn_running};
use crate::{EventId, MutexId, QueueId, SchedError, SemId};

#[test]
fn destroying_an_object_with_waiters_is_refused() {
    let (mut s, _, _) = setup(5, &[]);
    let q = s.create_queue();
    let a = spawn_running(&mut s, 10);
    let _ = s.wait_on(0, q, None).unwrap();
    assert_eq!(s.destroy_queue(q), Err(SchedError::Busy));
    s.wake(a).unwrap();
    s.destroy_queue(q).unwrap();
    assert_eq!(s.destroy_queue(q), Err(SchedError::NoSuchObject));
    assert_eq!(s.object_count(), 0);
}

#[test]
fn an_owned_mutex_cannot_be_destroyed() {
    let (mut s, _, _) = setup(5, &[]);
    let m = s.create_mutex();
    spawn_running(&mut s, 10);
    assert!(s.mutex_try_lock(0, m).unwrap());
    assert_eq!(s.destroy_mutex(m), Err(SchedError::Busy));
    let _ = s.mutex_unlock(0, m).unwrap();
    s.destroy_mutex(m).unwrap();
}

#[test]
fn handles_of_another_kind_or_a_recycled_slot_are_rejected() {
    let (mut s, _, _) = setup(5, &[]);
    let q = s.create_queue();
    let as_mutex = MutexId::from_u64(q.as_u64()).unwrap();
    assert_eq!(s.destroy_mutex(as_mutex), Err(SchedError::NoSuchObject));
    assert_eq!(s.mutex_owner(as_mutex), None);
    s.destroy_queue(q).unwrap();
    let sem = s.create_semaphore(1);
    assert_eq!(sem.as_u64() as u32, q.as_u64() as u32, "the slot is reused");
    assert_ne!(sem.as_u64(), q.as_u64());
    let stale = SemId::from_u64(q.as_u64()).unwrap();
    assert_eq!(s.sem_release(stale), Err(SchedError::NoSuchObject));
    assert_eq!(s.sem_permits(sem), Some(1));
    assert_eq!(QueueId::from_u64(0), None);
    assert_eq!(EventId::from_u64(5), None);
}

#[test]
fn every_kind_is_destroyable_when_idle_and_nothing_leaks() {
    let (mut s, _, _) = setup(5, &[]);
    let q = s.create_queue();
    let m = s.create_mutex();
    let sem = s.create_semaphore(3);
    let e = s.create_event_flags();
    assert_eq!(s.object_count(), 4);
    spawn_running(&mut s, 10);
    let _ = s.mutex_lock(0, m, None).unwrap();
    park_far(&mut s);
    assert_eq!(s.destroy_mutex(m), Err(SchedError::Busy));
    s.destroy_queue(q).unwrap();
    s.destroy_semaphore(sem).unwrap();
    s.destroy_event_flags(e).unwrap();
    assert_eq!(s.object_count(), 1);
    s.check_invariants().unwrap();
}
