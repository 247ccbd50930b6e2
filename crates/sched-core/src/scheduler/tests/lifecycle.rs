//! Spawn, exit, join, reap and detach.

use super::{setup, switched_to};
use crate::{ExitStatus, JoinPoll, Next, SchedError, State, ThreadId};

#[test]
fn join_blocks_until_target_exits() {
    let (mut s, _, ids) = setup(5, &[10, 10]);
    let (a, b) = (ids[0], ids[1]);
    let poll = s.join(0, b).unwrap();
    assert_eq!(poll, JoinPoll::Blocked(Next::Switch { from: a, to: b }));
    assert_eq!(s.state(a), Some(State::Joining(b)));
    // Ticks do not wake a joiner.
    for now in 1..20 {
        let _ = s.tick(0, now);
    }
    assert_eq!(s.state(a), Some(State::Joining(b)));
    let out = s.exit_current(0, ExitStatus::Failed);
    assert_eq!(out.next, Next::Switch { from: b, to: a });
    assert!(out.dead.is_none());
    assert_eq!(s.state(b), Some(State::Zombie(ExitStatus::Failed)));
    assert_eq!(s.join(0, b), Ok(JoinPoll::Exited(ExitStatus::Failed)));
    assert_eq!(s.reap(b), Some((2, ExitStatus::Failed)));
    assert_eq!(s.state(b), None);
    assert_eq!(s.thread_count(), 1);
    s.check_invariants().unwrap();
}

#[test]
fn joining_a_zombie_returns_at_once() {
    let (mut s, _, ids) = setup(5, &[20, 10]);
    let out = s.exit_current(0, ExitStatus::Finished);
    assert_eq!(
        out.next,
        Next::Switch {
            from: ids[0],
            to: ids[1]
        }
    );
    assert_eq!(
        s.join(0, ids[0]),
        Ok(JoinPoll::Exited(ExitStatus::Finished))
    );
    assert_eq!(s.current(0), ids[1]);
}

#[test]
fn woken_joiner_of_higher_priority_runs_next() {
    let (mut s, _, ids) = setup(5, &[200, 10, 10]);
    let _ = s.join(0, ids[2]).unwrap();
    assert_eq!(s.current(0), ids[1]);
    let _ = s.yield_now(0);
    assert_eq!(s.current(0), ids[2]);
    let out = s.exit_current(0, ExitStatus::Finished);
    assert_eq!(
        out.next,
        Next::Switch {
            from: ids[2],
            to: ids[0]
        }
    );
}

#[test]
fn join_errors() {
    let (mut s, idle, ids) = setup(5, &[10, 10, 10]);
    let (a, b, c) = (ids[0], ids[1], ids[2]);
    assert_eq!(s.join(0, a), Err(SchedError::JoinSelf));
    assert_eq!(s.join(0, idle), Err(SchedError::IdleThread));
    let bogus = ThreadId::from_u64(0x7_0000_0009).unwrap();
    assert_eq!(s.join(0, bogus), Err(SchedError::NoSuchThread));
    // a joins c; then b tries too.
    let _ = s.join(0, c).unwrap();
    assert_eq!(s.current(0), b);
    assert_eq!(s.join(0, c), Err(SchedError::AlreadyJoined));
    s.detach(b);
    let _ = s.yield_now(0);
    assert_eq!(s.current(0), c);
    assert_eq!(s.join(0, b), Err(SchedError::Detached));
    s.check_invariants().unwrap();
}

#[test]
fn idle_cannot_join() {
    let (mut s, idle, ids) = setup(5, &[10]);
    let _ = s.block_current(0);
    assert_eq!(s.current(0), idle);
    assert_eq!(s.join(0, ids[0]), Err(SchedError::IdleThread));
}

#[test]
fn detached_thread_is_freed_on_exit() {
    let (mut s, idle, ids) = setup(5, &[10]);
    assert_eq!(s.detach(ids[0]), None);
    assert!(s.is_detached(ids[0]));
    let out = s.exit_current(0, ExitStatus::Finished);
    assert_eq!(
        out.next,
        Next::Switch {
            from: ids[0],
            to: idle
        }
    );
    assert_eq!(out.dead, Some(1));
    assert_eq!(s.state(ids[0]), None);
    assert_eq!(s.thread_count(), 0);
    assert_eq!(s.live_entries(), 1, "only the idle thread is left");
    s.check_invariants().unwrap();
}

#[test]
fn detaching_a_zombie_reaps_it() {
    let (mut s, _, ids) = setup(5, &[10, 10]);
    let _ = s.exit_current(0, ExitStatus::Finished);
    assert_eq!(s.detach(ids[0]), Some(1));
    assert_eq!(s.state(ids[0]), None);
    assert_eq!(s.detach(ids[0]), None, "stale id is ignored");
    assert_eq!(s.reap(ids[0]), None);
}

#[test]
fn joiner_of_a_thread_detached_meanwhile_is_still_woken() {
    let (mut s, _, ids) = setup(5, &[10, 10]);
    let (a, b) = (ids[0], ids[1]);
    let _ = s.join(0, b).unwrap();
    s.detach(b);
    let out = s.exit_current(0, ExitStatus::Finished);
    assert_eq!(out.next, Next::Switch { from: b, to: a });
    assert_eq!(out.dead, Some(2));
    assert_eq!(s.join(0, b), Err(SchedError::NoSuchThread));
}

