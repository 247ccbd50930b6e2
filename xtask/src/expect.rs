//! Per-binary expectations, written in the binary's own source file.
//!
//! An in-QEMU test or example states how a correct run looks in `//! xtask:` lines of its
//! leading comment block (before the first line that is not a comment, blank, or `#![...]`):
//!
//! ```text
//! //! xtask: expect-exit=3            exit status QEMU must return (default 0)
//! //! xtask: expect-output=all done   text that must appear in the output (repeatable)
//! //! xtask: reject-output=FORGED     text no output line may begin with (repeatable)
//! //! xtask: timeout=300              seconds before the run is killed (default 120)
//! //! xtask: gic=2                    run only with this GIC version
//! //! xtask: smp=4                    run with this many cores, whatever `--smp` says
//! //! xtask: smp=host                 as many cores as the host has (2 to 4), whatever `--smp` says
//! //! xtask: icount=off               run in real time, the cores in parallel (MTTCG)
//! //! xtask: features=trace           build it with these cargo features of `preempt` too
//! ```
//!
//! `icount=off` is for stress tests of real parallelism: under `-icount` (the default, for
//! deterministic timing) QEMU runs the cores one after another on one host thread.
//! Such a test says `smp=host`: with more vCPUs than host cores, the host deschedules a vCPU
//! that holds a lock and the others spin for its next time slice — a hypervisor's problem
//! that a kernel on its own cores never has, and one that made the mutex stress test 400 times
//! slower (docs/performance.md, "Stress sizes under real parallelism").
//!
//! Keeping them next to the code means adding a test is adding one file. An unknown key is
//! an error rather than ignored, so a typo cannot silently weaken a test.

use std::path::Path;
use std::time::Duration;

use crate::Error;

/// How long a run may take when the file does not say.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);

/// The cores of `smp=host`: the host's, at least 2 (so that something runs in parallel
/// even on a one-core host) and at most [`crate::qemu::MAX_SMP`].
pub fn host_smp() -> u8 {
    let host = std::thread::available_parallelism().map_or(1, |n| n.get());
    host.clamp(2, usize::from(crate::qemu::MAX_SMP)) as u8
}

/// What a correct run of one binary looks like.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expectations {
    /// Exit status QEMU must return.
    pub exit: i32,
    /// Texts that must each appear somewhere in the output.
    pub outputs: Vec<String>,
    /// Texts that no line of the output may begin with.
    pub rejects: Vec<String>,
    /// Time limit of one run.
    pub timeout: Duration,
    /// If set, the only GIC version to run with.
    pub gic: Option<u8>,
    /// If set, the number of cores to run with (overrides `--smp` and the default).
    pub smp: Option<u8>,
    /// Whether to run under `-icount` (deterministic, cores taking turns; the default) or in
    /// real time with the cores in parallel (`icount=off`).
    pub icount: bool,
    /// Cargo features of the kernel package to build this binary with, beyond the board's
    /// (`features=trace`): `test` builds it once more with them.
    pub features: Vec<String>,
}

impl Default for Expectations {
    fn default() -> Self {
        Expectations {
            exit: 0,
            outputs: Vec::new(),
            rejects: Vec::new(),
            timeout: DEFAULT_TIMEOUT,
            gic: None,
            smp: None,
            icount: true,
            features: Vec::new(),
        }
    }
}

impl Expectations {
    /// Checks a run's console output: every `expect-output` text somewhere, and no line
    /// beginning with a `reject-output` text. `Err` says what is wrong.
    ///
    /// Rejection is by line start because that is where a forged line would have to begin to
    /// be taken for a real one (`CHECK FAILED …`, a report); the same text inside a line, such
    /// as an escaped thread name in a report, is fine.
    pub fn check_output(&self, output: &str) -> Result<(), String> {
        if let Some(missing) = self.outputs.iter().find(|t| !output.contains(t.as_str())) {
            return Err(format!("output lacks `{missing}`"));
        }
        for (n, line) in output.lines().enumerate() {
            if let Some(bad) = self.rejects.iter().find(|t| line.starts_with(t.as_str())) {
                return Err(format!("output line {} begins with `{bad}`", n + 1));
            }
        }
        Ok(())
    }
}

/// Reads the expectations of the source file `path`.
pub fn read(path: &Path) -> Result<Expectations, Error> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::new(format!("reading {}: {e}", path.display())))?;
    parse(&text).map_err(|(line, msg)| Error::new(format!("{}:{line}: {msg}", path.display())))
}

/// Parses the directives of a source text; errors carry the 1-based line number.
pub fn parse(text: &str) -> Result<Expectations, (usize, String)> {
    let mut exp = Expectations::default();
    for (index, line) in text.lines().enumerate() {
        let line = line.trim();
        let Some(doc) = line.strip_prefix("//!") else {
            if line.is_empty() || line.starts_with("//") || line.starts_with("#![") {
                continue;
            }
            break;
        };
        let Some(directive) = doc.trim().strip_prefix("xtask:") else {
            continue;
        };
        apply(&mut exp, directive.trim()).map_err(|msg| (index + 1, msg))?;
    }
    Ok(exp)
}

