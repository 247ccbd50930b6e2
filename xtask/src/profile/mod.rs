//! `cargo xtask profile`: where the instructions of one benchmark metric go.
//!
//! It runs the benchmark kernel that measures the metric (the `--quick` build, as `bench
//! --quick` runs it) under QEMU with the benchmark's flags (`-icount shift=0,sleep=off`, …)
//! plus `-singlestep -d exec,nochain,in_asm -D <log>`: one log entry per instruction entered.
//! Then [`analysis`] streams the log twice:
//!
//! 1. [`log`] turns the entries into retired instructions (QEMU marks the ones that did not
//!    run), and [`window`] cuts them into windows between consecutive counter reads, up to
//!    the kernel's report of the metric ([`metrics`] says which kernel reports it, and how);
//! 2. [`window::choose`] picks one window that gives the metric's figure (the median the
//!    kernel printed), in the steady state;
//! 3. the second pass collects that window's instructions (minus the reference window's, for
//!    `timer_irq_cost`); [`symbols`] maps each address to its symbol and inline chain (DWARF), and
//!    [`report`] prints instructions per function and per symbol, which sum to the figure,
//!    and with `--listing` every address.
//!
//! The sum is exact by construction of the window; what is checked is that the window
//! exists and that enough windows between the same two reads give the figure: when the
//! kernel's median equals its maximum, at least half its samples are that figure, each one
//! such a window — so a log filter that kept or dropped one instruction too many fails here.
//! `--self-test` runs `yield_switch` and `timer_irq_cost` this way (`cargo xtask test` runs it).

mod analysis;
mod log;
mod metrics;
mod report;
mod symbols;
mod window;

use std::fs::File;
use std::path::Path;
use std::process::Stdio;
use std::time::Instant;

use crate::bench::kernels::build_kernels;
use crate::bench::report::group;

use crate::board::{self, Board};
use crate::build::{self, Artifact, Workspace};
use crate::{expect, qemu, Args, Error};

use analysis::{analyse, Profile};
use metrics::Profiled;

/// QEMU's extra arguments: one instruction per block, every block entry logged.
const TRACE_ARGS: [&str; 3] = ["-singlestep", "-d", "exec,nochain,in_asm"];
/// The metrics `--self-test` profiles.
const SELF_TEST: [&str; 2] = ["yield_switch", "timer_irq_cost"];
/// The kernel's own timeout is multiplied by this with the log on: logging every instruction
/// makes QEMU some 35 times slower, and a kernel's timeout is far above its normal run time.
const SLOWDOWN: u32 = 10;

/// Options of `cargo xtask profile`.
#[derive(Debug)]
pub struct Options {
    /// The metric to profile (none with `--self-test`).
    pub metric: Option<String>,
    /// Board to build for and emulate.
    pub board: &'static Board,
    /// Print the annotated listing too.
    pub listing: bool,
    /// Keep QEMU's execution log.
    pub keep_log: bool,
    /// Profile [`SELF_TEST`] and check each sums to its figure.
    pub self_test: bool,
    /// Cores the kernel runs with (`--smp`, as `bench`'s; the self-test runs on one). The
    /// window is cut from one core's instruction stream (the log names each entry's core),
    /// so the other cores' work is left out of it.
    pub smp: u8,
}

/// Parses the options of `profile` (the words after it).
pub fn parse(mut args: Args) -> Result<crate::Command, Error> {
    let mut opts = Options {
        metric: None,
        board: board::default(),
        listing: false,
        keep_log: false,
        self_test: false,
        smp: 1,
    };
    while let Some((flag, inline)) = args.next_flag() {
        match flag.as_str() {
            "--metric" => opts.metric = Some(args.value(&flag, inline)?),
            "--board" => opts.board = board::find(&args.value(&flag, inline)?)?,
            "--listing" if inline.is_none() => opts.listing = true,
            "--keep-log" if inline.is_none() => opts.keep_log = true,
            "--self-test" if inline.is_none() => opts.self_test = true,
            "--smp" => opts.smp = args.smp(&flag, inline)?,
            "-h" | "--help" => return Ok(crate::help_for("profile")),
            _ => return Err(crate::unknown_option("profile", &flag, inline.as_deref())),
        }
    }
    match (&opts.metric, opts.self_test) {
        (None, false) => return Err(Error::usage("`profile` needs `--metric NAME`")),
        (Some(_), true) => {
            return Err(Error::usage(
                "`--self-test` profiles its own metrics; drop `--metric`",
            ))
        }
        (Some(name), false) => {
            metrics::find(name).map_err(Error::usage)?;
        }
        (None, true) => {}
    }
    Ok(crate::Command::Profile(opts))
}

