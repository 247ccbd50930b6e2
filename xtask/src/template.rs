//! The application template (`templates/app`) tested the way a user meets it: copied outside
//! the checkout, its `preempt` dependency pointed at this checkout, then driven with plain
//! cargo and its own scripts.
//!
//! Part of `cargo xtask test` (alone: `--filter template`). Steps, each one counted result line:
//! `cargo run` (QEMU virt through the template's runner: exit status 0 and the program's result
//! line), `cargo test` (its in-QEMU test), `cargo run --features rpi` (the runner's raspi3b
//! path) and `./sdcard.sh` (kernel8.img and config.txt). The virt steps run when board `virt`
//! is selected, the Pi steps when `rpi-zero2w` is.
//!
//! The copy lives in the system temp folder under a name derived from the checkout's path, is
//! updated file by file (unchanged files keep their times) and builds into
//! `<target>/template`, so a second run rebuilds only what changed. The workspace's
//! `Cargo.lock` seeds the copy's, so it uses the versions the workspace is tested with.

use std::collections::hash_map::DefaultHasher;
use std::fs::File;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::build::{self, Workspace};
use crate::test::{print_tail, progress, relative};
use crate::{qemu, Error};

/// The name `--filter` matches.
pub const NAME: &str = "template";
/// The template, relative to the workspace root.
const TEMPLATE_DIR: &str = "templates/app";
/// The dependency line of the template's `Cargo.toml` that the copy points at this checkout.
const PREEMPT_PATH_LINE: &str = r#"path = "../../crates/preempt""#;
/// Files of an in-place build of the template that are not part of it.
const NOT_COPIED: &[&str] = &["target", "Cargo.lock"];
/// Bound on one step, compilation included (a first build compiles the kernel twice).
const STEP_TIMEOUT: Duration = Duration::from_secs(900);
/// The line `src/main.rs` of the template ends with when its result is right.
const RESULT_LINE: &str = "sum of 0..1000000 = 499999500000 from 4 threads";

/// One command run in the copied template.
struct Step {
    /// Shown in the result line, after `template`.
    label: &'static str,
    /// The board that must be selected (`--board`) for the step to run.
    board: &'static str,
    /// Program and arguments; a program starting with `./` is the template's own script.
    command: &'static [&'static str],
    /// Text the output must contain.
    expect: &'static [&'static str],
}

const STEPS: &[Step] = &[
    Step {
        label: "cargo run",
        board: "virt",
        command: &["cargo", "run"],
        expect: &["QEMU virt", RESULT_LINE],
    },
    Step {
        label: "cargo test",
        board: "virt",
        command: &["cargo", "test"],
        expect: &["Running tests/threads.rs", "threads test: ok"],
    },
    Step {
        label: "cargo run --features rpi",
        board: "rpi-zero2w",
        command: &["cargo", "run", "--features", "rpi"],
        expect: &["on Raspberry Pi", RESULT_LINE],
    },
    Step {
        label: "./sdcard.sh",
        board: "rpi-zero2w",
        command: &["./sdcard.sh", "SDCARD"],
        expect: &["Wrote "],
    },
];

/// Whether `cargo xtask test` with this filter runs the template.
pub fn selected(filter: Option<&str>) -> bool {
    filter.is_none_or(|f| NAME.contains(f))
}

/// Runs the template's steps for the selected boards; returns the number passed and the
/// (label, log) of each failure.
pub fn run(ws: &Workspace, boards: &[&str]) -> Result<(usize, Vec<(String, PathBuf)>), Error> {
    let steps: Vec<&Step> = STEPS.iter().filter(|s| boards.contains(&s.board)).collect();
    if steps.is_empty() {
        return Ok((0, Vec::new()));
    }
    let app = copy_template(&ws.root)?;
    let target_dir = ws.target_dir.join(NAME);
    let log_dir = ws.target_dir.join("qemu-tests");
    std::fs::create_dir_all(&log_dir)
        .map_err(|e| Error::new(format!("creating {}: {e}", log_dir.display())))?;
    println!(
        "\n==> application template ({TEMPLATE_DIR} copied to {}, target {}){}",
        app.display(),
        relative(&ws.root, &target_dir).display(),
        if target_dir.is_dir() {
            ""
        } else {
            " (first build: compiles the kernel in two profiles, a few minutes)"
        }
    );
    let sdcard = target_dir.join("sdcard");
    let mut passed = 0;
    let mut failed = Vec::new();
    for (i, step) in steps.iter().enumerate() {
        let label = format!("{NAME} {}", step.label);
        let log = log_dir.join(format!(
            "{NAME}-{}.log",
            step.label
                .trim_start_matches("./")
                .replace([' ', '.'], "-")
                .replace("--", "-")
        ));
        let start = Instant::now();
        let verdict = execute(step, &app, &target_dir, &sdcard, &log);
        let count = progress(i + 1, steps.len());
        let secs = start.elapsed().as_secs_f64();
        match verdict {
            Ok(()) => {
                passed += 1;
                println!("{count} {label} ... ok ({secs:.1} s)");
            }
            Err(reason) => {
                println!("{count} {label} ... FAILED ({reason}; {secs:.1} s)");
                print_tail(&ws.root, &log, 40);
                failed.push((label, log));
            }
        }
    }
    Ok((passed, failed))
}

