//! Plain wait queues: order, timeouts, generic wake and re-sorting.

use super::{setup, spawn_running};
use crate::{Next, SchedError, State, WaitResult, WaitingOn};
use std::vec::Vec;

#[test]
fn waiters_wake_by_priority_then_arrival() {
    let (mut s, _, _) = setup(5, &[]);
    let q = s.create_queue();
    let mut ids = Vec::new();
    for p in [10, 20, 10, 20, 5] {
        let id = spawn_running(&mut s, p);
        assert!(s.wait_on(0, q, None).unwrap().is_switch());
        assert_eq!(s.state(id), Some(State::Blocked));
        assert_eq!(s.waiting_on(id), Some(WaitingOn::Queue(q)));
        ids.push(id);
    }
    let expected = [ids[1], ids[3], ids[0], ids[2], ids[4]];
    assert_eq!(s.waiters(q).collect::<Vec<_>>(), expected);
    assert_eq!(s.waiter_count(q), Some(5));
    assert_eq!(s.peek_waiter(q), Some(ids[1]));
    s.check_invariants().unwrap();
    for &id in &expected {
        assert_eq!(s.wake_one(q), Ok(Some(id)));
        assert_eq!(s.state(id), Some(State::Ready));
        assert_eq!(s.waiting_on(id), None);
        s.check_invariants().unwrap();
    }
    assert_eq!(s.wake_one(q), Ok(None));
}

#[test]
fn woken_higher_priority_preempts_and_reads_woken() {
    let (mut s, _, _) = setup(5, &[]);
    let q = s.create_queue();
    let hi = spawn_running(&mut s, 50);
    let _ = s.wait_on(0, q, None).unwrap();
    let lo = spawn_running(&mut s, 10);
    assert_eq!(s.wake_one(q), Ok(Some(hi)));
    assert_eq!(s.preempt_check(0), Next::Switch { from: lo, to: hi });
    assert_eq!(s.take_wait_result(0), WaitResult::Woken);
    assert_eq!(s.take_wait_result(0), WaitResult::Nothing, "read once");
}

#[test]
fn wake_all_counts_and_empties() {
    let (mut s, _, _) = setup(5, &[]);
    let q = s.create_queue();
    for p in [3, 4, 5] {
        spawn_running(&mut s, p);
        let _ = s.wait_on(0, q, None).unwrap();
    }
    assert_eq!(s.wake_all(q), Ok(3));
    assert_eq!(s.waiter_count(q), Some(0));
    assert_eq!(s.ready_count(), 3);
    assert_eq!(s.wake_all(q), Ok(0));
    s.check_invariants().unwrap();
}

#[test]
fn timeout_leaves_the_queue_cleanly() {
    let (mut s, idle, _) = setup(5, &[]);
    let q = s.create_queue();
    let a = spawn_running(&mut s, 10);
    let _ = s.wait_on(0, q, Some(20)).unwrap();
    let b = spawn_running(&mut s, 10);
    let _ = s.wait_on(0, q, None).unwrap();
    assert_eq!(s.sleeping_count(), 1, "one timer, for the timed waiter");
    assert_eq!(s.next_deadline(), Some(20));
    assert_eq!(s.tick(0, 19), Next::Keep);
    assert_eq!(s.state(a), Some(State::Blocked));
    assert_eq!(s.tick(0, 20), Next::Switch { from: idle, to: a });
    assert_eq!(s.take_wait_result(0), WaitResult::TimedOut);
    assert_eq!(s.waiters(q).collect::<Vec<_>>(), [b]);
    assert_eq!(s.next_deadline(), None);
    s.check_invariants().unwrap();
    assert_eq!(s.wake_one(q), Ok(Some(b)), "the untimed waiter is intact");
}

#[test]
fn wake_before_deadline_cancels_the_timer() {
    let (mut s, _, _) = setup(5, &[]);
    let q = s.create_queue();
    let a = spawn_running(&mut s, 10);
    let _ = s.wait_on(0, q, Some(5)).unwrap();
    assert_eq!(s.wake_one(q), Ok(Some(a)));
    assert_eq!(s.next_deadline(), None);
    let _ = s.preempt_check(0);
    let _ = s.tick(0, 100);
    assert_eq!(s.take_wait_result(0), WaitResult::Woken, "not overwritten");
}

#[test]
fn generic_wake_unlinks_a_queued_thread() {
    let (mut s, _, _) = setup(5, &[]);
    let q = s.create_queue();
    let a = spawn_running(&mut s, 10);
    let _ = s.wait_on(0, q, Some(50)).unwrap();
    let b = spawn_running(&mut s, 10);
    let _ = s.wait_on(0, q, None).unwrap();
    s.wake(a).unwrap();
    assert_eq!(s.waiters(q).collect::<Vec<_>>(), [b]);
    assert_eq!(s.sleeping_count(), 0);
    s.check_invariants().unwrap();
    assert_eq!(s.wake(a), Err(SchedError::NotBlocked));
}

