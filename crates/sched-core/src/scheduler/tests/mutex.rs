//! Mutex ownership: handoff, errors, poisoning and the lock-word slow path.

use super::{park_far, resume, setup, spawn_running};
use crate::{ExitStatus, LockPoll, Next, SchedError, State, WaitResult, WaitingOn, LOCK_WAITERS};
use std::vec::Vec;

#[test]
fn free_mutex_is_taken_at_once_and_relock_is_refused() {
    let (mut s, _, _) = setup(5, &[]);
    let m = s.create_mutex();
    let a = spawn_running(&mut s, 10);
    assert_eq!(s.mutex_lock(0, m, None), Ok(LockPoll::Acquired));
    assert_eq!(s.mutex_owner(m), Some(a));
    assert_eq!(s.mutex_lock(0, m, None), Err(SchedError::Relock));
    assert_eq!(s.mutex_try_lock(0, m), Err(SchedError::Relock));
    assert_eq!(s.mutex_unlock(0, m), Ok(Next::Keep));
    assert_eq!(s.mutex_owner(m), None);
    assert_eq!(s.mutex_unlock(0, m), Err(SchedError::NotOwner));
    assert_eq!(s.mutex_try_lock(0, m), Ok(true));
    s.check_invariants().unwrap();
}

#[test]
fn unlock_by_a_non_owner_is_refused() {
    let (mut s, _, _) = setup(5, &[]);
    let m = s.create_mutex();
    let a = spawn_running(&mut s, 10);
    let _ = s.mutex_lock(0, m, None).unwrap();
    park_far(&mut s);
    spawn_running(&mut s, 20);
    assert_eq!(s.mutex_try_lock(0, m), Ok(false));
    assert_eq!(s.mutex_unlock(0, m), Err(SchedError::NotOwner));
    assert_eq!(s.mutex_owner(m), Some(a));
}

#[test]
fn unlock_hands_ownership_to_the_best_waiter_directly() {
    let (mut s, _, _) = setup(5, &[]);
    let m = s.create_mutex();
    let owner = spawn_running(&mut s, 1);
    let _ = s.mutex_lock(0, m, None).unwrap();
    park_far(&mut s);
    let mut waiters = Vec::new();
    for p in [10, 30, 10, 30] {
        waiters.push(spawn_running(&mut s, p));
        assert!(matches!(s.mutex_lock(0, m, None), Ok(LockPoll::Blocked(_))));
        assert_eq!(
            s.waiting_on(*waiters.last().unwrap()),
            Some(WaitingOn::Mutex(m))
        );
    }
    let expected = [waiters[1], waiters[3], waiters[0], waiters[2]];
    assert_eq!(s.waiters(m).collect::<Vec<_>>(), expected);
    resume(&mut s, owner);
    let mut holder = owner;
    for &next in &expected {
        let decision = s.mutex_unlock(0, m).unwrap();
        assert_eq!(s.mutex_owner(m), Some(next), "handed over, not released");
        assert_eq!(s.state(next).map(|st| st != State::Blocked), Some(true));
        s.check_invariants().unwrap();
        if s.current(0) != next {
            // An heir that does not outrank the unlocker waits for its turn.
            assert_eq!(decision, Next::Keep);
            park_far(&mut s);
        }
        assert_eq!(s.current(0), next);
        assert_eq!(s.take_wait_result(0), WaitResult::Acquired);
        holder = next;
    }
    let _ = s.mutex_unlock(0, m).unwrap();
    assert_eq!(s.mutex_owner(m), None);
    assert_ne!(holder, owner);
}

#[test]
fn woken_heir_preempts_the_unlocker() {
    let (mut s, _, _) = setup(5, &[]);
    let m = s.create_mutex();
    let lo = spawn_running(&mut s, 10);
    let _ = s.mutex_lock(0, m, None).unwrap();
    park_far(&mut s);
    let hi = spawn_running(&mut s, 50);
    let _ = s.mutex_lock(0, m, None).unwrap();
    resume(&mut s, lo);
    assert_eq!(s.mutex_unlock(0, m), Ok(Next::Switch { from: lo, to: hi }));
    assert_eq!(s.take_wait_result(0), WaitResult::Acquired);
    assert_eq!(s.mutex_owner(m), Some(hi));
}

