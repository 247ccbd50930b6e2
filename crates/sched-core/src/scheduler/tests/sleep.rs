//! Sleeping, blocking and waking.

use super::setup;
use crate::{Next, SchedError, State, Ticks};

#[test]
fn sleeper_is_not_woken_early_and_is_woken_on_first_tick_at_deadline() {
    let (mut s, idle, ids) = setup(5, &[10]);
    let a = ids[0];
    assert_eq!(s.sleep_until(0, 100), Next::Switch { from: a, to: idle });
    assert_eq!(s.state(a), Some(State::Sleeping));
    assert_eq!(s.next_deadline(), Some(100));
    for now in [1, 50, 99] {
        assert_eq!(s.tick(0, now), Next::Keep);
        assert_eq!(s.state(a), Some(State::Sleeping));
    }
    assert_eq!(s.tick(0, 100), Next::Switch { from: idle, to: a });
    assert_eq!(s.next_deadline(), None);
}

#[test]
fn sleeper_is_woken_by_a_late_tick() {
    let (mut s, idle, ids) = setup(5, &[10]);
    let _ = s.sleep_until(0, 100);
    assert_eq!(
        s.tick(0, 250),
        Next::Switch {
            from: idle,
            to: ids[0]
        }
    );
}

#[test]
fn past_deadline_still_sleeps_until_next_tick() {
    let (mut s, idle, ids) = setup(5, &[10]);
    let _ = s.tick(0, 500);
    assert_eq!(
        s.sleep_until(0, 400),
        Next::Switch {
            from: ids[0],
            to: idle
        }
    );
    assert_eq!(
        s.state(ids[0]),
        Some(State::Sleeping),
        "not lost, not woken early"
    );
    assert_eq!(s.next_deadline(), Some(400));
    assert_eq!(
        s.tick(0, 501),
        Next::Switch {
            from: idle,
            to: ids[0]
        }
    );
}

#[test]
fn sleepers_wake_in_deadline_order_then_sleep_order() {
    let (mut s, _, ids) = setup(50, &[10, 10, 10, 10]);
    let _ = s.sleep_until(0, 30); // ids[0]
    let _ = s.sleep_until(0, 20); // ids[1]
    let _ = s.sleep_until(0, 20); // ids[2]
    assert_eq!(s.current(0), ids[3]);
    let _ = s.block_current(0);
    assert_eq!(
        s.tick(0, 30),
        Next::Switch {
            from: s.idle_thread(0).unwrap(),
            to: ids[1]
        }
    );
    assert_eq!(
        s.block_current(0),
        Next::Switch {
            from: ids[1],
            to: ids[2]
        }
    );
    assert_eq!(
        s.block_current(0),
        Next::Switch {
            from: ids[2],
            to: ids[0]
        }
    );
}

#[test]
fn woken_sleeper_of_higher_priority_preempts_on_that_tick() {
    let (mut s, _, ids) = setup(50, &[200, 10]);
    assert_eq!(
        s.sleep_until(0, 7),
        Next::Switch {
            from: ids[0],
            to: ids[1]
        }
    );
    assert_eq!(s.tick(0, 6), Next::Keep);
    assert_eq!(
        s.tick(0, 7),
        Next::Switch {
            from: ids[1],
            to: ids[0]
        }
    );
}

#[test]
fn explicit_wake_cancels_the_timer() {
    let (mut s, idle, ids) = setup(5, &[10, 10]);
    let (a, b) = (ids[0], ids[1]);
    let _ = s.sleep_until(0, 10);
    assert_eq!(s.wake(a), Ok(()));
    assert_eq!(s.next_deadline(), None);
    assert_eq!(s.sleeping_count(), 0);
    // `a` now runs and blocks; the old deadline must not wake it.
    assert_eq!(s.block_current(0), Next::Switch { from: b, to: a });
    assert_eq!(s.block_current(0), Next::Switch { from: a, to: idle });
    assert_eq!(s.tick(0, 10), Next::Keep);
    assert_eq!(s.state(a), Some(State::Blocked));
    s.check_invariants().unwrap();
}

#[test]
fn blocked_thread_waits_for_wake() {
    let (mut s, idle, ids) = setup(5, &[10]);
    assert_eq!(
        s.block_current(0),
        Next::Switch {
            from: ids[0],
            to: idle
        }
    );
    for now in 1..20 {
        assert_eq!(s.tick(0, now), Next::Keep);
    }
    s.wake(ids[0]).unwrap();
    assert_eq!(s.state(ids[0]), Some(State::Ready));
    assert_eq!(
        s.preempt_check(0),
        Next::Switch {
            from: idle,
            to: ids[0]
        }
    );
}