#[test]
fn priority_change_repositions_a_waiter() {
    let (mut s, _, _) = setup(5, &[]);
    let q = s.create_queue();
    let a = spawn_running(&mut s, 10);
    let _ = s.wait_on(0, q, None).unwrap();
    let b = spawn_running(&mut s, 10);
    let _ = s.wait_on(0, q, None).unwrap();
    s.set_priority(b, 30).unwrap();
    assert_eq!(s.waiters(q).collect::<Vec<_>>(), [b, a]);
    s.set_priority(b, 10).unwrap();
    assert_eq!(
        s.waiters(q).collect::<Vec<_>>(),
        [a, b],
        "moved back behind its new peers"
    );
    s.check_invariants().unwrap();
}

#[test]
fn idle_cannot_wait_and_stale_queue_is_rejected() {
    let (mut s, _, _) = setup(5, &[]);
    let q = s.create_queue();
    assert_eq!(s.wait_on(0, q, None), Err(SchedError::IdleThread));
    s.destroy_queue(q).unwrap();
    spawn_running(&mut s, 1);
    assert_eq!(s.wait_on(0, q, None), Err(SchedError::NoSuchObject));
    assert_eq!(s.wake_one(q), Err(SchedError::NoSuchObject));
    assert_eq!(s.wake_all(q), Err(SchedError::NoSuchObject));
    assert_eq!(s.waiter_count(q), None);
}

/// A wake-up that outranks every ready thread is kept out of the queue (the hand-off slot);
/// whatever happens to the ready set afterwards must leave the order exactly as if it had
/// been queued at once: a later wake at its level runs after it, a queued thread raised
/// above it runs before it, and it is not lost when its own priority changes.
#[test]
fn a_wake_that_outranks_the_queue_keeps_its_place() {
    let (mut s, _, _) = setup(5, &[]);
    let q = s.create_queue();
    let a = spawn_running(&mut s, 30);
    let _ = s.wait_on(0, q, None).unwrap();
    let b = spawn_running(&mut s, 30);
    let _ = s.wait_on(0, q, None).unwrap();
    let low = spawn_running(&mut s, 10);
    let _ = s.wait_on(0, q, None).unwrap();
    let runner = spawn_running(&mut s, 40);
    // `a` outranks the queue: hand-off slot. `b` at the same level goes behind it, `low` below.
    assert_eq!(s.wake_one(q), Ok(Some(a)));
    s.check_invariants().unwrap();
    assert_eq!(s.wake_one(q), Ok(Some(b)));
    assert_eq!(s.wake_one(q), Ok(Some(low)));
    s.check_invariants().unwrap();
    assert_eq!(s.ready_count(), 3);
    // Raise `low` above both while `runner` keeps the CPU: it runs first, then a, then b.
    s.set_priority(low, 35).unwrap();
    s.check_invariants().unwrap();
    assert_eq!(s.preempt_check(0), Next::Keep);
    assert_eq!(s.current(0), runner);
    let _ = s.wait_on(0, q, None).unwrap(); // runner blocks
    assert_eq!(s.current(0), low);
    let _ = s.wait_on(0, q, None).unwrap();
    assert_eq!(s.current(0), a);
    let _ = s.wait_on(0, q, None).unwrap();
    assert_eq!(s.current(0), b);
    s.check_invariants().unwrap();
}

/// The hand-off thread's own priority may change while it waits for a CPU.
#[test]
fn the_hand_off_thread_can_change_priority() {
    let (mut s, _, _) = setup(5, &[]);
    let q = s.create_queue();
    let a = spawn_running(&mut s, 30);
    let _ = s.wait_on(0, q, None).unwrap();
    let other = spawn_running(&mut s, 20);
    let _ = s.wait_on(0, q, None).unwrap();
    let runner = spawn_running(&mut s, 40);
    assert_eq!(s.wake_one(q), Ok(Some(a))); // hand-off slot
    assert_eq!(s.wake_one(q), Ok(Some(other))); // queued below it
    s.set_priority(a, 10).unwrap(); // now below `other`
    s.check_invariants().unwrap();
    s.set_priority(runner, 5).unwrap();
    assert_eq!(
        s.preempt_check(0),
        Next::Switch {
            from: runner,
            to: other
        }
    );
    s.check_invariants().unwrap();
    assert_eq!(s.state(a), Some(State::Ready));
    assert_eq!(s.ready_count(), 2);
}
