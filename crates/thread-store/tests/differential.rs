//! The scheduler behaves the same whichever store its tables live in.
//!
//! The kernel runs `Scheduler<_, Masked>`; the host tests, proptests and the fuzzer run the
//! default, bounds-checked store. This test closes the gap: random operation sequences (raw
//! bytes decoded by `sched_core::interp`, the fuzzer's own format, and the committed fuzz
//! corpus) run on both, each under the interpreter's full checks, and after every step the
//! two schedulers must answer every query alike: the same ids handed out, the same thread on
//! each CPU, the same state, priorities, deadlines and counts, the same room left in the
//! tables. The tables start small (four thread slots) and grow in place, so the moves into a
//! larger store are exercised too.

use std::fmt::Write as _;
use std::fs;
use std::path::PathBuf;

use proptest::prelude::*;
use sched_core::interp::{decode, Interp, CPUS, MAX_OPS};
use sched_core::{Checked, StoreKind};
use thread_store::Masked;

/// Everything the public API says about the scheduler, as text.
fn snapshot<S: StoreKind>(it: &Interp<S>) -> String {
    let s = it.scheduler();
    let mut out = String::new();
    for cpu in 0..CPUS {
        let _ = write!(
            out,
            "cpu{cpu}: {:?} slice end {} timer {} idle {:?}; ",
            s.try_current(cpu),
            s.slice_end(cpu),
            s.timer_at(cpu),
            s.idle_thread(cpu)
        );
    }
    for &id in it.known_threads() {
        let _ = write!(
            out,
            "{id:?}: {:?} {:?}/{:?} data {:?} deadline {:?} idle {} detached {}; ",
            s.state(id),
            s.priority(id),
            s.base_priority(id),
            s.data(id),
            s.sleep_deadline(id),
            s.is_idle(id),
            s.is_detached(id),
        );
    }
    let _ = write!(
        out,
        "threads {} live {} ready {} sleeping {} now {} watcher {} room {} objects {}",
        s.thread_count(),
        s.live_entries(),
        s.ready_count(),
        s.sleeping_count(),
        s.now(),
        s.deadline_watcher(),
        s.has_thread_room(),
        s.object_room(),
    );
    out
}

/// Runs the scenario `bytes` encodes on both stores, comparing after every step.
fn run_both(bytes: &[u8]) -> Result<(), String> {
    let (initial, ops) = decode(bytes, MAX_OPS);
    let mut checked: Interp<Checked> = Interp::with_store(&initial);
    let mut masked: Interp<Masked> = Interp::with_store(&initial);
    if snapshot(&checked) != snapshot(&masked) {
        return Err(format!(
            "after setup:\n  checked {}\n  masked  {}",
            snapshot(&checked),
            snapshot(&masked)
        ));
    }
    for (step, op) in ops.iter().enumerate() {
        let a = checked.apply(op).and_then(|()| checked.check_always());
        let b = masked.apply(op).and_then(|()| masked.check_always());
        if a != b {
            return Err(format!("step {step} ({op:?}): checked {a:?}, masked {b:?}"));
        }
        if a.is_err() {
            return Err(format!("step {step} ({op:?}): {a:?}"));
        }
        let (x, y) = (snapshot(&checked), snapshot(&masked));
        if x != y {
            return Err(format!(
                "step {step} ({op:?}):\n  checked {x}\n  masked  {y}"
            ));
        }
    }
    let a = checked.tear_down();
    let b = masked.tear_down();
    if a != b || a.is_err() {
        return Err(format!("tear-down: checked {a:?}, masked {b:?}"));
    }
    Ok(())
}

#[test]
fn committed_fuzz_corpus_runs_alike_on_both_stores() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/sched_ops");
    let mut count = 0;
    for entry in fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        if path.is_file() {
            count += 1;
            let bytes = fs::read(&path).unwrap();
            if let Err(e) = run_both(&bytes) {
                panic!("{}: {e}", path.display());
            }
        }
    }
    assert!(count > 0, "no corpus files in {}", dir.display());
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 256,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn random_scenarios_run_alike_on_both_stores(
        bytes in prop::collection::vec(any::<u8>(), 0..1500)
    ) {
        run_both(&bytes).map_err(TestCaseError::fail)?;
    }
}
