//! `cargo xtask test`: host tests, then every in-QEMU test and example in every configuration.
//!
//! Steps: (1) `cargo test --no-fail-fast` of the host-buildable crates, output streamed; (2) one
//! `cargo build --tests --examples` of the kernel package per board (every board, or the one
//! `--board` names); (3) each executable run in QEMU with `-icount` (deterministic timing)
//! once per board configuration (virt: GICv2 and GICv3; rpi-zero2w: raspi3b), all boards'
//! runs in one pool, `--jobs` at a time, each bounded by its timeout, its console captured to
//! `<target>/qemu-tests/<name>-<config>.log`; (4) one line per run as it ends, counted
//! (`[12/87] test  sleep [virt gicv3] ... ok (1.2 s)`), the log tail of failures (a log with
//! a crash report's backtrace is first rewritten with the code addresses named, see
//! [`crate::symbolize`], and its expectations are checked against that); (5) the
//! application template, copied out of the checkout and driven with plain cargo (see
//! [`crate::template`]); (6) unfiltered, on virt: the benchmark gate (`bench --quick --check`),
//! `profile --self-test` and `trace --self-test`, one run each; and the final line `N passed,
//! M failed`. A run passes when QEMU's exit status and output match the `//! xtask:`
//! directives of its source file (see [`crate::expect`]; one asking for cargo features is
//! built once more with them). Examples are smoke tests: they must end by themselves, with
//! exit status 0 unless they say otherwise.

use std::collections::VecDeque;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{mpsc, Mutex};
use std::time::Instant;

use crate::board::Board;
use crate::build::{self, Artifact, Workspace};
use crate::expect::{self, Expectations};
use crate::symbols::Symbols;
use crate::{qemu, symbolize, template, Error};

/// Packages that only build for the bare-metal target, excluded from the host `cargo test`
/// (`preempt-arch` builds on the host too, and host-tests its pure parts).
const KERNEL_ONLY: &[&str] = &["preempt", "preempt-drivers"];
/// Lines of a failed run's log shown on the terminal.
const TAIL_LINES: usize = 40;

/// Options of `cargo xtask test`.
#[derive(Debug)]
pub struct Options {
    /// Boards to build for and emulate (all of them unless `--board` names one).
    pub boards: Vec<&'static Board>,
    /// QEMU runs at a time.
    pub jobs: usize,
    /// Only run binaries whose name contains this.
    pub filter: Option<String>,
    /// `--smp`: cores to run with where a test does not say (`smp=N`); default
    /// [`qemu::DEFAULT_SMP`].
    pub smp: Option<u8>,
}

/// One QEMU run: a binary in one configuration.
struct Run {
    label: String,
    board: &'static Board,
    gic: Option<u8>,
    smp: u8,
    image: PathBuf,
    /// The ELF, for symbolizing backtraces in the log.
    elf: PathBuf,
    expect: Expectations,
    log: PathBuf,
    /// QEMU's working directory, for a binary built with features (`trace` writes its file
    /// there): one per run, so parallel runs do not write over each other's files.
    workdir: Option<PathBuf>,
}