fn apply(exp: &mut Expectations, directive: &str) -> Result<(), String> {
    let (key, value) = directive
        .split_once('=')
        .map(|(k, v)| (k.trim(), v.trim()))
        .ok_or_else(|| format!("xtask directive `{directive}` is not `key=value`"))?;
    let bad = |what: &str| format!("xtask directive `{key}`: `{value}` is not {what}");
    match key {
        "expect-exit" => {
            exp.exit = value
                .parse()
                .ok()
                .filter(|v| (0..=255).contains(v))
                .ok_or_else(|| bad("an exit status 0..=255"))?
        }
        "expect-output" if value.is_empty() => return Err(bad("a non-empty text")),
        "expect-output" => exp.outputs.push(value.to_string()),
        "reject-output" if value.is_empty() => return Err(bad("a non-empty text")),
        "reject-output" => exp.rejects.push(value.to_string()),
        "timeout" => {
            let secs: u64 = value
                .parse()
                .ok()
                .filter(|&s| s > 0)
                .ok_or_else(|| bad("a positive number of seconds"))?;
            exp.timeout = Duration::from_secs(secs);
        }
        "gic" => {
            exp.gic = Some(
                value
                    .parse()
                    .ok()
                    .filter(|v| [2, 3].contains(v))
                    .ok_or_else(|| bad("2 or 3"))?,
            )
        }
        "smp" if value == "host" => exp.smp = Some(host_smp()),
        "smp" => {
            exp.smp = Some(
                value
                    .parse()
                    .ok()
                    .filter(|v| (1..=crate::qemu::MAX_SMP).contains(v))
                    .ok_or_else(|| bad("a core count 1..=4 or `host`"))?,
            )
        }
        "icount" => {
            exp.icount = match value {
                "on" => true,
                "off" => false,
                _ => return Err(bad("`on` or `off`")),
            }
        }
        "features" => {
            for feature in value.split(',').map(str::trim) {
                let valid = !feature.is_empty()
                    && feature
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
                if !valid {
                    return Err(bad("a comma-separated list of cargo features"));
                }
                exp.features.push(feature.to_string());
            }
        }
        _ => {
            return Err(format!(
                "unknown xtask directive `{key}` (known: expect-exit, expect-output, reject-output, timeout, gic, smp, icount, features)"
            ))
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_leading_comment_block() {
        let src = "//! Preemption test.\n//!\n//! xtask: expect-exit=3\n//! xtask: expect-output=tick 10\n\
                   //! xtask: expect-output= all done \n// plain comment\n//! xtask: timeout=30\n\n#![no_std]\n\
                   //! xtask: gic=2\n//! xtask: smp=4\n//! xtask: icount=off\n//! xtask: features=trace, x_y\n\
                   fn main() {}\n//! xtask: expect-exit=9\n";
        let exp = parse(src).unwrap();
        assert_eq!(exp.exit, 3);
        assert_eq!(exp.outputs, ["tick 10", "all done"]);
        assert_eq!(exp.timeout, Duration::from_secs(30));
        assert_eq!(exp.gic, Some(2));
        assert_eq!(exp.smp, Some(4));
        assert!(!exp.icount);
        assert_eq!(exp.features, ["trace", "x_y"]);
        assert_eq!(
            parse("#![no_main]\nfn main() {}").unwrap(),
            Expectations::default()
        );
    }

    #[test]
    fn smp_host_is_the_hosts_cores_from_two_to_four() {
        let exp = parse("//! xtask: smp=host").unwrap();
        let host = std::thread::available_parallelism().map_or(1, |n| n.get());
        assert_eq!(exp.smp, Some(host.clamp(2, 4) as u8));
    }

    #[test]
    fn reject_output_matches_line_starts_only() {
        let exp =
            parse("//! xtask: reject-output=CHECK FAILED\n//! xtask: expect-output=ok").unwrap();
        assert_eq!(exp.rejects, ["CHECK FAILED"]);
        assert_eq!(
            exp.check_output("ok\nthread 'x\\nCHECK FAILED' panicked\n"),
            Ok(())
        );
        assert_eq!(
            exp.check_output("ok\nthread 'x\nCHECK FAILED forged' panicked\n")
                .unwrap_err(),
            "output line 3 begins with `CHECK FAILED`"
        );
        assert_eq!(
            exp.check_output("ok\r\nCHECK FAILED\r\n").unwrap_err(),
            "output line 2 begins with `CHECK FAILED`"
        );
        assert_eq!(exp.check_output("fine\n").unwrap_err(), "output lacks `ok`");
    }

    #[test]
    fn rejects_bad_directives() {
        assert_eq!(parse("//!\n//! xtask: expect-exti=1").unwrap_err().0, 2);
        for bad in [
            "expect-exit=x",
            "expect-exit=256",
            "timeout=0",
            "gic=4",
            "smp=0",
            "smp=5",
            "smp=two",
            "smp=hosts",
            "icount=no",
            "features=",
            "features=trace,",
            "features=a b",
            "expect-output=",
            "reject-output=",
            "expect-exit",
        ] {
            assert!(parse(&format!("//! xtask: {bad}")).is_err(), "{bad}");
        }
    }
}