#[test]
fn reap_only_takes_zombies() {
    let (mut s, idle, ids) = setup(5, &[10, 10]);
    assert_eq!(s.reap(ids[0]), None, "running");
    assert_eq!(s.reap(ids[1]), None, "ready");
    assert_eq!(s.reap(idle), None, "idle");
    assert_eq!(s.state(ids[1]), Some(State::Ready));
    assert_eq!(s.detach(idle), None);
    assert!(!s.is_detached(idle));
}

#[test]
fn reaped_id_stays_stale_after_slot_reuse() {
    let (mut s, _, ids) = setup(5, &[10, 10]);
    let old = ids[0];
    let _ = s.exit_current(0, ExitStatus::Finished);
    let _ = s.reap(old).unwrap();
    let new = s.spawn(10, 77);
    assert_ne!(new, old);
    assert_eq!(
        new.as_u64() & 0xffff_ffff,
        old.as_u64() & 0xffff_ffff,
        "slot reused"
    );
    assert_eq!(s.state(old), None);
    assert_eq!(s.data(old), None);
    assert_eq!(s.data_mut(old), None);
    assert_eq!(s.priority(old), None);
    assert!(!s.is_idle(old));
    assert_eq!(s.wake(old), Err(SchedError::NoSuchThread));
    assert_eq!(s.join(0, old), Err(SchedError::NoSuchThread));
    assert_eq!(s.data(new), Some(&77));
}

#[test]
fn data_is_reachable_and_mutable() {
    let (mut s, idle, ids) = setup(5, &[10]);
    *s.data_mut(ids[0]).unwrap() += 40;
    assert_eq!(s.data(ids[0]), Some(&41));
    assert_eq!(s.data(idle), Some(&0));
    assert!(s.is_idle(idle));
    assert!(!s.is_idle(ids[0]));
}

#[test]
fn counts_exclude_idle_and_include_zombies() {
    let (mut s, _, _) = setup(5, &[10, 10, 10]);
    assert_eq!(s.thread_count(), 3);
    assert_eq!(s.ready_count(), 2);
    let _ = s.exit_current(0, ExitStatus::Finished);
    assert_eq!(s.thread_count(), 3);
    assert_eq!(s.ready_count(), 1);
}

#[test]
fn exit_always_switches_even_to_idle() {
    let (mut s, idle, ids) = setup(5, &[10]);
    let out = s.exit_current(0, ExitStatus::Finished);
    assert_eq!(switched_to(out.next), idle);
    assert_eq!(s.reap(ids[0]), Some((1, ExitStatus::Finished)));
    assert_eq!(s.thread_count(), 0);
}

#[test]
#[should_panic(expected = "idle thread")]
fn idle_cannot_exit() {
    let (mut s, _, _) = setup(1, &[]);
    let _ = s.exit_current(0, ExitStatus::Finished);
}

#[test]
#[should_panic(expected = "already has an idle")]
fn second_idle_for_a_cpu_is_a_contract_violation() {
    let (mut s, _, _) = setup(1, &[]);
    s.add_idle(0, 5);
}

#[test]
fn join_cycles_are_refused() {
    let (mut s, _, ids) = setup(5, &[10, 10, 10]);
    let (a, b, c) = (ids[0], ids[1], ids[2]);
    assert!(matches!(s.join(0, b), Ok(JoinPoll::Blocked(_)))); // a waits for b
    assert_eq!(s.current(0), b);
    assert!(matches!(s.join(0, c), Ok(JoinPoll::Blocked(_)))); // b waits for c
    assert_eq!(s.current(0), c);
    assert_eq!(s.join(0, a), Err(SchedError::Deadlock), "c -> a -> b -> c");
    assert_eq!(s.current(0), c);
    assert_eq!(s.state(c), Some(State::Running(0)));
    assert_eq!(s.join(0, b), Err(SchedError::AlreadyJoined));
    s.check_invariants().unwrap();
}

#[test]
fn thread_ids_lists_every_thread_in_the_table() {
    let (mut s, idle, ids) = setup(5, &[10, 10, 10]);
    let all = |s: &crate::Scheduler<u32>| s.thread_ids().collect::<std::vec::Vec<_>>();
    assert_eq!(all(&s), [idle, ids[0], ids[1], ids[2]]);
    assert_eq!(all(&s).len(), s.live_entries());
    // A zombie stays listed until it is reaped; a detached thread leaves at its exit.
    let _ = s.exit_current(0, ExitStatus::Finished);
    assert_eq!(s.state(ids[0]), Some(State::Zombie(ExitStatus::Finished)));
    assert_eq!(all(&s), [idle, ids[0], ids[1], ids[2]]);
    assert!(s.reap(ids[0]).is_some());
    assert_eq!(all(&s), [idle, ids[1], ids[2]]);
    assert_eq!(s.detach(ids[1]), None);
    assert_eq!(s.current(0), ids[1]);
    let _ = s.exit_current(0, ExitStatus::Finished);
    assert_eq!(all(&s), [idle, ids[2]]);
    assert_eq!(all(&s).len(), s.live_entries());
}
