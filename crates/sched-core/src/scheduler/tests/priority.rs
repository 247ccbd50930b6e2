//! Strict priority, round robin, preemption and the idle thread.

use super::{setup, switched_to};
use crate::{Next, Scheduler, State, Ticks};

#[test]
fn start_picks_highest_ready() {
    let (s, _, ids) = setup(5, &[10, 200, 50]);
    assert_eq!(s.current(0), ids[1]);
    assert_eq!(s.state(ids[1]), Some(State::Running(0)));
    assert_eq!(s.state(ids[0]), Some(State::Ready));
    assert_eq!(s.ready_count(), 2);
}

#[test]
fn start_without_ready_threads_runs_idle() {
    let (s, idle, _) = setup(5, &[]);
    assert_eq!(s.current(0), idle);
    assert_eq!(s.state(idle), Some(State::Running(0)));
    assert_eq!(s.ready_count(), 0);
}

#[test]
fn lower_priority_never_runs_while_higher_is_ready() {
    let (mut s, _, ids) = setup(2, &[100, 50]);
    for now in 1..50 {
        let next = s.tick(0, now);
        assert_eq!(next, Next::Keep);
        assert_eq!(s.current(0), ids[0]);
        let _ = s.yield_now(0);
        assert_eq!(
            s.current(0),
            ids[0],
            "yield does not hand over to lower priority"
        );
    }
}

#[test]
fn round_robin_rotates_exactly_at_slice_expiry() {
    let (mut s, _, ids) = setup(3, &[7, 7, 7]);
    assert_eq!(s.current(0), ids[0]);
    assert_eq!(s.tick(0, 1), Next::Keep);
    assert_eq!(s.tick(0, 2), Next::Keep);
    assert_eq!(
        s.tick(0, 3),
        Next::Switch {
            from: ids[0],
            to: ids[1]
        }
    );
    assert_eq!(s.state(ids[0]), Some(State::Ready));
    // The new slice runs from the switch, in counter units.
    assert_eq!(s.slice_end(0), 6);
    assert_eq!(s.tick(0, 4), Next::Keep);
    assert_eq!(s.tick(0, 5), Next::Keep);
    assert_eq!(
        s.tick(0, 6),
        Next::Switch {
            from: ids[1],
            to: ids[2]
        }
    );
    let _ = s.tick(0, 7);
    let _ = s.tick(0, 8);
    assert_eq!(
        s.tick(0, 9),
        Next::Switch {
            from: ids[2],
            to: ids[0]
        }
    );
    s.check_invariants().unwrap();
}

#[test]
fn lone_thread_keeps_running_past_its_slice() {
    let (mut s, _, ids) = setup(2, &[7, 3]);
    for now in 1..10 {
        assert_eq!(s.tick(0, now), Next::Keep);
        // Nobody of its priority: no slice to end, no timer for it.
        assert_eq!(s.slice_end(0), Ticks::MAX);
    }
    assert_eq!(s.current(0), ids[0]);
    s.check_invariants().unwrap();
}

#[test]
fn higher_priority_spawn_preempts_at_once() {
    let (mut s, _, ids) = setup(10, &[50]);
    let hi = s.spawn(60, 9);
    assert_eq!(
        s.preempt_check(0),
        Next::Switch {
            from: ids[0],
            to: hi
        }
    );
    assert_eq!(s.state(ids[0]), Some(State::Ready));
    assert_eq!(s.state(hi), Some(State::Running(0)));
    s.check_invariants().unwrap();
}

#[test]
fn equal_priority_spawn_does_not_preempt() {
    let (mut s, _, _) = setup(10, &[50]);
    s.spawn(50, 9);
    s.spawn(10, 9);
    assert_eq!(s.preempt_check(0), Next::Keep);
}

#[test]
fn preempted_thread_keeps_its_place_and_rest_of_slice() {
    let (mut s, _, ids) = setup(4, &[50, 50]);
    let (a, b) = (ids[0], ids[1]);
    assert_eq!(s.tick(0, 1), Next::Keep);
    assert_eq!(s.slice_end(0), 4);
    let hi = s.spawn(90, 9);
    assert_eq!(switched_to(s.preempt_check(0)), hi);
    // The high thread blocks; `a` must come back before `b`, with 3 units left.
    assert_eq!(s.block_current(0), Next::Switch { from: hi, to: a });
    assert_eq!(s.slice_end(0), 4);
    assert_eq!(s.tick(0, 2), Next::Keep);
    assert_eq!(s.tick(0, 3), Next::Keep);
    assert_eq!(s.tick(0, 4), Next::Switch { from: a, to: b });
    s.check_invariants().unwrap();
}

#[test]
fn tick_preemption_uses_head_unless_slice_ran_out() {
    let (mut s, _, ids) = setup(1, &[50, 50]);
    let (a, b) = (ids[0], ids[1]);
    let sleeper = s.spawn(90, 9);
    // `a` runs; put the high thread to sleep so that a tick wakes it.
    assert_eq!(switched_to(s.preempt_check(0)), sleeper);
    assert_eq!(
        s.sleep_until(0, 5),
        Next::Switch {
            from: sleeper,
            to: a
        }
    );
    // Slice of 1: the tick at 5 both expires `a` and wakes the sleeper. `a`'s
    // turn is over, so it goes behind `b`.
    assert_eq!(
        s.tick(0, 5),
        Next::Switch {
            from: a,
            to: sleeper
        }
    );
    assert_eq!(
        s.block_current(0),
        Next::Switch {
            from: sleeper,
            to: b
        }
    );
}