#[test]
fn wake_goes_to_tail_and_needs_preempt_check() {
    let (mut s, _, ids) = setup(5, &[10, 10, 50]);
    // ids[2] runs; ids[0] and ids[1] ready.
    let _ = s.block_current(0); // ids[2] blocked, ids[0] runs
    s.wake(ids[2]).unwrap();
    assert_eq!(s.current(0), ids[0], "wake alone never switches");
    assert_eq!(
        s.preempt_check(0),
        Next::Switch {
            from: ids[0],
            to: ids[2]
        }
    );
}

#[test]
fn wake_errors() {
    let (mut s, idle, ids) = setup(5, &[10, 10]);
    assert_eq!(s.wake(ids[0]), Err(SchedError::NotBlocked), "running");
    assert_eq!(s.wake(ids[1]), Err(SchedError::NotBlocked), "ready");
    assert_eq!(s.wake(idle), Err(SchedError::IdleThread));
    let _ = s.exit_current(0, crate::ExitStatus::Finished);
    assert_eq!(s.wake(ids[0]), Err(SchedError::NotBlocked), "zombie");
    s.reap(ids[0]).unwrap();
    assert_eq!(s.wake(ids[0]), Err(SchedError::NoSuchThread));
}

#[test]
fn next_deadline_tracks_the_minimum() {
    let (mut s, _, ids) = setup(5, &[10, 10, 10]);
    assert_eq!(s.next_deadline(), None);
    let _ = s.sleep_until(0, 40);
    let _ = s.sleep_until(0, 30);
    assert_eq!(s.next_deadline(), Some(30));
    s.wake(ids[1]).unwrap();
    assert_eq!(s.next_deadline(), Some(40));
    let _ = s.tick(0, 40);
    assert_eq!(s.next_deadline(), None);
    s.check_invariants().unwrap();
}

#[test]
fn time_going_backwards_wakes_nobody() {
    // A slice longer than the test: no rotation at 100.
    let (mut s, _, ids) = setup(1000, &[10, 10]);
    let _ = s.tick(0, 100);
    let _ = s.sleep_until(0, 150);
    let _ = s.tick(0, 20);
    assert_eq!(s.state(ids[0]), Some(State::Sleeping));
    assert_eq!(s.now(), 100);
}

#[test]
#[should_panic(expected = "idle thread")]
fn idle_cannot_sleep() {
    let (mut s, _, _) = setup(1, &[]);
    let _ = s.sleep_until(0, 5);
}

#[test]
fn alarm_is_the_slice_end_with_a_peer_else_the_watched_deadline() {
    let (mut s, idle, ids) = setup(5, &[10, 10]);
    let (a, b) = (ids[0], ids[1]);
    // a runs, b (equal) is ready: the slice's end matters.
    assert_eq!(s.alarm(0), 5);
    assert_eq!(s.sleep_until(0, 100), Next::Switch { from: a, to: b });
    // b runs alone, untimed; a sleeps until 100, which cpu 0 watches.
    assert_eq!(s.slice_end(0), Ticks::MAX);
    assert_eq!(s.deadline_watcher(), 0);
    assert_eq!(s.alarm(0), 100);
    assert_eq!(s.sleep_until(0, 300), Next::Switch { from: b, to: idle });
    // The idle thread with nothing ready: the first deadline.
    assert_eq!(s.alarm(0), 100);
    assert_eq!(s.tick(0, 100), Next::Switch { from: idle, to: a });
    assert_eq!(s.alarm(0), 300);
    // b wakes for a running untimed: a's slice starts now.
    assert_eq!(s.tick(0, 300), Next::Keep);
    assert_eq!(s.alarm(0), 305);
    // Their turns: b's slice ends with a ready, a's with nobody left ready.
    assert_eq!(s.tick(0, 305), Next::Switch { from: a, to: b });
    assert_eq!(s.block_current(0), Next::Switch { from: b, to: a });
    assert_eq!(s.alarm(0), Ticks::MAX, "nothing due: the timer stays off");
}

#[test]
fn lower_ready_threads_need_no_timer() {
    let (mut s, idle, ids) = setup(5, &[10, 20]);
    let (low, high) = (ids[0], ids[1]);
    // high runs, low is ready but lower: no timer (no deadline).
    assert_eq!(s.slice_end(0), Ticks::MAX);
    assert_eq!(s.alarm(0), Ticks::MAX);
    assert_eq!(
        s.sleep_until(0, 50),
        Next::Switch {
            from: high,
            to: low
        }
    );
    assert_eq!(s.alarm(0), 50);
    assert_eq!(
        s.sleep_until(0, 60),
        Next::Switch {
            from: low,
            to: idle
        }
    );
    assert_eq!(s.alarm(0), 50);
    let _ = s.tick(0, 50);
    assert_eq!(s.current(0), high);
    assert_eq!(s.alarm(0), 60);
}
