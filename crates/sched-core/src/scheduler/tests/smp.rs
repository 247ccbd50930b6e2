//! Several CPUs: kicks (which CPUs a ready thread outranks), the checks they cause, affinity.

use super::switched_to;
use crate::{Next, Priority, SchedError, Scheduler, State, ThreadId, ALL_CPUS};

/// A scheduler with `cpus` idle threads, the threads of `prios` spawned in order, and the
/// CPUs started in order (each takes the best ready thread), and every kick delivered.
fn smp(cpus: usize, prios: &[Priority]) -> (Scheduler<u32>, std::vec::Vec<ThreadId>) {
    let mut s = Scheduler::new(3);
    for cpu in 0..cpus {
        let _ = s.add_idle(cpu, 100 + cpu as u32);
    }
    let ids = prios.iter().zip(1..).map(|(&p, d)| s.spawn(p, d)).collect();
    for cpu in 0..cpus {
        let _ = s.start(cpu);
    }
    deliver(&mut s);
    s.check_invariants().unwrap();
    (s, ids)
}

/// Runs `preempt_check` on every kicked CPU until no kick is left, as the kernel's IPIs do.
fn deliver(s: &mut Scheduler<u32>) {
    for _ in 0..16 {
        let kicks = s.kicks();
        if kicks == 0 {
            return;
        }
        for cpu in 0..crate::MAX_CPUS {
            if kicks & (1 << cpu) != 0 {
                let _ = s.preempt_check(cpu);
            }
        }
    }
    panic!("kicks never settle");
}

#[test]
fn a_wake_kicks_the_cpus_it_outranks_and_no_other() {
    // cpu0 50, cpu1 40, cpu2 30, cpu3 10.
    let (mut s, ids) = smp(4, &[50, 10, 30, 40]);
    assert_eq!(s.current(3), ids[1]);
    let t = s.spawn(20, 9);
    assert_eq!(s.kicks(), 1 << 3);
    assert_eq!(s.preempt_check(0), Next::Keep, "cpu0 was not kicked");
    assert_eq!(switched_to(s.preempt_check(3)), t);
    // The preempted 10 outranks nobody: no further kick.
    assert_eq!(s.kicks(), 0);
    s.check_invariants().unwrap();

    // The same through a wake-up: sleep, then wake from another cpu.
    let _ = s.sleep_until(3, 1_000);
    assert_eq!(s.current(3), ids[1]);
    let _ = s.kicks();
    s.wake(t).unwrap();
    assert_eq!(s.kicks(), 1 << 3);
}

#[test]
fn an_idle_cpu_is_kicked_before_any_busy_one() {
    let (mut s, _) = smp(3, &[5, 10]);
    assert!(s.is_idle(s.current(2)));
    let t = s.spawn(1, 9);
    assert_eq!(s.kicks(), 1 << 2, "the idle cpu, though 1 < 5");
    assert_eq!(switched_to(s.preempt_check(2)), t);
}

#[test]
fn nobody_is_kicked_for_a_thread_that_outranks_nobody() {
    let (mut s, _) = smp(2, &[30, 40]);
    let t = s.spawn(30, 9);
    assert_eq!(s.kicks(), 0);
    assert_eq!(s.preempt_check(0), Next::Keep);
    assert_eq!(s.preempt_check(1), Next::Keep);
    assert_eq!(s.state(t), Some(State::Ready));
}

#[test]
fn two_threads_made_ready_at_once_go_to_two_cpus() {
    let (mut s, _) = smp(3, &[50]);
    let a = s.spawn(20, 8);
    let b = s.spawn(20, 9);
    assert_eq!(s.kicks(), 0b110, "the second goes to the next idle cpu");
    let _ = s.preempt_check(1);
    let _ = s.preempt_check(2);
    assert_eq!(s.kicks(), 0);
    let running = [s.current(1), s.current(2)];
    assert!(running.contains(&a) && running.contains(&b));
}

