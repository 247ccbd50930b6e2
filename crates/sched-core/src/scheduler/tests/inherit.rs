//! Priority inheritance: boosts, chains, their removal, and deadlocks.

use super::{park_far, resume, setup, spawn_running};
use crate::{LockPoll, Next, SchedError, State};

#[test]
fn owner_runs_at_its_best_waiters_priority() {
    let (mut s, _, _) = setup(5, &[]);
    let m = s.create_mutex();
    let lo = spawn_running(&mut s, 10);
    let _ = s.mutex_lock(0, m, None).unwrap();
    park_far(&mut s);
    let hi = spawn_running(&mut s, 50);
    let _ = s.mutex_lock(0, m, None).unwrap();
    assert_eq!(s.priority(lo), Some(50));
    assert_eq!(s.base_priority(lo), Some(10));
    // A medium thread cannot starve the boosted owner.
    resume(&mut s, lo);
    let mid = s.spawn(30, 0);
    assert_eq!(s.preempt_check(0), Next::Keep);
    assert_eq!(s.mutex_unlock(0, m), Ok(Next::Switch { from: lo, to: hi }));
    assert_eq!(s.priority(lo), Some(10), "boost removed on unlock");
    assert_eq!(s.state(mid), Some(State::Ready));
    s.check_invariants().unwrap();
}

#[test]
fn boosted_ready_owner_moves_up_the_ready_queue() {
    let (mut s, _, _) = setup(5, &[]);
    let m = s.create_mutex();
    let lo = spawn_running(&mut s, 10);
    let _ = s.mutex_lock(0, m, None).unwrap();
    let mid = spawn_running(&mut s, 30);
    let hi = s.spawn(50, 0);
    let _ = s.preempt_check(0);
    assert_eq!(s.current(0), hi);
    // hi blocks on m: lo (ready, boosted to 50) must run before mid.
    assert_eq!(
        s.mutex_lock(0, m, None),
        Ok(LockPoll::Blocked(Next::Switch { from: hi, to: lo }))
    );
    assert_eq!(s.state(mid), Some(State::Ready));
    s.check_invariants().unwrap();
}

/// t1 <- t2 <- t3 <- t4 ("<-" = waits for a mutex owned by).
fn chain(s: &mut crate::Scheduler<u32>, deadline: Option<u64>) -> [crate::ThreadId; 4] {
    let m1 = s.create_mutex();
    let m2 = s.create_mutex();
    let m3 = s.create_mutex();
    let t1 = spawn_running(s, 10);
    let _ = s.mutex_lock(0, m1, None).unwrap();
    park_far(s);
    let t2 = spawn_running(s, 20);
    let _ = s.mutex_lock(0, m2, None).unwrap();
    let _ = s.mutex_lock(0, m1, None).unwrap();
    let t3 = spawn_running(s, 30);
    let _ = s.mutex_lock(0, m3, None).unwrap();
    let _ = s.mutex_lock(0, m2, None).unwrap();
    let t4 = spawn_running(s, 40);
    let _ = s.mutex_lock(0, m3, deadline).unwrap();
    s.check_invariants().unwrap();
    [t1, t2, t3, t4]
}

#[test]
fn inheritance_is_transitive_through_a_chain() {
    let (mut s, _, _) = setup(5, &[]);
    let [t1, t2, t3, _] = chain(&mut s, None);
    for t in [t1, t2, t3] {
        assert_eq!(s.priority(t), Some(40));
    }
}

#[test]
fn waiter_timeout_lowers_the_whole_chain() {
    let (mut s, idle, _) = setup(5, &[]);
    let [t1, t2, t3, t4] = chain(&mut s, Some(9));
    assert_eq!(s.tick(0, 9), Next::Switch { from: idle, to: t4 });
    assert_eq!(s.priority(t3), Some(30));
    assert_eq!(s.priority(t2), Some(30));
    assert_eq!(s.priority(t1), Some(30));
    s.check_invariants().unwrap();
}

#[test]
fn raising_a_waiter_raises_the_chain_and_lowering_it_restores() {
    let (mut s, _, _) = setup(5, &[]);
    let [t1, t2, t3, t4] = chain(&mut s, None);
    s.set_priority(t4, 60).unwrap();
    for t in [t1, t2, t3] {
        assert_eq!(s.priority(t), Some(60));
    }
    s.set_priority(t4, 5).unwrap();
    assert_eq!(s.priority(t3), Some(30));
    assert_eq!(s.priority(t1), Some(30));
    s.check_invariants().unwrap();
}

#[test]
fn set_priority_of_a_boosted_owner_keeps_the_boost() {
    let (mut s, _, _) = setup(5, &[]);
    let [t1, _, _, _] = chain(&mut s, None);
    s.set_priority(t1, 1).unwrap();
    assert_eq!(s.priority(t1), Some(40));
    assert_eq!(s.base_priority(t1), Some(1));
    s.set_priority(t1, 99).unwrap();
    assert_eq!(s.priority(t1), Some(99));
    s.check_invariants().unwrap();
}

#[test]
fn unlocking_one_of_several_mutexes_keeps_the_other_boost() {
    let (mut s, _, _) = setup(5, &[]);
    let m1 = s.create_mutex();
    let m2 = s.create_mutex();
    let owner = spawn_running(&mut s, 5);
    let _ = s.mutex_lock(0, m1, None).unwrap();
    let _ = s.mutex_lock(0, m2, None).unwrap();
    park_far(&mut s);
    spawn_running(&mut s, 30);
    let _ = s.mutex_lock(0, m1, None).unwrap();
    spawn_running(&mut s, 20);
    let _ = s.mutex_lock(0, m2, None).unwrap();
    assert_eq!(s.priority(owner), Some(30));
    resume(&mut s, owner);
    let _ = s.mutex_unlock(0, m1).unwrap();
    assert_eq!(s.priority(owner), Some(20));
    s.check_invariants().unwrap();
}

#[test]
fn a_lock_that_would_close_a_cycle_is_a_deadlock() {
    let (mut s, _, _) = setup(5, &[]);
    let m1 = s.create_mutex();
    let m2 = s.create_mutex();
    let m3 = s.create_mutex();
    let a = spawn_running(&mut s, 10);
    let _ = s.mutex_lock(0, m1, None).unwrap();
    park_far(&mut s);
    let _b = spawn_running(&mut s, 20);
    let _ = s.mutex_lock(0, m2, None).unwrap();
    let _ = s.mutex_lock(0, m1, None).unwrap(); // b waits for a
    let _c = spawn_running(&mut s, 30);
    let _ = s.mutex_lock(0, m3, None).unwrap();
    let _ = s.mutex_lock(0, m2, None).unwrap(); // c waits for b
    resume(&mut s, a);
    assert_eq!(s.mutex_lock(0, m3, None), Err(SchedError::Deadlock));
    assert_eq!(s.current(0), a, "refused without blocking");
    assert_eq!(s.mutex_lock(0, m2, None), Err(SchedError::Deadlock));
    s.check_invariants().unwrap();
}
