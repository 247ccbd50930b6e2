//! Random operation sequences against the scheduler, checked after every step.
//!
//! The interpreter (`sched_core::interp`, shared with the fuzz target) plays
//! the kernel and keeps the shadow model; this driver only chooses what to do.
//! Generating [`Op`] values rather than bytes lets proptest shrink a failure
//! to a short, readable scenario. The weights favour the operations that
//! create contention (locks, waits, ticks that fire timeouts) over the ones
//! that merely reshuffle.

use proptest::prelude::*;
use sched_core::interp::{self, Interp, Op, CPUS, PRIORITIES};
use sched_core::Ticks;

fn prio() -> impl Strategy<Value = u8> {
    prop::sample::select(PRIORITIES.to_vec())
}

fn cpu() -> impl Strategy<Value = u8> {
    0..CPUS as u8
}

fn timeout() -> impl Strategy<Value = Option<Ticks>> {
    prop_oneof![Just(None), (0u64..5).prop_map(Some)]
}

fn thread_op() -> impl Strategy<Value = Op> {
    let pick = any::<u8>();
    prop_oneof![
        3 => prio().prop_map(Op::Spawn),
        2 => cpu().prop_map(Op::Yield),
        2 => cpu().prop_map(Op::PreemptCheck),
        6 => (cpu(), 0u64..4).prop_map(|(c, dt)| Op::Tick(c, dt)),
        1 => (cpu(), -3i8..8).prop_map(|(c, d)| Op::Sleep(c, d)),
        1 => cpu().prop_map(Op::Block),
        2 => pick.prop_map(Op::Wake),
        2 => (cpu(), any::<bool>()).prop_map(|(c, f)| Op::Exit(c, f)),
        1 => (cpu(), pick).prop_map(|(c, p)| Op::Join(c, p)),
        2 => pick.prop_map(Op::Reap),
        1 => pick.prop_map(Op::Detach),
        2 => (pick, prio()).prop_map(|(p, q)| Op::SetPriority(p, q)),
        2 => (prio(), 0u8..16).prop_map(|(p, m)| Op::SpawnAffine(p, m)),
        2 => (cpu(), 0u8..16).prop_map(|(c, m)| Op::SetAffinity(c, m)),
        2 => cpu().prop_map(Op::TakeResult),
    ]
}