#[test]
fn one_cpu_kicks_nobody() {
    let (mut s, ids) = smp(1, &[10]);
    let _ = s.spawn(5, 9);
    let hi = s.spawn(20, 10);
    assert_eq!(s.kicks(), 0, "nobody else to tell");
    assert_eq!(switched_to(s.preempt_check(0)), hi);
    let _ = s.yield_now(0);
    let _ = s.tick(0, 10);
    s.set_priority(hi, 1).unwrap();
    assert_eq!(switched_to(s.preempt_check(0)), ids[0]);
    assert_eq!(s.kicks(), 0);
    // A thread pinned to the one cpu is no different.
    let pinned = s.spawn_with_affinity(30, 0b1, 11).unwrap();
    assert_eq!(s.kicks(), 1, "restricted threads make kicks exact");
    assert_eq!(switched_to(s.preempt_check(0)), pinned);
    s.check_invariants().unwrap();
}

#[test]
fn a_second_cpu_starting_ends_the_one_cpu_mode() {
    let mut s = Scheduler::new(3);
    let _ = s.add_idle(0, 100);
    let _ = s.add_idle(1, 101);
    let a = s.spawn(10, 1);
    let _ = s.start(0);
    // With one cpu a wake-up only marks cpu0 "look when you can"; cpu0 has not looked yet
    // when cpu1 starts and takes the thread.
    let x = s.spawn(30, 2);
    let _ = s.start(1);
    assert_eq!((s.current(0), s.current(1)), (a, x));
    assert_eq!(s.kicks(), 0, "nothing left to do on cpu0");
    // A new thread that outranks cpu0 kicks it.
    let t = s.spawn(20, 3);
    assert_eq!(s.kicks(), 0b01);
    assert_eq!(switched_to(s.preempt_check(0)), t);
    s.check_invariants().unwrap();
}

#[test]
fn dispatch_takes_only_threads_allowed_on_the_cpu() {
    let (mut s, _) = smp(2, &[]);
    let pinned = s.spawn_with_affinity(200, 0b10, 1).unwrap();
    assert_eq!(s.kicks(), 0b10, "only cpu1 may take it");
    assert_eq!(s.preempt_check(0), Next::Keep);
    assert!(s.is_idle(s.current(0)));
    let any = s.spawn(10, 2);
    assert_eq!(s.kicks(), 0b11, "cpu1 still runs its idle thread");
    assert_eq!(
        switched_to(s.preempt_check(0)),
        any,
        "cpu0 skips the pinned thread"
    );
    assert_eq!(switched_to(s.preempt_check(1)), pinned);
    s.check_invariants().unwrap();
}

#[test]
fn round_robin_and_yield_only_among_threads_allowed_here() {
    let (mut s, ids) = smp(2, &[10, 50]);
    let (a, b) = (ids[0], ids[1]);
    assert_eq!((s.current(0), s.current(1)), (b, a));
    // A peer of a's level that may only run on cpu0 (busy with 50).
    let peer = s.spawn_with_affinity(10, 0b01, 3).unwrap();
    assert_eq!(s.kicks(), 0);
    assert_eq!(s.yield_now(1), Next::Keep, "the peer may not run on cpu1");
    for now in 1..=6 {
        assert_eq!(
            s.tick(1, now),
            Next::Keep,
            "no round robin with a foreign peer"
        );
    }
    // Once cpu0 is free, the peer runs there.
    let _ = s.sleep_until(0, 1_000);
    assert_eq!(s.current(0), peer);
    s.check_invariants().unwrap();
}

#[test]
fn set_affinity_migrates_the_running_thread() {
    let (mut s, ids) = smp(2, &[20, 10]);
    let (hi, lo) = (ids[0], ids[1]);
    assert_eq!((s.current(0), s.current(1)), (hi, lo));
    assert_eq!(s.set_affinity(0, 0b11), Ok(Next::Keep));
    let next = s.set_affinity(0, 0b10).unwrap();
    assert_eq!(
        next,
        Next::Switch {
            from: hi,
            to: s.current(0)
        }
    );
    assert!(s.is_idle(s.current(0)));
    assert_eq!(s.kicks(), 0b10, "cpu1 runs the lower thread");
    assert_eq!(switched_to(s.preempt_check(1)), hi);
    assert_eq!(s.kicks(), 0b01, "the displaced thread goes to the idle cpu");
    assert_eq!(switched_to(s.preempt_check(0)), lo);
    assert_eq!(s.affinity(hi), Some(0b10));
    s.check_invariants().unwrap();
}

