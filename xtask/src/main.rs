//! `cargo xtask`: the build and test driver of preempt (dispatch).
//!
//! The kernel crates only build for `aarch64-unknown-none` and only run inside QEMU, so plain
//! `cargo run`/`cargo test` cannot drive them; this binary does (std only, plus the pinned
//! `addr2line`/`gimli`/`object` that `profile`, `gdb` and the crash-report symbolizer read
//! ELF and DWARF with). Modules, one concept
//! each:
//!
//! - [`cli`]: the command line, parsed into a [`Command`]; [`help`]: the help pages;
//!   [`suggest`]: "did you mean …" for mistyped names;
//! - [`toolchain`]: before anything is built, installing what `rust-toolchain.toml` names
//!   and the active toolchain lacks;
//! - [`board`]: the table of boards (features, QEMU machine, image format, GIC versions);
//! - [`build`]: the kernel `cargo build`, artifact discovery from its JSON, raw images;
//! - [`qemu`]: the QEMU command line and the timeout that keeps every run bounded;
//! - [`run`]: `cargo xtask run`; [`test`]: `cargo xtask test`; [`template`]: its test of
//!   `templates/app` as a user's own crate; [`gdb`]: `cargo xtask gdb`;
//! - [`symbols`]: what a kernel's ELF says about a code address; [`symbolize`]: crash
//!   reports' backtraces named with it, in `run`'s and `test`'s console output;
//! - [`bench`]: `cargo xtask bench`, the benchmark kernels, their results and baseline check;
//! - [`profile`]: `cargo xtask profile`, instructions per function of one benchmark window,
//!   from QEMU's execution log;
//! - [`trace`]: `cargo xtask trace`, an example run with the kernel's event trace on, drawn
//!   as Perfetto/Chrome JSON, an SVG timeline and a summary;
//! - [`image`]: `cargo xtask image`, the boot folder of a Raspberry Pi SD card;
//! - [`expect`]: the `//! xtask: key=value` directives a test file states its expected
//!   exit status, output, timeout and GIC version with;
//! - [`json`]: the small JSON reader for cargo's output.
//!
//! Exit statuses: 0 success, 1 failure, 2 bad usage; `run` passes QEMU's status through and
//! returns 124 on timeout. A mistake in the command line gets one line saying what is wrong
//! (with the closest valid name, if one is close) and a pointer to the command's help page.

mod bench;
mod board;
mod build;
mod cli;
mod doc_examples;
mod expect;
mod fuzz;
mod gdb;
mod help;
mod image;
mod json;
mod profile;
mod qemu;
mod run;
mod suggest;
mod symbolize;
mod symbols;
mod template;
mod test;
mod toolchain;
mod trace;

use cli::{help_for, parse, unknown_option, Args};

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
pub(crate) enum Command {
    /// The overview, or the page of the named command.
    Help(Option<String>),
    /// `cargo xtask run`.
    Run(run::Options),
    /// `cargo xtask test`.
    Test(test::Options),
    /// `cargo xtask image`.
    Image(image::Options),
    /// `cargo xtask bench`.
    Bench(bench::Options),
    /// `cargo xtask fuzz`.
    Fuzz(fuzz::Options),
    /// `cargo xtask profile`.
    Profile(profile::Options),
    /// `cargo xtask gdb`.
    Gdb(gdb::Options),
    /// `cargo xtask trace`.
    Trace(trace::Options),
}

impl Command {
    /// Whether the command builds for the kernel's target (and so needs the toolchain check).
    fn builds_kernels(&self) -> bool {
        matches!(
            self,
            Command::Run(_)
                | Command::Test(_)
                | Command::Image(_)
                | Command::Bench(_)
                | Command::Profile(_)
                | Command::Gdb(_)
                | Command::Trace(_)
        )
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let command = match parse(args) {
        Ok(command) => command,
        Err(e) => {
            eprintln!("error: {}", e.message);
            std::process::exit(e.code);
        }
    };
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root");
    let checked = if command.builds_kernels() {
        toolchain::ensure(root)
    } else {
        Ok(())
    };
    let result = checked.and_then(|()| match command {
        Command::Help(None) => {
            print!("{}", help::overview());
            Ok(0)
        }
        Command::Help(Some(name)) => {
            print!("{}", help::page(&name).unwrap_or_else(help::overview));
            Ok(0)
        }
        Command::Run(opts) => run::run(&opts),
        Command::Test(opts) => test::run(&opts),
        Command::Image(opts) => image::run(&opts),
        Command::Bench(opts) => bench::run(&opts),
        Command::Fuzz(opts) => fuzz::run(root, &opts),
        Command::Profile(opts) => profile::run(&opts),
        Command::Gdb(opts) => gdb::run(&opts),
        Command::Trace(opts) => trace::run(&opts),
    });
    match result {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            eprintln!("error: {}", e.message);
            std::process::exit(e.code);
        }
    }
}
