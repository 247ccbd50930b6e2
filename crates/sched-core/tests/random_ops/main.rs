//! Random operation sequences against the scheduler, checked after every step.
//!
//! Unit tests pin down the cases someone thought of; this suite looks for the
//! interleavings nobody did. A small shadow model remembers what only the test
//! can know (sleep deadlines, which data went to which thread), and every step
//! is followed by the scheduler's own audit plus checks made through the public
//! API alone. At the end everything is torn down to prove nothing leaks.

use proptest::prelude::*;
use sched_core::{Priority, Ticks};

const CPUS: usize = 2;

#[derive(Debug, Clone)]
enum Op {
    Spawn(Priority),
    Yield(usize),
    PreemptCheck(usize),
    Tick(usize, Ticks),
    Sleep(usize, i64),
    Block(usize),
    Wake(usize),
    Exit(usize, bool),
    Join(usize, usize),
    Reap(usize),
    Detach(usize),
    SetPriority(usize, Priority),
}

fn prio() -> impl Strategy<Value = Priority> {
    // A few values so that levels are shared, plus the extremes.
    prop::sample::select(vec![0u8, 1, 10, 10, 20, 128, 255])
}

fn op() -> impl Strategy<Value = Op> {
    let cpu = 0..CPUS;
    let pick = any::<usize>();
    prop_oneof![
        3 => prio().prop_map(Op::Spawn),
        2 => cpu.clone().prop_map(Op::Yield),
        2 => cpu.clone().prop_map(Op::PreemptCheck),
        5 => (cpu.clone(), 0u64..4).prop_map(|(c, dt)| Op::Tick(c, dt)),
        2 => (cpu.clone(), -3i64..8).prop_map(|(c, d)| Op::Sleep(c, d)),
        1 => cpu.clone().prop_map(Op::Block),
        2 => pick.prop_map(Op::Wake),
        2 => (cpu.clone(), any::<bool>()).prop_map(|(c, f)| Op::Exit(c, f)),
        2 => (cpu.clone(), pick).prop_map(|(c, p)| Op::Join(c, p)),
        2 => pick.prop_map(Op::Reap),
        1 => pick.prop_map(Op::Detach),
        1 => (pick, prio()).prop_map(|(p, q)| Op::SetPriority(p, q)),
    ]
}

mod harness;

use harness::Harness;

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 256,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn random_operations_keep_every_invariant(
        initial in prop::collection::vec(prio(), 0..5),
        ops in prop::collection::vec(op(), 0..200),
    ) {
        let mut h = Harness::new(&initial);
        h.check_always()?;
        for op in &ops {
            h.apply(op)?;
            h.check_always()?;
        }
        h.tear_down()?;
    }
}
