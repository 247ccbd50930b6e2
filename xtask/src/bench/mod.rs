//! `cargo xtask bench`: build the benchmark kernels, run each in QEMU with deterministic
//! timing, collect their metrics, print a table, write `<target>/bench/results.json` and,
//! with `--check`, compare with `bench/baseline.json`.
//!
//! The kernels are the binaries of the `preempt-bench` package (`bench/src/bin/*.rs`, one per
//! metric group). Each runs under `-icount shift=0,sleep=off`, where one instruction is one
//! virtual nanosecond and the PMU's instruction counter is exact, so a run is reproducible to
//! the instruction and one run per kernel is enough. A kernel reports a metric with a line
//!
//! ```text
//! BENCH yield_switch median=358 max=358 unit=instructions samples=10000
//! ```
//!
//! (other `key=value` fields are ignored); a `BENCH-ERROR` line or a non-zero exit status
//! fails the run. Metric names are fixed: the baseline, CI and `docs/performance.md` use them.
//!
//! `--check` fails (exit status 1) when a baseline metric is missing from the results or is
//! more than [`TOLERANCE_PERCENT`] worse; [`check`](mod@check) gives the rules.
//!
//! The command is cut by concept: [`kernels`] builds the kernels, [`runner`] runs them in
//! QEMU, [`output`] reads their `BENCH` lines, [`results`] holds the metric types and their
//! JSON, [`report`] prints the table with the reference figures and targets, and
//! [`check`](mod@check) compares with the baseline. This file holds the options and the
//! command's flow.

mod check;
pub(crate) mod kernels;
pub(crate) mod output;
pub(crate) mod report;
mod results;
mod runner;

use std::time::Instant;

use crate::board::{self, Board};
use crate::build::{self, Artifact};
use crate::{expect, qemu, Args, Error};

use check::check;
use kernels::build_kernels;
use report::{sort_results, table};
use results::{read_results, to_json, write_file, Results};
use runner::{run_all, KernelRun};

/// The package whose binaries are the benchmark kernels.
pub const BENCH_PACKAGE: &str = "preempt-bench";
/// How much worse than the baseline a metric may get before `--check` fails.
pub const TOLERANCE_PERCENT: f64 = 3.0;
/// The baseline, relative to the workspace root.
pub const BASELINE: &str = "bench/baseline.json";

/// Options of `cargo xtask bench`.
#[derive(Debug)]
pub struct Options {
    /// Board to build for and emulate.
    pub board: &'static Board,
    /// Compare with the baseline; fail on a regression.
    pub check: bool,
    /// Fewer samples per metric (the `quick` feature of the bench package).
    pub quick: bool,
    /// Write the results as the new baseline.
    pub save_baseline: bool,
    /// QEMU runs at a time.
    pub jobs: usize,
    /// Cores each benchmark kernel runs with (`--smp`).
    pub smp: u8,
    /// Run only the kernels whose name contains this (`--filter`).
    pub filter: Option<String>,
}

/// Parses the options of `bench` (the words after it).
pub fn parse(mut args: Args) -> Result<crate::Command, Error> {
    let mut opts = Options {
        board: board::default(),
        check: false,
        quick: false,
        save_baseline: false,
        jobs: crate::test::default_jobs(),
        // One core: the baseline is the single-core system's (`--smp N` for others).
        smp: 1,
        filter: None,
    };
    while let Some((flag, inline)) = args.next_flag() {
        match flag.as_str() {
            "--board" => opts.board = board::find(&args.value(&flag, inline)?)?,
            "--check" if inline.is_none() => opts.check = true,
            "--quick" if inline.is_none() => opts.quick = true,
            "--save-baseline" if inline.is_none() => opts.save_baseline = true,
            "--jobs" | "-j" => match args.number(&flag, inline)? {
                0 => return Err(Error::usage("`--jobs` must be at least 1")),
                n => opts.jobs = n,
            },
            "--smp" => opts.smp = args.smp(&flag, inline)?,
            "--filter" => opts.filter = Some(args.value(&flag, inline)?),
            "-h" | "--help" => return Ok(crate::help_for("bench")),
            _ => return Err(crate::unknown_option("bench", &flag, inline.as_deref())),
        }
    }
    if opts.quick && opts.save_baseline {
        return Err(Error::usage(
            "`--save-baseline` needs a full run (its maxima are over all samples); drop `--quick`",
        ));
    }
    if opts.filter.is_some() && opts.save_baseline {
        return Err(Error::usage(
            "`--save-baseline` needs every kernel's metrics; drop `--filter`",
        ));
    }
    Ok(crate::Command::Bench(opts))
}