#[test]
fn affinity_errors() {
    let (mut s, ids) = smp(2, &[20]);
    assert_eq!(
        s.spawn_with_affinity(5, 0b100, 1),
        Err(SchedError::NoAllowedCpu),
        "cpu2 never started"
    );
    assert_eq!(
        s.spawn_with_affinity(5, 0, 1),
        Err(SchedError::NoAllowedCpu)
    );
    assert_eq!(s.set_affinity(0, 0b1100), Err(SchedError::NoAllowedCpu));
    assert_eq!(s.affinity(ids[0]), Some(ALL_CPUS), "unchanged");
    assert_eq!(s.set_affinity(1, 0b01), Err(SchedError::IdleThread));
    let t = s.spawn_with_affinity(5, u32::MAX, 1).unwrap();
    assert_eq!(
        s.affinity(t),
        Some(ALL_CPUS),
        "bits beyond MAX_CPUS are ignored"
    );
    assert_eq!(s.started_cpus(), 0b11);
}

#[test]
fn lowering_a_running_thread_kicks_its_cpu() {
    let (mut s, ids) = smp(2, &[50, 40, 30]);
    let (a, c) = (ids[0], ids[2]);
    assert_eq!(s.kicks(), 0);
    s.set_priority(a, 45).unwrap();
    assert_eq!(s.kicks(), 0, "still above every ready thread");
    s.set_priority(a, 10).unwrap();
    assert_eq!(s.kicks(), 0b01, "the ready 30 now outranks cpu0");
    assert_eq!(switched_to(s.preempt_check(0)), c);
}

#[test]
fn a_thread_due_on_a_cpu_a_better_one_took_moves_to_the_next_lowest() {
    // cpu0 50, cpu1 5, cpu2 idle.
    let (mut s, ids) = smp(3, &[50, 5]);
    assert!(s.is_idle(s.current(2)));
    let t = s.spawn(10, 8);
    assert_eq!(s.kicks(), 0b100, "the idle cpu, not cpu1");
    assert_eq!(s.preempt_check(1), Next::Keep, "t is not due on cpu1");
    // A better thread that may only run on cpu2 arrives before it looks.
    let pinned = s.spawn_with_affinity(20, 0b100, 9).unwrap();
    assert_eq!(s.kicks(), 0b110, "pinned on cpu2, t on the next lowest");
    assert_eq!(switched_to(s.preempt_check(2)), pinned);
    assert_eq!(s.kicks(), 0b010);
    assert_eq!(switched_to(s.preempt_check(1)), t);
    assert_eq!(s.state(ids[1]), Some(State::Ready));
    assert_eq!(s.kicks(), 0);
    s.check_invariants().unwrap();
}

#[test]
fn a_better_thread_preempts_only_the_lowest_cpu() {
    // cpu0 50, cpu1 40, cpu2 30, cpu3 10; then a 45 that outranks three of them.
    let (mut s, ids) = smp(4, &[50, 10, 30, 40]);
    let t = s.spawn(45, 9);
    assert_eq!(s.kicks(), 0b1000);
    assert_eq!(
        s.preempt_check(1),
        Next::Keep,
        "cpu1 (40) is not the lowest"
    );
    assert_eq!(
        s.tick(2, 1),
        Next::Keep,
        "nor is cpu2 (30), even on its tick"
    );
    assert_eq!(switched_to(s.preempt_check(3)), t);
    assert_eq!(s.kicks(), 0, "the displaced 10 outranks nobody");
    // Two at once: the 42 goes to the lowest (cpu2, 30); the 35 outranks no other cpu.
    let a = s.spawn(42, 10);
    let _ = s.spawn(35, 11);
    assert_eq!(s.kicks(), 0b0100);
    assert_eq!(switched_to(s.preempt_check(2)), a);
    assert_eq!(s.kicks(), 0);
    assert_eq!(s.state(ids[2]), Some(State::Ready), "the 30 waits");
    s.check_invariants().unwrap();
}

