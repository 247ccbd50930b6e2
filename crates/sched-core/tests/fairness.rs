//! Round robin is only worth having if it is fair, including when threads of
//! higher priority keep interrupting: a preempted thread must neither lose its
//! turn nor get a second one. These properties measure the time each thread
//! actually receives instead of trusting the queue mechanics.
//!
//! The runs are tickless, as the kernel is: time jumps from one timer interrupt to the
//! next, the timer being programmed for whatever [`retime`](Scheduler::retime) asks at the
//! end of each decision, so a slice that never ended, or ended late, shows up as time given
//! to the wrong thread.

use std::collections::HashMap;

use proptest::prelude::*;
use sched_core::{Next, Priority, Scheduler, ThreadId, Ticks};

/// What a run observed.
struct Run {
    /// The always-ready threads of equal priority.
    ids: Vec<ThreadId>,
    /// Who ran each unit of time, in order.
    owners: Vec<ThreadId>,
    /// Slices started per thread (the start plus every switch to it).
    slices: HashMap<ThreadId, u64>,
    /// Timer interrupts taken.
    interrupts: u64,
}

/// Runs `n` always-ready threads of priority `prio` on cpu 0 for `total` units of time.
/// With `interrupter = Some((p, period))` a thread of priority `p > prio` also exists that
/// wakes every `period` units and goes straight back to sleep, so that it takes no time
/// itself. `spurious` lists times at which the timer also fires for nothing (it must change
/// nothing).
fn run(
    n: usize,
    prio: Priority,
    slice: Ticks,
    total: Ticks,
    interrupter: Option<(Priority, Ticks)>,
    spurious: &[Ticks],
) -> Run {
    let mut s = Scheduler::new(slice);
    s.add_idle(0, ());
    let high = interrupter.map(|(p, _)| s.spawn(p, ()));
    let ids: Vec<_> = (0..n).map(|_| s.spawn(prio, ())).collect();
    let mut slices: HashMap<ThreadId, u64> = HashMap::new();
    let mut owners = Vec::new();
    let started = |next: Next, slices: &mut HashMap<ThreadId, u64>| {
        if let Next::Switch { to, .. } = next {
            *slices.entry(to).or_default() += 1;
        }
    };
    let first = s.start(0);
    *slices.entry(first).or_default() += 1;
    let _ = s.retime(0);
    let mut spurious = spurious.to_vec();
    spurious.sort_unstable();
    let mut spurious = spurious.into_iter().peekable();
    let mut now = 0;
    let mut interrupts = 0;
    loop {
        let cur = s.current(0);
        if Some(cur) == high {
            let period = interrupter.unwrap().1;
            s.set_now(now);
            started(s.sleep_until(0, now + period), &mut slices);
            let _ = s.retime(0);
            continue;
        }
        // The next interrupt: the programmed timer, or a spurious one before it.
        let timer = s.timer_at(0);
        let (at, early) = match spurious.peek() {
            Some(&t) if t >= now && t < timer => (t, true),
            _ => (timer, false),
        };
        if early {
            spurious.next();
        }
        if at >= total {
            owners.extend((now..total).map(|_| cur));
            break;
        }
        assert!(at >= now, "timer programmed in the past: {at} < {now}");
        owners.extend((now..at).map(|_| cur));
        now = at;
        interrupts += 1;
        started(s.tick(0, now), &mut slices);
        let _ = s.retime_now(0);
        s.check_invariants().unwrap();
        if !early {
            // The programmed timer fired: the next one is later (no interrupt storm).
            assert!(
                s.timer_at(0) > now,
                "timer at {} after one at {now}",
                s.timer_at(0)
            );
        }
    }
    Run {
        ids,
        owners,
        slices,
        interrupts,
    }
}

fn time_of(run: &Run) -> Vec<u64> {
    run.ids
        .iter()
        .map(|id| run.owners.iter().filter(|&o| o == id).count() as u64)
        .collect()
}

fn position(r: &Run) -> Vec<usize> {
    r.owners
        .iter()
        .map(|o| r.ids.iter().position(|i| i == o).unwrap())
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 64,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn equal_priority_threads_get_equal_time(
        n in 2usize..7,
        slice in 1u64..1_000,
        k in 1u64..7,
        prio in any::<Priority>(),
    ) {
        let total = k * n as u64 * slice;
        let r = run(n, prio, slice, total, None, &[]);
        let per_thread = k * slice;
        prop_assert!(time_of(&r).iter().all(|&t| t == per_thread), "time {:?}", time_of(&r));
        let counts: Vec<u64> = r.ids.iter().map(|id| r.slices.get(id).copied().unwrap_or(0)).collect();
        let (lo, hi) = (*counts.iter().min().unwrap(), *counts.iter().max().unwrap());
        prop_assert!(hi - lo <= 1, "slices per thread {:?}", counts);
        prop_assert!(lo >= k);
        // Tickless: one interrupt per slice end, none in between.
        prop_assert_eq!(r.interrupts, k * n as u64 - 1);
    }

    #[test]
    fn preemption_by_a_higher_thread_costs_no_turn(
        n in 2usize..6,
        slice in 1u64..50,
        period in 1u64..90,
        rounds in 2u64..8,
    ) {
        // Every unit goes to a low thread either way, so the interrupted
        // schedule must be unit for unit the uninterrupted one.
        let total = rounds * n as u64 * slice;
        let calm = run(n, 10, slice, total, None, &[]);
        let busy = run(n, 10, slice, total, Some((20, period)), &[]);
        prop_assert_eq!(position(&calm), position(&busy));
        let time = time_of(&busy);
        prop_assert!(time.iter().all(|&t| t == rounds * slice), "time {:?}", time);
    }

    #[test]
    fn early_interrupts_change_nothing(
        n in 2usize..6,
        slice in 1u64..50,
        rounds in 2u64..6,
        spurious in prop::collection::vec(0u64..600, 0..40),
    ) {
        let total = rounds * n as u64 * slice;
        let calm = run(n, 10, slice, total, None, &[]);
        let noisy = run(n, 10, slice, total, None, &spurious);
        prop_assert_eq!(position(&calm), position(&noisy));
    }
}

/// A thread alone at its level is never interrupted for its slice, however long it runs.
#[test]
fn a_lone_thread_takes_no_interrupt() {
    let r = run(1, 10, 5, 10_000, None, &[]);
    assert_eq!(r.interrupts, 0);
    assert_eq!(time_of(&r), [10_000]);
}
