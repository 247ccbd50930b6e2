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
//! more than [`TOLERANCE_PERCENT`] worse: higher for instructions and ticks, lower for scores.
//! The median is always compared; the maximum only when the run took as many samples as the
//! baseline (a `--quick` run takes fewer, and its maximum is over fewer samples) and more than
//! one.

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::fs::File;
use std::io::{BufRead, BufReader, IsTerminal};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{mpsc, Mutex};
use std::time::{Duration, Instant};

use crate::board::{self, Board};
use crate::build::{self, Artifact, Kind, Workspace};
use crate::json::Value;
use crate::{expect, qemu, Args, Error};

/// The package whose binaries are the benchmark kernels.
pub const BENCH_PACKAGE: &str = "preempt-bench";
/// The package whose features select the board.
const KERNEL_PACKAGE: &str = build::KERNEL_PACKAGE;
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
}

/// Parses the options of `bench` (the words after it).
pub fn parse(mut args: Args) -> Result<crate::Command, Error> {
    let mut opts = Options {
        board: board::default(),
        check: false,
        quick: false,
        save_baseline: false,
        jobs: crate::test::default_jobs(),
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
            "-h" | "--help" => return Ok(crate::Command::Help),
            _ => return Err(Error::usage(format!("unknown option `{flag}` for `bench`"))),
        }
    }
    if opts.quick && opts.save_baseline {
        return Err(Error::usage(
            "`--save-baseline` needs a full run (its maxima are over all samples); drop `--quick`",
        ));
    }
    Ok(crate::Command::Bench(opts))
}

/// One metric as a kernel reported it.
#[derive(Debug, Clone, PartialEq)]
pub struct Metric {
    /// Median over the samples (for a score: the score).
    pub median: u64,
    /// Largest sample.
    pub max: u64,
    /// `instructions`, `ticks` or `score`.
    pub unit: String,
    /// Number of samples (1 for a score).
    pub samples: u64,
}

impl Metric {
    /// Whether a higher value is better (scores) rather than worse.
    pub fn higher_is_better(&self) -> bool {
        self.unit == "score"
    }
}

/// Metrics by name, in report order.
pub type Results = Vec<(String, Metric)>;

/// Runs the command; returns the process exit status.
pub fn run(opts: &Options) -> Result<i32, Error> {
    let started = Instant::now();
    let gic = opts.board.gic(None)?;
    let qemu = qemu::find()?;
    let ws = build::workspace()?;

    println!(
        "==> building benchmark kernels for board `{}`{}",
        opts.board.name,
        if opts.quick { " (quick)" } else { "" }
    );
    let kernels = build_kernels(&ws, opts.board, opts.quick)?;
    if kernels.is_empty() {
        return Err(Error::new(format!(
            "cargo built no binaries of `{BENCH_PACKAGE}`"
        )));
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
        runs.push(KernelRun {
            name: kernel.name.clone(),
            image: build::image(&ws, opts.board, &named)?,
            timeout: expect::read(&kernel.src_path)?.timeout,
            log: out_dir.join(format!("{}.log", kernel.name)),
        });
    }

    let plural = if runs.len() == 1 { "" } else { "s" };
    println!(
        "==> {} kernel{plural} under -icount shift=0, {} at a time",
        runs.len(),
        opts.jobs.min(runs.len()).max(1)
    );
    let outcomes = run_all(&qemu, opts.board, gic, runs, opts.jobs);
    let mut results: Results = Vec::new();
    let mut failed = Vec::new();
    for outcome in outcomes {
        match outcome.result {
            Ok(metrics) => {
                println!(
                    "kernel {} ... ok ({} metric{}, {:.1} s)",
                    outcome.name,
                    metrics.len(),
                    if metrics.len() == 1 { "" } else { "s" },
                    outcome.elapsed.as_secs_f64()
                );
                results.extend(metrics);
            }
            Err(reason) => {
                println!(
                    "kernel {} ... FAILED ({reason}; {:.1} s)",
                    outcome.name,
                    outcome.elapsed.as_secs_f64()
                );
                print_tail(&ws.root, &outcome.log);
                failed.push(outcome.name);
            }
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

    let json_path = out_dir.join("results.json");
    write_file(&json_path, &to_json(&results))?;
    println!("\nresults: {}", relative(&ws.root, &json_path).display());

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
            write_file(&baseline_path, &to_json(&results))?;
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
    })?;
    Ok(Some(bench == 0))
}

