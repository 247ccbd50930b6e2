//! `cargo xtask`: the build and test driver of preempt (argument parsing and dispatch).
//!
//! The kernel crates only build for `aarch64-unknown-none` and only run inside QEMU, so plain
//! `cargo run`/`cargo test` cannot drive them; this binary (std only, no dependencies, so it
//! builds offline in seconds) does. Modules, one concept each:
//!
//! - [`board`]: the table of boards (features, QEMU machine, image format, GIC versions);
//! - [`build`]: the kernel `cargo build`, artifact discovery from its JSON, raw images;
//! - [`qemu`]: the QEMU command line and the timeout that keeps every run bounded;
//! - [`run`]: `cargo xtask run`; [`test`]: `cargo xtask test`;
//! - [`bench`]: `cargo xtask bench`, the benchmark kernels, their results and baseline check;
//! - [`image`]: `cargo xtask image`, the boot folder of a Raspberry Pi SD card;
//! - [`expect`]: the `//! xtask: key=value` directives a test file states its expected
//!   exit status, output, timeout and GIC version with;
//! - [`json`]: the small JSON reader for cargo's output.
//!
//! Exit statuses: 0 success, 1 failure, 2 bad usage; `run` passes QEMU's status through and
//! returns 124 on timeout.

mod bench;
mod board;
mod build;
mod expect;
mod fuzz;
mod image;
mod json;
mod qemu;
mod run;
mod test;

use std::collections::VecDeque;
use std::time::Duration;

const USAGE: &str = "\
Usage: cargo xtask <command> [options]

Commands:
  run     Build an example of the kernel and run it in QEMU (console on this terminal)
  test    Run the host tests, then every in-QEMU test and example on every board
          (virt with GICv2 and GICv3, rpi-zero2w on QEMU raspi3b)
  image   Write an SD-card boot folder (kernel8.img, config.txt, README.txt) for a Pi
  bench   Run the benchmark kernels (bench/) in QEMU; table, target/bench/results.json
  fuzz    Fuzz sched-core's operation interpreter (cargo-fuzz, nightly): --seconds N (default 60)

Options of `run`:
  --example NAME    example of crates/preempt/examples/ to run (default: demo)
  --board BOARD     virt (default) or rpi-zero2w
  --gic 2|3         GIC version of the virt machine (default: 3)
  --icount          deterministic timing: -icount shift=0,sleep=off
  --timeout SECS    kill QEMU after SECS seconds, exit 124 (default: 60; 0: never)
  --mini-uart       rpi-zero2w: console on the mini UART (QEMU serial 1) instead of the PL011
  -- ARGS...        extra arguments appended to QEMU's command line

Options of `test`:
  --board BOARD     only this board: virt or rpi-zero2w (default: every board)
  --jobs N          QEMU runs in parallel (default: number of CPUs)
  --filter SUBSTR   only run in-QEMU tests and examples whose name contains SUBSTR

Options of `bench` (`test` ends with `bench --quick --check` on virt unless --filter):
  --board BOARD     virt (default) or rpi-zero2w
  --check           fail if a metric is >3% worse than bench/baseline.json, or missing
  --quick           fewer samples per metric (1,000 instead of 10,000)
  --save-baseline   write the results to bench/baseline.json (not with --quick)
  --jobs N          QEMU runs in parallel (default: number of CPUs)

Options of `image`:
  --board BOARD     rpi-zero2w (the default; the only board that is hardware)
  --example NAME    example to put in kernel8.img (default: demo)
  --out DIR         folder to write (default: target/sdcard/<board>)
  --mini-uart       console on the mini UART instead of the PL011 (config.txt to match)

