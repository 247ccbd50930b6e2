//! Time: slices in counter units, untimed threads, the deadline watcher and `retime`.

use super::{setup, switched_to};
use crate::{Next, Priority, Scheduler, ThreadId, Ticks};

/// Untimed: no slice end, no timer for it.
const UNTIMED: Ticks = Ticks::MAX;

/// A scheduler with a slice of `slice` units, `cpus` idle threads, the threads of `prios`
/// spawned in order, and the CPUs started in order (each takes the best ready thread).
fn smp(slice: Ticks, cpus: usize, prios: &[Priority]) -> (Scheduler<u32>, std::vec::Vec<ThreadId>) {
    let mut s = Scheduler::new(slice);
    for cpu in 0..cpus {
        let _ = s.add_idle(cpu, 100 + cpu as u32);
    }
    let ids = prios.iter().zip(1..).map(|(&p, d)| s.spawn(p, d)).collect();
    for cpu in 0..cpus {
        let _ = s.start(cpu);
    }
    s.check_invariants().unwrap();
    (s, ids)
}

#[test]
fn a_lone_threads_slice_end_leaves_it_untimed_with_no_timer() {
    let (mut s, _, ids) = setup(5, &[10, 10]);
    // A peer is ready: the slice runs from 0 to 5 and the timer is wanted for it.
    assert_eq!(s.slice_end(0), 5);
    assert_eq!(s.retime(0), Some(5));
    // The peer drops below: nobody to share with any more, but the slice still runs.
    s.set_priority(ids[1], 1).unwrap();
    assert_eq!(s.tick(0, 4), Next::Keep);
    assert_eq!(s.tick(0, 5), Next::Keep);
    assert_eq!(s.current(0), ids[0]);
    assert_eq!(s.slice_end(0), UNTIMED, "no fresh slice for nobody");
    assert_eq!(s.alarm(0), UNTIMED);
    assert_eq!(s.retime_now(0), UNTIMED, "the timer goes off");
    assert_eq!(s.timer_at(0), UNTIMED);
    // Time passing changes nothing.
    assert_eq!(s.tick(0, 1_000), Next::Keep);
    assert_eq!(s.retime(0), None);
    s.check_invariants().unwrap();
}

#[test]
fn a_spawned_peer_starts_the_untimed_threads_slice_from_now() {
    let (mut s, _, ids) = setup(5, &[10]);
    assert_eq!(s.slice_end(0), UNTIMED);
    assert_eq!(s.retime(0), None, "nothing to time");
    s.set_now(7);
    let b = s.spawn(10, 9);
    assert_eq!(s.preempt_check(0), Next::Keep);
    assert_eq!(s.slice_end(0), 12);
    assert_eq!(
        s.retime(0),
        Some(12),
        "the timer is asked for the new slice's end"
    );
    assert_eq!(s.retime(0), None, "once");
    assert_eq!(s.tick(0, 11), Next::Keep);
    assert_eq!(
        s.tick(0, 12),
        Next::Switch {
            from: ids[0],
            to: b
        }
    );
    assert_eq!(s.slice_end(0), 17);
    s.check_invariants().unwrap();
}

#[test]
fn a_woken_peer_starts_the_untimed_threads_slice_from_now() {
    let (mut s, _, ids) = setup(5, &[10, 10]);
    let (a, b) = (ids[0], ids[1]);
    assert_eq!(s.block_current(0), Next::Switch { from: a, to: b });
    assert_eq!(s.slice_end(0), UNTIMED, "b runs alone");
    assert_eq!(s.retime_now(0), UNTIMED);
    s.set_now(30);
    s.wake(a).unwrap();
    assert_eq!(s.preempt_check(0), Next::Keep, "an equal does not preempt");
    assert_eq!(s.slice_end(0), 35);
    assert_eq!(s.retime(0), Some(35));
    assert_eq!(s.tick(0, 35), Next::Switch { from: b, to: a });
    s.check_invariants().unwrap();
}

#[test]
fn a_peer_woken_by_the_timer_starts_the_slice_at_that_time() {
    let (mut s, _, ids) = setup(5, &[10, 10]);
    let (a, b) = (ids[0], ids[1]);
    assert_eq!(s.sleep_until(0, 40), Next::Switch { from: a, to: b });
    assert_eq!(s.slice_end(0), UNTIMED);
    assert_eq!(s.retime(0), Some(40), "cpu 0 watches the deadline");
    assert_eq!(s.tick(0, 40), Next::Keep);
    assert_eq!(s.slice_end(0), 45);
    assert_eq!(s.retime_now(0), 45);
    s.check_invariants().unwrap();
}

