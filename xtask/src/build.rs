//! Building kernels: the `cargo build` invocation, finding what it produced, and making images.
//!
//! Artifact paths are read from cargo's `--message-format=json` (`compiler-artifact`
//! messages' `executable`) instead of being guessed from the target directory layout, which
//! depends on the profile, the target, test hashes and the user's `CARGO_TARGET_DIR`.
//! Compiler diagnostics arrive inside those JSON messages and are re-printed on stderr.
//!
//! Cargo links an example to `<target>/…/examples/NAME` whatever the features, so building
//! the same example for two boards leaves only the second. Every kernel is therefore copied,
//! while cargo still holds the build lock, to
//! `<target>/kernels/<board>/<features>/<kind>-<name>/`, and its raw image is made beside it.

use std::io::{BufRead, BufReader, IsTerminal};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::board::{Board, Image};
use crate::json::Value;
use crate::Error;

/// The target every kernel is built for.
pub const TARGET: &str = "aarch64-unknown-none";
/// The package holding the kernel's examples and in-QEMU tests.
pub const KERNEL_PACKAGE: &str = "preempt";

/// Where the workspace is, as cargo sees it.
#[derive(Debug)]
pub struct Workspace {
    /// The workspace root (holding the top `Cargo.toml`).
    pub root: PathBuf,
    /// cargo's target directory (honours `CARGO_TARGET_DIR` and `build.target-dir`).
    pub target_dir: PathBuf,
}

/// A `cargo` command run from the workspace root, using the cargo that runs the xtask.
pub fn cargo(root: &Path) -> Command {
    let mut cmd = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cmd.current_dir(root);
    cmd
}

/// Asks `cargo metadata` for the workspace root and target directory.
pub fn workspace() -> Result<Workspace, Error> {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let output = cargo(manifest_dir)
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| Error::new(format!("cannot run cargo: {e}")))?;
    if !output.status.success() {
        return Err(Error::new("`cargo metadata` failed (see above)"));
    }
    let text = String::from_utf8_lossy(&output.stdout);
    let meta =
        Value::parse(&text).map_err(|e| Error::new(format!("`cargo metadata` output: {e}")))?;
    let path = |key: &str| {
        meta.get(key)
            .and_then(Value::as_str)
            .map(PathBuf::from)
            .ok_or_else(|| Error::new(format!("`cargo metadata` output lacks `{key}`")))
    };
    Ok(Workspace {
        root: path("workspace_root")?,
        target_dir: path("target_directory")?,
    })
}

/// What to add to a "building …" line so the first build's minute is expected: a note when
/// nothing has been built for the target yet in this target directory, else nothing.
pub fn first_build_note(ws: &Workspace) -> &'static str {
    if ws.target_dir.join(TARGET).join("release").is_dir() {
        ""
    } else {
        " (first build: compiles the kernel and its dependencies, a minute or two)"
    }
}

/// Whether an executable is an in-QEMU test or an example.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    /// A `harness = false` binary in `tests/`.
    Test,
    /// A binary in `examples/`.
    Example,
}

impl Kind {
    /// `test` or `example`.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Test => "test",
            Kind::Example => "example",
        }
    }
}

/// One linked kernel executable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Artifact {
    /// Test or example.
    pub kind: Kind,
    /// The cargo target name (the file stem in `tests/` or `examples/`).
    pub name: String,
    /// The linked ELF.
    pub executable: PathBuf,
    /// Its main source file, which holds the `//! xtask:` directives.
    pub src_path: PathBuf,
}

/// What one line of cargo's JSON output means to us.
#[derive(Debug, PartialEq)]
enum Message {
    Artifact(Artifact),
    /// A rendered compiler diagnostic to show the user.
    Diagnostic(String),
    Other,
}

fn parse_message(line: &str) -> Result<Message, String> {
    let v = Value::parse(line)?;
    match v.get("reason").and_then(Value::as_str) {
        Some("compiler-message") => {
            let rendered = v
                .get("message")
                .and_then(|m| m.get("rendered"))
                .and_then(Value::as_str);
            Ok(rendered.map_or(Message::Other, |r| Message::Diagnostic(r.to_string())))
        }
        Some("compiler-artifact") => {
            let (Some(executable), Some(target)) =
                (v.get("executable").and_then(Value::as_str), v.get("target"))
            else {
                return Ok(Message::Other);
            };
            let kinds = target
                .get("kind")
                .and_then(Value::as_array)
                .unwrap_or_default();
            let kind = if kinds.iter().any(|k| k.as_str() == Some("test")) {
                Kind::Test
            } else if kinds.iter().any(|k| k.as_str() == Some("example")) {
                Kind::Example
            } else {
                return Ok(Message::Other);
            };
            let field = |key: &str| {
                target
                    .get(key)
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string()
            };
            Ok(Message::Artifact(Artifact {
                kind,
                name: field("name"),
                executable: executable.into(),
                src_path: field("src_path").into(),
            }))
        }
        _ => Ok(Message::Other),
    }
}

