//! Replays the committed fuzz corpus through the interpreter on stable.
//!
//! Fuzzing needs nightly and minutes; the corpus it leaves behind is the
//! distilled value of that time (inputs that reached new code). Replaying it
//! in every `cargo test` keeps those paths checked against regressions
//! without the fuzzer. The hand-written scenarios below are also the seeds of
//! that corpus: `cargo test -p sched-core --test fuzz_corpus -- --ignored`
//! rewrites them as `seed-*` files.

use std::fs;
use std::path::PathBuf;

use sched_core::interp::{self, Op};

fn corpus_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/sched_ops")
}

#[test]
fn committed_corpus_replays_cleanly() {
    let dir = corpus_dir();
    let entries = fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let mut failures = Vec::new();
    let mut count = 0;
    for entry in entries {
        let path = entry.unwrap().path();
        if !path.is_file() {
            continue;
        }
        count += 1;
        let bytes = fs::read(&path).unwrap();
        if let Err(e) = interp::run(&bytes) {
            failures.push(format!("{}: {e}", path.display()));
        }
    }
    assert!(count > 0, "no corpus files in {}", dir.display());
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn seed_scenarios_run_cleanly() {
    for (name, initial, ops) in seeds() {
        let bytes = interp::encode(&initial, &ops);
        assert_eq!(interp::decode(&bytes, usize::MAX), (initial, ops), "{name}");
        interp::run(&bytes).unwrap_or_else(|e| panic!("seed {name}: {e}"));
    }
}

#[test]
#[ignore = "writes files; run explicitly to refresh the seed corpus"]
fn write_seed_corpus() {
    let dir = corpus_dir();
    fs::create_dir_all(&dir).unwrap();
    for (name, initial, ops) in seeds() {
        fs::write(
            dir.join(format!("seed-{name}")),
            interp::encode(&initial, &ops),
        )
        .unwrap();
    }
}

/// Hand-made scenarios aimed at one feature each. Threads are picked by index
/// into "every id ever handed out" (0 and 1 are the idle threads); objects by
/// index among those of their kind.
fn seeds() -> Vec<(&'static str, Vec<u8>, Vec<Op>)> {
    use Op::*;
    let t = Some(3);
    vec![
        (
            "mutex-chain",
            vec![10, 20],
            vec![
                CreateMutex { fast: false },
                CreateMutex { fast: false },
                CreateMutex { fast: false },
                Lock(0, 0, None),
                Lock(1, 1, None),
                Spawn(128),
                PreemptCheck(0),
                Lock(0, 2, None),
                Lock(0, 1, t),
                Lock(1, 0, None),
                Spawn(255),
                PreemptCheck(0),
                PreemptCheck(1),
                Lock(0, 2, None),
                Tick(0, 2),
                Tick(1, 2),
                Unlock(0, 0),
                Unlock(1, 0),
                Unlock(1, 1),
                TakeResult(0),
                TakeResult(1),
            ],
        ),
        (
            "fast-mutex-exit",
            vec![20, 20, 10],
            vec![
                CreateMutex { fast: true },
                Lock(0, 0, None),
                Lock(1, 0, t),
                Exit(0, true),
                TakeResult(0),
                TakeResult(1),
                Lock(0, 0, None),
                Lock(1, 0, None),
                Unlock(0, 0),
                Unlock(1, 0),
                Exit(1, false),
                Lock(0, 0, None),
                ClearPoison(0),
                TryLock(1, 0),
            ],
        ),
        (
            "fast-mutex-handoff",
            vec![1, 10, 20],
            vec![
                CreateMutex { fast: true },
                Lock(0, 0, None),
                Lock(1, 0, None),
                Spawn(255),
                PreemptCheck(0),
                Lock(0, 0, Some(1)),
                Tick(0, 1),
                Tick(0, 1),
                Unlock(1, 0),
                Unlock(0, 0),
                TakeResult(0),
                Unlock(0, 0),
            ],
        ),
        (
            "semaphore",
            vec![10, 10, 20],
            vec![
                CreateSemaphore(1),
                SemAcquire(0, 0, None),
                SemAcquire(1, 0, None),
                SemAcquire(0, 0, t),
                SemAcquire(1, 0, None),
                SemRelease(0, 0),
                SemRelease(1, 0),
                Tick(0, 3),
                Tick(1, 1),
                SemRelease(0, 0),
                SemTryAcquire(0),
                TakeResult(0),
                TakeResult(1),
            ],
        ),
        (
            "event-flags",
            vec![10, 20, 20],
            vec![
                CreateEvent,
                EventWait {
                    cpu: 0,
                    pick: 0,
                    mask: 3,
                    any: false,
                    clear: true,
                    timeout: None,
                },
                EventWait {
                    cpu: 1,
                    pick: 0,
                    mask: 1,
                    any: true,
                    clear: true,
                    timeout: None,
                },
                EventWait {
                    cpu: 0,
                    pick: 0,
                    mask: 6,
                    any: true,
                    clear: false,
                    timeout: t,
                },
                EventSet(0, 0, 1),
                EventSet(1, 0, 2),
                EventSet(0, 0, 4),
                EventClear(0, 15),
                Tick(0, 3),
                TakeResult(0),
                TakeResult(1),
            ],
        ),
        (
            // Three parties meet twice at a rendezvous of bits 0-2; a fourth times out.
            "event-sync",
            vec![10, 20, 128, 20],
            vec![
                CreateEvent,
                EventSync {
                    cpu: 0,
                    pick: 0,
                    set: 1,
                    wait_for: 7,
                    timeout: None,
                },
                EventSync {
                    cpu: 1,
                    pick: 0,
                    set: 2,
                    wait_for: 7,
                    timeout: None,
                },
                EventWait {
                    cpu: 2,
                    pick: 0,
                    mask: 3,
                    any: false,
                    clear: true,
                    timeout: None,
                },
                EventSync {
                    cpu: 0,
                    pick: 0,
                    set: 4,
                    wait_for: 7,
                    timeout: None,
                },
                TakeResult(0),
                TakeResult(1),
                TakeResult(2),
                EventSync {
                    cpu: 1,
                    pick: 0,
                    set: 8,
                    wait_for: 9,
                    timeout: t,
                },
                Tick(0, 3),
                EventSync {
                    cpu: 2,
                    pick: 0,
                    set: 0,
                    wait_for: 0,
                    timeout: None,
                },
                TakeResult(1),
            ],
        ),
        (
            "queue-and-park",
            vec![10, 10, 20, 20],
            vec![
                CreateQueue,
                WaitOn(0, 0, None),
                WaitOn(1, 0, t),
                WaitOn(0, 0, None),
                Unpark(0, 2),
                Park(1, None),
                Park(0, Some(1)),
                WakeOne(0, 0),
                Tick(1, 1),
                WakeAll(1, 0),
                Unpark(1, 5),
                Destroy(0),
                TakeResult(0),
                TakeResult(1),
            ],
        ),
        (
            "affinity",
            vec![10, 20],
            vec![
                SpawnAffine(128, 0b0100),
                SpawnAffine(20, 0b1000),
                SpawnAffine(1, 0b0011),
                SetAffinity(0, 0b0010),
                SetAffinity(1, 0),
                Spawn(255),
                Tick(2, 3),
                Yield(1),
                SetPriority(4, 0),
                SetAffinity(2, 0b0001),
                Exit(0, false),
                Tick(1, 3),
            ],
        ),
        (
            "deadlock-and-priority",
            vec![10, 20],
            vec![
                CreateMutex { fast: false },
                CreateMutex { fast: true },
                Lock(0, 0, None),
                Lock(1, 1, None),
                Lock(1, 0, None),
                Lock(0, 1, None),
                SetPriority(2, 255),
                SetPriority(3, 0),
                Wake(3),
                Destroy(0),
                Unlock(0, 0),
                Join(0, 3),
                Exit(1, false),
                Reap(3),
            ],
        ),
    ]
}