#[test]
fn round_robin_rotates_exactly_at_slice_end_in_counter_units() {
    let (mut s, _, ids) = setup(100, &[7, 7, 7]);
    let (a, b, c) = (ids[0], ids[1], ids[2]);
    assert_eq!(s.alarm(0), 100);
    assert_eq!(s.tick(0, 1), Next::Keep);
    assert_eq!(s.tick(0, 99), Next::Keep);
    assert_eq!(s.tick(0, 100), Next::Switch { from: a, to: b });
    assert_eq!(s.slice_end(0), 200);
    // A timer that fires late: the next slice runs from then.
    assert_eq!(s.tick(0, 250), Next::Switch { from: b, to: c });
    assert_eq!(s.slice_end(0), 350);
    assert_eq!(s.tick(0, 349), Next::Keep);
    assert_eq!(s.tick(0, 350), Next::Switch { from: c, to: a });
    s.check_invariants().unwrap();
}

#[test]
fn a_preempted_thread_resumes_with_the_rest_of_its_slice_in_counter_units() {
    let (mut s, _, ids) = setup(100, &[50, 50]);
    let (a, b) = (ids[0], ids[1]);
    s.set_now(30);
    let hi = s.spawn(90, 9);
    assert_eq!(switched_to(s.preempt_check(0)), hi);
    assert_eq!(s.slice_end(0), UNTIMED, "the high thread runs alone");
    // However long the high thread ran, a has 70 units left.
    s.set_now(500);
    assert_eq!(s.block_current(0), Next::Switch { from: hi, to: a });
    assert_eq!(s.slice_end(0), 570);
    assert_eq!(s.retime(0), Some(570));
    assert_eq!(s.tick(0, 569), Next::Keep);
    assert_eq!(s.tick(0, 570), Next::Switch { from: a, to: b });
    assert_eq!(s.slice_end(0), 670, "b's is a fresh one");
    s.check_invariants().unwrap();
}

#[test]
fn a_preempted_thread_whose_slice_is_over_keeps_one_unit() {
    let (mut s, _, ids) = setup(10, &[50, 50]);
    let a = ids[0];
    // The kernel's clock is past a's slice end, but no timer has taken it away yet.
    s.set_now(15);
    let hi = s.spawn(90, 9);
    assert_eq!(switched_to(s.preempt_check(0)), hi);
    let _ = s.block_current(0);
    assert_eq!(s.current(0), a, "a kept its place at the head");
    assert_eq!(s.slice_end(0), 16);
}

#[test]
fn a_kept_yield_with_no_peer_runs_untimed() {
    let (mut s, _, ids) = setup(5, &[10, 10, 3]);
    let (a, b) = (ids[0], ids[1]);
    assert_eq!(s.yield_now(0), Next::Switch { from: a, to: b });
    assert_eq!(s.slice_end(0), 5);
    assert_eq!(s.sleep_until(0, 1_000), Next::Switch { from: b, to: a });
    // a alone at its level (the 3 is lower): its yield keeps the CPU, untimed.
    assert_eq!(s.yield_now(0), Next::Keep);
    assert_eq!(s.slice_end(0), UNTIMED);
    assert_eq!(s.alarm(0), 1_000, "only the deadline");
    s.check_invariants().unwrap();
}

#[test]
fn alarm_drops_a_slice_nobody_waits_for() {
    let (mut s, _, ids) = setup(5, &[10, 10]);
    assert_eq!(s.slice_end(0), 5);
    // The peer leaves without the running thread noticing (raised above it, then ...).
    s.set_priority(ids[1], 1).unwrap();
    assert_eq!(
        s.alarm(0),
        UNTIMED,
        "no interrupt for a slice end that finds nobody"
    );
    assert_eq!(s.slice_end(0), UNTIMED);
}

