//! Making sure the active toolchain has what `rust-toolchain.toml` names, before building.
//!
//! rustup installs the targets and components of `rust-toolchain.toml` only when it installs
//! the toolchain itself: on a machine that already had 1.95.0 without `aarch64-unknown-none`,
//! the first kernel build would stop with E0463 "can't find crate for `core`". So every
//! command that builds for the target first asks rustup what the active toolchain has
//! (`rustup target list --installed`, `rustup component list --installed`), and installs what
//! is missing with `rustup target add` / `rustup component add`, saying so in one line. The
//! decision is [`plan`], a pure function of the wanted and installed sets.
//!
//! The active toolchain is the one rustup runs the xtask with (`RUSTUP_TOOLCHAIN`, which
//! rustup sets for the programs it starts), else the file's `channel`. Without rustup the
//! xtask cannot ask; it goes on when `rustc`'s sysroot holds every wanted target (a toolchain
//! from elsewhere that has them), and otherwise prints the rustup command to run and stops.
//!
//! `rust-toolchain.toml` is read by [`parse`], a hand parser for the part of TOML the file
//! uses (the xtask has no dependencies): the `[toolchain]` table's `channel` string and
//! `targets` / `components` string arrays (one line or several), `#` comments; other keys and
//! tables are ignored. `XTASK_TOOLCHAIN_FILE` names another file to check instead (for trying
//! this check out on a machine that has everything).

use std::io::ErrorKind;
use std::path::Path;
use std::process::{Command, Stdio};

use crate::Error;

/// The file read, relative to the workspace root.
pub const FILE: &str = "rust-toolchain.toml";

/// What `rust-toolchain.toml` asks for.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Spec {
    /// `channel`, e.g. `1.95.0`.
    pub channel: Option<String>,
    /// `targets`.
    pub targets: Vec<String>,
    /// `components`.
    pub components: Vec<String>,
}

/// One rustup command that installs what is missing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// `rustup target add` of these targets.
    AddTargets(Vec<String>),
    /// `rustup component add` of these components.
    AddComponents(Vec<String>),
}

impl Action {
    /// rustup's arguments for this action on `toolchain`.
    pub fn args(&self, toolchain: &str) -> Vec<String> {
        let (kind, names) = match self {
            Action::AddTargets(names) => ("target", names),
            Action::AddComponents(names) => ("component", names),
        };
        let mut args = vec![
            kind.into(),
            "add".into(),
            "--toolchain".into(),
            toolchain.into(),
        ];
        args.extend(names.iter().cloned());
        args
    }

    /// The command line, for messages.
    pub fn command_line(&self, toolchain: &str) -> String {
        format!("rustup {}", self.args(toolchain).join(" "))
    }

    /// `target aarch64-unknown-none`, `components clippy, rustfmt`.
    fn what(&self) -> String {
        let (kind, names) = match self {
            Action::AddTargets(names) => ("target", names),
            Action::AddComponents(names) => ("component", names),
        };
        let plural = if names.len() == 1 { "" } else { "s" };
        format!("{kind}{plural} {}", names.join(", "))
    }
}

/// Reads the `[toolchain]` table of a `rust-toolchain.toml` (see the module docs).
pub fn parse(text: &str) -> Result<Spec, String> {
    let mut spec = Spec::default();
    let mut in_toolchain = false;
    let mut lines = text.lines().enumerate();
    while let Some((index, line)) = lines.next() {
        let line = strip_comment(line).trim();
        if line.is_empty() {
            continue;
        }
        if line.starts_with('[') {
            let name = line
                .strip_prefix('[')
                .and_then(|l| l.strip_suffix(']'))
                .ok_or_else(|| format!("line {}: bad table header `{line}`", index + 1))?;
            in_toolchain = name.trim() == "toolchain";
            continue;
        }
        let (key, value) = line
            .split_once('=')
            .ok_or_else(|| format!("line {}: expected `key = value`", index + 1))?;
        let (key, mut value) = (key.trim(), value.trim().to_string());
        if value.starts_with('[') {
            // An array may go on over the next lines, up to its `]`.
            while !strip_comment(&value).trim_end().ends_with(']') {
                let (_, more) = lines
                    .next()
                    .ok_or_else(|| format!("line {}: `{key}` has no closing `]`", index + 1))?;
                value.push(' ');
                value.push_str(strip_comment(more).trim());
            }
        }
        if !in_toolchain {
            continue;
        }
        let at = |e: String| format!("line {}: `{key}`: {e}", index + 1);
        match key {
            "channel" => spec.channel = Some(string(&value).map_err(at)?),
            "targets" => spec.targets = array(&value).map_err(at)?,
            "components" => spec.components = array(&value).map_err(at)?,
            _ => {}
        }
    }
    Ok(spec)
}

