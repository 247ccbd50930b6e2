//! Tests of the toolchain check: the parser, the plan, and the check through a stand-in
//! rustup (no test installs anything).

use super::*;
use std::cell::RefCell;

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

fn spec(targets: &[&str], components: &[&str]) -> Spec {
    Spec {
        channel: Some("1.95.0".into()),
        targets: strings(targets),
        components: strings(components),
    }
}

#[test]
fn parses_the_projects_file() {
    let text = include_str!("../../../rust-toolchain.toml");
    let parsed = parse(text).unwrap();
    assert_eq!(parsed.channel.as_deref(), Some("1.95.0"));
    assert_eq!(parsed.targets, ["aarch64-unknown-none"]);
    assert_eq!(
        parsed.components,
        ["rust-src", "llvm-tools", "clippy", "rustfmt"]
    );
}

#[test]
fn parses_comments_multiline_arrays_and_other_tables() {
    let text = "\
# the pinned toolchain
[other]
channel = \"nightly\"   # not ours

[ toolchain ]
channel = '1.95.0' # literal string
targets = [
\"aarch64-unknown-none\", # the kernel
\"thumbv7em-none-eabi\",
]
components = [\"rust-src\"]
profile = \"minimal\"
";
    assert_eq!(
        parse(text).unwrap(),
        Spec {
            channel: Some("1.95.0".into()),
            targets: strings(&["aarch64-unknown-none", "thumbv7em-none-eabi"]),
            components: strings(&["rust-src"]),
        }
    );
    assert_eq!(parse("").unwrap(), Spec::default());
    for bad in [
        "[toolchain]\nchannel = 1.95",
        "[toolchain]\ntargets = [\"a\"",
        "[toolchain]\ntargets = \"a\"",
        "[toolchain\nchannel = \"1\"",
        "[toolchain]\njust words",
    ] {
        assert!(parse(bad).is_err(), "{bad}");
    }
}

#[test]
fn plans_a_missing_target() {
    let wanted = spec(
        &["aarch64-unknown-none"],
        &["rust-src", "llvm-tools", "clippy"],
    );
    let components = [
        "cargo-x86_64-unknown-linux-gnu",
        "clippy-x86_64-unknown-linux-gnu",
        "llvm-tools-x86_64-unknown-linux-gnu",
        "rust-src",
        "rust-std-x86_64-unknown-linux-gnu",
    ];
    let actions = plan(&wanted, &["x86_64-unknown-linux-gnu"], &components);
    assert_eq!(
        actions,
        [Action::AddTargets(strings(&["aarch64-unknown-none"]))]
    );
    assert_eq!(
        actions[0].command_line("1.95.0"),
        "rustup target add --toolchain 1.95.0 aarch64-unknown-none"
    );
    let all = ["aarch64-unknown-none", "x86_64-unknown-linux-gnu"];
    assert_eq!(plan(&wanted, &all, &components), []);
}

#[test]
fn plans_missing_components() {
    let wanted = spec(&[], &["rust-src", "llvm-tools", "clippy", "rustfmt"]);
    // `rust` is a prefix of `rust-src`/`rust-std-…`, which are not it; the old name of
    // llvm-tools counts.
    let installed = [
        "llvm-tools-preview-x86_64-unknown-linux-gnu",
        "rust-std-aarch64-unknown-none",
        "rustc-x86_64-unknown-linux-gnu",
    ];
    assert_eq!(
        plan(&wanted, &[], &installed),
        [Action::AddComponents(strings(&[
            "rust-src", "clippy", "rustfmt"
        ]))]
    );
    assert!(!same_component("rust", "rust-src"));
    assert!(
        !same_component("rust-std", "rust-std-aarch64"),
        "not a triple"
    );
    assert!(same_component(
        "llvm-tools-preview",
        "llvm-tools-aarch64-apple-darwin"
    ));
    let both = plan(&spec(&["a-b-c"], &["clippy"]), &[], &[]);
    assert_eq!(
        both.iter().map(|a| a.command_line("x")).collect::<Vec<_>>(),
        [
            "rustup target add --toolchain x a-b-c",
            "rustup component add --toolchain x clippy"
        ]
    );
}

#[test]
fn checks_the_active_toolchain() {
    assert_eq!(
        active(Some("1.95.0-x86_64-unknown-linux-gnu"), "1.95.0"),
        "1.95.0"
    );
    assert_eq!(active(Some("1.95.0"), "1.95.0"), "1.95.0");
    assert_eq!(active(Some("stable"), "1.95.0"), "stable");
    assert_eq!(active(Some("1.95.01"), "1.95.0"), "1.95.01");
    assert_eq!(active(None, "1.95.0"), "1.95.0");
}

/// A rustup that lists fixed sets (or is missing) and records installs.
struct Fake {
    targets: Option<&'static str>,
    components: &'static str,
    install_ok: bool,
    sysroot: &'static [&'static str],
    installs: RefCell<Vec<String>>,
}

impl Fake {
    fn new(targets: Option<&'static str>, components: &'static str, install_ok: bool) -> Self {
        Fake {
            targets,
            components,
            install_ok,
            sysroot: &[],
            installs: RefCell::new(Vec::new()),
        }
    }
}

