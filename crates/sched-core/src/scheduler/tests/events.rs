//! Event flags: modes, clear-on-exit, wake order, timeouts.

use super::{setup, spawn_running};
use crate::{EventMode, EventPoll, Next, SchedError, State, WaitResult, WaitingOn};

#[test]
fn satisfied_wait_returns_at_once_and_may_clear() {
    let (mut s, _, _) = setup(5, &[]);
    let e = s.create_event_flags();
    spawn_running(&mut s, 10);
    s.event_set(e, 0b1011).unwrap();
    assert_eq!(
        s.event_wait(0, e, 0b11, EventMode::All, false, None),
        Ok(EventPoll::Satisfied(0b1011))
    );
    assert_eq!(
        s.event_wait(0, e, 0b110, EventMode::Any, true, None),
        Ok(EventPoll::Satisfied(0b1011))
    );
    assert_eq!(s.event_bits(e), Some(0b1001));
    assert_eq!(
        s.event_wait(0, e, 0, EventMode::Any, false, None),
        Err(SchedError::InvalidArgument)
    );
}

#[test]
fn all_mode_waits_for_every_bit() {
    let (mut s, _, _) = setup(5, &[]);
    let e = s.create_event_flags();
    let a = spawn_running(&mut s, 10);
    let r = s
        .event_wait(0, e, 0b11, EventMode::All, false, None)
        .unwrap();
    assert!(matches!(r, EventPoll::Blocked(_)));
    assert_eq!(s.waiting_on(a), Some(WaitingOn::Event(e)));
    assert_eq!(s.event_set(e, 0b01), Ok(0));
    assert_eq!(s.state(a), Some(State::Blocked));
    assert_eq!(s.event_set(e, 0b10), Ok(1));
    let _ = s.preempt_check(0);
    assert_eq!(s.take_wait_result(0), WaitResult::Events(0b11));
    s.check_invariants().unwrap();
}

#[test]
fn set_wakes_every_satisfied_waiter_best_first_and_clearing_consumes() {
    let (mut s, _, _) = setup(5, &[]);
    let e = s.create_event_flags();
    // lo and mid both consume bit 0; hi wants bit 1 without consuming; any
    // wants bit 0 or 2 without consuming.
    let lo = spawn_running(&mut s, 10);
    let _ = s
        .event_wait(0, e, 0b001, EventMode::Any, true, None)
        .unwrap();
    let mid = spawn_running(&mut s, 20);
    let _ = s
        .event_wait(0, e, 0b001, EventMode::Any, true, None)
        .unwrap();
    let hi = spawn_running(&mut s, 30);
    let _ = s
        .event_wait(0, e, 0b010, EventMode::All, false, None)
        .unwrap();
    let any = spawn_running(&mut s, 5);
    let _ = s
        .event_wait(0, e, 0b101, EventMode::Any, false, None)
        .unwrap();
    assert_eq!(
        s.event_set(e, 0b011),
        Ok(2),
        "hi and mid; mid consumed bit 0"
    );
    assert_eq!(s.state(hi), Some(State::Ready));
    assert_eq!(s.state(mid), Some(State::Ready));
    assert_eq!(s.state(lo), Some(State::Blocked));
    assert_eq!(s.state(any), Some(State::Blocked));
    assert_eq!(s.event_bits(e), Some(0b010));
    s.check_invariants().unwrap();
    let _ = s.preempt_check(0);
    assert_eq!(s.current(0), hi);
    assert_eq!(s.take_wait_result(0), WaitResult::Events(0b011));
    assert_eq!(s.event_set(e, 0b100), Ok(1), "only `any` matches bit 2");
    assert_eq!(s.state(any), Some(State::Ready));
    s.event_clear(e, 0b110).unwrap();
    assert_eq!(s.event_bits(e), Some(0));
    s.check_invariants().unwrap();
}

#[test]
fn event_wait_times_out() {
    let (mut s, idle, _) = setup(5, &[]);
    let e = s.create_event_flags();
    let a = spawn_running(&mut s, 10);
    let _ = s
        .event_wait(0, e, 1, EventMode::All, true, Some(4))
        .unwrap();
    assert_eq!(s.tick(0, 4), Next::Switch { from: idle, to: a });
    assert_eq!(s.take_wait_result(0), WaitResult::TimedOut);
    assert_eq!(s.waiter_count(e), Some(0));
    assert_eq!(s.event_set(e, 1), Ok(0));
    assert_eq!(s.event_bits(e), Some(1), "nobody consumed it");
}