#[test]
fn a_kick_nobody_acted_on_is_named_again() {
    // The kernel's interrupts may merge or arrive after the CPU looked for another reason:
    // kicks are a function of the state, so the next release of the lock sends them again.
    let (mut s, _) = smp(3, &[50]);
    let _ = s.spawn(20, 9);
    assert_eq!(s.kicks(), 0b010, "the first of two idle cpus");
    assert_eq!(s.kicks(), 0b010, "nothing consumed by asking");
    let _ = s.tick(0, 1);
    assert_eq!(s.kicks(), 0b010, "nor by another cpu's tick");
    assert_eq!(
        s.preempt_check(2),
        Next::Keep,
        "not due on the other idle cpu"
    );
    assert_eq!(s.tick(2, 2), Next::Keep, "not even on its tick");
    assert!(s.preempt_check(1).is_switch());
    assert_eq!(s.kicks(), 0);
}

#[test]
fn a_check_switches_only_when_outranked() {
    let (mut s, _) = smp(2, &[50]);
    let _ = s.spawn(20, 9);
    assert_eq!(s.preempt_check(0), Next::Keep, "cpu0 was not kicked");
    assert_eq!(s.kicks(), 0b10);
    assert!(s.preempt_check(1).is_switch());
    assert_eq!(s.preempt_check(1), Next::Keep, "nothing better left");
}

#[test]
fn spawns_while_kicks_are_in_flight_fill_every_cpu() {
    // main (10) on cpu0, cpus 1-3 idle; four 20s spawned before any kick is delivered.
    let (mut s, ids) = smp(4, &[10]);
    let main = ids[0];
    let cpu_of_main = (0..4).find(|&c| s.current(c) == main).unwrap();
    let mut kicks = 0;
    let mut spawned = std::vec::Vec::new();
    for d in 0..4 {
        spawned.push(s.spawn(20, 50 + d));
        kicks |= s.kicks();
        let _ = s.preempt_check(cpu_of_main);
        kicks |= s.kicks();
    }
    for cpu in 0..4 {
        if kicks & (1 << cpu) != 0 {
            let _ = s.preempt_check(cpu);
        }
    }
    deliver(&mut s);
    for cpu in 0..4 {
        assert!(
            spawned.contains(&s.current(cpu)),
            "cpu {cpu} runs {:?}",
            s.current(cpu)
        );
    }
}

#[test]
fn a_cpu_whose_thread_blocked_before_its_check_is_kicked_again() {
    // cpu0 runs main (10), cpu1 runs x (30).
    let (mut s, ids) = smp(2, &[30, 10]);
    let (x, main) = (ids[0], ids[1]);
    assert_eq!((s.current(0), s.current(1)), (x, main));
    // main, on cpu1, spawns t (20): cpu1 itself is the one to preempt (its own kick).
    let t = s.spawn(20, 7);
    assert_eq!(s.kicks(), 1 << 1);
    // main blocks before it checks: cpu1 chooses t itself.
    let _ = s.sleep_until(1, 1_000);
    assert_eq!(s.current(1), t);
    // u (25) outranks t: cpu1 must be kicked.
    let u = s.spawn(25, 8);
    assert_eq!(s.kicks(), 1 << 1, "nobody kicked");
    assert_eq!(switched_to(s.preempt_check(1)), u);
    deliver(&mut s);
    s.check_invariants().unwrap();
}