/// Builds kernel package targets for `board` in release mode with `cargo_args` selecting its
/// features (usually `board.cargo_args`); `selection` picks the targets (`["--example",
/// "demo"]`, `["--tests", "--examples"]`). Returns the test and example executables, sorted
/// by kind and name.
pub fn kernels(
    ws: &Workspace,
    board: &Board,
    cargo_args: &[&str],
    selection: &[&str],
) -> Result<Vec<Artifact>, Error> {
    let format = if std::io::stderr().is_terminal() {
        "json-diagnostic-rendered-ansi"
    } else {
        "json"
    };
    let mut cmd = cargo(&ws.root);
    cmd.args([
        "build",
        "--release",
        "--target",
        TARGET,
        "-p",
        KERNEL_PACKAGE,
    ])
    .args(cargo_args)
    .args(selection)
    .arg(format!("--message-format={format}"))
    .stdout(Stdio::piped())
    .stderr(Stdio::inherit());
    let mut child = cmd
        .spawn()
        .map_err(|e| Error::new(format!("cannot run cargo: {e}")))?;
    let stdout = child.stdout.take().expect("stdout is piped");
    let keep_dir = ws
        .target_dir
        .join("kernels")
        .join(board.name)
        .join(variant(cargo_args));
    let mut artifacts: Vec<Artifact> = Vec::new();
    for line in BufReader::new(stdout).lines() {
        let line = line.map_err(|e| Error::new(format!("reading cargo output: {e}")))?;
        match parse_message(&line) {
            Ok(Message::Artifact(a))
                if !artifacts
                    .iter()
                    .any(|b| (b.kind, &b.name) == (a.kind, &a.name)) =>
            {
                artifacts.push(keep(&keep_dir, a)?)
            }
            Ok(Message::Diagnostic(text)) => eprint!("{text}"),
            Ok(_) => {}
            Err(_) => eprintln!("{line}"), // not JSON: pass it on untouched
        }
    }
    let status = child
        .wait()
        .map_err(|e| Error::new(format!("waiting for cargo: {e}")))?;
    if !status.success() {
        return Err(Error::new(format!(
            "building the `{}` kernel for board `{}` failed (cargo {}); see the messages above",
            KERNEL_PACKAGE,
            board.name,
            crate::qemu::describe(status)
        )));
    }
    artifacts.sort_by(|a, b| (a.kind, &a.name).cmp(&(b.kind, &b.name)));
    Ok(artifacts)
}

/// The directory name of a feature selection: the `--features` values joined with `+`
/// (`board-rpi+qemu-exit`), or `default`.
fn variant(cargo_args: &[&str]) -> String {
    let features: Vec<&str> = cargo_args
        .windows(2)
        .filter(|w| w[0] == "--features")
        .flat_map(|w| w[1].split([',', ' ']))
        .filter(|f| !f.is_empty())
        .collect();
    if features.is_empty() {
        "default".to_string()
    } else {
        features.join("+")
    }
}

/// Copies the executable of `artifact` into its own folder under `dir`, so a later build with
/// other features cannot replace it, and returns the artifact pointing at the copy.
fn keep(dir: &Path, mut artifact: Artifact) -> Result<Artifact, Error> {
    let dir = dir.join(format!("{}-{}", artifact.kind.name(), artifact.name));
    std::fs::create_dir_all(&dir)
        .map_err(|e| Error::new(format!("creating {}: {e}", dir.display())))?;
    let copy = dir.join(&artifact.name);
    replace_file(&copy, |tmp| {
        std::fs::copy(&artifact.executable, tmp)
            .map(drop)
            .map_err(|e| Error::new(format!("copying {}: {e}", artifact.executable.display())))
    })?;
    artifact.executable = copy;
    Ok(artifact)
}

/// Writes `path` through a temporary file renamed over it, so a QEMU still reading the old
/// file (another xtask's run) keeps it whole.
fn replace_file(path: &Path, write: impl FnOnce(&Path) -> Result<(), Error>) -> Result<(), Error> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(format!(".tmp{}", std::process::id()));
    let tmp = PathBuf::from(tmp);
    write(&tmp)?;
    std::fs::rename(&tmp, path).map_err(|e| {
        Error::new(format!(
            "renaming {} to {}: {e}",
            tmp.display(),
            path.display()
        ))
    })
}

/// The file QEMU loads for `artifact` on `board`: the ELF itself, or a raw image made from it
/// beside the executable if that is a kept copy (see [`kernels`]), else under
/// `<target>/images/<board>/<kind>-<name>/`.
pub fn image(ws: &Workspace, board: &Board, artifact: &Artifact) -> Result<PathBuf, Error> {
    let Image::Raw { file_name } = board.image else {
        return Ok(artifact.executable.clone());
    };
    let dir = match artifact.executable.parent() {
        Some(dir) if dir.starts_with(ws.target_dir.join("kernels")) => dir.to_path_buf(),
        _ => ws.target_dir.join("images").join(board.name).join(format!(
            "{}-{}",
            artifact.kind.name(),
            artifact.name
        )),
    };
    std::fs::create_dir_all(&dir)
        .map_err(|e| Error::new(format!("creating {}: {e}", dir.display())))?;
    let out = dir.join(file_name);
    raw_image(&ws.root, &artifact.executable, &out)?;
    Ok(out)
}

