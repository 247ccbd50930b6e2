//! Running the benchmark kernels: each in its own QEMU, a number at a time on worker threads,
//! with the console going to the kernel's log, which is then read for its metrics. A
//! kernel fails on a timeout, a `BENCH-ERROR` line, a non-zero exit status or no metrics.
//!
//! A kernel's `//! xtask:` lines may fix its core count (`smp=4`: the SMP kernels, whatever
//! `--smp` says) and ask for real time (`icount=off`: `smp_scaling`, whose figure is a
//! wall-clock speedup); see `expect`.

use std::collections::VecDeque;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{mpsc, Mutex};
use std::time::{Duration, Instant};

use super::output::parse_output;
use super::results::Results;
use crate::board::Board;
use crate::qemu;

/// One kernel to run.
pub(super) struct KernelRun {
    pub name: String,
    pub image: PathBuf,
    pub timeout: Duration,
    pub log: PathBuf,
    /// The kernel's own core count (its `smp=N` line), overriding `--smp`.
    pub smp: Option<u8>,
    /// Whether it runs under `-icount` (its `icount=off` line says not).
    pub icount: bool,
}

/// How one kernel's run went.
pub(super) struct Outcome {
    pub name: String,
    pub log: PathBuf,
    pub elapsed: Duration,
    pub result: Result<Results, String>,
}

/// Runs the kernels `jobs` at a time, calling `on_done` with each outcome as it arrives and
/// how many have arrived; returns the outcomes in the order of `runs`.
pub(super) fn run_all(
    qemu: &Path,
    board: &'static Board,
    gic: Option<u8>,
    smp: u8,
    runs: Vec<KernelRun>,
    jobs: usize,
    mut on_done: impl FnMut(&Outcome, usize),
) -> Vec<Outcome> {
    let count = runs.len();
    let queue = Mutex::new(runs.into_iter().enumerate().collect::<VecDeque<_>>());
    let (tx, rx) = mpsc::channel();
    let mut outcomes: Vec<(usize, Outcome)> = Vec::with_capacity(count);
    std::thread::scope(|scope| {
        for _ in 0..jobs.clamp(1, count.max(1)) {
            let tx = tx.clone();
            let queue = &queue;
            scope.spawn(move || loop {
                let Some((index, run)) =
                    queue.lock().unwrap_or_else(|e| e.into_inner()).pop_front()
                else {
                    break;
                };
                let start = Instant::now();
                let result = execute(qemu, board, gic, smp, &run);
                let outcome = Outcome {
                    name: run.name,
                    log: run.log,
                    elapsed: start.elapsed(),
                    result,
                };
                if tx.send((index, outcome)).is_err() {
                    break;
                }
            });
        }
        drop(tx);
        for (index, outcome) in rx {
            on_done(&outcome, outcomes.len() + 1);
            outcomes.push((index, outcome));
        }
    });
    outcomes.sort_by_key(|(index, _)| *index);
    outcomes.into_iter().map(|(_, o)| o).collect()
}

/// One QEMU run with the console in the kernel's log; its metrics, or why it failed.
fn execute(
    qemu: &Path,
    board: &Board,
    gic: Option<u8>,
    smp: u8,
    run: &KernelRun,
) -> Result<Results, String> {
    let log =
        File::create(&run.log).map_err(|e| format!("cannot create {}: {e}", run.log.display()))?;
    let log_err = log
        .try_clone()
        .map_err(|e| format!("cannot duplicate log handle: {e}"))?;
    let smp = run.smp.unwrap_or(smp);
    let mut child = qemu::command(qemu, board, gic, smp, run.icount, &run.image, &[])
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log_err)
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", qemu.display()))?;
    let status = match qemu::wait(&mut child, Some(run.timeout)).map_err(|e| e.message)? {
        qemu::Outcome::Exited(status) => status,
        qemu::Outcome::TimedOut => {
            return Err(format!("timed out after {} s", run.timeout.as_secs()))
        }
    };
    let output =
        std::fs::read(&run.log).map_err(|e| format!("cannot read {}: {e}", run.log.display()))?;
    let output = String::from_utf8_lossy(&output);
    if let Some(error) = output.lines().find(|l| l.starts_with("BENCH-ERROR")) {
        return Err(error.to_string());
    }
    if qemu::exit_code(status) != 0 {
        return Err(qemu::describe(status));
    }
    let metrics = parse_output(&output)?;
    if metrics.is_empty() {
        return Err("no BENCH lines in the output".to_string());
    }
    Ok(metrics)
}
