//! Event flags: modes, clear-on-exit (after the whole walk), wake order, timeouts, and the
//! set-then-wait rendezvous `event_sync`.

use super::{setup, spawn_running};
use crate::{EventId, EventMode, EventPoll, Next, SchedError, State, WaitResult, WaitingOn};

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
fn set_releases_every_satisfied_waiter_then_clears_their_union() {
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
    assert_eq!(s.event_set(e, 0b011), Ok(4), "all four see 0b011");
    for t in [lo, mid, hi, any] {
        assert_eq!(s.state(t), Some(State::Ready));
    }
    assert_eq!(s.event_bits(e), Some(0b010), "bit 0 cleared after the walk");
    s.check_invariants().unwrap();
    let _ = s.preempt_check(0);
    assert_eq!(s.current(0), hi);
    assert_eq!(s.take_wait_result(0), WaitResult::Events(0b011));
    s.event_clear(e, 0b110).unwrap();
    assert_eq!(s.event_bits(e), Some(0));
    s.check_invariants().unwrap();
}

#[test]
fn three_clearing_waiters_for_different_bits_are_all_released_by_one_set() {
    let (mut s, _, _) = setup(5, &[]);
    let e = s.create_event_flags();
    let mut waiters = std::vec::Vec::new();
    for (prio, mask, mode) in [
        (10, 0b001, EventMode::All),
        (20, 0b010, EventMode::Any),
        (30, 0b110, EventMode::All),
    ] {
        waiters.push(spawn_running(&mut s, prio));
        let r = s.event_wait(0, e, mask, mode, true, None).unwrap();
        assert!(matches!(r, EventPoll::Blocked(_)));
    }
    s.event_set(e, 0b1000).unwrap();
    assert_eq!(s.event_set(e, 0b0111), Ok(3));
    assert_eq!(
        s.event_bits(e),
        Some(0b1000),
        "every asked-for bit cleared, the rest kept"
    );
    assert_eq!(s.waiter_count(e), Some(0));
    s.check_invariants().unwrap();
    for &t in waiters.iter().rev() {
        let _ = s.preempt_check(0);
        assert_eq!(s.current(0), t, "best first");
        assert_eq!(
            s.take_wait_result(0),
            WaitResult::Events(0b1111),
            "same value"
        );
        let _ = s.sleep_until(0, 1_000_000);
    }
}

#[test]
fn only_the_released_waiters_masks_are_cleared() {
    let (mut s, _, _) = setup(5, &[]);
    let e = s.create_event_flags();
    // Released, clearing bits 0-1; released, not clearing bit 2; not released (wants bit 4
    // too), would clear bits 3-4.
    let a = spawn_running(&mut s, 10);
    let _ = s
        .event_wait(0, e, 0b00011, EventMode::Any, true, None)
        .unwrap();
    let b = spawn_running(&mut s, 20);
    let _ = s
        .event_wait(0, e, 0b00100, EventMode::All, false, None)
        .unwrap();
    let c = spawn_running(&mut s, 30);
    let _ = s
        .event_wait(0, e, 0b11000, EventMode::All, true, None)
        .unwrap();
    assert_eq!(s.event_set(e, 0b01111), Ok(2));
    assert_eq!(s.event_bits(e), Some(0b01100));
    assert_eq!(s.state(a), Some(State::Ready));
    assert_eq!(s.state(b), Some(State::Ready));
    assert_eq!(s.state(c), Some(State::Blocked));
    s.check_invariants().unwrap();
    assert_eq!(s.event_set(e, 0b10000), Ok(1));
    assert_eq!(s.event_bits(e), Some(0b00100), "c cleared 3-4 only");
    let _ = s.preempt_check(0);
    assert_eq!(s.current(0), c);
    assert_eq!(s.take_wait_result(0), WaitResult::Events(0b11100));
}

#[test]
fn a_waiter_left_unsatisfied_stays_blocked() {
    let (mut s, _, _) = setup(5, &[]);
    let e = s.create_event_flags();
    let all = spawn_running(&mut s, 30);
    let _ = s
        .event_wait(0, e, 0b011, EventMode::All, true, None)
        .unwrap();
    let any = spawn_running(&mut s, 20);
    let _ = s
        .event_wait(0, e, 0b001, EventMode::Any, true, None)
        .unwrap();
    assert_eq!(s.event_set(e, 0b001), Ok(1));
    assert_eq!(s.state(any), Some(State::Ready));
    assert_eq!(s.state(all), Some(State::Blocked));
    assert_eq!(s.event_bits(e), Some(0));
    assert_eq!(s.event_set(e, 0b010), Ok(0), "bit 0 was consumed");
    assert_eq!(s.state(all), Some(State::Blocked));
    assert_eq!(s.waiting_on(all), Some(WaitingOn::Event(e)));
    assert_eq!(s.event_bits(e), Some(0b010));
    s.check_invariants().unwrap();
}

