//! `cargo xtask gdb`: one example or in-QEMU test under QEMU, halted before its first
//! instruction, with `gdb-multiarch` attached, its symbols loaded and a breakpoint at the
//! program's `main`.
//!
//! `main` is the function the program passes to `preempt::entry!`, which the macro calls from
//! the `#[no_mangle]` function [`ENTRY_SYMBOL`]; its name is read from the ELF rather than
//! guessed: the function inlined directly into that symbol (DWARF), or else the target of
//! its call or tail call. gdb gets that name (`break demo::main`), or the entry symbol if
//! neither is found.
//!
//! QEMU runs with `-S` (halted) and its gdb stub on a free local port (1234 when free, else
//! one the system picks; announced), without the timeout of `run`, with its console on this
//! terminal beside gdb's but its input closed (gdb owns the keyboard), and in a process group
//! of its own so that Ctrl-C reaches gdb (which stops the program) and not QEMU; the xtask
//! ignores Ctrl-C too while gdb runs. When gdb exits, QEMU is stopped. The raw image of the
//! Pi board is what QEMU boots, but gdb reads the ELF it was made from (same addresses).

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use object::{Object, ObjectSymbol};

use crate::board::Board;
use crate::build::{self, Kind};
use crate::cli::{unknown_option, Args};
use crate::symbols::Symbols;
use crate::{qemu, run, Error};

/// The debugger: gdb built for every architecture (Debian/Ubuntu package `gdb-multiarch`).
pub const GDB: &str = "gdb-multiarch";
/// The symbol `preempt::entry!` defines, which calls the program's `main`.
pub const ENTRY_SYMBOL: &str = "__preempt_main";
/// The port tried first for QEMU's gdb stub (QEMU's own default, `-s`).
const DEFAULT_PORT: u16 = 1234;

/// Options of `cargo xtask gdb`.
#[derive(Debug)]
pub struct Options {
    /// Example or in-QEMU test to debug.
    pub kind: Kind,
    /// Its name.
    pub name: String,
    /// Board to build for and emulate.
    pub board: &'static Board,
    /// `--gic`, if given.
    pub gic: Option<u8>,
    /// `--smp`: cores to run with.
    pub smp: u8,
}

/// Parses `cargo xtask gdb`'s options.
pub fn parse(mut args: Args) -> Result<crate::Command, Error> {
    let mut opts = Options {
        kind: Kind::Example,
        name: "demo".to_string(),
        board: crate::board::default(),
        gic: None,
        smp: qemu::DEFAULT_SMP,
    };
    let mut chosen = None;
    while let Some((flag, inline)) = args.next_flag() {
        let kind = match flag.as_str() {
            "--example" => Kind::Example,
            "--test" => Kind::Test,
            "--board" => {
                opts.board = crate::board::find(&args.value(&flag, inline)?)?;
                continue;
            }
            "--gic" => {
                match args.number(&flag, inline)? {
                    v @ (2 | 3) => opts.gic = Some(v),
                    v => return Err(Error::usage(format!("`--gic` must be 2 or 3, not {v}"))),
                }
                continue;
            }
            "--smp" => {
                opts.smp = args.smp(&flag, inline)?;
                continue;
            }
            "-h" | "--help" => return Ok(crate::help_for("gdb")),
            _ => return Err(unknown_option("gdb", &flag, inline.as_deref())),
        };
        if let Some(earlier) = chosen.replace(flag.clone()) {
            return Err(Error::usage(format!(
                "`{flag}` and `{earlier}`: give one program to debug"
            )));
        }
        opts.kind = kind;
        opts.name = args.value(&flag, inline)?;
    }
    Ok(crate::Command::Gdb(opts))
}