fn sync_op() -> impl Strategy<Value = Op> {
    let pick = any::<u8>();
    prop_oneof![
        1 => Just(Op::CreateQueue),
        2 => any::<bool>().prop_map(|fast| Op::CreateMutex { fast }),
        1 => (0u8..3).prop_map(Op::CreateSemaphore),
        1 => Just(Op::CreateEvent),
        1 => pick.prop_map(Op::Destroy),
        2 => (cpu(), pick, timeout()).prop_map(|(c, p, t)| Op::WaitOn(c, p, t)),
        1 => (cpu(), pick).prop_map(|(c, p)| Op::WakeOne(c, p)),
        1 => (cpu(), pick).prop_map(|(c, p)| Op::WakeAll(c, p)),
        6 => (cpu(), pick, timeout()).prop_map(|(c, p, t)| Op::Lock(c, p, t)),
        1 => (cpu(), pick).prop_map(|(c, p)| Op::TryLock(c, p)),
        4 => (cpu(), pick).prop_map(|(c, p)| Op::Unlock(c, p)),
        1 => pick.prop_map(Op::ClearPoison),
        2 => (cpu(), pick, timeout()).prop_map(|(c, p, t)| Op::SemAcquire(c, p, t)),
        1 => pick.prop_map(Op::SemTryAcquire),
        2 => (cpu(), pick).prop_map(|(c, p)| Op::SemRelease(c, p)),
        1 => (cpu(), pick).prop_map(|(c, p)| Op::SemReleaseDrain(c, p)),
        2 => (cpu(), pick, 0u8..16, any::<bool>(), any::<bool>(), timeout()).prop_map(
            |(cpu, pick, mask, any, clear, timeout)| Op::EventWait { cpu, pick, mask, any, clear, timeout }
        ),
        2 => (cpu(), pick, 0u8..16).prop_map(|(c, p, b)| Op::EventSet(c, p, b)),
        2 => (cpu(), pick, 0u8..16, 0u8..16, timeout()).prop_map(
            |(cpu, pick, set, wait_for, timeout)| Op::EventSync { cpu, pick, set, wait_for, timeout }
        ),
        1 => (pick, 0u8..16).prop_map(|(p, b)| Op::EventClear(p, b)),
        2 => (cpu(), timeout()).prop_map(|(c, t)| Op::Park(c, t)),
        2 => (cpu(), pick).prop_map(|(c, p)| Op::Unpark(c, p)),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![2 => thread_op(), 3 => sync_op()]
}

/// A core mask naming one core, sometimes two: threads pinned as the SMP benchmarks and most
/// programs pin them, where the release's kicks take their one-CPU short cuts.
fn pinned_mask() -> impl Strategy<Value = u8> {
    prop_oneof![4 => (0..CPUS as u8).prop_map(|c| 1 << c), 1 => 0u8..16]
}

/// Mostly threads pinned to single cores taking turns, waking each other through
/// semaphores and park/unpark, with ticks: the cross-core wake-ups and slice starts of
/// pinned peers, which the general mix reaches only rarely.
fn pinned_op() -> impl Strategy<Value = Op> {
    let pick = any::<u8>();
    prop_oneof![
        4 => (prio(), pinned_mask()).prop_map(|(p, m)| Op::SpawnAffine(p, m)),
        2 => (cpu(), pinned_mask()).prop_map(|(c, m)| Op::SetAffinity(c, m)),
        3 => cpu().prop_map(Op::Yield),
        2 => cpu().prop_map(Op::PreemptCheck),
        4 => (cpu(), 0u64..4).prop_map(|(c, dt)| Op::Tick(c, dt)),
        1 => (cpu(), -3i8..8).prop_map(|(c, d)| Op::Sleep(c, d)),
        2 => (cpu(), any::<bool>()).prop_map(|(c, f)| Op::Exit(c, f)),
        1 => (pick, prio()).prop_map(|(p, q)| Op::SetPriority(p, q)),
        1 => (0u8..3).prop_map(Op::CreateSemaphore),
        3 => (cpu(), pick, timeout()).prop_map(|(c, p, t)| Op::SemAcquire(c, p, t)),
        3 => (cpu(), pick).prop_map(|(c, p)| Op::SemRelease(c, p)),
        2 => (cpu(), timeout()).prop_map(|(c, t)| Op::Park(c, t)),
        2 => (cpu(), pick).prop_map(|(c, p)| Op::Unpark(c, p)),
        1 => pick.prop_map(Op::Reap),
    ]
}

fn run_ops(cpus: usize, initial: &[u8], ops: &[Op]) -> Result<(), TestCaseError> {
    let mut it = Interp::with_cpus(cpus, initial);
    it.check_always().map_err(TestCaseError::fail)?;
    for (step, op) in ops.iter().enumerate() {
        it.apply(op)
            .and_then(|()| it.check_always())
            .map_err(|e| TestCaseError::fail(format!("step {step} ({op:?}): {e}")))?;
    }
    it.tear_down()
        .map_err(|e| TestCaseError::fail(format!("tear-down: {e}")))
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 512,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn random_operations_keep_every_invariant(
        initial in prop::collection::vec(prio(), 0..5),
        ops in prop::collection::vec(op(), 0..250),
    ) {
        run_ops(CPUS, &initial, &ops)?;
    }

    /// The same, mostly with threads pinned to single cores.
    #[test]
    fn random_operations_on_pinned_threads_keep_every_invariant(
        initial in prop::collection::vec(prio(), 0..3),
        ops in prop::collection::vec(pinned_op(), 0..250),
    ) {
        run_ops(CPUS, &initial, &ops)?;
    }

    /// The same with one CPU: the scheduler's one-CPU mode, where no kicks are sent and the
    /// CPU's own checks notice every thread made ready.
    #[test]
    fn random_operations_on_one_cpu_keep_every_invariant(
        initial in prop::collection::vec(prio(), 0..5),
        ops in prop::collection::vec(op(), 0..250),
    ) {
        run_ops(1, &initial, &ops)?;
    }

    #[test]
    fn encoded_scenarios_decode_to_themselves(
        initial in prop::collection::vec(prio(), 0..5),
        ops in prop::collection::vec(op(), 0..60),
    ) {
        let bytes = interp::encode(&initial, &ops);
        let (i2, o2) = interp::decode(&bytes, usize::MAX);
        prop_assert_eq!(i2, initial);
        prop_assert_eq!(o2, ops);
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 256,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// The fuzz entry point on arbitrary bytes, as libFuzzer would call it.
    #[test]
    fn raw_bytes_never_break_an_invariant(bytes in prop::collection::vec(any::<u8>(), 0..1200)) {
        interp::run(&bytes).map_err(TestCaseError::fail)?;
    }
}