/// Runs the command; returns the process exit status.
pub fn run(opts: &Options) -> Result<i32, Error> {
    let ws = build::workspace()?;
    if opts.self_test {
        return Ok(if self_test(&ws, opts.board)? { 0 } else { 1 });
    }
    let metric = metrics::find(opts.metric.as_deref().unwrap_or_default()).map_err(Error::usage)?;
    let kernels = build(&ws, opts.board)?;
    let profile = profile(&ws, opts.board, opts.smp, &kernels, metric, opts.keep_log)?;
    print!("{}", profile.summary);
    if opts.listing {
        print!("{}", profile.listing);
    }
    Ok(0)
}

/// `--self-test` on `board` (also the step `cargo xtask test` runs): whether each metric of
/// [`SELF_TEST`] was profiled and its tables sum to the kernel's own figure.
pub fn self_test(ws: &Workspace, board: &'static Board) -> Result<bool, Error> {
    let kernels = build(ws, board)?;
    let mut ok = true;
    for name in SELF_TEST {
        let metric = metrics::find(name).map_err(Error::new)?;
        let start = Instant::now();
        let secs = || start.elapsed().as_secs_f64();
        match profile(ws, board, 1, &kernels, metric, false) {
            Ok(p) => println!(
                "profile {name} ... ok (tables sum to {} = the kernel's median; {} of {} \
                 windows give it; {:.1} s)",
                p.total,
                group(p.choice.matching as u64),
                group(p.choice.of_pair as u64),
                secs()
            ),
            Err(e) => {
                ok = false;
                println!("profile {name} ... FAILED ({}; {:.1} s)", e.message, secs());
            }
        }
    }
    Ok(ok)
}

/// The step of `cargo xtask test` after the benchmarks: `--self-test` on the default board,
/// when the run covers that board and has no filter (or one `profile` contains, as for
/// the template). Returns whether it passed, or `None` when skipped.
pub fn after_tests(ws: &Workspace, opts: &crate::test::Options) -> Result<Option<bool>, Error> {
    if !opts.filter.as_deref().is_none_or(|f| "profile".contains(f)) {
        return Ok(None);
    }
    let board = board::default();
    if !opts.boards.iter().any(|b| b.name == board.name) {
        println!(
            "note: profile self-test skipped (it runs on board `{}`)",
            board.name
        );
        return Ok(None);
    }
    println!("\n==> profile self-test (cargo xtask profile --self-test)");
    self_test(ws, board).map(Some)
}

/// Builds the benchmark kernels (the quick build).
fn build(ws: &Workspace, board: &'static Board) -> Result<Vec<Artifact>, Error> {
    println!(
        "==> building benchmark kernels for board `{}` (quick){}",
        board.name,
        build::first_build_note(ws)
    );
    build_kernels(ws, board, true)
}

/// Runs `metric`'s kernel with the execution log and profiles one window of it.
fn profile(
    ws: &Workspace,
    board: &'static Board,
    smp: u8,
    kernels: &[Artifact],
    metric: &Profiled,
    keep_log: bool,
) -> Result<Profile, Error> {
    let kernel = kernels
        .iter()
        .find(|k| k.name == metric.kernel)
        .ok_or_else(|| Error::new(format!("no benchmark kernel `{}` was built", metric.kernel)))?;
    let dir = ws.target_dir.join("profile");
    std::fs::create_dir_all(&dir)
        .map_err(|e| Error::new(format!("creating {}: {e}", dir.display())))?;
    let exec_log = dir.join(format!("{}.exec.log", metric.name));
    let console = dir.join(format!("{}.console.log", metric.name));
    let gic = board.gic(None)?;
    let result = run_kernel(ws, board, gic, smp, kernel, &exec_log, &console)
        .and_then(|output| analyse(ws, board, gic, kernel, metric, &output, &exec_log));
    if keep_log {
        if exec_log.is_file() {
            println!(
                "execution log kept: {}",
                crate::test::relative(&ws.root, &exec_log).display()
            );
        }
    } else {
        let _ = std::fs::remove_file(&exec_log);
    }
    result
}

