//! Running QEMU: finding the binary, building its command line, and bounding its run time.
//!
//! Every QEMU run goes through [`wait`], so a kernel that never exits (a deadlock, a missed
//! semihosting exit) costs at most its timeout instead of hanging the terminal or CI. On
//! timeout QEMU first gets SIGTERM — it then restores the terminal it put in raw mode — and
//! SIGKILL only if it does not exit promptly.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus};
use std::time::{Duration, Instant};

use crate::board::Board;
use crate::Error;

/// The QEMU binary for every board.
pub const QEMU: &str = "qemu-system-aarch64";

/// Arguments making QEMU's clock run exactly one instruction per nanosecond and skip idle time:
/// deterministic timer interrupts, and `wfi` costs no wall-clock time.
pub const ICOUNT: [&str; 2] = ["-icount", "shift=0,sleep=off"];

/// The full path of `qemu-system-aarch64`, or the error telling how to install it.
pub fn find() -> Result<PathBuf, Error> {
    find_in_path(QEMU).ok_or_else(|| {
        Error::new(format!(
            "{QEMU} not found. Install QEMU: sudo apt-get install qemu-system-arm (Debian/Ubuntu)"
        ))
    })
}

/// The full path of the executable `name` in a directory of `PATH`, if there is one.
pub fn find_in_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
}

#[cfg(unix)]
fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn is_executable(path: &Path) -> bool {
    path.is_file() || path.with_extension("exe").is_file()
}

/// Cores a run uses when neither `--smp` nor a test's `smp=N` directive says.
pub const DEFAULT_SMP: u8 = 4;

/// The most cores `--smp` accepts (the kernel's `MAX_CPUS`).
pub const MAX_SMP: u8 = 4;

/// The semihosting arguments: on, with the command line `preempt smp=N`, where a kernel that
/// cannot be told its core count by the machine (QEMU `raspi3b` always has four) reads its cap.
/// Under `-icount` with several cores also `icount-tick-us=N` ([`ICOUNT_TICK_US`]).
pub fn semihosting_args(smp: u8, icount: bool) -> [String; 2] {
    let mut line = format!("enable=on,target=native,arg=preempt,arg=smp={smp}");
    if icount && smp > 1 {
        line.push_str(&format!(",arg=icount-tick-us={ICOUNT_TICK_US}"));
    }
    ["-semihosting-config".to_string(), line]
}

/// Under `-icount` QEMU runs the cores one after another on one host thread, each for a turn
/// as long as the time to the machine's next timer deadline divided by the cores; with no
/// deadline near (the kernel has no periodic tick), a core that spins keeps the host for up
/// to 25 ms of virtual time while the others wait. So the kernel is told to keep one timer
/// deadline on core 0 at most this many microseconds ahead, which bounds every turn (see
/// docs/design.md, "Time"). Runs without `-icount` (MTTCG) and real hardware get none.
pub const ICOUNT_TICK_US: u32 = 1000;

/// The QEMU command running `image` on `board` with `smp` cores: console on stdio,
/// semihosting on (the kernel exits QEMU with its status through it, and reads the core cap
/// from its command line), `extra` appended last.
pub fn command(
    qemu: &Path,
    board: &Board,
    gic: Option<u8>,
    smp: u8,
    icount: bool,
    image: &Path,
    extra: &[String],
) -> Command {
    let mut cmd = Command::new(qemu);
    cmd.args(board.machine(gic))
        .args(board.smp_args(smp))
        .arg("-nographic")
        .args(semihosting_args(smp, icount));
    if icount {
        cmd.args(ICOUNT);
    }
    cmd.arg("-kernel").arg(image).args(extra);
    cmd
}

/// How a bounded run ended.
#[derive(Debug)]
pub enum Outcome {
    /// The process exited by itself.
    Exited(ExitStatus),
    /// The timeout expired and the process was killed.
    TimedOut,
}

/// Waits for `child` at most `timeout` (`None`: forever), killing it when the time is up.
pub fn wait(child: &mut Child, timeout: Option<Duration>) -> Result<Outcome, Error> {
    let start = Instant::now();
    let mut pause = Duration::from_millis(1);
    loop {
        if let Some(status) = child
            .try_wait()
            .map_err(|e| Error::new(format!("waiting for {QEMU}: {e}")))?
        {
            return Ok(Outcome::Exited(status));
        }
        if timeout.is_some_and(|t| start.elapsed() >= t) {
            terminate(child);
            return Ok(Outcome::TimedOut);
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(50));
    }
}

/// Stops `child` if it still runs (SIGTERM, up to two seconds' grace, SIGKILL) and reaps it.
pub fn stop(child: &mut Child) {
    if !matches!(child.try_wait(), Ok(Some(_))) {
        terminate(child);
    }
}

/// Stops `child`: SIGTERM and up to two seconds' grace, then SIGKILL; always reaps it.
fn terminate(child: &mut Child) {
    if send_sigterm(child) {
        let deadline = Instant::now() + Duration::from_secs(2);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    let _ = child.kill();
    let _ = child.wait();
}

#[cfg(unix)]
fn send_sigterm(child: &Child) -> bool {
    extern "C" {
        fn kill(pid: i32, signal: i32) -> i32;
    }
    const SIGTERM: i32 = 15;
    let Ok(pid) = i32::try_from(child.id()) else {
        return false;
    };
    // SAFETY: `kill(2)` only reads its two integer arguments. `pid` is our own child, which
    // has not been reaped yet (we hold `&Child` and only `wait`/`try_wait` reap it), so the
    // pid cannot have been reused by an unrelated process.
    unsafe { kill(pid, SIGTERM) == 0 }
}

#[cfg(not(unix))]
fn send_sigterm(_child: &Child) -> bool {
    false
}

/// The exit status to hand on for `status`: its code, or 128 + signal number like a shell.
pub fn exit_code(status: ExitStatus) -> i32 {
    #[cfg(unix)]
    if let Some(signal) = std::os::unix::process::ExitStatusExt::signal(&status) {
        return 128 + signal;
    }
    status.code().unwrap_or(1)
}

/// `exit N` or `killed by signal N`, for messages.
pub fn describe(status: ExitStatus) -> String {
    #[cfg(unix)]
    if let Some(signal) = std::os::unix::process::ExitStatusExt::signal(&status) {
        return format!("killed by signal {signal}");
    }
    format!("exit {}", status.code().unwrap_or(1))
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn timeout_kills_the_process() {
        let mut child = Command::new("sleep").arg("30").spawn().unwrap();
        let start = Instant::now();
        let outcome = wait(&mut child, Some(Duration::from_millis(200))).unwrap();
        assert!(matches!(outcome, Outcome::TimedOut));
        assert!(start.elapsed() < Duration::from_secs(5));
        assert!(
            child.try_wait().unwrap().is_some(),
            "the child must be reaped"
        );
    }

    #[test]
    fn exit_status_is_passed_through() {
        let mut child = Command::new("sh").args(["-c", "exit 3"]).spawn().unwrap();
        let Outcome::Exited(status) = wait(&mut child, Some(Duration::from_secs(10))).unwrap()
        else {
            panic!("timed out")
        };
        assert_eq!(exit_code(status), 3);
        assert_eq!(describe(status), "exit 3");
    }
}