/// Runs one step with its output in `log`; `Err` says why it failed.
fn execute(
    step: &Step,
    app: &Path,
    target_dir: &Path,
    sdcard: &Path,
    log: &Path,
) -> Result<(), String> {
    let file = File::create(log).map_err(|e| format!("cannot create {}: {e}", log.display()))?;
    let file_err = file
        .try_clone()
        .map_err(|e| format!("cannot duplicate log handle: {e}"))?;
    let (program, args) = step.command.split_first().expect("a step has a program");
    let mut cmd = match *program {
        "cargo" => build::cargo(app),
        script => {
            let mut cmd = Command::new(app.join(script));
            cmd.current_dir(app);
            cmd
        }
    };
    for arg in args {
        match *arg {
            "SDCARD" => cmd.arg(sdcard),
            arg => cmd.arg(arg),
        };
    }
    let mut child = cmd
        .env("CARGO_TARGET_DIR", target_dir)
        .env("QEMU_TIMEOUT", "60")
        .stdin(Stdio::null())
        .stdout(file)
        .stderr(file_err)
        .spawn()
        .map_err(|e| format!("cannot run {program}: {e}"))?;
    let status = match qemu::wait(&mut child, Some(STEP_TIMEOUT)).map_err(|e| e.message)? {
        qemu::Outcome::Exited(status) => status,
        qemu::Outcome::TimedOut => {
            return Err(format!("timed out after {} s", STEP_TIMEOUT.as_secs()))
        }
    };
    if !status.success() {
        return Err(format!("{}, expected exit 0", qemu::describe(status)));
    }
    let output = std::fs::read(log).map_err(|e| format!("cannot read {}: {e}", log.display()))?;
    let output = String::from_utf8_lossy(&output);
    if let Some(missing) = step.expect.iter().find(|text| !output.contains(**text)) {
        return Err(format!("output lacks `{missing}`"));
    }
    if step.command.contains(&"SDCARD") {
        check_sdcard(sdcard)?;
    }
    Ok(())
}

/// The SD-card folder holds a non-empty `kernel8.img` and a `config.txt` loading it.
fn check_sdcard(dir: &Path) -> Result<(), String> {
    let image = std::fs::metadata(dir.join("kernel8.img")).map_or(0, |m| m.len());
    if image == 0 {
        return Err(format!("no kernel8.img in {}", dir.display()));
    }
    let config = std::fs::read_to_string(dir.join("config.txt")).unwrap_or_default();
    for line in ["arm_64bit=1", "kernel=kernel8.img", "enable_uart=1"] {
        if !config.lines().any(|l| l == line) {
            return Err(format!("config.txt lacks `{line}`"));
        }
    }
    Ok(())
}

/// Brings the copy of the template up to date and returns its folder.
fn copy_template(root: &Path) -> Result<PathBuf, Error> {
    let mut hasher = DefaultHasher::new();
    root.hash(&mut hasher);
    let app = std::env::temp_dir().join(format!("preempt-template-{:016x}", hasher.finish()));
    let src = root.join(TEMPLATE_DIR);
    sync_dir(&src, &app, true, &|rel, text| {
        if rel == Path::new("Cargo.toml") {
            point_at_checkout(text, root)
        } else {
            Ok(text)
        }
    })?;
    let lock = app.join("Cargo.lock");
    if !lock.exists() {
        std::fs::copy(root.join("Cargo.lock"), &lock)
            .map_err(|e| Error::new(format!("copying Cargo.lock to {}: {e}", app.display())))?;
    }
    Ok(app)
}

/// The template's `Cargo.toml` with its `preempt` path replaced by this checkout's.
pub fn point_at_checkout(manifest: Vec<u8>, root: &Path) -> Result<Vec<u8>, Error> {
    let text = String::from_utf8(manifest)
        .map_err(|_| Error::new(format!("{TEMPLATE_DIR}/Cargo.toml is not UTF-8")))?;
    if !text.contains(PREEMPT_PATH_LINE) {
        return Err(Error::new(format!(
            "{TEMPLATE_DIR}/Cargo.toml lacks `{PREEMPT_PATH_LINE}`, which the test replaces"
        )));
    }
    let path = root.join("crates").join("preempt");
    let line = format!("path = {:?}", path.to_string_lossy());
    Ok(text.replace(PREEMPT_PATH_LINE, &line).into_bytes())
}