/// Builds the bench package's binaries for `board`; returns them sorted by name.
fn build_kernels(ws: &Workspace, board: &Board, quick: bool) -> Result<Vec<Artifact>, Error> {
    let format = if std::io::stderr().is_terminal() {
        "json-diagnostic-rendered-ansi"
    } else {
        "json"
    };
    let mut cmd = build::cargo(&ws.root);
    cmd.args([
        "build",
        "--release",
        "--target",
        build::TARGET,
        "-p",
        BENCH_PACKAGE,
        "--bins",
    ])
    .args(board_features(board.cargo_args))
    .args(
        quick
            .then_some(["--features", "quick"])
            .into_iter()
            .flatten(),
    )
    .arg(format!("--message-format={format}"))
    .stdout(Stdio::piped())
    .stderr(Stdio::inherit());
    let mut child = cmd
        .spawn()
        .map_err(|e| Error::new(format!("cannot run cargo: {e}")))?;
    let stdout = child.stdout.take().expect("stdout is piped");
    let mut kernels = Vec::new();
    for line in BufReader::new(stdout).lines() {
        let line = line.map_err(|e| Error::new(format!("reading cargo output: {e}")))?;
        match parse_cargo_line(&line) {
            Ok(Some(CargoLine::Kernel(a))) if !kernels.contains(&a) => kernels.push(a),
            Ok(Some(CargoLine::Diagnostic(text))) => eprint!("{text}"),
            Ok(_) => {}
            Err(_) => eprintln!("{line}"),
        }
    }
    let status = child
        .wait()
        .map_err(|e| Error::new(format!("waiting for cargo: {e}")))?;
    if !status.success() {
        return Err(Error::new(format!(
            "building the benchmark kernels for board `{}` failed (cargo {}); see the messages above",
            board.name,
            qemu::describe(status)
        )));
    }
    kernels.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(kernels)
}

/// The board's cargo arguments, written for the bench package: its features are the kernel
/// package's, so `--features a,b` becomes `--features preempt/a,preempt/b`
/// (`--no-default-features` also drops the bench package's default, which is preempt's).
fn board_features(cargo_args: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    let mut args = cargo_args.iter();
    while let Some(&arg) = args.next() {
        let (flag, list) = match arg.split_once('=') {
            Some((flag @ "--features", list)) => (flag, Some(list.to_string())),
            _ if arg == "--features" || arg == "-F" => {
                ("--features", args.next().map(|s| s.to_string()))
            }
            _ => {
                out.push(arg.to_string());
                continue;
            }
        };
        let list = list.unwrap_or_default();
        let qualified: Vec<String> = list
            .split([',', ' '])
            .filter(|f| !f.is_empty())
            .map(|f| {
                if f.contains('/') {
                    f.to_string()
                } else {
                    format!("{KERNEL_PACKAGE}/{f}")
                }
            })
            .collect();
        out.push(flag.to_string());
        out.push(qualified.join(","));
    }
    out
}

enum CargoLine {
    Kernel(Artifact),
    Diagnostic(String),
}

/// A `compiler-artifact` line for a binary of the bench package, or a rendered diagnostic.
fn parse_cargo_line(line: &str) -> Result<Option<CargoLine>, String> {
    let v = Value::parse(line)?;
    match v.get("reason").and_then(Value::as_str) {
        Some("compiler-message") => Ok(v
            .get("message")
            .and_then(|m| m.get("rendered"))
            .and_then(Value::as_str)
            .map(|r| CargoLine::Diagnostic(r.to_string()))),
        Some("compiler-artifact") => {
            let (Some(executable), Some(target)) =
                (v.get("executable").and_then(Value::as_str), v.get("target"))
            else {
                return Ok(None);
            };
            let is_bin = target
                .get("kind")
                .and_then(Value::as_array)
                .unwrap_or_default()
                .iter()
                .any(|k| k.as_str() == Some("bin"));
            let field = |key: &str| target.get(key).and_then(Value::as_str).unwrap_or_default();
            // Only the bench package has binaries in this build (its dependencies are libraries
            // and build scripts).
            if !is_bin {
                return Ok(None);
            }
            Ok(Some(CargoLine::Kernel(Artifact {
                kind: Kind::Example,
                name: field("name").to_string(),
                executable: executable.into(),
                src_path: field("src_path").into(),
            })))
        }
        _ => Ok(None),
    }
}