/// Runs the command; returns the process exit status.
pub fn run(opts: &Options) -> Result<i32, Error> {
    let qemu = qemu::find()?;
    let ws = build::workspace()?;

    println!("==> host tests");
    let host_ok = host_tests(&ws)?;

    let mut runs = Vec::new();
    let with_template = template::selected(opts.filter.as_deref());
    // A filter no test or example matches (`--filter template`) needs no kernel build.
    let boards = if !any_kernel_matches(&ws, opts.filter.as_deref()) {
        &[][..]
    } else {
        &opts.boards[..]
    };
    for &board in boards {
        println!(
            "==> building in-QEMU tests and examples for board `{}`{}",
            board.name,
            build::first_build_note(&ws)
        );
        let artifacts = build::kernels(&ws, board, board.cargo_args, &["--tests", "--examples"])
            .inspect_err(|_| {
                if let Err(reason) = &host_ok {
                    println!("host tests FAILED ({reason})");
                }
            })?;
        let artifacts = with_features(&ws, board, artifacts, opts.filter.as_deref())?;
        runs.extend(plan(&ws, opts, board, &artifacts)?);
    }
    if runs.is_empty() && !with_template {
        println!(
            "note: no in-QEMU tests or examples{}",
            opts.filter
                .as_ref()
                .map_or(String::new(), |f| format!(" match `{f}`"))
        );
    }

    let plural = if runs.len() == 1 { "" } else { "s" };
    if !runs.is_empty() || !with_template {
        println!(
            "==> {} QEMU run{plural}, {} at a time",
            runs.len(),
            opts.jobs.min(runs.len()).max(1)
        );
    }
    let (mut passed, mut failures) = run_all(&qemu, &ws.root, runs, opts.jobs);
    if with_template {
        let names: Vec<&str> = opts.boards.iter().map(|b| b.name).collect();
        let (ok, failed) = template::run(&ws, &names)?;
        passed += ok;
        failures.extend(failed);
    }
    // The benchmark regression gate counts as one more run, so the closing line covers it.
    match crate::bench::after_tests(opts)? {
        Some(true) => passed += 1,
        Some(false) => {
            failures.push(("bench --quick --check".into(), ws.root.join("target/bench")))
        }
        None => {}
    }
    match crate::profile::after_tests(&ws, opts)? {
        Some(true) => passed += 1,
        Some(false) => failures.push(("profile --self-test".into(), ws.target_dir.join("profile"))),
        None => {}
    }
    match crate::trace::after_tests(&ws, opts)? {
        Some(true) => passed += 1,
        Some(false) => failures.push((
            "trace --self-test".into(),
            ws.target_dir.join("trace/self-test/console.log"),
        )),
        None => {}
    }
    let failed = failures.len();
    failures.sort();
    if !failures.is_empty() {
        println!("\nfailed runs:");
        for (label, log) in &failures {
            println!("    {label}  (log: {})", relative(&ws.root, log).display());
        }
    }
    if let Err(reason) = &host_ok {
        println!("host tests FAILED ({reason})");
    }
    println!("{passed} passed, {failed} failed");
    Ok(if failed == 0 && host_ok.is_ok() { 0 } else { 1 })
}

/// `cargo test` of every workspace crate except the kernel's; `Err` describes a failure.
fn host_tests(ws: &Workspace) -> Result<Result<(), String>, Error> {
    let mut cmd = build::cargo(&ws.root);
    cmd.args(["test", "--workspace", "--no-fail-fast"]);
    for package in KERNEL_ONLY {
        cmd.args(["--exclude", package]);
    }
    let status = cmd
        .status()
        .map_err(|e| Error::new(format!("cannot run cargo: {e}")))?;
    Ok(if status.success() {
        Ok(())
    } else {
        Err(format!("cargo test {}", qemu::describe(status)))
    })
}

/// Whether an in-QEMU test or example of the kernel package has a name containing `filter`
/// (always, without a filter), judged by the file names in its `tests/` and `examples/`.
fn any_kernel_matches(ws: &Workspace, filter: Option<&str>) -> bool {
    let Some(filter) = filter else {
        return true;
    };
    let package = ws.root.join("crates").join(build::KERNEL_PACKAGE);
    ["tests", "examples"].iter().any(|dir| {
        std::fs::read_dir(package.join(dir)).is_ok_and(|entries| {
            entries.flatten().any(|e| {
                Path::new(&e.file_name())
                    .file_stem()
                    .is_some_and(|stem| stem.to_string_lossy().contains(filter))
            })
        })
    })
}