#[test]
fn timed_out_waiter_does_not_get_the_mutex() {
    let (mut s, idle, _) = setup(5, &[]);
    let m = s.create_mutex();
    let a = spawn_running(&mut s, 10);
    let _ = s.mutex_lock(0, m, None).unwrap();
    park_far(&mut s);
    let b = spawn_running(&mut s, 20);
    let _ = s.mutex_lock(0, m, Some(7)).unwrap();
    assert_eq!(s.tick(0, 7), Next::Switch { from: idle, to: b });
    assert_eq!(s.take_wait_result(0), WaitResult::TimedOut);
    assert_eq!(s.mutex_owner(m), Some(a));
    assert_eq!(s.waiter_count(m), Some(0));
    s.check_invariants().unwrap();
}

#[test]
fn exit_poisons_and_hands_over_owned_mutexes() {
    let (mut s, _, _) = setup(5, &[]);
    let m1 = s.create_mutex();
    let m2 = s.create_mutex();
    let a = spawn_running(&mut s, 10);
    let _ = s.mutex_lock(0, m1, None).unwrap();
    let _ = s.mutex_lock(0, m2, None).unwrap();
    park_far(&mut s);
    let b = spawn_running(&mut s, 20);
    let _ = s.mutex_lock(0, m1, None).unwrap();
    resume(&mut s, a);
    assert_eq!(s.priority(a), Some(20));
    let out = s.exit_current(0, ExitStatus::Failed);
    assert_eq!(out.next, Next::Switch { from: a, to: b });
    assert_eq!(s.priority(a), Some(10), "a zombie keeps no boost");
    assert_eq!(s.mutex_owner(m1), Some(b));
    assert_eq!(s.mutex_is_poisoned(m1), Some(true));
    assert_eq!(s.take_wait_result(0), WaitResult::Acquired);
    assert_eq!(s.mutex_owner(m2), None, "no waiter: released");
    assert_eq!(s.mutex_is_poisoned(m2), Some(true));
    s.mutex_clear_poison(m2).unwrap();
    assert_eq!(s.mutex_is_poisoned(m2), Some(false));
    let _ = s.mutex_unlock(0, m1).unwrap();
    assert_eq!(
        s.mutex_is_poisoned(m1),
        Some(true),
        "poison outlives unlock"
    );
    s.check_invariants().unwrap();
    assert!(s.reap(a).is_some());
}

#[test]
fn contended_slow_path_records_the_fast_path_owner_first() {
    let (mut s, _, _) = setup(5, &[]);
    let m = s.create_mutex();
    // `a` took the lock word without telling the scheduler.
    let a = spawn_running(&mut s, 10);
    park_far(&mut s);
    let b = spawn_running(&mut s, 40);
    assert_eq!(s.mutex_lock_word(m), Some(0));
    let r = s.mutex_lock_contended(0, m, a, None).unwrap();
    assert!(matches!(r, LockPoll::Blocked(_)));
    assert_eq!(s.mutex_owner(m), Some(a));
    assert_eq!(s.priority(a), Some(40), "boost reached the fast-path owner");
    assert_eq!(s.mutex_lock_word(m), Some(a.as_u64() | LOCK_WAITERS));
    resume(&mut s, a);
    let _ = s.mutex_unlock(0, m).unwrap();
    assert_eq!(s.current(0), b);
    assert_eq!(
        s.mutex_lock_word(m),
        Some(LOCK_WAITERS),
        "pending: the word names no running owner"
    );
    assert_eq!(s.mutex_claim(0, m), Ok(true));
    assert_eq!(s.mutex_lock_word(m), Some(b.as_u64() | LOCK_WAITERS));
    let _ = s.mutex_unlock(0, m).unwrap();
    assert_eq!(s.mutex_lock_word(m), Some(0));
    s.check_invariants().unwrap();
}

