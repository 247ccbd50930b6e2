//! Park tokens.

use super::{setup, spawn_running};
use crate::{ExitStatus, Next, SchedError, State, WaitResult, WaitingOn};

#[test]
fn token_before_park_is_consumed_without_blocking() {
    let (mut s, _, _) = setup(5, &[]);
    let a = spawn_running(&mut s, 10);
    s.unpark(a).unwrap();
    s.unpark(a).unwrap();
    assert!(s.has_park_token(a));
    assert_eq!(s.park(0, None), Next::Keep);
    assert!(!s.has_park_token(a), "tokens do not count");
    assert!(s.park(0, None).is_switch());
    assert_eq!(s.waiting_on(a), Some(WaitingOn::Park));
}

#[test]
fn unpark_wakes_a_parked_thread() {
    let (mut s, idle, _) = setup(5, &[]);
    let a = spawn_running(&mut s, 10);
    assert_eq!(s.park(0, None), Next::Switch { from: a, to: idle });
    assert_eq!(s.state(a), Some(State::Blocked));
    s.unpark(a).unwrap();
    assert!(!s.has_park_token(a));
    assert_eq!(s.preempt_check(0), Next::Switch { from: idle, to: a });
    assert_eq!(s.take_wait_result(0), WaitResult::Woken);
    s.check_invariants().unwrap();
}

#[test]
fn park_times_out() {
    let (mut s, idle, _) = setup(5, &[]);
    let a = spawn_running(&mut s, 10);
    let _ = s.park(0, Some(2));
    assert_eq!(s.tick(0, 2), Next::Switch { from: idle, to: a });
    assert_eq!(s.take_wait_result(0), WaitResult::TimedOut);
}

#[test]
fn unpark_of_a_thread_blocked_elsewhere_only_sets_the_token() {
    let (mut s, _, _) = setup(5, &[]);
    let q = s.create_queue();
    let a = spawn_running(&mut s, 10);
    let _ = s.wait_on(0, q, None).unwrap();
    s.unpark(a).unwrap();
    assert_eq!(s.state(a), Some(State::Blocked));
    assert!(s.has_park_token(a));
    s.check_invariants().unwrap();
}

#[test]
fn unpark_errors() {
    let (mut s, idle, _) = setup(5, &[]);
    assert_eq!(s.unpark(idle), Err(SchedError::IdleThread));
    let a = spawn_running(&mut s, 10);
    let _ = s.exit_current(0, ExitStatus::Finished);
    assert_eq!(s.unpark(a), Ok(()), "a zombie ignores it");
    assert!(!s.has_park_token(a));
    s.reap(a).unwrap();
    assert_eq!(s.unpark(a), Err(SchedError::NoSuchThread));
}