#[test]
fn the_watcher_follows_the_cpu_that_inserted_the_earliest_deadline() {
    // Distinct priorities: every thread runs untimed, so only deadlines need timers.
    let (mut s, ids) = smp(1_000, 2, &[30, 20, 10, 5]);
    let (p30, p20, p10, p5) = (ids[0], ids[1], ids[2], ids[3]);
    assert_eq!((s.current(0), s.current(1)), (p30, p20));
    assert_eq!(s.retime(0), None);
    assert_eq!(s.retime(1), None);

    s.set_now(10);
    assert_eq!(s.sleep_until(0, 100), Next::Switch { from: p30, to: p10 });
    assert_eq!(s.deadline_watcher(), 0);
    assert_eq!(s.retime(0), Some(100));
    assert_eq!(s.retime(0), None, "programmed once");
    assert_eq!(s.retime(1), None, "cpu 1 does not watch");

    assert_eq!(s.sleep_until(1, 50), Next::Switch { from: p20, to: p5 });
    assert_eq!(
        s.deadline_watcher(),
        1,
        "the earliest deadline moves the watcher"
    );
    assert_eq!(s.retime(1), Some(50));
    assert_eq!(
        s.alarm(0),
        UNTIMED,
        "a cpu that does not watch ignores the deadlines"
    );
    assert_eq!(
        s.retime(0),
        None,
        "cpu 0's timer may fire early, never late"
    );

    // A later deadline does not move the watcher.
    s.set_now(20);
    let idle0 = s.idle_thread(0).unwrap();
    assert_eq!(
        s.sleep_until(0, 70),
        Next::Switch {
            from: p10,
            to: idle0
        }
    );
    assert_eq!(s.deadline_watcher(), 1);
    assert_eq!(s.retime(0), None);
    assert_eq!(s.retime(1), None);

    // cpu 0's early interrupt finds nothing and turns its timer off.
    assert_eq!(s.tick(0, 30), Next::Keep);
    assert_eq!(s.retime_now(0), UNTIMED);
    // cpu 1's interrupt wakes p20 (for idle cpu 0) and programs the next deadline.
    assert_eq!(s.tick(1, 50), Next::Keep);
    assert_eq!(s.retime_now(1), 70);
    assert_eq!(s.take_new_kicks(), 0b01);
    assert_eq!(
        s.preempt_check(0),
        Next::Switch {
            from: idle0,
            to: p20
        }
    );
    assert_eq!(s.retime(0), None);
    assert_eq!(s.tick(1, 70), Next::Switch { from: p5, to: p10 });
    assert_eq!(s.retime_now(1), 100);
    s.check_invariants().unwrap();
}

#[test]
fn a_better_thread_due_elsewhere_gives_no_slice_and_no_kick() {
    // cpu 0 runs a 5 untimed, cpu 1 idles.
    let (mut s, ids) = smp(100, 2, &[5]);
    assert_eq!(s.current(0), ids[0]);
    assert!(s.is_idle(s.current(1)));
    assert_eq!(s.take_new_kicks(), 0);
    let t = s.spawn(20, 9);
    // The 20 goes to the idle cpu 1; cpu 0's 5 has nobody of its priority to share with.
    assert_eq!(
        s.take_new_kicks(),
        0b10,
        "only the cpu the thread is due on"
    );
    assert_eq!(s.slice_end(0), UNTIMED);
    assert_eq!(switched_to(s.preempt_check(1)), t);
    assert_eq!(s.alarm(0), UNTIMED);
    s.check_invariants().unwrap();
}

#[test]
fn a_peer_an_idle_cpu_takes_gives_no_slice_and_no_kick() {
    // cpu 0 and cpu 1 run a 10 each, untimed; cpu 2 idles.
    let (mut s, ids) = smp(100, 3, &[10, 10]);
    assert!(s.is_idle(s.current(2)));
    // cpu 0 started with a peer, which cpu 1 then took: its first retime drops the slice.
    assert_eq!(s.retime(0), Some(UNTIMED));
    assert_eq!(s.take_new_kicks(), 0);
    let c = s.spawn(10, 9);
    // The idle cpu takes it: nobody has to share, so only cpu 2 is told.
    assert_eq!(s.take_new_kicks(), 0b100);
    assert_eq!((s.slice_end(0), s.slice_end(1)), (UNTIMED, UNTIMED));
    assert_eq!(switched_to(s.preempt_check(2)), c);
    assert_eq!(s.take_new_kicks(), 0);
    // A second one finds no idle cpu: it waits, and every cpu running its priority shares.
    s.set_now(50);
    let d = s.spawn(10, 10);
    assert_eq!(s.take_new_kicks(), 0b111);
    assert_eq!(
        (s.slice_end(0), s.slice_end(1), s.slice_end(2)),
        (150, 150, 150)
    );
    assert_eq!(
        s.tick(1, 150),
        Next::Switch {
            from: ids[1],
            to: d
        }
    );
    s.check_invariants().unwrap();
}