#[test]
fn contended_lock_on_a_dead_owner_takes_it_poisoned() {
    let (mut s, _, _) = setup(5, &[]);
    let m = s.create_mutex();
    let a = spawn_running(&mut s, 10);
    let _ = s.exit_current(0, ExitStatus::Finished);
    let b = spawn_running(&mut s, 20);
    assert_eq!(
        s.mutex_lock_contended(0, m, a, None),
        Ok(LockPoll::Acquired)
    );
    assert_eq!(s.mutex_owner(m), Some(b));
    assert_eq!(s.mutex_is_poisoned(m), Some(true));
    assert_eq!(
        s.mutex_lock_contended(0, m, b, None),
        Err(SchedError::Relock)
    );
    s.reap(a).unwrap();
    let _ = s.mutex_unlock(0, m).unwrap();
    assert_eq!(
        s.mutex_lock_contended(0, m, a, None),
        Ok(LockPoll::Acquired),
        "a stale id is dead too"
    );
}

#[test]
fn recorded_owner_wins_over_the_hint() {
    let (mut s, _, _) = setup(5, &[]);
    let m = s.create_mutex();
    let a = spawn_running(&mut s, 10);
    let _ = s.mutex_lock(0, m, None).unwrap();
    park_far(&mut s);
    let b = spawn_running(&mut s, 20);
    park_far(&mut s);
    spawn_running(&mut s, 30);
    let r = s.mutex_lock_contended(0, m, b, None).unwrap();
    assert!(matches!(r, LockPoll::Blocked(_)));
    assert_eq!(s.mutex_owner(m), Some(a));
    assert_eq!(s.priority(a), Some(30));
    assert_eq!(s.priority(b), Some(20));
}

#[test]
fn idle_threads_cannot_own() {
    let (mut s, idle, _) = setup(5, &[]);
    let m = s.create_mutex();
    assert_eq!(s.mutex_lock(0, m, None), Err(SchedError::IdleThread));
    assert_eq!(s.mutex_try_lock(0, m), Err(SchedError::IdleThread));
    spawn_running(&mut s, 1);
    assert_eq!(
        s.mutex_lock_contended(0, m, idle, None),
        Err(SchedError::IdleThread)
    );
}

#[test]
fn unlock_and_wait_blocks_the_caller_and_runs_the_heir() {
    let (mut s, _, _) = setup(5, &[]);
    let m = s.create_mutex();
    let q = s.create_queue();
    let low = spawn_running(&mut s, 1);
    let _ = s.mutex_lock(0, m, None).unwrap();
    park_far(&mut s);
    let high = spawn_running(&mut s, 30);
    assert!(matches!(s.mutex_lock(0, m, None), Ok(LockPoll::Blocked(_))));
    resume(&mut s, low);
    assert_eq!(s.priority(low), Some(30), "owner boosted by its waiter");
    // One decision: the caller waits on q, the heir owns the mutex and runs.
    let next = s.mutex_unlock_and_wait(0, m, q, None).unwrap();
    assert_eq!(
        next,
        Next::Switch {
            from: low,
            to: high
        }
    );
    assert_eq!(s.current(0), high);
    assert_eq!(s.mutex_owner(m), Some(high));
    assert_eq!(s.waiting_on(low), Some(WaitingOn::Queue(q)));
    assert_eq!(s.priority(low), Some(1), "boost dropped with the mutex");
    s.check_invariants().unwrap();
    // Errors change nothing: a destroyed queue is refused and `high` keeps the mutex.
    let gone = s.create_queue();
    s.destroy_queue(gone).unwrap();
    assert_eq!(
        s.mutex_unlock_and_wait(0, m, gone, None),
        Err(SchedError::NoSuchObject)
    );
    assert_eq!(s.mutex_owner(m), Some(high));
    assert_eq!(s.current(0), high);
    s.check_invariants().unwrap();
}

#[test]
fn deferred_unlock_hands_over_but_leaves_the_switch_to_a_later_check() {
    let (mut s, _, _) = setup(5, &[]);
    let m = s.create_mutex();
    let lo = spawn_running(&mut s, 10);
    let _ = s.mutex_lock(0, m, None).unwrap();
    park_far(&mut s);
    let hi = spawn_running(&mut s, 30);
    assert!(matches!(s.mutex_lock(0, m, None), Ok(LockPoll::Blocked(_))));
    resume(&mut s, lo);
    assert_eq!(s.priority(lo), Some(30), "boosted by the waiter");
    assert_eq!(s.mutex_unlock_deferred(0, m), Ok(()));
    assert_eq!(s.mutex_owner(m), Some(hi), "handed over");
    assert_eq!(s.priority(lo), Some(10), "boost dropped");
    assert_eq!(s.current(0), lo, "no switch yet");
    s.check_invariants().unwrap();
    assert_eq!(super::switched_to(s.preempt_check(0)), hi);
    assert_eq!(s.take_wait_result(0), WaitResult::Acquired);
    assert_eq!(s.mutex_unlock_deferred(0, m), Ok(()));
    assert_eq!(s.mutex_unlock_deferred(0, m), Err(SchedError::NotOwner));
    s.check_invariants().unwrap();
}