impl Rustup for Fake {
    fn query(&self, args: &[&str]) -> std::io::Result<Result<String, String>> {
        let targets = self.targets.ok_or(ErrorKind::NotFound)?;
        Ok(Ok(if args[0] == "target" {
            targets
        } else {
            self.components
        }
        .into()))
    }
    fn install(&self, args: &[String]) -> std::io::Result<bool> {
        self.installs.borrow_mut().push(args.join(" "));
        Ok(self.install_ok)
    }
    fn sysroot_has(&self, target: &str) -> bool {
        self.sysroot.contains(&target)
    }
}

#[test]
fn installs_what_is_missing() {
    let wanted = spec(&["aarch64-unknown-none"], &["rust-src", "clippy"]);
    let rustup = Fake::new(Some("x86_64-unknown-linux-gnu\n"), "rust-src\n", true);
    ensure_with(&wanted, "1.95.0", &rustup).unwrap();
    assert_eq!(
        *rustup.installs.borrow(),
        [
            "target add --toolchain 1.95.0 aarch64-unknown-none",
            "component add --toolchain 1.95.0 clippy"
        ]
    );
    let complete = Fake::new(
        Some("aarch64-unknown-none\n"),
        "rust-src\nclippy-x86_64-unknown-linux-gnu\n",
        true,
    );
    ensure_with(&wanted, "1.95.0", &complete).unwrap();
    assert!(complete.installs.borrow().is_empty());
}

#[test]
fn a_failed_install_says_what_to_run() {
    let wanted = spec(&["aarch64-unknown-none"], &["clippy"]);
    let rustup = Fake::new(Some(""), "", false);
    let err = ensure_with(&wanted, "1.95.0", &rustup).unwrap_err();
    assert_eq!(err.code, 1);
    assert_eq!(
        err.message,
        "`rustup target add --toolchain 1.95.0 aarch64-unknown-none` failed (see rustup's \
         messages above); run by hand, then retry:\n    \
         rustup target add --toolchain 1.95.0 aarch64-unknown-none\n    \
         rustup component add --toolchain 1.95.0 clippy"
    );
    assert_eq!(
        rustup.installs.borrow().len(),
        1,
        "stops at the first failure"
    );
}

#[test]
fn without_rustup_says_what_to_run() {
    let wanted = spec(&["aarch64-unknown-none"], &["rust-src", "llvm-tools"]);
    let err = ensure_with(&wanted, "1.95.0", &Fake::new(None, "", true)).unwrap_err();
    assert_eq!(err.code, 1);
    assert!(
        err.message.ends_with(
            "\n    rustup toolchain install 1.95.0 --profile minimal \
             --target aarch64-unknown-none --component rust-src,llvm-tools"
        ),
        "{}",
        err.message
    );
    // A rustc from elsewhere that has the target is good enough.
    let mut elsewhere = Fake::new(None, "", true);
    elsewhere.sysroot = &["aarch64-unknown-none"];
    ensure_with(&wanted, "1.95.0", &elsewhere).unwrap();
}

/// The real rustup's lists, with installs recorded and failing (nothing is downloaded).
struct ListOnly(RefCell<Vec<String>>);

impl Rustup for ListOnly {
    fn query(&self, args: &[&str]) -> std::io::Result<Result<String, String>> {
        System.query(args)
    }
    fn install(&self, args: &[String]) -> std::io::Result<bool> {
        self.0.borrow_mut().push(args.join(" "));
        Ok(false)
    }
    fn sysroot_has(&self, target: &str) -> bool {
        System.sysroot_has(target)
    }
}

/// The whole check against this machine's rustup, with a toolchain file naming a target
/// that is not installed: the real lists, the plan, and the message of a failed install.
#[test]
fn finds_a_target_this_machine_lacks() {
    let project = parse(include_str!("../../../rust-toolchain.toml")).unwrap();
    let channel = project.channel.clone().unwrap();
    let toolchain = active(std::env::var("RUSTUP_TOOLCHAIN").ok().as_deref(), &channel);
    let Ok(Ok(installed)) =
        System.query(&["target", "list", "--installed", "--toolchain", &toolchain])
    else {
        eprintln!("no rustup with toolchain {toolchain} here; skipped");
        return;
    };
    let lacking = [
        "riscv64gc-unknown-none-elf",
        "thumbv6m-none-eabi",
        "wasm32v1-none",
    ]
    .into_iter()
    .find(|t| !installed.lines().any(|l| l.trim() == *t))
    .expect("one of them is not installed");
    let file = std::env::temp_dir().join(format!("xtask-toolchain-{}.toml", std::process::id()));
    std::fs::write(
        &file,
        format!(
            "[toolchain]\nchannel = \"{channel}\"\ntargets = [\"{}\", \"{lacking}\"]\n",
            project.targets.join("\", \"")
        ),
    )
    .unwrap();
    let wanted = parse(&std::fs::read_to_string(&file).unwrap()).unwrap();
    std::fs::remove_file(&file).unwrap();
    let rustup = ListOnly(RefCell::new(Vec::new()));
    let err = ensure_with(&wanted, &toolchain, &rustup).unwrap_err();
    let add = format!("target add --toolchain {toolchain} {lacking}");
    assert_eq!(*rustup.0.borrow(), std::slice::from_ref(&add));
    assert!(err.message.starts_with(&format!("`rustup {add}` failed")));
    assert!(err
        .message
        .ends_with(&format!("run by hand, then retry:\n    rustup {add}")));
}