/// `line` without a `#` comment (a `#` inside a string is kept).
fn strip_comment(line: &str) -> &str {
    let mut quote = None;
    for (i, c) in line.char_indices() {
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), _) if c == q => quote = None,
            (None, '#') => return &line[..i],
            _ => {}
        }
    }
    line
}

/// A TOML basic (`"…"`, without escapes) or literal (`'…'`) string.
fn string(value: &str) -> Result<String, String> {
    let value = value.trim();
    for quote in ['"', '\''] {
        if let Some(inner) = value
            .strip_prefix(quote)
            .and_then(|v| v.strip_suffix(quote))
        {
            if !inner.contains(quote) && !inner.contains('\\') {
                return Ok(inner.to_string());
            }
        }
    }
    Err(format!("expected a quoted string, not `{value}`"))
}

/// An array of strings, `["a", "b"]` (a trailing comma allowed).
fn array(value: &str) -> Result<Vec<String>, String> {
    let inner = value
        .trim()
        .strip_prefix('[')
        .and_then(|v| v.strip_suffix(']'))
        .ok_or_else(|| format!("expected an array, not `{value}`"))?;
    inner
        .split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(string)
        .collect()
}

/// What to install so that the installed targets and components (as `rustup … list
/// --installed` prints them) cover those `wanted` names; empty when nothing is missing.
pub fn plan(
    wanted: &Spec,
    installed_targets: &[&str],
    installed_components: &[&str],
) -> Vec<Action> {
    let targets: Vec<String> = wanted
        .targets
        .iter()
        .filter(|t| !installed_targets.contains(&t.as_str()))
        .cloned()
        .collect();
    let components: Vec<String> = wanted
        .components
        .iter()
        .filter(|c| !installed_components.iter().any(|i| same_component(c, i)))
        .cloned()
        .collect();
    let mut actions = Vec::new();
    if !targets.is_empty() {
        actions.push(Action::AddTargets(targets));
    }
    if !components.is_empty() {
        actions.push(Action::AddComponents(components));
    }
    actions
}

/// Whether `installed` (`clippy-x86_64-unknown-linux-gnu`, `rust-src`) is the component
/// `wanted` (`clippy`) names. Host components are listed with the host triple appended;
/// `llvm-tools` is also known by its old name `llvm-tools-preview`.
fn same_component(wanted: &str, installed: &str) -> bool {
    let base = |name: &str| name.strip_suffix("-preview").unwrap_or(name).to_string();
    let wanted = base(wanted);
    let installed = installed
        .strip_prefix(wanted.as_str())
        .map(|rest| rest.strip_prefix("-preview").unwrap_or(rest).to_string());
    match installed {
        Some(rest) => rest.is_empty() || rest.strip_prefix('-').is_some_and(|t| t.contains('-')),
        None => false,
    }
}

/// The toolchain to check: `RUSTUP_TOOLCHAIN` (the one rustup runs us with; written as the
/// file's channel when it is that channel with the host appended), else the channel.
pub fn active(rustup_toolchain: Option<&str>, channel: &str) -> String {
    match rustup_toolchain {
        Some(name) if !name.is_empty() => {
            let host_suffixed = name
                .strip_prefix(channel)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('-'));
            if host_suffixed {
                channel.to_string()
            } else {
                name.to_string()
            }
        }
        _ => channel.to_string(),
    }
}

/// The one command that installs the toolchain with everything the file names.
pub fn full_install(spec: &Spec, toolchain: &str) -> String {
    let mut line = format!("rustup toolchain install {toolchain} --profile minimal");
    if !spec.targets.is_empty() {
        line.push_str(&format!(" --target {}", spec.targets.join(",")));
    }
    if !spec.components.is_empty() {
        line.push_str(&format!(" --component {}", spec.components.join(",")));
    }
    line
}

/// How the check reaches rustup and rustc (tests stand in for installs).
pub trait Rustup {
    /// Runs `rustup args` and returns its standard output; `Err` with the error kind when
    /// rustup cannot be started, `Ok(Err(stderr))` when it fails.
    fn query(&self, args: &[&str]) -> std::io::Result<Result<String, String>>;
    /// Runs `rustup args` with its output on the terminal; whether it succeeded.
    fn install(&self, args: &[String]) -> std::io::Result<bool>;
    /// Whether `rustc`'s sysroot holds the standard library of `target`.
    fn sysroot_has(&self, target: &str) -> bool;
}

/// The `rustup` on `PATH`.
pub struct System;