#[test]
fn a_running_peer_takes_over_from_a_pending_heir_which_then_waits_first_in_line() {
    let (mut s, _, _) = setup(5, &[]);
    let m = s.create_mutex();
    let o = spawn_running(&mut s, 10);
    assert_eq!(s.mutex_lock(0, m, None), Ok(LockPoll::Acquired));
    park_far(&mut s);
    let mut w = Vec::new();
    for _ in 0..3 {
        w.push(spawn_running(&mut s, 10));
        assert!(matches!(s.mutex_lock(0, m, None), Ok(LockPoll::Blocked(_))));
    }
    resume(&mut s, o);
    // The convoy's pass: the heir is made owner while it does not run...
    assert_eq!(s.mutex_unlock(0, m), Ok(Next::Keep));
    assert_eq!(s.mutex_owner(m), Some(w[0]));
    assert_eq!(s.mutex_is_pending(m), Some(true));
    assert_eq!(s.mutex_lock_word(m), Some(LOCK_WAITERS));
    // ...and a running thread of its priority takes it over instead of queueing.
    assert_eq!(s.mutex_lock(0, m, None), Ok(LockPoll::Acquired));
    assert_eq!(s.mutex_owner(m), Some(o));
    assert_eq!(s.mutex_is_pending(m), Some(false));
    assert_eq!(s.mutex_lock_word(m), Some(o.as_u64() | LOCK_WAITERS));
    assert_eq!(s.state(w[0]), Some(State::Ready));
    s.check_invariants().unwrap();
    let _ = s.mutex_unlock(0, m).unwrap();
    assert_eq!(s.mutex_owner(m), Some(w[1]));
    assert_eq!(s.mutex_try_lock(0, m), Ok(true), "try_lock takes over too");
    assert_eq!(s.waiters(m).collect::<Vec<_>>(), [w[2]]);
    // The heirs run, find the mutex taken, and queue again ahead of their peers.
    park_far(&mut s);
    assert_eq!(s.current(0), w[0]);
    assert_eq!(s.take_wait_result(0), WaitResult::Acquired);
    assert_eq!(s.mutex_claim(0, m), Ok(false));
    let r = s.mutex_lock_retry(0, m, None, None).unwrap();
    assert_eq!(switched_to_of(r), w[1]);
    assert_eq!(s.waiters(m).collect::<Vec<_>>(), [w[0], w[2]]);
    assert_eq!(s.mutex_claim(0, m), Ok(false));
    let r = s.mutex_lock_retry(0, m, Some(o), None).unwrap();
    assert!(matches!(r, LockPoll::Blocked(_)));
    assert_eq!(s.waiters(m).collect::<Vec<_>>(), [w[1], w[0], w[2]]);
    s.check_invariants().unwrap();
    // A claim that nobody contested keeps the mutex.
    resume(&mut s, o);
    let _ = s.mutex_unlock(0, m).unwrap();
    park_far(&mut s);
    assert_eq!(s.current(0), w[1]);
    assert_eq!(s.mutex_claim(0, m), Ok(true));
    assert_eq!(s.mutex_is_pending(m), Some(false));
    assert_eq!(s.mutex_lock_word(m), Some(w[1].as_u64() | LOCK_WAITERS));
    s.check_invariants().unwrap();
}

fn switched_to_of(r: LockPoll) -> crate::ThreadId {
    match r {
        LockPoll::Blocked(next) => super::switched_to(next),
        LockPoll::Acquired => panic!("expected to block"),
    }
}

