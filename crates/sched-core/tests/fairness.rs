//! Round robin is only worth having if it is fair, including when threads of
//! higher priority keep interrupting: a preempted thread must neither lose its
//! turn nor get a second one. These properties measure what each thread
//! actually receives instead of trusting the queue mechanics.

use std::collections::HashMap;

use proptest::prelude::*;
use sched_core::{Next, Priority, Scheduler, ThreadId, Ticks};

/// What a run observed.
struct Run {
    /// The always-ready threads of equal priority.
    ids: Vec<ThreadId>,
    /// Which thread was charged each tick, in order.
    owners: Vec<ThreadId>,
    /// Slices started per thread (the start plus every switch to it).
    slices: HashMap<ThreadId, u64>,
}

/// Runs `n` always-ready threads of priority `prio` on cpu 0 for `total`
/// ticks. With `interrupter = Some((p, period))` a thread of priority `p > prio`
/// also exists that wakes every `period` ticks and goes straight back to
/// sleep, so that it is never charged a tick itself.
fn run(
    n: usize,
    prio: Priority,
    slice: u64,
    total: Ticks,
    interrupter: Option<(Priority, Ticks)>,
) -> Run {
    let mut s = Scheduler::new(slice);
    s.add_idle(0, ());
    let high = interrupter.map(|(p, _)| s.spawn(p, ()));
    let ids: Vec<_> = (0..n).map(|_| s.spawn(prio, ())).collect();
    let mut slices: HashMap<ThreadId, u64> = HashMap::new();
    let mut owners = Vec::new();
    let started = |to: ThreadId, slices: &mut HashMap<ThreadId, u64>| {
        *slices.entry(to).or_default() += 1;
    };
    let first = s.start(0);
    started(first, &mut slices);
    let mut now = 0;
    loop {
        let cur = s.current(0);
        if Some(cur) == high {
            let period = interrupter.unwrap().1;
            if let Next::Switch { to, .. } = s.sleep_until(0, now + period) {
                started(to, &mut slices);
            }
            continue;
        }
        if now == total {
            break;
        }
        now += 1;
        owners.push(cur);
        if let Next::Switch { to, .. } = s.tick(0, now) {
            started(to, &mut slices);
        }
        s.check_invariants().unwrap();
    }
    Run {
        ids,
        owners,
        slices,
    }
}

fn ticks_of(run: &Run) -> Vec<u64> {
    run.ids
        .iter()
        .map(|id| run.owners.iter().filter(|&o| o == id).count() as u64)
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 64,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn equal_priority_threads_get_equal_slices(
        n in 2usize..7,
        slice in 1u64..6,
        k in 1u64..7,
        prio in any::<Priority>(),
    ) {
        let total = k * n as u64 * slice;
        let r = run(n, prio, slice, total, None);
        let per_thread = k * slice;
        prop_assert!(ticks_of(&r).iter().all(|&t| t == per_thread), "ticks {:?}", ticks_of(&r));
        let counts: Vec<u64> = r.ids.iter().map(|id| r.slices.get(id).copied().unwrap_or(0)).collect();
        let (lo, hi) = (*counts.iter().min().unwrap(), *counts.iter().max().unwrap());
        prop_assert!(hi - lo <= 1, "slices per thread {:?}", counts);
        prop_assert!(lo >= k);
    }

    #[test]
    fn preemption_by_a_higher_thread_costs_no_turn(
        n in 2usize..6,
        slice in 1u64..6,
        period in 1u64..9,
        rounds in 2u64..8,
    ) {
        // Every tick goes to a low thread either way, so the interrupted
        // schedule must be tick for tick the uninterrupted one.
        let total = rounds * n as u64 * slice;
        let calm = run(n, 10, slice, total, None);
        let busy = run(n, 10, slice, total, Some((20, period)));
        let position = |r: &Run| -> Vec<usize> {
            r.owners.iter().map(|o| r.ids.iter().position(|i| i == o).unwrap()).collect()
        };
        prop_assert_eq!(position(&calm), position(&busy));
        let ticks = ticks_of(&busy);
        prop_assert!(ticks.iter().all(|&t| t == rounds * slice), "ticks {:?}", ticks);
    }
}