impl Rustup for System {
    fn query(&self, args: &[&str]) -> std::io::Result<Result<String, String>> {
        let out = Command::new("rustup")
            .args(args)
            .env_remove("RUST_BACKTRACE")
            .stdin(Stdio::null())
            .output()?;
        Ok(if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).trim().to_string())
        })
    }

    fn install(&self, args: &[String]) -> std::io::Result<bool> {
        // rustup's errors are for the user; a backtrace asked for the xtask is noise there.
        let status = Command::new("rustup")
            .args(args)
            .env_remove("RUST_BACKTRACE")
            .status()?;
        Ok(status.success())
    }

    fn sysroot_has(&self, target: &str) -> bool {
        let Ok(out) = Command::new("rustc").args(["--print", "sysroot"]).output() else {
            return false;
        };
        let sysroot = String::from_utf8_lossy(&out.stdout).trim().to_string();
        out.status.success()
            && Path::new(&sysroot)
                .join("lib/rustlib")
                .join(target)
                .join("lib")
                .is_dir()
    }
}

/// Checks the active toolchain against `<root>/rust-toolchain.toml` (or
/// `XTASK_TOOLCHAIN_FILE`) and installs what is missing; see the module docs.
pub fn ensure(root: &Path) -> Result<(), Error> {
    let path = std::env::var_os("XTASK_TOOLCHAIN_FILE").map_or_else(|| root.join(FILE), Into::into);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(Error::new(format!("reading {}: {e}", path.display()))),
    };
    let spec = parse(&text).map_err(|e| Error::new(format!("{}: {e}", path.display())))?;
    let Some(channel) = &spec.channel else {
        return Ok(());
    };
    let toolchain = active(std::env::var("RUSTUP_TOOLCHAIN").ok().as_deref(), channel);
    ensure_with(&spec, &toolchain, &System)
}

/// [`ensure`] for a parsed `spec`, the `toolchain` to check, through `rustup`.
pub fn ensure_with(spec: &Spec, toolchain: &str, rustup: &dyn Rustup) -> Result<(), Error> {
    let list = |kind: &str| -> Result<Option<String>, Error> {
        match rustup.query(&[kind, "list", "--installed", "--toolchain", toolchain]) {
            Ok(Ok(list)) => Ok(Some(list)),
            Ok(Err(stderr)) => Err(Error::new(format!(
                "`rustup {kind} list --installed --toolchain {toolchain}` failed ({stderr}); \
                 install the toolchain with everything {FILE} names:\n    {}",
                full_install(spec, toolchain)
            ))),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::new(format!("cannot run rustup: {e}"))),
        }
    };
    let Some(targets) = list("target")? else {
        return without_rustup(spec, toolchain, rustup);
    };
    let Some(components) = list("component")? else {
        return without_rustup(spec, toolchain, rustup);
    };
    let targets: Vec<&str> = targets.lines().map(str::trim).collect();
    let components: Vec<&str> = components.lines().map(str::trim).collect();
    let actions = plan(spec, &targets, &components);
    for (i, action) in actions.iter().enumerate() {
        let line = action.command_line(toolchain);
        eprintln!(
            "==> toolchain {toolchain} lacks the {} that {FILE} names; installing: {line}",
            action.what()
        );
        let ok = rustup
            .install(&action.args(toolchain))
            .map_err(|e| Error::new(format!("cannot run `{line}`: {e}")))?;
        if !ok {
            return Err(install_failed(&line, &actions[i..], toolchain));
        }
    }
    Ok(())
}

/// The error after `line` failed: that command and the ones still to run, by hand.
fn install_failed(line: &str, remaining: &[Action], toolchain: &str) -> Error {
    let by_hand: Vec<String> = remaining
        .iter()
        .map(|a| format!("    {}", a.command_line(toolchain)))
        .collect();
    Error::new(format!(
        "`{line}` failed (see rustup's messages above); run by hand, then retry:\n{}",
        by_hand.join("\n")
    ))
}

/// Without rustup: fine when `rustc`'s sysroot has every wanted target, else what to run.
fn without_rustup(spec: &Spec, toolchain: &str, rustup: &dyn Rustup) -> Result<(), Error> {
    let missing: Vec<&str> = spec
        .targets
        .iter()
        .map(String::as_str)
        .filter(|t| !rustup.sysroot_has(t))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(Error::new(format!(
        "rustup is not on PATH, and rustc has no `{}` target that {FILE} names. \
         Install rustup (https://rustup.rs), then run:\n    {}",
        missing.join("`, `"),
        full_install(spec, toolchain)
    )))
}

#[cfg(test)]
mod tests;