#[test]
fn a_lower_priority_thread_never_takes_over_from_a_better_pending_heir() {
    let (mut s, _, _) = setup(5, &[]);
    let m = s.create_mutex();
    let o = spawn_running(&mut s, 5);
    let _ = s.mutex_lock(0, m, None).unwrap();
    park_far(&mut s);
    let h = spawn_running(&mut s, 30);
    assert!(matches!(s.mutex_lock(0, m, None), Ok(LockPoll::Blocked(_))));
    assert_eq!(s.priority(o), Some(30));
    resume(&mut s, o);
    // An unlock from an interrupt handler: no decision yet, so the lower thread still runs
    // while its better heir is pending.
    s.mutex_unlock_deferred(0, m).unwrap();
    assert_eq!((s.current(0), s.priority(o)), (o, Some(5)));
    assert_eq!(s.mutex_owner(m), Some(h));
    assert_eq!(s.mutex_is_pending(m), Some(true));
    assert_eq!(s.mutex_try_lock(0, m), Ok(false));
    assert_eq!(s.mutex_owner(m), Some(h));
    let r = s.mutex_lock(0, m, None).unwrap();
    assert_eq!(switched_to_of(r), h, "the lower thread queued instead");
    assert_eq!(s.mutex_owner(m), Some(h));
    assert_eq!(s.mutex_claim(0, m), Ok(true));
    assert_eq!(s.waiters(m).collect::<Vec<_>>(), [o]);
    s.check_invariants().unwrap();
}

#[test]
fn the_take_over_rule_uses_the_heirs_inherited_priority() {
    let (mut s, _, _) = setup(5, &[]);
    let (m, m2) = (s.create_mutex(), s.create_mutex());
    let o = spawn_running(&mut s, 20);
    let _ = s.mutex_lock(0, m, None).unwrap();
    park_far(&mut s);
    // `h` (base 10) holds `m2`, which a thread of 40 waits for, then waits for `m`.
    let h = spawn_running(&mut s, 10);
    let _ = s.mutex_lock(0, m2, None).unwrap();
    park_far(&mut s);
    spawn_running(&mut s, 40);
    assert!(matches!(
        s.mutex_lock(0, m2, None),
        Ok(LockPoll::Blocked(_))
    ));
    resume(&mut s, h);
    assert_eq!(s.priority(h), Some(40));
    assert!(matches!(s.mutex_lock(0, m, None), Ok(LockPoll::Blocked(_))));
    resume(&mut s, o);
    assert_eq!(s.priority(o), Some(40));
    s.mutex_unlock_deferred(0, m).unwrap();
    assert_eq!(s.priority(o), Some(20));
    assert_eq!(s.mutex_is_pending(m), Some(true));
    // 20 is above the heir's base but below the waiter it stands for.
    assert_eq!(s.mutex_try_lock(0, m), Ok(false));
    s.check_invariants().unwrap();
}

#[test]
fn abandoned_mutexes_are_poisoned_handed_over_and_the_word_owner_counts_as_dead() {
    let (mut s, _, _) = setup(5, &[]);
    let recorded = s.create_mutex();
    let word_only = s.create_mutex();
    let a = spawn_running(&mut s, 10);
    let _ = s.mutex_lock(0, recorded, None).unwrap();
    park_far(&mut s);
    let b = spawn_running(&mut s, 20);
    let _ = s.mutex_lock(0, recorded, None).unwrap();
    resume(&mut s, a);
    assert_eq!(s.priority(a), Some(20));
    assert!(s.may_hold_locks(a));
    // `a` fails but cannot exit yet: it gives its mutexes up and stays alive.
    assert_eq!(s.abandon_mutexes(0), Next::Switch { from: a, to: b });
    assert_eq!(s.priority(a), Some(10), "no boost without the mutex");
    assert_eq!(s.mutex_owner(recorded), Some(b));
    assert_eq!(s.mutex_is_poisoned(recorded), Some(true));
    assert_eq!(s.take_wait_result(0), WaitResult::Acquired);
    assert!(!s.may_hold_locks(a));
    assert!(!matches!(s.state(a), Some(State::Zombie(_))), "still alive");
    // A lock word that still names `a` (taken on the fast path) names a dead holder.
    assert_eq!(
        s.mutex_lock_contended(0, word_only, a, None),
        Ok(LockPoll::Acquired)
    );
    assert_eq!(s.mutex_owner(word_only), Some(b));
    assert_eq!(s.mutex_is_poisoned(word_only), Some(true));
    s.check_invariants().unwrap();
}
