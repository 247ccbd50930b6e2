//! Building the benchmark kernels: `cargo build` of the bench package's binaries for a
//! board, with the board's kernel features renamed for the bench package, and cargo's JSON
//! messages read to find the binaries it built (its diagnostics are passed through).

use std::io::{BufRead, BufReader, IsTerminal};
use std::process::Stdio;

use super::BENCH_PACKAGE;
use crate::board::Board;
use crate::build::{self, Artifact, Kind, Workspace};
use crate::json::Value;
use crate::{qemu, Error};

/// The package whose features select the board.
const KERNEL_PACKAGE: &str = build::KERNEL_PACKAGE;

/// Builds the bench package's binaries for `board`; returns them sorted by name.
pub(crate) fn build_kernels(
    ws: &Workspace,
    board: &Board,
    quick: bool,
) -> Result<Vec<Artifact>, Error> {
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