/// Runs the command; returns the process exit status.
pub fn run(opts: &Options) -> Result<i32, Error> {
    let started = Instant::now();
    let gic = opts.board.gic(None)?;
    let qemu = qemu::find()?;
    let ws = build::workspace()?;

    println!(
        "==> building benchmark kernels for board `{}`{}{}",
        opts.board.name,
        if opts.quick { " (quick)" } else { "" },
        build::first_build_note(&ws)
    );
    let mut kernels = build_kernels(&ws, opts.board, opts.quick)?;
    if kernels.is_empty() {
        return Err(Error::new(format!(
            "cargo built no binaries of `{BENCH_PACKAGE}`"
        )));
    }
    if let Some(filter) = &opts.filter {
        let names: Vec<String> = kernels.iter().map(|k| k.name.clone()).collect();
        kernels.retain(|k| k.name.contains(filter.as_str()));
        if kernels.is_empty() {
            return Err(Error::usage(format!(
                "no benchmark kernel's name contains `{filter}`{} (kernels: {})",
                crate::suggest::did_you_mean(filter, names.iter().map(String::as_str)),
                names.join(", ")
            )));
        }
    }
    let out_dir = ws.target_dir.join("bench");
    std::fs::create_dir_all(&out_dir)
        .map_err(|e| Error::new(format!("creating {}: {e}", out_dir.display())))?;
    let mut runs = Vec::new();
    for kernel in &kernels {
        // Images of raw-image boards go under a name no example can clash with.
        let named = Artifact {
            name: format!("bench-{}", kernel.name),
            ..kernel.clone()
        };
        let exp = expect::read(&kernel.src_path)?;
        runs.push(KernelRun {
            name: kernel.name.clone(),
            image: build::image(&ws, opts.board, &named)?,
            timeout: exp.timeout,
            log: out_dir.join(format!("{}.log", kernel.name)),
            smp: exp.smp,
            icount: exp.icount,
        });
    }

    // Real-time kernels (`icount=off`) measure wall-clock time: they run after the others,
    // one at a time, so that no other QEMU competes for the host's cores.
    let (runs, realtime): (Vec<_>, Vec<_>) = runs.into_iter().partition(|r| r.icount);
    let plural = if runs.len() == 1 { "" } else { "s" };
    println!(
        "==> {} kernel{plural} under -icount shift=0, {} at a time{}",
        runs.len(),
        opts.jobs.min(runs.len()).max(1),
        match realtime.len() {
            0 => String::new(),
            n => format!("; then {n} in real time, alone"),
        }
    );
    let total = runs.len() + realtime.len();
    let mut finished = 0;
    let mut report_outcome = |outcome: &runner::Outcome| {
        finished += 1;
        let count = crate::test::progress(finished, total);
        let secs = outcome.elapsed.as_secs_f64();
        match &outcome.result {
            Ok(metrics) => println!(
                "{count} kernel {} ... ok ({} metric{}, {secs:.1} s)",
                outcome.name,
                metrics.len(),
                if metrics.len() == 1 { "" } else { "s" },
            ),
            Err(reason) => {
                println!(
                    "{count} kernel {} ... FAILED ({reason}; {secs:.1} s)",
                    outcome.name
                );
                crate::test::print_tail(&ws.root, &outcome.log, 20);
            }
        }
    };
    let mut outcomes = run_all(&qemu, opts.board, gic, opts.smp, runs, opts.jobs, |o, _| {
        report_outcome(o)
    });
    outcomes.extend(run_all(
        &qemu,
        opts.board,
        gic,
        opts.smp,
        realtime,
        1,
        |o, _| report_outcome(o),
    ));
    let mut results: Results = Vec::new();
    let mut failed = Vec::new();
    for outcome in outcomes {
        match outcome.result {
            Ok(metrics) => results.extend(metrics),
            Err(_) => failed.push(outcome.name),
        }
    }
    sort_results(&mut results);
    let mut duplicates: Vec<&str> = results
        .windows(2)
        .filter(|pair| pair[0].0 == pair[1].0)
        .map(|pair| pair[0].0.as_str())
        .collect();
    duplicates.dedup();
    if !duplicates.is_empty() {
        return Err(Error::new(format!(
            "metrics reported by more than one kernel: {}",
            duplicates.join(", ")
        )));
    }

    let baseline_path = ws.root.join(BASELINE);
    let baseline = if baseline_path.is_file() {
        Some(read_results(&baseline_path)?)
    } else {
        None
    };
    println!();
    print!("{}", table(&results, baseline.as_ref()));
    if results.iter().any(|(_, m)| m.host_dependent()) {
        println!(
            "(unit `percent`: wall-clock speedup in real time on this host, {}; not in the \
             baseline, not checked)",
            report::host_cores_text()
        );
    }

    let json_path = out_dir.join("results.json");
    write_file(&json_path, &to_json(&results))?;
    println!(
        "\nresults: {}",
        crate::test::relative(&ws.root, &json_path).display()
    );

    let mut ok = failed.is_empty();
    if !failed.is_empty() {
        println!("failed kernels: {}", failed.join(", "));
    }
    if opts.check {
        match &baseline {
            None => {
                println!(
                    "check: no baseline at {BASELINE}; run `cargo xtask bench --save-baseline`"
                );
                ok = false;
            }
            Some(baseline) => {
                // A filtered run is compared on the metrics its kernels reported.
                let compared: Results = match &opts.filter {
                    None => baseline.clone(),
                    Some(_) => baseline
                        .iter()
                        .filter(|(name, _)| results.iter().any(|(n, _)| n == name))
                        .cloned()
                        .collect(),
                };
                if compared.len() < baseline.len() {
                    println!(
                        "check: {} baseline metrics not compared (`--filter`)",
                        baseline.len() - compared.len()
                    );
                }
                let baseline = &compared;
                let verdict = check(&results, baseline);
                for line in &verdict.notes {
                    println!("check: {line}");
                }
                for line in &verdict.failures {
                    println!("check: FAILED {line}");
                }
                if verdict.failures.is_empty() {
                    println!(
                        "check: ok ({} baseline metrics, tolerance {TOLERANCE_PERCENT}%)",
                        baseline.len()
                    );
                } else {
                    println!(
                        "check: {} regression(s); if intended, update the baseline with \
                         `cargo xtask bench --save-baseline` and say why in the commit",
                        verdict.failures.len()
                    );
                    ok = false;
                }
            }
        }
    }
    if opts.save_baseline {
        if failed.is_empty() {
            // Wall-clock figures depend on the host: they are reported, never a baseline.
            let kept: Results = results
                .iter()
                .filter(|(_, m)| !m.host_dependent())
                .cloned()
                .collect();
            write_file(&baseline_path, &to_json(&kept))?;
            println!("baseline written: {BASELINE}");
        } else {
            println!("baseline NOT written: some kernels failed");
        }
    }
    println!(
        "bench: {} metrics in {:.1} s",
        results.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(if ok { 0 } else { 1 })
}

/// The last step of `cargo xtask test`: `bench --quick --check` on the default board (the
/// baseline's), when the test run covered that board and was not filtered. Returns the
/// combined exit status.
pub fn after_tests(opts: &crate::test::Options) -> Result<Option<bool>, Error> {
    let board = board::default();
    if opts.filter.is_some() {
        println!("note: benchmarks skipped (`--filter` given)");
        return Ok(None);
    }
    if !opts.boards.iter().any(|b| b.name == board.name) {
        println!(
            "note: benchmarks skipped (their baseline is for board `{}`)",
            board.name
        );
        return Ok(None);
    }
    println!("\n==> benchmarks (cargo xtask bench --quick --check)");
    let bench = run(&Options {
        board,
        check: true,
        quick: true,
        save_baseline: false,
        jobs: opts.jobs,
        // The baseline holds single-core figures.
        smp: 1,
        filter: None,
    })?;
    Ok(Some(bench == 0))
}

#[cfg(test)]
mod tests {

    #[test]
    fn parses_the_command_line() {
        let Ok(crate::Command::Bench(opts)) = crate::cli::parse_words("bench --check --quick -j 2")
        else {
            panic!("not a bench command")
        };
        assert!(opts.check && opts.quick && !opts.save_baseline);
        assert_eq!((opts.board.name, opts.jobs), ("virt", 2));
        let Ok(crate::Command::Bench(opts)) =
            crate::cli::parse_words("bench --save-baseline --board=virt")
        else {
            panic!("not a bench command")
        };
        assert!(opts.save_baseline && !opts.check && opts.filter.is_none());
        let Ok(crate::Command::Bench(opts)) =
            crate::cli::parse_words("bench --quick --filter=timing")
        else {
            panic!("not a bench command")
        };
        assert_eq!(opts.filter.as_deref(), Some("timing"));
        for bad in [
            "bench --quick --save-baseline",
            "bench --check=1",
            "bench --jobs 0",
            "bench --icount",
            "bench --filter timing --save-baseline",
            "bench --filter",
        ] {
            assert_eq!(crate::cli::parse_words(bad).unwrap_err().code, 2, "{bad}");
        }
    }
}