In-QEMU tests (crates/preempt/tests/*.rs) and examples state expectations in their
leading comment lines: `//! xtask: expect-exit=N`, `//! xtask: expect-output=TEXT`
(repeatable), `//! xtask: timeout=SECS` (default 120), `//! xtask: gic=2|3`.
Logs: target/qemu-tests/<name>-<config>.log
";

/// Why a command stopped: a message for the user and the process exit status.
#[derive(Debug)]
pub struct Error {
    /// What went wrong, and what to do about it when known.
    pub message: String,
    /// The process exit status.
    pub code: i32,
}

impl Error {
    /// A failure (exit status 1).
    pub fn new(message: impl Into<String>) -> Self {
        Error {
            message: message.into(),
            code: 1,
        }
    }

    /// A mistake in the command line (exit status 2).
    pub fn usage(message: impl Into<String>) -> Self {
        Error {
            message: message.into(),
            code: 2,
        }
    }
}

/// A parsed command line.
#[derive(Debug)]
enum Command {
    Help,
    Run(run::Options),
    Test(test::Options),
    Image(image::Options),
    Bench(bench::Options),
    Fuzz(fuzz::Options),
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let command = match parse(args) {
        Ok(command) => command,
        Err(e) => {
            eprintln!("error: {}\n\n{USAGE}", e.message);
            std::process::exit(e.code);
        }
    };
    let result = match command {
        Command::Help => {
            print!("{USAGE}");
            Ok(0)
        }
        Command::Run(opts) => run::run(&opts),
        Command::Test(opts) => test::run(&opts),
        Command::Image(opts) => image::run(&opts),
        Command::Bench(opts) => bench::run(&opts),
        Command::Fuzz(opts) => fuzz::run(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .parent()
                .expect("workspace root"),
            &opts,
        ),
    };
    match result {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            eprintln!("error: {}", e.message);
            std::process::exit(e.code);
        }
    }
}

/// The command-line words after `xtask`, with `--flag value` / `--flag=value` handling.
struct Args {
    words: VecDeque<String>,
}

impl Args {
    /// The next flag and its `=value` part, if any.
    fn next_flag(&mut self) -> Option<(String, Option<String>)> {
        let word = self.words.pop_front()?;
        match word.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => {
                Some((flag.to_string(), Some(value.to_string())))
            }
            _ => Some((word, None)),
        }
    }

    /// The value of `flag`: its `=value` part or the next word.
    fn value(&mut self, flag: &str, inline: Option<String>) -> Result<String, Error> {
        inline
            .or_else(|| self.words.pop_front())
            .ok_or_else(|| Error::usage(format!("`{flag}` needs a value")))
    }

    /// The value of `flag` as a number.
    fn number<T: std::str::FromStr>(
        &mut self,
        flag: &str,
        inline: Option<String>,
    ) -> Result<T, Error> {
        let value = self.value(flag, inline)?;
        value
            .parse()
            .map_err(|_| Error::usage(format!("`{flag}` needs a number, not `{value}`")))
    }
}

fn parse(words: Vec<String>) -> Result<Command, Error> {
    let mut args = Args {
        words: words.into(),
    };
    let Some((command, _)) = args.next_flag() else {
        return Ok(Command::Help);
    };
    match command.as_str() {
        "-h" | "--help" | "help" => Ok(Command::Help),
        "run" => parse_run(args),
        "test" => parse_test(args),
        "image" => parse_image(args),
        "bench" => bench::parse(args),
        "fuzz" => fuzz::parse(args),
        other => Err(Error::usage(format!("unknown command `{other}`"))),
    }
}

fn parse_run(mut args: Args) -> Result<Command, Error> {
    let mut opts = run::Options {
        example: "demo".to_string(),
        board: board::default(),
        gic: None,
        icount: false,
        mini_uart: false,
        timeout: Some(Duration::from_secs(60)),
        qemu_args: Vec::new(),
    };
    while let Some((flag, inline)) = args.next_flag() {
        match flag.as_str() {
            "--" => {
                opts.qemu_args = args.words.drain(..).collect();
            }
            "--example" => opts.example = args.value(&flag, inline)?,
            "--board" => opts.board = board::find(&args.value(&flag, inline)?)?,
            "--gic" => match args.number(&flag, inline)? {
                v @ (2 | 3) => opts.gic = Some(v),
                v => return Err(Error::usage(format!("`--gic` must be 2 or 3, not {v}"))),
            },
            "--icount" if inline.is_none() => opts.icount = true,
            "--mini-uart" if inline.is_none() => opts.mini_uart = true,
            "--timeout" => {
                let secs: u64 = args.number(&flag, inline)?;
                opts.timeout = (secs > 0).then(|| Duration::from_secs(secs));
            }
            "-h" | "--help" => return Ok(Command::Help),
            _ => return Err(Error::usage(format!("unknown option `{flag}` for `run`"))),
        }
    }
    Ok(Command::Run(opts))
}

fn parse_test(mut args: Args) -> Result<Command, Error> {
    let mut opts = test::Options {
        boards: board::BOARDS.iter().collect(),
        jobs: test::default_jobs(),
        filter: None,
    };
    while let Some((flag, inline)) = args.next_flag() {
        match flag.as_str() {
            "--board" => opts.boards = vec![board::find(&args.value(&flag, inline)?)?],
            "--jobs" | "-j" => match args.number(&flag, inline)? {
                0 => return Err(Error::usage("`--jobs` must be at least 1")),
                n => opts.jobs = n,
            },
            "--filter" => opts.filter = Some(args.value(&flag, inline)?),
            "-h" | "--help" => return Ok(Command::Help),
            _ => return Err(Error::usage(format!("unknown option `{flag}` for `test`"))),
        }
    }
    Ok(Command::Test(opts))
}

fn parse_image(mut args: Args) -> Result<Command, Error> {
    let mut opts = image::Options {
        example: "demo".to_string(),
        board: board::find("rpi-zero2w")?,
        out: None,
        mini_uart: false,
    };
    while let Some((flag, inline)) = args.next_flag() {
        match flag.as_str() {
            "--example" => opts.example = args.value(&flag, inline)?,
            "--board" => opts.board = board::find(&args.value(&flag, inline)?)?,
            "--out" => opts.out = Some(args.value(&flag, inline)?.into()),
            "--mini-uart" if inline.is_none() => opts.mini_uart = true,
            "-h" | "--help" => return Ok(Command::Help),
            _ => return Err(Error::usage(format!("unknown option `{flag}` for `image`"))),
        }
    }
    Ok(Command::Image(opts))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_words(line: &str) -> Result<Command, Error> {
        parse(line.split_whitespace().map(String::from).collect())
    }

    #[test]
    fn parses_run() {
        let Ok(Command::Run(opts)) =
            parse_words("run --example=ping --gic 2 --icount --timeout 0 -- -d int -s")
        else {
            panic!("not a run command")
        };
        assert_eq!(opts.example, "ping");
        assert_eq!(opts.gic, Some(2));
        assert!(opts.icount);
        assert_eq!(opts.timeout, None);
        assert_eq!(opts.qemu_args, ["-d", "int", "-s"]);
        assert_eq!(opts.board.name, "virt");
    }

    #[test]
    fn parses_test() {
        let Ok(Command::Test(opts)) =
            parse_words("test --board rpi-zero2w --jobs=3 --filter mutex")
        else {
            panic!("not a test command")
        };
        let names: Vec<_> = opts.boards.iter().map(|b| b.name).collect();
        assert_eq!(
            (names, opts.jobs, opts.filter.as_deref()),
            (vec!["rpi-zero2w"], 3, Some("mutex"))
        );
        let Ok(Command::Test(all)) = parse_words("test") else {
            panic!("not a test command")
        };
        assert_eq!(all.boards.len(), board::BOARDS.len());
    }

    #[test]
    fn parses_image() {
        let Ok(Command::Image(opts)) =
            parse_words("image --board rpi-zero2w --example sleep --out /tmp/boot --mini-uart")
        else {
            panic!("not an image command")
        };
        assert_eq!(
            (opts.board.name, opts.example.as_str(), opts.mini_uart),
            ("rpi-zero2w", "sleep", true)
        );
        assert_eq!(opts.out.as_deref(), Some(std::path::Path::new("/tmp/boot")));
        let Ok(Command::Image(default)) = parse_words("image") else {
            panic!("not an image command")
        };
        assert_eq!((default.board.name, default.out), ("rpi-zero2w", None));
    }

    #[test]
    fn rejects_bad_command_lines() {
        for line in [
            "image --gic 2",
            "image --board pc",
            "bench --quick --save-baseline",
            "bench --board pc",
            "run --gic 4",
            "run --timeout",
            "run --board pc",
            "test --jobs 0",
            "test --icount",
            "run --icount=1",
        ] {
            let err = parse_words(line).unwrap_err();
            assert_eq!(err.code, 2, "{line}");
        }
        assert!(matches!(parse_words(""), Ok(Command::Help)));
        assert!(matches!(parse_words("run --help"), Ok(Command::Help)));
    }
}
