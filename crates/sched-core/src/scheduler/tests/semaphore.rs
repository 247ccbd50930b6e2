//! Counting semaphores: counting, direct handoff, order, timeouts, overflow.

use super::{setup, spawn_running};
use crate::{AcquirePoll, Next, SchedError, State, WaitResult, WaitingOn};
use std::vec::Vec;

#[test]
fn permits_are_counted() {
    let (mut s, _, _) = setup(5, &[]);
    let sem = s.create_semaphore(2);
    spawn_running(&mut s, 10);
    assert_eq!(s.sem_acquire(0, sem, None), Ok(AcquirePoll::Acquired));
    assert_eq!(s.sem_try_acquire(sem), Ok(true));
    assert_eq!(s.sem_try_acquire(sem), Ok(false));
    assert_eq!(s.sem_permits(sem), Some(0));
    s.sem_release(sem).unwrap();
    assert_eq!(s.sem_permits(sem), Some(1));
}

#[test]
fn release_hands_the_permit_to_the_best_waiter() {
    let (mut s, _, _) = setup(5, &[]);
    let sem = s.create_semaphore(0);
    let mut ids = Vec::new();
    for p in [10, 30, 10] {
        ids.push(spawn_running(&mut s, p));
        assert!(matches!(
            s.sem_acquire(0, sem, None),
            Ok(AcquirePoll::Blocked(_))
        ));
    }
    assert_eq!(s.waiting_on(ids[1]), Some(WaitingOn::Semaphore(sem)));
    assert_eq!(s.waiters(sem).collect::<Vec<_>>(), [ids[1], ids[0], ids[2]]);
    let lo = spawn_running(&mut s, 1);
    s.sem_release(sem).unwrap();
    assert_eq!(s.sem_permits(sem), Some(0), "handed over, never counted");
    assert_eq!(s.state(ids[1]), Some(State::Ready));
    assert_eq!(
        s.preempt_check(0),
        Next::Switch {
            from: lo,
            to: ids[1]
        }
    );
    assert_eq!(s.take_wait_result(0), WaitResult::Acquired);
    s.check_invariants().unwrap();
}

#[test]
fn timed_out_acquirer_leaves_and_release_counts() {
    let (mut s, idle, _) = setup(5, &[]);
    let sem = s.create_semaphore(0);
    let a = spawn_running(&mut s, 10);
    let _ = s.sem_acquire(0, sem, Some(3)).unwrap();
    assert_eq!(s.tick(0, 3), Next::Switch { from: idle, to: a });
    assert_eq!(s.take_wait_result(0), WaitResult::TimedOut);
    assert_eq!(s.waiter_count(sem), Some(0));
    s.sem_release(sem).unwrap();
    assert_eq!(s.sem_permits(sem), Some(1));
    s.check_invariants().unwrap();
}

#[test]
fn overflow_is_refused() {
    let (mut s, _, _) = setup(5, &[]);
    let sem = s.create_semaphore(u32::MAX - 1);
    s.sem_release(sem).unwrap();
    assert_eq!(s.sem_release(sem), Err(SchedError::Overflow));
    assert_eq!(s.sem_permits(sem), Some(u32::MAX));
}

#[test]
fn idle_may_take_but_not_wait() {
    let (mut s, _, _) = setup(5, &[]);
    let sem = s.create_semaphore(1);
    assert_eq!(s.sem_acquire(0, sem, None), Ok(AcquirePoll::Acquired));
    assert_eq!(s.sem_acquire(0, sem, None), Err(SchedError::IdleThread));
}

#[test]
fn drain_takes_every_permit_unless_someone_waits() {
    let (mut s, _, _) = super::setup(5, &[]);
    let sem = s.create_semaphore(3);
    assert_eq!(s.sem_drain(sem), Ok(3));
    assert_eq!(s.sem_permits(sem), Some(0));
    assert_eq!(s.sem_drain(sem), Ok(0));
    let _t = super::spawn_running(&mut s, 10);
    assert!(matches!(
        s.sem_acquire(0, sem, None),
        Ok(crate::AcquirePoll::Blocked(_))
    ));
    assert_eq!(s.sem_drain(sem), Err(crate::SchedError::Busy));
    s.check_invariants().unwrap();
}

#[test]
fn release_drain_hands_over_and_returns_the_count_once_nobody_waits() {
    let (mut s, _, _) = setup(5, &[]);
    let sem = s.create_semaphore(0);
    let a = spawn_running(&mut s, 10);
    let _ = s.sem_acquire(0, sem, None).unwrap();
    let b = spawn_running(&mut s, 20);
    let _ = s.sem_acquire(0, sem, Some(50)).unwrap();
    let lo = spawn_running(&mut s, 1);
    // Two waiters: the first release wakes the best (b, its timer cancelled) and keeps the
    // scheduler's count, as one still waits.
    assert_eq!(s.sem_release_drain(sem), Ok(None));
    assert_eq!(s.state(b), Some(State::Ready));
    assert_eq!(s.waiting_on(b), None);
    assert_eq!(s.next_deadline(), None, "the woken waiter's timer is gone");
    assert_eq!(s.waiters(sem).collect::<Vec<_>>(), [a]);
    // The last waiter: handed over, and the (zero) count is the caller's again.
    assert_eq!(s.sem_release_drain(sem), Ok(Some(0)));
    assert_eq!(s.state(a), Some(State::Ready));
    assert_eq!(s.sem_permits(sem), Some(0));
    assert_eq!(s.preempt_check(0), Next::Switch { from: lo, to: b });
    assert_eq!(s.take_wait_result(0), WaitResult::Acquired);
    // Nobody waits: counted, then drained at once.
    assert_eq!(s.sem_release_drain(sem), Ok(Some(1)));
    assert_eq!(s.sem_permits(sem), Some(0));
    s.check_invariants().unwrap();
}

#[test]
fn release_drain_refuses_overflow_and_stale_handles() {
    let (mut s, _, _) = setup(5, &[]);
    let sem = s.create_semaphore(u32::MAX);
    assert_eq!(s.sem_release_drain(sem), Err(SchedError::Overflow));
    assert_eq!(s.sem_permits(sem), Some(u32::MAX), "nothing changed");
    s.destroy_semaphore(sem).unwrap();
    assert_eq!(s.sem_release_drain(sem), Err(SchedError::NoSuchObject));
}