/// Runs the command; returns gdb's exit status.
pub fn run(opts: &Options) -> Result<i32, Error> {
    let gdb = find_gdb()?;
    let gic = opts.board.gic(opts.gic)?;
    let ws = build::workspace()?;
    match opts.kind {
        Kind::Example => run::check_example(&ws.root, &opts.name)?,
        Kind::Test => check_test(&ws.root, &opts.name)?,
    }
    let qemu = qemu::find()?;
    eprintln!(
        "Building {} `{}` for board `{}`{}",
        opts.kind.name(),
        opts.name,
        opts.board.name,
        build::first_build_note(&ws)
    );
    let selection = [format!("--{}", opts.kind.name()), opts.name.clone()];
    let selection: Vec<&str> = selection.iter().map(String::as_str).collect();
    let artifacts = build::kernels(&ws, opts.board, opts.board.cargo_args, &selection)?;
    let artifact = artifacts
        .iter()
        .find(|a| a.kind == opts.kind && a.name == opts.name)
        .ok_or_else(|| {
            Error::new(format!(
                "cargo built no executable for {} `{}`",
                opts.kind.name(),
                opts.name
            ))
        })?;
    let image = build::image(&ws, opts.board, artifact)?;
    let data = std::fs::read(&artifact.executable)
        .map_err(|e| Error::new(format!("reading {}: {e}", artifact.executable.display())))?;
    let main = main_function(&Symbols::parse(&data, &ws.root)?)
        .unwrap_or_else(|| ENTRY_SYMBOL.to_string());
    let port = free_port()?;

    let mut qemu_cmd = qemu::command(
        &qemu,
        opts.board,
        gic,
        opts.smp,
        false,
        &image,
        &stub_args(port),
    );
    qemu_cmd.stdin(Stdio::null());
    own_process_group(&mut qemu_cmd);
    eprintln!(
        "QEMU halted at reset, gdb stub on 127.0.0.1:{port}; gdb: symbols from {}, breakpoint at `{main}`",
        crate::test::relative(&ws.root, &artifact.executable).display()
    );
    eprintln!(
        "In gdb: `continue` (c) runs to it; Ctrl-C stops the program; `quit` ends gdb and QEMU."
    );
    let mut qemu_child = qemu_cmd
        .spawn()
        .map_err(|e| Error::new(format!("cannot start {}: {e}", qemu.display())))?;
    let gdb_status = gdb_command(&gdb, &artifact.executable, port, &main)
        .spawn()
        .map_err(|e| Error::new(format!("cannot start {}: {e}", gdb.display())))
        .and_then(|mut child| {
            ignore_ctrl_c();
            child
                .wait()
                .map_err(|e| Error::new(format!("waiting for {GDB}: {e}")))
        });
    qemu::stop(&mut qemu_child);
    Ok(qemu::exit_code(gdb_status?))
}

/// The full path of `gdb-multiarch`, or the error telling how to install it.
fn find_gdb() -> Result<PathBuf, Error> {
    qemu::find_in_path(GDB).ok_or_else(|| {
        Error::new(format!(
            "{GDB} not found. Install it: sudo apt install gdb-multiarch (Debian/Ubuntu)"
        ))
    })
}

/// Checks that `name` is an in-QEMU test of the kernel package.
fn check_test(root: &Path, name: &str) -> Result<(), Error> {
    let dir = root
        .join("crates")
        .join(build::KERNEL_PACKAGE)
        .join("tests");
    if dir.join(format!("{name}.rs")).is_file() {
        return Ok(());
    }
    let mut tests: Vec<String> = std::fs::read_dir(&dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let path = e.path();
            if path.extension()? != "rs" {
                return None;
            }
            Some(path.file_stem()?.to_string_lossy().into_owned())
        })
        .collect();
    tests.sort();
    Err(Error::usage(format!(
        "unknown test `{name}`{} (tests in crates/{}/tests/)",
        crate::suggest::did_you_mean(name, tests.iter().map(String::as_str)),
        build::KERNEL_PACKAGE
    )))
}

/// QEMU's arguments for a halted start with its gdb stub on `port` of the loopback interface.
pub fn stub_args(port: u16) -> Vec<String> {
    vec!["-gdb".into(), format!("tcp:127.0.0.1:{port}"), "-S".into()]
}

/// The gdb command: quiet, symbols from `elf`, attached to `port`, a breakpoint at `main`.
pub fn gdb_command(gdb: &Path, elf: &Path, port: u16, main: &str) -> Command {
    let mut cmd = Command::new(gdb);
    cmd.arg("-q")
        .args(["-ex", "set confirm off"])
        .arg(elf)
        .args(["-ex", &format!("target remote 127.0.0.1:{port}")])
        .args(["-ex", &format!("break {main}")]);
    cmd
}

