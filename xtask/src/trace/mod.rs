//! `cargo xtask trace`: run an example with the kernel's event trace on and turn the trace
//! into a Perfetto/Chrome JSON, an SVG timeline and a summary table.
//!
//! The kernel (feature `trace` of `preempt`) records scheduler events in per-core rings and
//! writes them through semihosting, as the program exits, to `preempt-trace.bin` in QEMU's
//! working directory (the layout is crate `trace-format`). So this command builds the example
//! with `--features trace` (plus the board's cargo arguments), runs it under `-icount`
//! (deterministic timing: the same trace every run) with a timeout, QEMU's working directory a
//! scratch folder under `<target>/trace/`, then reads the file: [`model`] (with [`runs`] for
//! each core) pairs records into runs, interrupt handlers, instants and wake-to-run flows;
//! [`json`], [`svg`] and [`summary`] draw them; [`elf`] reads mark texts from the example's ELF. [`check`] holds what
//! `--self-test` verifies (the `mutex` example's priority-inheritance story, well-nested JSON,
//! an SVG naming every thread); `cargo xtask test` runs it as one more run.

mod check;
mod elf;
mod json;
mod model;
#[cfg(test)]
mod robust_tests;
mod runs;
mod summary;
mod svg;
#[cfg(test)]
mod tests;

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::board::{self, Board};
use crate::build::{self, Workspace};
use crate::{qemu, run, Args, Error};

use model::Model;

/// The example `--self-test` traces.
const SELF_TEST_EXAMPLE: &str = "mutex";
/// Cores of the self-test's run: enough for idle cores beside the one `mutex` pins its
/// threads to, few enough to keep the run short.
const SELF_TEST_SMP: u8 = 2;
/// Time limit of the self-test's run.
const SELF_TEST_TIMEOUT: Duration = Duration::from_secs(60);

/// Options of `cargo xtask trace`.
#[derive(Debug)]
pub struct Options {
    /// Example to trace.
    pub example: String,
    /// Board to build for and emulate.
    pub board: &'static Board,
    /// Cores to run with.
    pub smp: u8,
    /// Folder for the outputs (default `<target>/trace/<example>`).
    pub out: Option<PathBuf>,
    /// Time limit of the run.
    pub timeout: Duration,
    /// Trace [`SELF_TEST_EXAMPLE`] and check the outputs instead.
    pub self_test: bool,
}

/// Parses the options of `trace` (the words after it).
pub fn parse(mut args: Args) -> Result<crate::Command, Error> {
    let mut opts = Options {
        example: "demo".to_string(),
        board: board::default(),
        smp: qemu::DEFAULT_SMP,
        out: None,
        timeout: Duration::from_secs(60),
        self_test: false,
    };
    let mut example_given = false;
    while let Some((flag, inline)) = args.next_flag() {
        match flag.as_str() {
            "--example" => {
                opts.example = args.value(&flag, inline)?;
                example_given = true;
            }
            "--board" => opts.board = board::find(&args.value(&flag, inline)?)?,
            "--smp" => opts.smp = args.smp(&flag, inline)?,
            "--out" => opts.out = Some(args.value(&flag, inline)?.into()),
            "--timeout" => match args.number(&flag, inline)? {
                0 => return Err(Error::usage("`--timeout` must be at least 1 second")),
                secs => opts.timeout = Duration::from_secs(secs),
            },
            "--self-test" if inline.is_none() => opts.self_test = true,
            "-h" | "--help" => return Ok(crate::help_for("trace")),
            _ => return Err(crate::unknown_option("trace", &flag, inline.as_deref())),
        }
    }
    if opts.self_test && example_given {
        return Err(Error::usage(
            "`--self-test` traces the `mutex` example; drop `--example`",
        ));
    }
    Ok(crate::Command::Trace(opts))
}