/// `artifacts` with each selected one whose file asks for cargo features
/// (`//! xtask: features=…`) rebuilt with them (beside the board's), replacing the plain build.
fn with_features(
    ws: &Workspace,
    board: &'static Board,
    mut artifacts: Vec<Artifact>,
    filter: Option<&str>,
) -> Result<Vec<Artifact>, Error> {
    for artifact in &mut artifacts {
        if filter.is_some_and(|f| !artifact.name.contains(f)) {
            continue;
        }
        let features = expect::read(&artifact.src_path)?.features.join(",");
        if features.is_empty() {
            continue;
        }
        println!(
            "==> building {} `{}` with features {features}",
            artifact.kind.name(),
            artifact.name
        );
        let mut cargo_args = board.cargo_args.to_vec();
        cargo_args.extend(["--features", &features]);
        let flag = format!("--{}", artifact.kind.name());
        let selection = [flag.as_str(), artifact.name.as_str()];
        let built = build::kernels(ws, board, &cargo_args, &selection)?;
        *artifact = built
            .into_iter()
            .find(|a| (a.kind, &a.name) == (artifact.kind, &artifact.name))
            .ok_or_else(|| {
                Error::new(format!(
                    "cargo built no executable for {} `{}` with features {features}",
                    artifact.kind.name(),
                    artifact.name
                ))
            })?;
    }
    Ok(artifacts)
}

/// Every (binary, configuration) pair to run, with its image made and its log path chosen.
fn plan(
    ws: &Workspace,
    opts: &Options,
    board: &'static Board,
    artifacts: &[Artifact],
) -> Result<Vec<Run>, Error> {
    let log_dir = ws.target_dir.join("qemu-tests");
    std::fs::create_dir_all(&log_dir)
        .map_err(|e| Error::new(format!("creating {}: {e}", log_dir.display())))?;
    let mut runs = Vec::new();
    for artifact in artifacts {
        if opts
            .filter
            .as_ref()
            .is_some_and(|f| !artifact.name.contains(f.as_str()))
        {
            continue;
        }
        let expect = expect::read(&artifact.src_path)?;
        let image = build::image(ws, board, artifact)?;
        // A test and an example may share a name; only then do example logs get a prefix.
        let clash = artifact.kind == build::Kind::Example
            && artifacts
                .iter()
                .any(|a| a.kind == build::Kind::Test && a.name == artifact.name);
        let stem = if clash {
            format!("example-{}", artifact.name)
        } else {
            artifact.name.clone()
        };
        for (i, gic) in board.configs().into_iter().enumerate() {
            // `gic=N` limits a test to that GIC version (so boards without a GIC skip it).
            if expect.gic.is_some() && expect.gic != gic {
                continue;
            }
            for smp in core_counts(&expect, opts.smp, board, i) {
                let mut config = match smp {
                    1 => board.label(gic),
                    n => format!("{} smp{n}", board.label(gic)),
                };
                if !expect.icount {
                    config.push_str(" mttcg");
                }
                runs.push(Run {
                    label: format!("{:<5} {} [{config}]", artifact.kind.name(), artifact.name),
                    board,
                    gic,
                    smp,
                    image: image.clone(),
                    elf: artifact.executable.clone(),
                    expect: expect.clone(),
                    log: log_dir.join(format!("{stem}-{}.log", config.replace(' ', "-"))),
                    workdir: (!expect.features.is_empty()).then(|| {
                        log_dir.join(format!("{stem}-{}.files", config.replace(' ', "-")))
                    }),
                });
            }
        }
    }
    Ok(runs)
}

/// The core counts a binary runs with in the `index`-th configuration of `board`: a test's
/// `smp=N` wins over `--smp`; without either, [`qemu::DEFAULT_SMP`] cores everywhere and, on
/// virt's first configuration (GICv2), one core as well, so that the single-core system stays tested.
fn core_counts(expect: &Expectations, smp: Option<u8>, board: &Board, index: usize) -> Vec<u8> {
    match expect.smp.or(smp) {
        Some(n) => vec![n],
        None if board.name == "virt" && index == 0 && qemu::DEFAULT_SMP != 1 => {
            vec![qemu::DEFAULT_SMP, 1]
        }
        None => vec![qemu::DEFAULT_SMP],
    }
}