#[test]
fn yield_goes_to_tail_of_level() {
    let (mut s, _, ids) = setup(10, &[5, 5, 5]);
    assert_eq!(
        s.yield_now(0),
        Next::Switch {
            from: ids[0],
            to: ids[1]
        }
    );
    assert_eq!(
        s.yield_now(0),
        Next::Switch {
            from: ids[1],
            to: ids[2]
        }
    );
    assert_eq!(
        s.yield_now(0),
        Next::Switch {
            from: ids[2],
            to: ids[0]
        }
    );
}

#[test]
fn yield_hands_over_to_higher_ready_even_without_preempt_check() {
    let (mut s, _, ids) = setup(10, &[5]);
    let hi = s.spawn(6, 9);
    assert_eq!(
        s.yield_now(0),
        Next::Switch {
            from: ids[0],
            to: hi
        }
    );
}

#[test]
fn yield_without_peers_runs_on_untimed() {
    let (mut s, _, ids) = setup(3, &[5, 5, 1]);
    // A peer is ready: `a` runs timed.
    assert_eq!(s.slice_end(0), 3);
    s.set_priority(ids[1], 1).unwrap();
    let _ = s.tick(0, 1);
    let _ = s.tick(0, 2);
    // Its yield finds nobody to take turns with: it keeps the CPU, untimed.
    assert_eq!(s.yield_now(0), Next::Keep);
    assert_eq!(s.slice_end(0), Ticks::MAX);
    assert_eq!(s.alarm(0), Ticks::MAX);
    s.check_invariants().unwrap();
}

#[test]
fn idle_is_preempted_by_anything_and_never_queued() {
    let (mut s, idle, _) = setup(3, &[]);
    assert_eq!(s.preempt_check(0), Next::Keep);
    assert_eq!(s.yield_now(0), Next::Keep);
    let low = s.spawn(0, 1);
    assert_eq!(
        s.preempt_check(0),
        Next::Switch {
            from: idle,
            to: low
        }
    );
    assert_eq!(s.state(idle), Some(State::Ready));
    assert_eq!(s.ready_count(), 0, "idle thread is not queued");
    assert_eq!(
        s.block_current(0),
        Next::Switch {
            from: low,
            to: idle
        }
    );
    s.check_invariants().unwrap();
}

#[test]
fn idle_yields_to_a_tick_woken_thread() {
    let (mut s, idle, ids) = setup(3, &[5]);
    assert_eq!(
        s.sleep_until(0, 10),
        Next::Switch {
            from: ids[0],
            to: idle
        }
    );
    assert_eq!(s.tick(0, 9), Next::Keep);
    assert_eq!(
        s.tick(0, 10),
        Next::Switch {
            from: idle,
            to: ids[0]
        }
    );
    assert_eq!(s.state(idle), Some(State::Ready));
    s.check_invariants().unwrap();
}

#[test]
fn lowering_running_thread_below_ready_one_switches() {
    let (mut s, _, ids) = setup(10, &[100, 50]);
    s.set_priority(ids[0], 40).unwrap();
    assert_eq!(s.priority(ids[0]), Some(40));
    assert_eq!(s.base_priority(ids[0]), Some(40));
    assert_eq!(
        s.preempt_check(0),
        Next::Switch {
            from: ids[0],
            to: ids[1]
        }
    );
    s.check_invariants().unwrap();
}

#[test]
fn raising_a_ready_thread_requeues_it() {
    let (mut s, _, ids) = setup(10, &[100, 50, 50]);
    s.set_priority(ids[2], 150).unwrap();
    s.check_invariants().unwrap();
    assert_eq!(
        s.preempt_check(0),
        Next::Switch {
            from: ids[0],
            to: ids[2]
        }
    );
    // Lower it again without a switch: stays running until a decision.
    s.set_priority(ids[2], 10).unwrap();
    assert_eq!(
        s.preempt_check(0),
        Next::Switch {
            from: ids[2],
            to: ids[0]
        }
    );
}

#[test]
fn set_priority_errors() {
    let (mut s, idle, ids) = setup(10, &[1]);
    assert_eq!(s.set_priority(idle, 5), Err(crate::SchedError::IdleThread));
    let _ = s.exit_current(0, crate::ExitStatus::Finished);
    s.reap(ids[0]).unwrap();
    assert_eq!(
        s.set_priority(ids[0], 5),
        Err(crate::SchedError::NoSuchThread)
    );
}

#[test]
fn slice_is_clamped_to_one() {
    let mut s: Scheduler<()> = Scheduler::new(0);
    assert_eq!(s.time_slice(), 1);
    s.set_time_slice(0);
    assert_eq!(s.time_slice(), 1);
    s.set_time_slice(7);
    assert_eq!(s.time_slice(), 7);
}

#[test]
fn cpus_share_one_ready_queue() {
    let mut s = Scheduler::new(2);
    let i0 = s.add_idle(0, 0);
    let i1 = s.add_idle(1, 0);
    let a = s.spawn(10, 1);
    let b = s.spawn(20, 2);
    assert_eq!(s.start(0), b);
    assert_eq!(s.start(1), a);
    let c = s.spawn(15, 3);
    assert_eq!(s.preempt_check(0), Next::Keep);
    assert_eq!(s.preempt_check(1), Next::Switch { from: a, to: c });
    assert_eq!(s.block_current(0), Next::Switch { from: b, to: a });
    assert_eq!(s.block_current(1), Next::Switch { from: c, to: i1 });
    assert_eq!(s.block_current(0), Next::Switch { from: a, to: i0 });
    s.check_invariants().unwrap();
}

#[test]
#[should_panic(expected = "not been started")]
fn current_before_start_is_a_contract_violation() {
    let s: Scheduler<()> = Scheduler::new(1);
    let _ = s.current(0);
}

#[test]
#[should_panic(expected = "idle thread")]
fn idle_cannot_block() {
    let (mut s, _, _) = setup(1, &[]);
    let _ = s.block_current(0);
}