/// Runs the command; returns the process exit status (the program's, when it ran).
pub fn run(opts: &Options) -> Result<i32, Error> {
    let ws = build::workspace()?;
    if opts.self_test {
        return Ok(if self_test(&ws, opts.board)? { 0 } else { 1 });
    }
    run::check_example(&ws.root, &opts.example)?;
    let out = opts
        .out
        .clone()
        .unwrap_or_else(|| ws.target_dir.join("trace").join(&opts.example));
    let run = Traced::capture(&ws, opts.board, &opts.example, opts.smp, opts.timeout, None)?;
    let written = write_outputs(&out, &run.model, &opts.example)?;
    print!("\n{}", summary::render(&run.model));
    println!(
        "\nwrote {}\n      {}\nopen trace.json in https://ui.perfetto.dev (Open trace file) or chrome://tracing",
        crate::test::relative(&ws.root, &written.json).display(),
        crate::test::relative(&ws.root, &written.svg).display()
    );
    if run.status != 0 {
        eprintln!("note: the program exited with status {}", run.status);
    }
    Ok(run.status)
}

/// A traced run of an example.
struct Traced {
    /// QEMU's exit status (the program's).
    status: i32,
    /// The trace, paired up.
    model: Model,
}

impl Traced {
    /// Builds `example` with the trace on, runs it in a scratch folder and reads its trace.
    /// The console goes to the terminal, or to `console` if given.
    fn capture(
        ws: &Workspace,
        board: &'static Board,
        example: &str,
        smp: u8,
        timeout: Duration,
        console: Option<&Path>,
    ) -> Result<Traced, Error> {
        let qemu = qemu::find()?;
        let mut cargo_args = board.cargo_args.to_vec();
        cargo_args.extend(["--features", "trace"]);
        eprintln!(
            "Building example `{example}` with the trace on for board `{}`{}",
            board.name,
            build::first_build_note(ws)
        );
        let artifacts = build::kernels(ws, board, &cargo_args, &["--example", example])?;
        let artifact = artifacts
            .iter()
            .find(|a| a.kind == build::Kind::Example && a.name == example)
            .ok_or_else(|| Error::new(format!("cargo built no executable for `{example}`")))?;
        let image = build::image(ws, board, artifact)?;
        let scratch = ws
            .target_dir
            .join("trace")
            .join("qemu")
            .join(format!("{}-{example}", board.name));
        std::fs::create_dir_all(&scratch)
            .map_err(|e| Error::new(format!("creating {}: {e}", scratch.display())))?;
        let file = scratch.join(trace_format::FILE_NAME);
        let _ = std::fs::remove_file(&file);

        let mut cmd = qemu::command(&qemu, board, board.gic(None)?, smp, true, &image, &[]);
        cmd.current_dir(&scratch);
        if let Some(log) = console {
            let out = File::create(log)
                .map_err(|e| Error::new(format!("creating {}: {e}", log.display())))?;
            let err = out
                .try_clone()
                .map_err(|e| Error::new(format!("duplicating a file handle: {e}")))?;
            cmd.stdin(Stdio::null()).stdout(out).stderr(err);
        } else {
            eprintln!("Running `{example}` under -icount in {}", scratch.display());
        }
        let mut child = cmd
            .spawn()
            .map_err(|e| Error::new(format!("cannot start {}: {e}", qemu.display())))?;
        let status = match qemu::wait(&mut child, Some(timeout))? {
            qemu::Outcome::Exited(status) => qemu::exit_code(status),
            qemu::Outcome::TimedOut => {
                return Err(Error::new(format!(
                    "`{example}` did not end within {} s, so it wrote no trace (the kernel \
                     writes it as the program exits; see --timeout)",
                    timeout.as_secs()
                )))
            }
        };
        let trace = read_trace(&file).map_err(|e| {
            Error::new(format!(
                "`{example}` exited (status {status}), but {}",
                e.message
            ))
        })?;
        let strings = elf::Strings::read(&artifact.executable)?;
        let model = Model::build(&trace, &|address, len| strings.get(address, len));
        Ok(Traced { status, model })
    }
}