/// Runs everything, printing each result as it arrives: the `-icount` runs on `jobs` threads,
/// then the real-time ones (`icount=off`) one at a time with nothing beside them, so that
/// their vCPUs get the host's cores (their sizes are set for a host that is otherwise idle;
/// beside other QEMUs they reached a fifth of them: docs/performance.md, "Stress sizes under
/// real parallelism"). Returns the number passed and the (label, log) of each failure.
fn run_all(
    qemu: &Path,
    root: &Path,
    runs: Vec<Run>,
    jobs: usize,
) -> (usize, Vec<(String, PathBuf)>) {
    let total = runs.len();
    let (alone, shared) = in_phases(runs);
    let mut tally = Tally {
        done: 0,
        total,
        passed: 0,
        failed: Vec::new(),
    };
    run_pool(qemu, root, shared, jobs, &mut tally);
    run_pool(qemu, root, alone, 1, &mut tally);
    (tally.passed, tally.failed)
}

/// Splits the runs into those that must run alone (real time) and the rest, each in the
/// order given.
fn in_phases(runs: Vec<Run>) -> (Vec<Run>, Vec<Run>) {
    runs.into_iter().partition(|r| !r.expect.icount)
}

/// Counts over both phases of [`run_all`].
struct Tally {
    done: usize,
    total: usize,
    passed: usize,
    failed: Vec<(String, PathBuf)>,
}

/// Runs `runs` on `jobs` threads, printing and counting each result as it arrives.
fn run_pool(qemu: &Path, root: &Path, runs: Vec<Run>, jobs: usize, tally: &mut Tally) {
    let queue = Mutex::new(runs.into_iter().collect::<VecDeque<_>>());
    let (tx, rx) = mpsc::channel();
    std::thread::scope(|scope| {
        for _ in 0..jobs.max(1) {
            let tx = tx.clone();
            let queue = &queue;
            scope.spawn(move || loop {
                let Some(run) = queue.lock().unwrap_or_else(|e| e.into_inner()).pop_front() else {
                    break;
                };
                let start = Instant::now();
                let verdict = execute(qemu, root, &run);
                if tx.send((run, verdict, start.elapsed())).is_err() {
                    break;
                }
            });
        }
        drop(tx);
        for (run, verdict, elapsed) in rx {
            tally.done += 1;
            let secs = elapsed.as_secs_f64();
            let count = progress(tally.done, tally.total);
            let alone = if run.expect.icount { "" } else { ", alone" };
            match verdict {
                Ok(()) => {
                    tally.passed += 1;
                    println!("{count} {} ... ok ({secs:.1} s{alone})", run.label);
                }
                Err(reason) => {
                    println!(
                        "{count} {} ... FAILED ({reason}; {secs:.1} s{alone})",
                        run.label
                    );
                    print_tail(root, &run.log, TAIL_LINES);
                    tally.failed.push((run.label, run.log));
                }
            }
        }
    });
}

/// One QEMU run, console to its log file, whose backtraces are then symbolized; `Err` says
/// why it failed.
fn execute(qemu: &Path, root: &Path, run: &Run) -> Result<(), String> {
    let log =
        File::create(&run.log).map_err(|e| format!("cannot create {}: {e}", run.log.display()))?;
    let log_err = log
        .try_clone()
        .map_err(|e| format!("cannot duplicate log handle: {e}"))?;
    let icount = run.expect.icount;
    let mut cmd = qemu::command(qemu, run.board, run.gic, run.smp, icount, &run.image, &[]);
    if let Some(dir) = &run.workdir {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        cmd.current_dir(dir);
    }
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log_err)
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", qemu.display()))?;
    let outcome = qemu::wait(&mut child, Some(run.expect.timeout)).map_err(|e| e.message)?;
    let output = symbolize_log(root, run);
    let status = match outcome {
        qemu::Outcome::Exited(status) => status,
        qemu::Outcome::TimedOut => {
            return Err(format!(
                "timed out after {} s",
                run.expect.timeout.as_secs()
            ))
        }
    };
    let code = qemu::exit_code(status);
    if code != run.expect.exit {
        return Err(format!(
            "{}, expected exit {}",
            qemu::describe(status),
            run.expect.exit
        ));
    }
    run.expect.check_output(&output)
}