#[test]
fn a_designated_cpu_is_told_once() {
    // cpu0 50, cpu1 idle: a 20 is due on cpu1; it is told at the first release only.
    let (mut s, _) = smp(2, &[50]);
    let _ = s.take_new_kicks();
    let t = s.spawn(20, 9);
    assert_eq!(s.take_new_kicks(), 0b10);
    assert_eq!(s.take_new_kicks(), 0, "still designated, already told");
    let _ = s.tick(0, 1);
    assert_eq!(s.take_new_kicks(), 0, "nor after another cpu's tick");
    assert_eq!(switched_to(s.preempt_check(1)), t);
    assert_eq!(s.take_new_kicks(), 0);
    // Designated again later: told again.
    let _ = s.sleep_until(1, 1_000);
    let _ = s.take_new_kicks();
    s.wake(t).unwrap();
    assert_eq!(s.take_new_kicks(), 0b10);
}

#[test]
fn a_yield_between_threads_pinned_to_one_cpu_tells_nobody_and_keeps_what_was_due() {
    // Four CPUs; a and b pinned to CPU 0 take turns there, the others idle.
    let mut s = super::started(3, 4);
    let a = s.spawn_with_affinity(10, 0b1, 1).unwrap();
    let b = s.spawn_with_affinity(10, 0b1, 2).unwrap();
    deliver(&mut s);
    let _ = s.take_new_kicks_on(0);
    assert_eq!(s.current(0), a);
    assert_eq!(s.yield_now(0), Next::Switch { from: a, to: b });
    assert_eq!(s.take_new_kicks_on(0), 0);
    s.check_invariants().unwrap();
    // A hold that left its kicks to a later one (an interrupt handler's wake-up, whose
    // reschedule check takes them): c, pinned to CPU 1, is due there. A yield on CPU 0 in
    // between tells nobody itself, and what was due stays due for the next take.
    let c = s.spawn_with_affinity(5, 0b10, 3).unwrap();
    assert_eq!(s.yield_now(0), Next::Switch { from: b, to: a });
    assert_eq!(
        s.take_new_kicks_on(0),
        0,
        "the swap itself changes nothing to tell"
    );
    assert_eq!(
        s.take_new_kicks_on(0),
        0b10,
        "c is still due on CPU 1, untold"
    );
    assert_eq!(
        s.preempt_check(1),
        Next::Switch {
            from: s.idle_thread(1).unwrap(),
            to: c
        }
    );
    s.check_invariants().unwrap();
}

proptest::proptest! {
    /// The claim behind the pinned yield's settled kicks, in states the interpreter never
    /// holds at the start of an operation: threads of any affinity made ready without their
    /// kicks delivered, some CPUs' checks run and others not. The swap must leave the
    /// designation as it was (debug builds also compare the other CPUs' peers inside
    /// `yield_now`), and the hold's take must answer at once.
    #[test]
    fn a_yield_between_pinned_threads_keeps_the_designation_in_any_state(
        cpu in 0usize..4,
        others in proptest::collection::vec((0u8..=10, 1u32..16), 0..10),
        checks in proptest::collection::vec(0usize..4, 0..6),
    ) {
        let mut s = super::started(3, 4);
        let a = s.spawn_with_affinity(10, 1 << cpu, 1).unwrap();
        let b = s.spawn_with_affinity(10, 1 << cpu, 2).unwrap();
        let idle = s.current(cpu);
        proptest::prop_assert_eq!(s.preempt_check(cpu), Next::Switch { from: idle, to: a });
        let _ = s.take_new_kicks_on(cpu);
        for (i, &(prio, affinity)) in others.iter().enumerate() {
            let _ = s.spawn_with_affinity(prio, affinity, 10 + i as u32).unwrap();
        }
        for &c in &checks {
            if c != cpu {
                let _ = s.preempt_check(c);
            }
        }
        s.check_invariants().unwrap();
        let before = s.kicks();
        proptest::prop_assert_eq!(s.yield_now(cpu), Next::Switch { from: a, to: b });
        proptest::prop_assert_eq!(s.kicks(), before, "the swap moved the designation");
        proptest::prop_assert_eq!(s.take_new_kicks_on(cpu), 0);
        s.check_invariants().unwrap();
    }
}