/// Reads and parses the trace file at `path`; the error names the file and the problem.
fn read_trace(path: &Path) -> Result<trace_format::Trace, Error> {
    let bytes = std::fs::read(path).map_err(|e| {
        Error::new(format!(
            "its trace file {} cannot be read: {e}",
            path.display()
        ))
    })?;
    trace_format::parse(&bytes)
        .map_err(|e| Error::new(format!("its trace file {} is damaged: {e}", path.display())))
}

/// Where [`write_outputs`] put the files.
struct Written {
    json: PathBuf,
    svg: PathBuf,
}

/// Writes `trace.json` and `timeline.svg` of `model` into `dir`.
fn write_outputs(dir: &Path, model: &Model, program: &str) -> Result<Written, Error> {
    std::fs::create_dir_all(dir)
        .map_err(|e| Error::new(format!("creating {}: {e}", dir.display())))?;
    let written = Written {
        json: dir.join("trace.json"),
        svg: dir.join("timeline.svg"),
    };
    for (path, text) in [
        (&written.json, json::render(model, program)),
        (&written.svg, svg::render(model, program)),
    ] {
        std::fs::write(path, text)
            .map_err(|e| Error::new(format!("writing {}: {e}", path.display())))?;
    }
    Ok(written)
}

/// `--self-test` on `board` (also the step `cargo xtask test` runs): traces `mutex` and
/// checks the story and the outputs. Returns whether it passed.
pub fn self_test(ws: &Workspace, board: &'static Board) -> Result<bool, Error> {
    let start = Instant::now();
    let dir = ws.target_dir.join("trace").join("self-test");
    std::fs::create_dir_all(&dir)
        .map_err(|e| Error::new(format!("creating {}: {e}", dir.display())))?;
    let console = dir.join("console.log");
    let verdict = Traced::capture(
        ws,
        board,
        SELF_TEST_EXAMPLE,
        SELF_TEST_SMP,
        SELF_TEST_TIMEOUT,
        Some(&console),
    )
    .map_err(|e| e.message)
    .and_then(|run| {
        if run.status != 0 {
            return Err(format!("`mutex` exited with status {}", run.status));
        }
        let written = write_outputs(&dir, &run.model, SELF_TEST_EXAMPLE).map_err(|e| e.message)?;
        let story = check::mutex_story(&run.model)?;
        let read = |path: &Path| {
            std::fs::read_to_string(path).map_err(|e| format!("reading {}: {e}", path.display()))
        };
        let slices =
            check::slices_nest(&read(&written.json)?).map_err(|e| format!("trace.json: {e}"))?;
        check::names_every_thread(&run.model, &read(&written.svg)?)?;
        Ok(format!("{story}; {slices} slices well nested"))
    });
    let secs = start.elapsed().as_secs_f64();
    match verdict {
        Ok(story) => {
            println!("trace {SELF_TEST_EXAMPLE} ... ok ({story}; {secs:.1} s)");
            Ok(true)
        }
        Err(reason) => {
            println!("trace {SELF_TEST_EXAMPLE} ... FAILED ({reason}; {secs:.1} s)");
            println!(
                "    console: {}",
                crate::test::relative(&ws.root, &console).display()
            );
            Ok(false)
        }
    }
}

/// The step of `cargo xtask test` after the benchmarks: `--self-test` on the default board,
/// when the run covers that board and has no filter (or one `trace` contains). Returns
/// whether it passed, or `None` when skipped.
pub fn after_tests(ws: &Workspace, opts: &crate::test::Options) -> Result<Option<bool>, Error> {
    if !opts.filter.as_deref().is_none_or(|f| "trace".contains(f)) {
        return Ok(None);
    }
    let board = board::default();
    if !opts.boards.iter().any(|b| b.name == board.name) {
        println!(
            "note: trace self-test skipped (it runs on board `{}`)",
            board.name
        );
        return Ok(None);
    }
    println!("\n==> trace self-test (cargo xtask trace --self-test)");
    self_test(ws, board).map(Some)
}