/// Reads a run's log and, if it holds a backtrace, rewrites it symbolized (see
/// [`symbolize`]) for the checks and for whoever reads the log; returns its text. Never
/// fails the run by itself: a log that cannot be symbolized is checked as it is, with a
/// last line saying why, and one that is not valid UTF-8 is not written back.
fn symbolize_log(root: &Path, run: &Run) -> String {
    let bytes = match std::fs::read(&run.log) {
        Ok(bytes) => bytes,
        Err(e) => return format!("(cannot read {}: {e})", run.log.display()),
    };
    let output = String::from_utf8_lossy(&bytes).into_owned();
    if !symbolize::has_backtrace(&output) {
        return output;
    }
    let symbols = std::fs::read(&run.elf)
        .map_err(|e| format!("cannot read {}: {e}", run.elf.display()))
        .and_then(|data| {
            let symbols = Symbols::parse(&data, root).map_err(|e| e.message)?;
            let named = symbolize::text(&output, &symbolize::lookup(&symbols));
            Ok(named)
        });
    match symbols {
        Ok(named) => {
            if std::str::from_utf8(&bytes).is_ok() {
                // Best effort: the checks use the text returned either way.
                let _ = std::fs::write(&run.log, &named);
            }
            named
        }
        Err(why) => format!("{output}\n(backtrace not symbolized: {why})\n"),
    }
}

/// `[done/total]`, `done` padded to the width of `total` so the result lines align.
pub(crate) fn progress(done: usize, total: usize) -> String {
    let width = total.to_string().len();
    format!("[{done:>width$}/{total}]")
}

/// Prints the last `n` lines of a run's log, indented (shared by `test` and `bench`).
pub(crate) fn print_tail(root: &Path, log: &Path, n: usize) {
    let text = std::fs::read(log)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let tail = &lines[lines.len().saturating_sub(n)..];
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

/// `path` relative to the workspace root, for messages.
pub(crate) fn relative<'a>(root: &Path, path: &'a Path) -> &'a Path {
    path.strip_prefix(root).unwrap_or(path)
}

/// Default `--jobs`: the number of CPUs.
pub fn default_jobs() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_counts_align() {
        assert_eq!(progress(1, 1), "[1/1]");
        assert_eq!(progress(3, 87), "[ 3/87]");
        assert_eq!(progress(87, 87), "[87/87]");
        assert_eq!(progress(12, 120), "[ 12/120]");
    }

    #[test]
    fn real_time_runs_go_alone_after_the_others_in_their_order() {
        let virt = crate::board::find("virt").unwrap();
        let run = |name: &str, icount: bool| Run {
            label: name.into(),
            board: virt,
            gic: None,
            smp: 4,
            image: PathBuf::new(),
            elf: PathBuf::new(),
            expect: Expectations {
                icount,
                ..Expectations::default()
            },
            log: PathBuf::new(),
            workdir: None,
        };
        let runs = vec![
            run("a", true),
            run("stress1", false),
            run("b", true),
            run("stress2", false),
        ];
        let (alone, shared) = in_phases(runs);
        let names = |v: &[Run]| v.iter().map(|r| r.label.clone()).collect::<Vec<_>>();
        assert_eq!(names(&alone), ["stress1", "stress2"]);
        assert_eq!(names(&shared), ["a", "b"]);
    }

    #[test]
    fn a_directive_wins_over_smp_which_wins_over_the_default() {
        let virt = crate::board::find("virt").unwrap();
        let pi = crate::board::find("rpi-zero2w").unwrap();
        let said = Expectations {
            smp: Some(2),
            ..Expectations::default()
        };
        let silent = Expectations::default();
        assert_eq!(core_counts(&said, Some(3), virt, 0), [2]);
        assert_eq!(core_counts(&silent, Some(3), virt, 0), [3]);
        assert_eq!(core_counts(&silent, None, virt, 1), [qemu::DEFAULT_SMP]);
        assert_eq!(core_counts(&silent, None, pi, 0), [qemu::DEFAULT_SMP]);
        // One core as well, once, on virt, when the default is several.
        let first = core_counts(&silent, None, virt, 0);
        assert_eq!(first.len(), if qemu::DEFAULT_SMP == 1 { 1 } else { 2 });
        assert_eq!(first[0], qemu::DEFAULT_SMP);
    }
}