/// Writes the flat binary of `elf` to `out` (`llvm-objcopy -O binary`): the loadable sections
/// from the lowest address on, as a firmware that jumps to the load address expects.
pub fn raw_image(root: &Path, elf: &Path, out: &Path) -> Result<(), Error> {
    let objcopy = llvm_objcopy(root)?;
    replace_file(out, |tmp| {
        let status = Command::new(&objcopy)
            .args(["-O", "binary"])
            .arg(elf)
            .arg(tmp)
            .status()
            .map_err(|e| Error::new(format!("cannot run {}: {e}", objcopy.display())))?;
        if status.success() {
            Ok(())
        } else {
            Err(Error::new(format!(
                "llvm-objcopy failed on {}",
                elf.display()
            )))
        }
    })
}

/// `llvm-objcopy` of the pinned toolchain (rustup component `llvm-tools`).
fn llvm_objcopy(root: &Path) -> Result<PathBuf, Error> {
    let rustc = |args: &[&str]| -> Result<String, Error> {
        let out = Command::new("rustc")
            .args(args)
            .current_dir(root)
            .output()
            .map_err(|e| Error::new(format!("cannot run rustc: {e}")))?;
        if !out.status.success() {
            return Err(Error::new(format!("`rustc {}` failed", args.join(" "))));
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    };
    let sysroot = rustc(&["--print", "sysroot"])?;
    let version = rustc(&["-vV"])?;
    let host = version
        .lines()
        .find_map(|l| l.strip_prefix("host: "))
        .ok_or_else(|| Error::new("`rustc -vV` did not print the host triple"))?;
    let exe = if cfg!(windows) {
        "llvm-objcopy.exe"
    } else {
        "llvm-objcopy"
    };
    let path = Path::new(sysroot.trim())
        .join("lib/rustlib")
        .join(host.trim())
        .join("bin")
        .join(exe);
    if path.is_file() {
        Ok(path)
    } else {
        Err(Error::new(format!(
            "{} not found; install it with: rustup component add llvm-tools",
            path.display()
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variants_name_the_features() {
        assert_eq!(variant(&[]), "default");
        assert_eq!(
            variant(&["--no-default-features", "--features", "board-rpi,qemu-exit"]),
            "board-rpi+qemu-exit"
        );
        assert_eq!(
            variant(&["--features", "board-rpi", "--features", "rpi-mini-uart"]),
            "board-rpi+rpi-mini-uart"
        );
    }

    #[test]
    fn reads_artifacts_and_diagnostics() {
        // Lines as printed by cargo 1.95 (`cargo build --message-format=json`), abridged.
        let test = r#"{"reason":"compiler-artifact","package_id":"path+file:///w/crates/preempt#0.1.0","manifest_path":"/w/crates/preempt/Cargo.toml","target":{"kind":["test"],"crate_types":["bin"],"name":"thread_preempt","src_path":"/w/crates/preempt/tests/thread_preempt.rs","edition":"2021","doc":false,"doctest":false,"test":true},"profile":{"opt_level":"3","debuginfo":2,"debug_assertions":false,"overflow_checks":false,"test":true},"features":["board-virt","default"],"filenames":["/w/target/aarch64-unknown-none/release/deps/thread_preempt-0123abcd"],"executable":"/w/target/aarch64-unknown-none/release/deps/thread_preempt-0123abcd","fresh":false}"#;
        assert_eq!(
            parse_message(test).unwrap(),
            Message::Artifact(Artifact {
                kind: Kind::Test,
                name: "thread_preempt".into(),
                executable: "/w/target/aarch64-unknown-none/release/deps/thread_preempt-0123abcd"
                    .into(),
                src_path: "/w/crates/preempt/tests/thread_preempt.rs".into(),
            })
        );
        let lib = r#"{"reason":"compiler-artifact","target":{"kind":["lib"],"name":"log","src_path":"/r/log/src/lib.rs"},"filenames":["/w/liblog.rlib"],"executable":null,"fresh":true}"#;
        assert_eq!(parse_message(lib).unwrap(), Message::Other);
        let diag = r#"{"reason":"compiler-message","message":{"rendered":"warning: unused\n","level":"warning"}}"#;
        assert_eq!(
            parse_message(diag).unwrap(),
            Message::Diagnostic("warning: unused\n".into())
        );
        let done = r#"{"reason":"build-finished","success":true}"#;
        assert_eq!(parse_message(done).unwrap(), Message::Other);
    }
}