type Transform<'a> = &'a dyn Fn(&Path, Vec<u8>) -> Result<Vec<u8>, Error>;

/// Makes `dst` hold the files of `src` (through `transform`, given the path relative to the
/// top): a file is written only when its content differs, and files `src` lacks are removed
/// (at the top, `NOT_COPIED` names are neither copied nor removed).
fn sync_dir(src: &Path, dst: &Path, top: bool, transform: Transform) -> Result<(), Error> {
    sync_at(src, dst, Path::new(""), top, transform)
}

fn sync_at(
    src: &Path,
    dst: &Path,
    rel: &Path,
    top: bool,
    transform: Transform,
) -> Result<(), Error> {
    let io = |what: &str, path: &Path, e: std::io::Error| {
        Error::new(format!("{what} {}: {e}", path.display()))
    };
    std::fs::create_dir_all(dst).map_err(|e| io("creating", dst, e))?;
    let skip = |name: &std::ffi::OsStr| top && NOT_COPIED.iter().any(|n| name == *n);
    let mut names = Vec::new();
    for entry in std::fs::read_dir(src).map_err(|e| io("reading", src, e))? {
        let entry = entry.map_err(|e| io("reading", src, e))?;
        let name = entry.file_name();
        if skip(&name) {
            continue;
        }
        let (from, to, rel) = (entry.path(), dst.join(&name), rel.join(&name));
        if from.is_dir() {
            sync_at(&from, &to, &rel, false, transform)?;
        } else {
            let text = transform(
                &rel,
                std::fs::read(&from).map_err(|e| io("reading", &from, e))?,
            )?;
            if std::fs::read(&to).ok().as_ref() != Some(&text) {
                std::fs::write(&to, &text).map_err(|e| io("writing", &to, e))?;
            }
            let mode = std::fs::metadata(&from)
                .map_err(|e| io("reading", &from, e))?
                .permissions();
            std::fs::set_permissions(&to, mode).map_err(|e| io("writing", &to, e))?;
        }
        names.push(name);
    }
    for entry in std::fs::read_dir(dst).map_err(|e| io("reading", dst, e))? {
        let entry = entry.map_err(|e| io("reading", dst, e))?;
        let name = entry.file_name();
        if skip(&name) || names.contains(&name) {
            continue;
        }
        let path = entry.path();
        let removed = if path.is_dir() {
            std::fs::remove_dir_all(&path)
        } else {
            std::fs::remove_file(&path)
        };
        removed.map_err(|e| io("removing", &path, e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_selects_the_template() {
        assert!(selected(None));
        assert!(selected(Some("template")));
        assert!(selected(Some("templ")));
        assert!(!selected(Some("sleep")));
    }

    #[test]
    fn the_copy_depends_on_this_checkout() {
        let manifest = std::fs::read(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("..")
                .join(TEMPLATE_DIR)
                .join("Cargo.toml"),
        )
        .unwrap();
        let root = Path::new("/src/preempt \"x\"");
        let text = String::from_utf8(point_at_checkout(manifest, root).unwrap()).unwrap();
        assert!(
            text.contains(r#"path = "/src/preempt \"x\"/crates/preempt""#),
            "{text}"
        );
        assert!(!text.contains("../../crates/preempt"));
        assert!(point_at_checkout(b"[package]\n".to_vec(), root).is_err());
    }

    #[test]
    fn sync_updates_adds_and_removes() {
        let base = std::env::temp_dir().join(format!("xtask-sync-{}", std::process::id()));
        let (src, dst) = (base.join("src"), base.join("dst"));
        std::fs::create_dir_all(src.join("sub")).unwrap();
        std::fs::create_dir_all(src.join("target")).unwrap();
        std::fs::write(src.join("a"), "a").unwrap();
        std::fs::write(src.join("sub/b"), "b").unwrap();
        std::fs::write(src.join("target/junk"), "x").unwrap();
        std::fs::create_dir_all(dst.join("old")).unwrap();
        std::fs::write(dst.join("stale"), "s").unwrap();
        std::fs::write(dst.join("Cargo.lock"), "lock").unwrap();
        let upper = |_: &Path, t: Vec<u8>| Ok(t.to_ascii_uppercase());
        sync_dir(&src, &dst, true, &upper).unwrap();
        assert_eq!(std::fs::read_to_string(dst.join("a")).unwrap(), "A");
        assert_eq!(std::fs::read_to_string(dst.join("sub/b")).unwrap(), "B");
        assert!(!dst.join("target").exists());
        assert!(!dst.join("stale").exists() && !dst.join("old").exists());
        assert!(dst.join("Cargo.lock").exists());
        std::fs::remove_dir_all(&base).unwrap();
    }
}