/// Runs the kernel under QEMU with the execution log; returns its console output.
fn run_kernel(
    ws: &Workspace,
    board: &'static Board,
    gic: Option<u8>,
    smp: u8,
    kernel: &Artifact,
    exec_log: &Path,
    console: &Path,
) -> Result<String, Error> {
    let qemu = qemu::find()?;
    let named = Artifact {
        name: format!("bench-{}", kernel.name),
        ..kernel.clone()
    };
    let image = build::image(ws, board, &named)?;
    let timeout = expect::read(&kernel.src_path)?.timeout * SLOWDOWN;
    let out = File::create(console)
        .map_err(|e| Error::new(format!("creating {}: {e}", console.display())))?;
    let err = out
        .try_clone()
        .map_err(|e| Error::new(format!("duplicating a file handle: {e}")))?;
    let mut extra: Vec<String> = TRACE_ARGS.iter().map(|s| s.to_string()).collect();
    extra.extend(["-D".to_string(), exec_log.display().to_string()]);
    println!(
        "==> running kernel `{}` with every instruction logged (a few seconds to a minute)",
        kernel.name
    );
    let mut child = qemu::command(&qemu, board, gic, smp, true, &image, &extra)
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .map_err(|e| Error::new(format!("cannot start {}: {e}", qemu.display())))?;
    let status = match qemu::wait(&mut child, Some(timeout))? {
        qemu::Outcome::Exited(status) => status,
        qemu::Outcome::TimedOut => {
            return Err(Error::new(format!(
                "kernel `{}` timed out after {} s with the execution log on",
                kernel.name,
                timeout.as_secs()
            )))
        }
    };
    let output = std::fs::read(console)
        .map_err(|e| Error::new(format!("reading {}: {e}", console.display())))?;
    let output = String::from_utf8_lossy(&output).into_owned();
    if qemu::exit_code(status) != 0 || output.contains("BENCH-ERROR") {
        return Err(Error::new(format!(
            "kernel `{}` failed ({}); its console: {}",
            kernel.name,
            qemu::describe(status),
            crate::test::relative(&ws.root, console).display()
        )));
    }
    Ok(output)
}

#[cfg(test)]
mod tests {

    #[test]
    fn parses_the_command_line() {
        let Ok(crate::Command::Profile(opts)) =
            crate::cli::parse_words("profile --metric yield_switch --listing --keep-log --smp 4")
        else {
            panic!("not a profile command")
        };
        assert_eq!(opts.metric.as_deref(), Some("yield_switch"));
        assert!(opts.listing && opts.keep_log && !opts.self_test);
        assert_eq!(opts.smp, 4);
        assert_eq!(opts.board.name, "virt");
        let Ok(crate::Command::Profile(opts)) =
            crate::cli::parse_words("profile --self-test --board=rpi-zero2w")
        else {
            panic!("not a profile command")
        };
        assert!(opts.self_test && opts.metric.is_none());
        assert_eq!(opts.board.name, "rpi-zero2w");
        assert_eq!(opts.smp, 1);
        for bad in [
            "profile",
            "profile --metric",
            "profile --metric yeild_switch",
            "profile --metric tm_basic",
            "profile --metric idle_irqs_per_s",
            "profile --metric yield_switch --self-test",
            "profile --listing=1 --metric yield_switch",
            "profile --metric yield_switch --smp 5",
        ] {
            assert_eq!(crate::cli::parse_words(bad).unwrap_err().code, 2, "{bad}");
        }
    }
}
