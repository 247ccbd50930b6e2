//! `cargo xtask fuzz [--seconds N]`: runs the `sched_ops` cargo-fuzz target.
//!
//! The target drives `sched-core`'s operation interpreter (the same one the proptest suite
//! uses) with fuzzer-chosen byte strings and fails on any broken invariant. cargo-fuzz needs a
//! nightly toolchain — the only place the project uses one; the build and every test stay on
//! the pinned stable toolchain. New inputs the fuzzer keeps land in `fuzz/corpus/sched_ops/`,
//! which is committed and replayed on stable by `cargo test -p sched-core --test fuzz_corpus`,
//! so the target cannot rot.

use std::path::Path;
use std::process::Command;

use crate::{Args, Error};

/// Options of `fuzz`.
#[derive(Debug)]
pub struct Options {
    /// How long the fuzzer runs.
    pub seconds: u64,
}

/// Parses `fuzz`'s options.
pub fn parse(mut args: Args) -> Result<crate::Command, Error> {
    let mut opts = Options { seconds: 60 };
    while let Some((flag, inline)) = args.next_flag() {
        match flag.as_str() {
            "--seconds" => opts.seconds = args.number(&flag, inline)?,
            "-h" | "--help" => return Ok(crate::help_for("fuzz")),
            _ => return Err(crate::unknown_option("fuzz", &flag, inline.as_deref())),
        }
    }
    Ok(crate::Command::Fuzz(opts))
}

/// Runs the fuzzer.
pub fn run(root: &Path, opts: &Options) -> Result<i32, Error> {
    let has_fuzz = Command::new("cargo")
        .args(["+nightly", "fuzz", "--version"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !has_fuzz {
        return Err(Error::new(
            "cargo-fuzz on a nightly toolchain is needed: \
             `rustup toolchain install nightly && cargo install cargo-fuzz`",
        ));
    }
    let status = Command::new("cargo")
        .current_dir(root.join("fuzz"))
        .args(["+nightly", "fuzz", "run", "sched_ops", "--"])
        .arg(format!("-max_total_time={}", opts.seconds))
        .status()
        .map_err(|e| Error::new(format!("running cargo fuzz: {e}")))?;
    Ok(status.code().unwrap_or(1))
}