/// What one party's arrival at the rendezvous returned: `Some(bits)` if it got through.
fn arrive(s: &mut crate::Scheduler<u32>, e: EventId, bit: u32, all: u32) -> Option<u32> {
    match s.event_sync(0, e, bit, all, None).unwrap() {
        EventPoll::Satisfied(bits) => {
            let _ = s.preempt_check(0);
            Some(bits)
        }
        EventPoll::Blocked(_) => None,
    }
}

#[test]
fn sync_rendezvous_of_three_threads_completes_every_round() {
    const ROUNDS: usize = 20;
    let (mut s, idle, _) = setup(5, &[]);
    let e = s.create_event_flags();
    let mut parties = std::vec::Vec::new();
    let mut done = [0usize; 3];
    let mut blocked = [false; 3];
    for (i, (bit, prio)) in [(1, 10), (2, 20), (4, 30)].into_iter().enumerate() {
        let t = spawn_running(&mut s, prio);
        parties.push((t, bit));
        match arrive(&mut s, e, bit, 0b111) {
            Some(bits) => {
                assert_eq!((i, bits), (2, 0b111), "only the last gets through at once");
                done[i] += 1;
            }
            None => blocked[i] = true,
        }
    }
    assert_eq!(s.event_bits(e), Some(0), "the round cleared its bits");
    let mut steps = 0;
    while done.iter().any(|&d| d < ROUNDS) {
        steps += 1;
        assert!(steps < 10 * ROUNDS, "rendezvous stuck: {done:?}");
        let cur = s.current(0);
        assert_ne!(cur, idle, "every party waits: rendezvous stuck at {done:?}");
        let i = parties.iter().position(|&(t, _)| t == cur).unwrap();
        if blocked[i] {
            assert_eq!(s.take_wait_result(0), WaitResult::Events(0b111));
            blocked[i] = false;
            done[i] += 1;
        }
        let spread = done.iter().max().unwrap() - done.iter().min().unwrap();
        assert!(spread <= 1, "parties out of step: {done:?}");
        match arrive(&mut s, e, parties[i].1, 0b111) {
            Some(bits) => {
                assert_eq!(bits, 0b111);
                done[i] += 1;
            }
            None => blocked[i] = true,
        }
        s.check_invariants().unwrap();
    }
}

#[test]
fn sync_sets_releases_and_judges_the_value_before_their_clears() {
    let (mut s, _, _) = setup(5, &[]);
    let e = s.create_event_flags();
    let w = spawn_running(&mut s, 10);
    let _ = s
        .event_wait(0, e, 0b011, EventMode::All, true, None)
        .unwrap();
    spawn_running(&mut s, 20);
    s.event_set(e, 0b001).unwrap();
    // Sets bit 1, which releases w (clearing 0-1); sync still sees 0b011 and clears its
    // own wait_for (bits 0 and 1) too: nothing left.
    assert_eq!(
        s.event_sync(0, e, 0b010, 0b010, None),
        Ok(EventPoll::Satisfied(0b011))
    );
    assert_eq!(s.state(w), Some(State::Ready));
    assert_eq!(s.event_bits(e), Some(0));
    // Empty wait_for: a set that returns at once, clearing nothing of its own.
    assert_eq!(
        s.event_sync(0, e, 0b100, 0, None),
        Ok(EventPoll::Satisfied(0b100))
    );
    assert_eq!(s.event_bits(e), Some(0b100));
    s.check_invariants().unwrap();
}

#[test]
fn sync_times_out_leaving_its_bits_set() {
    let (mut s, idle, _) = setup(5, &[]);
    let e = s.create_event_flags();
    let a = spawn_running(&mut s, 10);
    let r = s.event_sync(0, e, 0b01, 0b11, Some(4)).unwrap();
    assert!(matches!(r, EventPoll::Blocked(_)));
    assert_eq!(s.event_bits(e), Some(0b01));
    assert_eq!(s.waiting_on(a), Some(WaitingOn::Event(e)));
    assert_eq!(s.tick(0, 4), Next::Switch { from: idle, to: a });
    assert_eq!(s.take_wait_result(0), WaitResult::TimedOut);
    assert_eq!(
        s.event_bits(e),
        Some(0b01),
        "a timed-out sync clears nothing"
    );
    assert_eq!(s.waiter_count(e), Some(0));
    s.check_invariants().unwrap();
}

#[test]
fn sync_errors_change_nothing() {
    let (mut s, _, _) = setup(5, &[]);
    let e = s.create_event_flags();
    assert_eq!(
        s.event_sync(0, e, 0b01, 0b10, None),
        Err(SchedError::IdleThread),
        "idle would have to wait"
    );
    assert_eq!(s.event_bits(e), Some(0), "nothing set on an error");
    assert_eq!(
        s.event_sync(0, e, 0b01, 0b01, None),
        Ok(EventPoll::Satisfied(0b01)),
        "idle may sync when it need not wait"
    );
    assert_eq!(s.event_bits(e), Some(0));
    s.destroy_event_flags(e).unwrap();
    assert_eq!(
        s.event_sync(0, e, 1, 1, None),
        Err(SchedError::NoSuchObject)
    );
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