#[test]
fn a_deadline_equal_to_the_earliest_also_moves_the_watcher() {
    let (mut s, _) = smp(1_000, 2, &[30, 20, 10, 5]);
    let _ = s.sleep_until(0, 50);
    assert_eq!(s.retime(0), Some(50));
    let _ = s.sleep_until(1, 50);
    assert_eq!(s.deadline_watcher(), 1);
    assert_eq!(s.retime(1), Some(50));
}

#[test]
fn a_timed_wait_makes_its_cpu_the_watcher() {
    let (mut s, _) = smp(1_000, 2, &[30, 20, 10, 5]);
    let _ = s.sleep_until(0, 80);
    assert_eq!(s.deadline_watcher(), 0);
    let q = s.create_queue();
    let _ = s.wait_on(1, q, Some(60)).unwrap();
    assert_eq!(s.deadline_watcher(), 1);
    assert_eq!(s.retime(1), Some(60));
    assert_eq!(s.alarm(0), UNTIMED);
}

#[test]
fn take_new_kicks_names_a_cpu_whose_untimed_thread_got_a_peer() {
    let (mut s, _) = smp(100, 2, &[20, 10]);
    assert_eq!(s.slice_end(0), UNTIMED);
    assert_eq!(s.slice_end(1), UNTIMED);
    assert_eq!(s.take_new_kicks(), 0);
    s.set_now(5);
    // An equal of cpu 1's thread: it outranks nobody, so nobody is designated, but cpu 1's
    // thread must now share: its slice starts, and cpu 1 must program its timer.
    let c = s.spawn(10, 9);
    assert_eq!(s.kicks(), 0);
    assert_eq!(s.take_new_kicks(), 0b10);
    assert_eq!(s.slice_end(1), 105);
    assert_eq!(s.slice_end(0), UNTIMED, "cpu 0's thread has no peer");
    assert_eq!(s.preempt_check(1), Next::Keep);
    assert_eq!(s.retime(1), Some(105));
    assert_eq!(s.take_new_kicks(), 0, "told once");
    let t = s.current(1);
    assert_eq!(s.tick(1, 105), Next::Switch { from: t, to: c });
    s.check_invariants().unwrap();
}

#[test]
fn a_peer_for_the_callers_own_cpu_needs_no_interrupt_there() {
    // Both CPUs run level 5 untimed; CPU0's thread spawns a third of level 5.
    let (mut s, _ids) = smp(10, 2, &[5, 5]);
    let _ = s.take_new_kicks();
    s.set_now(10);
    let _ = s.tick(0, 10);
    let _ = s.tick(1, 10);
    let _ = s.retime_now(0);
    let _ = s.retime_now(1);
    assert_eq!(s.slice_end(0), Ticks::MAX);
    assert_eq!(s.slice_end(1), Ticks::MAX);
    s.set_now(13);
    let _c = s.spawn(5, 9);
    assert_eq!(s.preempt_check(0), Next::Keep);
    // Both CPUs start a slice; CPU1 is told, CPU0 programs its own timer.
    assert_eq!(s.take_new_kicks_on(0), 0b10);
    assert_eq!(s.retime(0), Some(23));
}

#[test]
fn a_pinned_peer_made_ready_on_another_cpu_starts_the_slice_there_and_says_so() {
    // CPU 1 runs a thread pinned to it, untimed; CPU 0 (idle) makes an equal ready that is
    // pinned to CPU 1 too: it outranks nobody, but CPU 1's thread must now share its CPU,
    // and only CPU 1 can program its timer for that slice.
    let mut s = super::started(100, 2);
    let a = s.spawn_with_affinity(10, 0b10, 1).unwrap();
    let idle = s.current(1);
    assert_eq!(s.preempt_check(1), Next::Switch { from: idle, to: a });
    assert_eq!(s.current(1), a);
    assert_eq!(s.slice_end(1), UNTIMED);
    let _ = s.take_new_kicks_on(0);
    s.set_now(5);
    let b = s.spawn_with_affinity(10, 0b10, 2).unwrap();
    assert_eq!(s.preempt_check(0), Next::Keep, "b may not run on cpu 0");
    assert_eq!(s.take_new_kicks_on(0), 0b10);
    assert_eq!(s.slice_end(1), 105);
    assert_eq!(s.take_new_kicks_on(0), 0, "told once");
    assert_eq!(s.tick(1, 105), Next::Switch { from: a, to: b });
    s.check_invariants().unwrap();
}