/// A local TCP port nothing listens on: [`DEFAULT_PORT`] if free, else one the system picks.
/// (Another program may take it before QEMU does; QEMU then fails with a clear message.)
fn free_port() -> Result<u16, Error> {
    if TcpListener::bind(("127.0.0.1", DEFAULT_PORT)).is_ok() {
        return Ok(DEFAULT_PORT);
    }
    TcpListener::bind(("127.0.0.1", 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| Error::new(format!("no free local port for QEMU's gdb stub: {e}")))
}

/// The program's `main` in `elf`: the function inlined directly into [`ENTRY_SYMBOL`], or
/// else the function its first call or tail call goes to.
pub fn main_function(elf: &Symbols<'_>) -> Option<String> {
    let entry = elf.file.symbols().find(|s| s.name() == Ok(ENTRY_SYMBOL))?;
    let code = code_at(elf, entry.address(), entry.size())?;
    let range = entry.address()..entry.address() + code.len() as u64;
    // Inlined: the frame whose caller is the entry symbol's own (outermost) frame.
    for pc in range.clone().step_by(4) {
        let frames = elf.place(pc).frames;
        if let [.., inlined, _entry] = frames.as_slice() {
            return Some(inlined.function.clone());
        }
    }
    code.chunks_exact(4)
        .zip(range.step_by(4))
        .find_map(|(word, pc)| branch_target(u32::from_le_bytes(word.try_into().ok()?), pc))
        .map(|target| elf.symbol(target).to_string())
        .filter(|name| name != "?" && name != ENTRY_SYMBOL)
}

/// The code bytes of `size` at `address`, from the section holding them.
fn code_at<'a>(elf: &'a Symbols<'_>, address: u64, size: u64) -> Option<&'a [u8]> {
    use object::ObjectSection;
    let section = elf
        .file
        .sections()
        .find(|s| (s.address()..s.address() + s.size()).contains(&address))?;
    let data = section.data().ok()?;
    let start = usize::try_from(address - section.address()).ok()?;
    let end = usize::try_from(size)
        .ok()?
        .checked_add(start)?
        .min(data.len());
    data.get(start..end)
}

/// The target of the AArch64 `b`/`bl` instruction `word` at `pc`, if it is one.
pub fn branch_target(word: u32, pc: u64) -> Option<u64> {
    if word & 0x7c00_0000 != 0x1400_0000 {
        return None;
    }
    // imm26, sign-extended, in instructions.
    let offset = (((word & 0x03ff_ffff) << 6) as i32 >> 6) as i64 * 4;
    Some(pc.wrapping_add_signed(offset))
}

#[cfg(unix)]
fn own_process_group(cmd: &mut Command) {
    use std::os::unix::process::CommandExt;
    cmd.process_group(0);
}

#[cfg(not(unix))]
fn own_process_group(_cmd: &mut Command) {}

/// Makes this process ignore Ctrl-C (SIGINT), which the terminal sends to gdb, whose job it
/// is, and to us: the xtask must live on to stop QEMU after gdb.
#[cfg(unix)]
fn ignore_ctrl_c() {
    extern "C" {
        fn signal(signum: i32, handler: usize) -> usize;
    }
    const SIGINT: i32 = 2;
    const SIG_IGN: usize = 1;
    // SAFETY: `signal(2)` with `SIG_IGN` installs no handler code; it only sets this process's
    // disposition of SIGINT, which nothing else in the xtask relies on.
    unsafe {
        signal(SIGINT, SIG_IGN);
    }
}

#[cfg(not(unix))]
fn ignore_ctrl_c() {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_command_line() {
        let Ok(crate::Command::Gdb(opts)) = crate::cli::parse_words("gdb") else {
            panic!("not a gdb command")
        };
        assert_eq!((opts.kind, opts.name.as_str()), (Kind::Example, "demo"));
        assert_eq!(opts.board.name, "virt");
        let Ok(crate::Command::Gdb(opts)) =
            crate::cli::parse_words("gdb --test crash_report --board=rpi-zero2w --smp 1")
        else {
            panic!("not a gdb command")
        };
        assert_eq!(
            (opts.kind, opts.name.as_str()),
            (Kind::Test, "crash_report")
        );
        assert_eq!((opts.board.name, opts.smp), ("rpi-zero2w", 1));
        for bad in [
            "gdb --example a --test b",
            "gdb --timeout 3",
            "gdb --example",
            "gdb --gic 4",
        ] {
            let err = crate::cli::parse_words(bad).unwrap_err();
            assert_eq!(err.code, 2, "{bad}");
        }
    }

    #[test]
    fn builds_the_gdb_and_qemu_arguments() {
        let cmd = gdb_command(
            Path::new("/usr/bin/gdb-multiarch"),
            Path::new("/t/demo"),
            4321,
            "demo::main",
        );
        let args: Vec<_> = cmd.get_args().map(|a| a.to_str().unwrap()).collect();
        assert_eq!(cmd.get_program(), "/usr/bin/gdb-multiarch");
        assert_eq!(
            args,
            [
                "-q",
                "-ex",
                "set confirm off",
                "/t/demo",
                "-ex",
                "target remote 127.0.0.1:4321",
                "-ex",
                "break demo::main"
            ]
        );
        assert_eq!(stub_args(4321), ["-gdb", "tcp:127.0.0.1:4321", "-S"]);
        let port = free_port().unwrap();
        assert!(port > 0);
    }

    #[test]
    fn decodes_branches() {
        // b .+8, bl .-4, b .-0x8000000 (the farthest back), and not a branch (nop).
        assert_eq!(branch_target(0x1400_0002, 0x1000), Some(0x1008));
        assert_eq!(branch_target(0x97ff_ffff, 0x1000), Some(0x0ffc));
        assert_eq!(
            branch_target(0x1600_0000, 0x1000_0000),
            Some(0x1000_0000 - 0x800_0000)
        );
        assert_eq!(branch_target(0xd503_201f, 0x1000), None);
    }
}
