//! `cargo xtask run`: build one example and run it in QEMU with the terminal as its console.
//!
//! The example name is checked against `crates/preempt/examples/` before anything is built,
//! so a typo lists the choices instead of producing a cargo error; QEMU's presence is checked
//! before building too. The xtask exits with QEMU's exit status (which a kernel sets through
//! semihosting), or 124 when the timeout kills it, like `timeout(1)`. QEMU's console output
//! reaches the terminal through [`symbolize::forward`], which names the code addresses of
//! crash reports' backtraces.

use std::path::Path;
use std::process::{ChildStdout, Stdio};
use std::time::Duration;

use crate::board::Board;
use crate::symbols::Symbols;
use crate::{build, qemu, suggest, symbolize, Error};

/// Exit status when the run was killed by the timeout.
pub const TIMED_OUT: i32 = 124;

/// Options of `cargo xtask run`.
#[derive(Debug)]
pub struct Options {
    /// Example to run.
    pub example: String,
    /// Board to build for and emulate.
    pub board: &'static Board,
    /// `--gic`, if given.
    pub gic: Option<u8>,
    /// Whether to pass `-icount shift=0,sleep=off`.
    pub icount: bool,
    /// `--smp`: cores to run with.
    pub smp: u8,
    /// `--mini-uart`: the board's alternative console (the Pi's mini UART).
    pub mini_uart: bool,
    /// Time limit; `None` with `--timeout 0`.
    pub timeout: Option<Duration>,
    /// Arguments after `--`, appended to QEMU's command line.
    pub qemu_args: Vec<String>,
}

/// Runs the command; returns the process exit status.
pub fn run(opts: &Options) -> Result<i32, Error> {
    let gic = opts.board.gic(opts.gic)?;
    let alt_console = opts
        .mini_uart
        .then(|| opts.board.alt_console())
        .transpose()?;
    let ws = build::workspace()?;
    check_example(&ws.root, &opts.example)?;
    let qemu = qemu::find()?;

    let mut cargo_args = opts.board.cargo_args.to_vec();
    let mut qemu_args = Vec::new();
    if let Some(alt) = alt_console {
        cargo_args.extend(["--features", alt.feature]);
        qemu_args.extend(alt.qemu_args.iter().map(|a| a.to_string()));
    }
    qemu_args.extend(opts.qemu_args.iter().cloned());
    eprintln!(
        "Building example `{}` for board `{}`{}",
        opts.example,
        opts.board.name,
        build::first_build_note(&ws)
    );
    let artifacts = build::kernels(&ws, opts.board, &cargo_args, &["--example", &opts.example])?;
    let artifact = artifacts
        .iter()
        .find(|a| a.kind == build::Kind::Example && a.name == opts.example)
        .ok_or_else(|| {
            Error::new(format!(
                "cargo built no executable for example `{}`",
                opts.example
            ))
        })?;
    let image = build::image(&ws, opts.board, artifact)?;

    let mut cmd = qemu::command(
        &qemu,
        opts.board,
        gic,
        opts.smp,
        opts.icount,
        &image,
        &qemu_args,
    );
    eprintln!("Running {}", describe_command(&cmd));
    // The console goes through the symbolizer on its way to the terminal (stdin and stderr
    // stay the terminal's, so the run is as interactive as QEMU alone).
    cmd.stdout(Stdio::piped());
    let mut child = cmd
        .spawn()
        .map_err(|e| Error::new(format!("cannot start {}: {e}", qemu.display())))?;
    let console = child.stdout.take().expect("stdout is piped");
    let outcome = std::thread::scope(|scope| {
        scope.spawn(|| forward_console(console, &artifact.executable, &ws.root));
        let outcome = qemu::wait(&mut child, opts.timeout);
        if outcome.is_err() {
            // QEMU may still run: end it, or the scope would wait for its console forever.
            qemu::stop(&mut child);
        }
        outcome
        // The scope waits for the console to be copied to its end (QEMU has exited).
    });
    match outcome? {
        qemu::Outcome::Exited(status) => Ok(qemu::exit_code(status)),
        qemu::Outcome::TimedOut => {
            eprintln!(
                "timed out after {} s",
                opts.timeout.unwrap_or_default().as_secs()
            );
            Ok(TIMED_OUT)
        }
    }
}

/// Copies QEMU's console to stdout, naming the code addresses of crash reports from `elf`'s
/// debug information (see [`symbolize`]); without it (unreadable ELF) copies it unchanged.
fn forward_console(console: ChildStdout, elf: &Path, root: &Path) {
    let data = std::fs::read(elf).unwrap_or_default();
    let symbols = match Symbols::parse(&data, root) {
        Ok(symbols) => Some(symbols),
        Err(e) => {
            eprintln!("note: backtraces stay unsymbolized: {}", e.message);
            None
        }
    };
    let lookup = symbols.as_ref().map(symbolize::lookup);
    let rewrite = |line: &str| {
        lookup
            .as_ref()
            .and_then(|lookup| symbolize::rewrite_line(line, lookup))
    };
    let _ = symbolize::forward(console, &mut std::io::stdout(), &rewrite);
}

/// The examples of the kernel package: `examples/NAME.rs` and `examples/NAME/main.rs`.
pub fn examples(root: &Path) -> Vec<String> {
    let dir = root
        .join("crates")
        .join(build::KERNEL_PACKAGE)
        .join("examples");
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "rs") || path.join("main.rs").is_file() {
                Some(path.file_stem()?.to_string_lossy().into_owned())
            } else {
                None
            }
        })
        .collect();
    names.sort();
    names
}

/// Checks that `name` is an example of the kernel package; the error names the closest one.
pub fn check_example(root: &Path, name: &str) -> Result<(), Error> {
    let available = examples(root);
    if available.iter().any(|e| e == name) {
        return Ok(());
    }
    Err(Error::usage(unknown_example(name, &available)))
}

fn unknown_example(name: &str, available: &[String]) -> String {
    let dir = format!("crates/{}/examples", build::KERNEL_PACKAGE);
    if available.is_empty() {
        format!("unknown example `{name}`: there are no examples in {dir}/ yet")
    } else {
        format!(
            "unknown example `{name}`{} (examples in {dir}/: {})",
            suggest::did_you_mean(name, available.iter().map(String::as_str)),
            available.join(", ")
        )
    }
}

fn describe_command(cmd: &std::process::Command) -> String {
    let mut words = vec![cmd.get_program().to_string_lossy().into_owned()];
    words.extend(cmd.get_args().map(|a| a.to_string_lossy().into_owned()));
    words.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mistyped_example_gets_the_closest_name() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        let available = examples(root);
        assert!(available.iter().any(|e| e == "demo"), "{available:?}");
        check_example(root, "demo").unwrap();
        let err = check_example(root, "dmeo").unwrap_err();
        assert_eq!(err.code, 2);
        assert!(
            err.message.starts_with(
                "unknown example `dmeo`; did you mean `demo`? (examples in crates/preempt/examples/: "
            ),
            "{}",
            err.message
        );
        assert_eq!(
            unknown_example("zzz", &["demo".into(), "sleep".into()]),
            "unknown example `zzz` (examples in crates/preempt/examples/: demo, sleep)"
        );
    }
}