/// One kernel to run.
struct KernelRun {
    name: String,
    image: PathBuf,
    timeout: Duration,
    log: PathBuf,
}

/// How one kernel's run went.
struct Outcome {
    name: String,
    log: PathBuf,
    elapsed: Duration,
    result: Result<Results, String>,
}

/// Runs the kernels `jobs` at a time; returns the outcomes in the order of `runs`.
fn run_all(
    qemu: &Path,
    board: &'static Board,
    gic: Option<u8>,
    runs: Vec<KernelRun>,
    jobs: usize,
) -> Vec<Outcome> {
    let count = runs.len();
    let queue = Mutex::new(runs.into_iter().enumerate().collect::<VecDeque<_>>());
    let (tx, rx) = mpsc::channel();
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
                let result = execute(qemu, board, gic, &run);
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
    });
    drop(tx);
    let mut outcomes: Vec<(usize, Outcome)> = rx.into_iter().collect();
    outcomes.sort_by_key(|(index, _)| *index);
    outcomes.into_iter().map(|(_, o)| o).collect()
}

/// One QEMU run with the console in the kernel's log; its metrics, or why it failed.
fn execute(
    qemu: &Path,
    board: &Board,
    gic: Option<u8>,
    run: &KernelRun,
) -> Result<Results, String> {
    let log =
        File::create(&run.log).map_err(|e| format!("cannot create {}: {e}", run.log.display()))?;
    let log_err = log
        .try_clone()
        .map_err(|e| format!("cannot duplicate log handle: {e}"))?;
    let mut child = qemu::command(qemu, board, gic, true, &run.image, &[])
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

/// The metrics of a kernel's console output (its `BENCH` lines).
pub fn parse_output(output: &str) -> Result<Results, String> {
    let mut metrics = Results::new();
    for line in output.lines() {
        let Some(rest) = line.trim_end().strip_prefix("BENCH ") else {
            continue;
        };
        let mut words = rest.split_whitespace();
        let name = words
            .next()
            .ok_or_else(|| format!("`{line}`: no metric name"))?;
        let (mut median, mut max, mut unit, mut samples) = (None, None, None, None);
        for word in words {
            let Some((key, value)) = word.split_once('=') else {
                return Err(format!("`{line}`: `{word}` is not key=value"));
            };
            let number = || {
                value
                    .parse::<u64>()
                    .map_err(|_| format!("`{line}`: `{key}` is not a number"))
            };
            match key {
                "median" => median = Some(number()?),
                "max" => max = Some(number()?),
                "samples" => samples = Some(number()?),
                "unit" => unit = Some(value.to_string()),
                _ => {}
            }
        }
        let (Some(median), Some(max), Some(unit)) = (median, max, unit) else {
            return Err(format!("`{line}`: needs median=, max= and unit="));
        };
        if metrics.iter().any(|(n, _)| n == name) {
            return Err(format!("metric `{name}` reported twice"));
        }
        metrics.push((
            name.to_string(),
            Metric {
                median,
                max,
                unit,
                samples: samples.unwrap_or(1),
            },
        ));
    }
    Ok(metrics)
}

/// Reference figures and targets of a metric (see docs/performance.md).
struct Reference {
    metric: &'static str,
    target: Target,
    threadx: Option<u64>,
    freertos: Option<u64>,
}

enum Target {
    None,
    /// Median at most this.
    AtMost(u64),
    /// Median at least this (a score above ThreadX's).
    Above(u64),
    /// Median within this many percent of another metric's median.
    Near(&'static str, u64),
}

/// Every metric the harness knows, in report order; metrics whose kernels are not written
/// yet (they need kernel features in progress) are listed so their references show up once
/// they are. Unknown metrics are reported after these.
const REFERENCES: &[Reference] = &[
    r("yield_switch", Target::AtMost(70), Some(80), Some(108)),
    r("sem_wake_switch", Target::AtMost(120), Some(145), Some(294)),
    r(
        "mutex_uncontended",
        Target::AtMost(40),
        Some(136),
        Some(198),
    ),
    r("mutex_handoff", Target::None, None, None),
    r("sem_pair", Target::AtMost(30), Some(36), None),
    r("channel_pair", Target::AtMost(80), Some(118), Some(248)),
    r("channel_wake", Target::None, None, None),
    r("spawn_join", Target::None, None, None),
    r("tick_cost", Target::AtMost(100), Some(124), Some(124)),
    r("idle_ticks_per_s", Target::None, None, None),
    r("irq_latency", Target::None, None, None),
    r("irq_to_thread", Target::None, None, None),
    r("select_2", Target::None, None, None),
    r("select_10", Target::Near("select_2", 5), None, None),
    r("select_100", Target::Near("select_2", 5), None, None),
    r("select_1000", Target::Near("select_2", 5), None, None),
    r("tm_basic", Target::Above(10_844), Some(10_844), None),
    r(
        "tm_cooperative",
        Target::Above(1_204_636),
        Some(1_204_636),
        Some(895_911),
    ),
    r(
        "tm_preemptive",
        Target::Above(495_955),
        Some(495_955),
        Some(240_815),
    ),
    r(
        "tm_interrupt",
        Target::Above(591_630),
        Some(591_630),
        Some(398_353),
    ),
    r(
        "tm_interrupt_preemption",
        Target::Above(277_743),
        Some(277_743),
        Some(166_090),
    ),
    r(
        "tm_message",
        Target::Above(547_361),
        Some(547_361),
        Some(355_297),
    ),
    r(
        "tm_synchronization",
        Target::Above(1_694_669),
        Some(1_694_669),
        Some(504_983),
    ),
    r(
        "tm_memory",
        Target::Above(1_587_057),
        Some(1_587_057),
        Some(357_094),
    ),
];

const fn r(
    metric: &'static str,
    target: Target,
    threadx: Option<u64>,
    freertos: Option<u64>,
) -> Reference {
    Reference {
        metric,
        target,
        threadx,
        freertos,
    }
}

fn reference(metric: &str) -> Option<&'static Reference> {
    REFERENCES.iter().find(|r| r.metric == metric)
}

/// Puts known metrics in [`REFERENCES`] order, unknown ones after them by name.
fn sort_results(results: &mut Results) {
    let rank = |name: &str| {
        REFERENCES
            .iter()
            .position(|r| r.metric == name)
            .unwrap_or(usize::MAX)
    };
    results.sort_by(|(a, _), (b, _)| rank(a).cmp(&rank(b)).then_with(|| a.cmp(b)));
}

/// The results table, with the baseline's medians and the change when there is a baseline.
pub fn table(results: &Results, baseline: Option<&Results>) -> String {
    let mut rows: Vec<Vec<String>> = vec![[
        "metric", "median", "max", "unit", "samples", "baseline", "change", "target", "met",
        "ThreadX", "FreeRTOS",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()];
    let median_of = |name: &str| {
        results
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, m)| m.median)
    };
    for (name, m) in results {
        let base = baseline
            .and_then(|b| b.iter().find(|(n, _)| n == name))
            .map(|(_, b)| b);
        let change = base.map_or(String::new(), |b| percent_change(b.median, m.median));
        let refs = reference(name);
        let (target, met) = match refs.map(|r| &r.target) {
            Some(Target::AtMost(t)) => (format!("<= {}", group(*t)), yes_no(m.median <= *t)),
            Some(Target::Above(t)) => (format!("> {}", group(*t)), yes_no(m.median > *t)),
            Some(Target::Near(other, pct)) => (
                format!("{other} ±{pct}%"),
                median_of(other).map_or(String::from("?"), |o| {
                    yes_no(m.median.abs_diff(o) * 100 <= o * pct)
                }),
            ),
            Some(Target::None) | None => (String::new(), String::new()),
        };
        let opt = |v: Option<u64>| v.map_or(String::new(), group);
        rows.push(vec![
            name.clone(),
            group(m.median),
            group(m.max),
            m.unit.clone(),
            group(m.samples),
            base.map_or(String::new(), |b| group(b.median)),
            change,
            target,
            met,
            opt(refs.and_then(|r| r.threadx)),
            opt(refs.and_then(|r| r.freertos)),
        ]);
    }
    let columns = rows[0].len();
    let keep: Vec<bool> = (0..columns)
        .map(|c| rows.iter().skip(1).any(|row| !row[c].is_empty()))
        .collect();
    let widths: Vec<usize> = (0..columns)
        .map(|c| {
            rows.iter()
                .map(|row| row[c].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for row in &rows {
        let mut line = String::new();
        for c in 0..columns {
            if !keep[c] {
                continue;
            }
            let cell = &row[c];
            let pad = widths[c] - cell.chars().count();
            // Text columns left-aligned, numbers right-aligned.
            if matches!(c, 0 | 3 | 7 | 8) {
                let _ = write!(line, "{cell}{}  ", " ".repeat(pad));
            } else {
                let _ = write!(line, "{}{cell}  ", " ".repeat(pad));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

fn yes_no(ok: bool) -> String {
    String::from(if ok { "yes" } else { "no" })
}

fn percent_change(base: u64, now: u64) -> String {
    if base == 0 {
        return if now == 0 {
            "0.0%".into()
        } else {
            "new".into()
        };
    }
    format!("{:+.1}%", (now as f64 - base as f64) * 100.0 / base as f64)
}

/// `1234567` → `1,234,567`.
fn group(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// The outcome of comparing results with a baseline.
#[derive(Debug, Default)]
pub struct Verdict {
    /// Regressions and missing metrics.
    pub failures: Vec<String>,
    /// Improvements beyond the tolerance and other remarks.
    pub notes: Vec<String>,
}

/// Compares `results` with `baseline` (see the module documentation for the rules).
pub fn check(results: &Results, baseline: &Results) -> Verdict {
    let mut verdict = Verdict::default();
    for (name, base) in baseline {
        let Some((_, now)) = results.iter().find(|(n, _)| n == name) else {
            verdict
                .failures
                .push(format!("{name}: in the baseline but not in the results"));
            continue;
        };
        if now.unit != base.unit {
            verdict.failures.push(format!(
                "{name}: unit `{}`, baseline has `{}`",
                now.unit, base.unit
            ));
            continue;
        }
        let mut compare = |what: &str, base_value: u64, value: u64| {
            let worse = relative_worsening(base.higher_is_better(), base_value, value);
            if worse > TOLERANCE_PERCENT {
                verdict.failures.push(format!(
                    "{name}: {what} {} {}, baseline {} ({:+.1}% worse, tolerance {TOLERANCE_PERCENT}%)",
                    group(value),
                    now.unit,
                    group(base_value),
                    worse
                ));
            } else if worse < -TOLERANCE_PERCENT {
                verdict.notes.push(format!(
                    "{name}: {what} {} {}, baseline {} ({:.1}% better: consider --save-baseline)",
                    group(value),
                    now.unit,
                    group(base_value),
                    -worse
                ));
            }
        };
        compare("median", base.median, now.median);
        // A single value (a score) has max = median; a max over fewer samples proves nothing.
        if now.samples == base.samples && now.samples > 1 {
            compare("max", base.max, now.max);
        }
    }
    verdict
}

/// How much worse `now` is than `base`, in percent of `base` (negative: better).
fn relative_worsening(higher_is_better: bool, base: u64, now: u64) -> f64 {
    let (base, now) = (base as f64, now as f64);
    let delta = if higher_is_better {
        base - now
    } else {
        now - base
    };
    if base == 0.0 {
        return if delta > 0.0 { f64::INFINITY } else { 0.0 };
    }
    delta * 100.0 / base
}

/// `results.json`: `{ "metric": { "median": N, "max": N, "unit": "…", "samples": N }, … }`.
pub fn to_json(results: &Results) -> String {
    let mut out = String::from("{\n");
    for (i, (name, m)) in results.iter().enumerate() {
        let comma = if i + 1 < results.len() { "," } else { "" };
        let _ = writeln!(
            out,
            "  \"{}\": {{ \"median\": {}, \"max\": {}, \"unit\": \"{}\", \"samples\": {} }}{comma}",
            escape(name),
            m.median,
            m.max,
            escape(&m.unit),
            m.samples
        );
    }
    out.push_str("}\n");
    out
}

fn escape(s: &str) -> String {
    s.chars()
        .flat_map(|c| match c {
            '"' => vec!['\\', '"'],
            '\\' => vec!['\\', '\\'],
            c if (c as u32) < 0x20 => format!("\\u{:04x}", c as u32).chars().collect(),
            c => vec![c],
        })
        .collect()
}

/// Reads a results or baseline file.
pub fn read_results(path: &Path) -> Result<Results, Error> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::new(format!("reading {}: {e}", path.display())))?;
    parse_results(&text).map_err(|e| Error::new(format!("{}: {e}", path.display())))
}

/// Parses the JSON written by [`to_json`] (any JSON object of that shape).
pub fn parse_results(text: &str) -> Result<Results, String> {
    let Value::Object(members) = Value::parse(text)? else {
        return Err("not a JSON object".to_string());
    };
    let mut results = Results::new();
    for (name, value) in members {
        let number = |key: &str| match value.get(key) {
            Some(Value::Number(n)) if *n >= 0.0 && n.fract() == 0.0 => Ok(*n as u64),
            Some(_) => Err(format!("`{name}.{key}` is not a whole number")),
            None => Err(format!("`{name}` lacks `{key}`")),
        };
        let unit = value
            .get("unit")
            .and_then(Value::as_str)
            .ok_or_else(|| format!("`{name}` lacks `unit`"))?;
        results.push((
            name.clone(),
            Metric {
                median: number("median")?,
                max: number("max")?,
                unit: unit.to_string(),
                samples: number("samples").unwrap_or(1),
            },
        ));
    }
    Ok(results)
}

fn write_file(path: &Path, text: &str) -> Result<(), Error> {
    std::fs::write(path, text).map_err(|e| Error::new(format!("writing {}: {e}", path.display())))
}

fn print_tail(root: &Path, log: &Path) {
    let text = std::fs::read(log)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let tail = &lines[lines.len().saturating_sub(20)..];
    println!(
        "    --- last {} lines of {} ---",
        tail.len(),
        relative(root, log).display()
    );
    for line in tail {
        println!("    | {line}");
    }
    println!("    ---");
}

fn relative<'a>(root: &Path, path: &'a Path) -> &'a Path {
    path.strip_prefix(root).unwrap_or(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metric(median: u64, max: u64, unit: &str, samples: u64) -> Metric {
        Metric {
            median,
            max,
            unit: unit.to_string(),
            samples,
        }
    }

    #[test]
    fn parses_the_command_line() {
        let words = |line: &str| {
            line.split_whitespace()
                .map(String::from)
                .collect::<Vec<_>>()
        };
        let Ok(crate::Command::Bench(opts)) = crate::parse(words("bench --check --quick -j 2"))
        else {
            panic!("not a bench command")
        };
        assert!(opts.check && opts.quick && !opts.save_baseline);
        assert_eq!((opts.board.name, opts.jobs), ("virt", 2));
        let Ok(crate::Command::Bench(opts)) =
            crate::parse(words("bench --save-baseline --board=virt"))
        else {
            panic!("not a bench command")
        };
        assert!(opts.save_baseline && !opts.check);
        for bad in [
            "bench --quick --save-baseline",
            "bench --check=1",
            "bench --jobs 0",
            "bench --icount",
        ] {
            assert_eq!(crate::parse(words(bad)).unwrap_err().code, 2, "{bad}");
        }
    }

    #[test]
    fn parses_bench_lines() {
        let out = "[INFO  preempt::boot] preempt 0.1.0\nBENCH-INFO x: 6 event counters\n\
                   BENCH yield_switch median=358 max=360 unit=instructions samples=10000 min=358\n\
                   tm_basic: period 1: 10948 operations\n\
                   BENCH tm_basic median=10840 max=10840 unit=score samples=1\n";
        let m = parse_output(out).unwrap();
        assert_eq!(m.len(), 2);
        assert_eq!(
            m[0],
            (
                "yield_switch".to_string(),
                metric(358, 360, "instructions", 10000)
            )
        );
        assert!(m[1].1.higher_is_better());
        assert!(parse_output("BENCH x median=1 unit=instructions").is_err());
        assert!(parse_output("BENCH x median=a max=1 unit=instructions").is_err());
        assert!(parse_output(
            "BENCH x median=1 max=1 unit=ticks\nBENCH x median=1 max=1 unit=ticks"
        )
        .is_err());
    }

    #[test]
    fn json_round_trips() {
        let results = vec![
            (
                "yield_switch".to_string(),
                metric(358, 400, "instructions", 10000),
            ),
            (
                "tm_cooperative".to_string(),
                metric(276_897, 276_897, "score", 1),
            ),
        ];
        let text = to_json(&results);
        assert!(text.contains("\"yield_switch\": { \"median\": 358, \"max\": 400"));
        assert_eq!(parse_results(&text).unwrap(), results);
        assert!(parse_results("[1]").is_err());
        assert!(parse_results("{\"a\": {\"median\": 1, \"unit\": \"score\"}}").is_err());
    }

    #[test]
    fn check_flags_regressions_in_the_right_direction() {
        let baseline = vec![
            (
                "yield_switch".to_string(),
                metric(100, 110, "instructions", 10000),
            ),
            ("tm_cooperative".to_string(), metric(1000, 1000, "score", 1)),
            (
                "sem_pair".to_string(),
                metric(30, 30, "instructions", 10000),
            ),
        ];
        // Within tolerance, and better: fine.
        let ok = vec![
            (
                "yield_switch".to_string(),
                metric(103, 113, "instructions", 10000),
            ),
            ("tm_cooperative".to_string(), metric(1500, 1500, "score", 1)),
            (
                "sem_pair".to_string(),
                metric(20, 20, "instructions", 10000),
            ),
        ];
        let v = check(&ok, &baseline);
        assert!(v.failures.is_empty(), "{:?}", v.failures);
        assert_eq!(v.notes.len(), 3);
        // Slower switch, lower score, missing metric.
        let bad = vec![
            (
                "yield_switch".to_string(),
                metric(104, 110, "instructions", 10000),
            ),
            ("tm_cooperative".to_string(), metric(960, 960, "score", 1)),
        ];
        let v = check(&bad, &baseline);
        assert_eq!(v.failures.len(), 3, "{:?}", v.failures);
        assert!(v.failures[2].contains("sem_pair"));
        // A max over fewer samples (a quick run) is not compared.
        let quick = vec![
            (
                "yield_switch".to_string(),
                metric(100, 200, "instructions", 1000),
            ),
            ("tm_cooperative".to_string(), metric(1000, 1000, "score", 1)),
            ("sem_pair".to_string(), metric(30, 30, "instructions", 1000)),
        ];
        assert!(check(&quick, &baseline).failures.is_empty());
    }

    #[test]
    fn board_features_are_the_kernel_packages() {
        assert!(board_features(&[]).is_empty());
        assert_eq!(
            board_features(&["--no-default-features", "--features", "board-rpi,qemu-exit"]),
            [
                "--no-default-features",
                "--features",
                "preempt/board-rpi,preempt/qemu-exit"
            ]
        );
        assert_eq!(
            board_features(&["--features=board-rpi"]),
            ["--features", "preempt/board-rpi"]
        );
    }

    #[test]
    fn table_shows_targets_and_references() {
        let results = vec![
            (
                "yield_switch".to_string(),
                metric(358, 358, "instructions", 10000),
            ),
            (
                "select_2".to_string(),
                metric(358, 358, "instructions", 10000),
            ),
            (
                "select_1000".to_string(),
                metric(370, 370, "instructions", 10000),
            ),
            (
                "tm_cooperative".to_string(),
                metric(1_300_000, 1_300_000, "score", 1),
            ),
        ];
        let t = table(&results, None);
        let line = |name: &str| t.lines().find(|l| l.starts_with(name)).unwrap().to_string();
        assert!(line("yield_switch").contains("<= 70"));
        assert!(line("yield_switch").contains(" no "));
        assert!(line("select_1000").contains("yes"));
        assert!(line("tm_cooperative").contains("1,204,636"));
        assert!(!t.contains("baseline"));
        assert_eq!(group(1_234_567), "1,234,567");
        assert_eq!(group(12), "12");
    }
}
