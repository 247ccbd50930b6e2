//! The command line: words to a [`Command`], with `--flag value` and `--flag=value` alike.
//!
//! `parse` dispatches on the command word; each command's options are parsed by its
//! function here (`run`, `test`, `image`) or in its module (`bench`, `fuzz`, `profile`,
//! `gdb`, `trace`). A mistake is
//! one line saying what is wrong, with the closest valid name when one is close (see
//! [`crate::suggest`]), then `see 'cargo xtask help COMMAND'`; exit status 2.

use std::collections::VecDeque;
use std::time::Duration;

use crate::{
    bench, board, fuzz, gdb, help, image, profile, run, suggest, test, trace, Command, Error,
};

/// The page of `command`, as `COMMAND --help` asks.
pub fn help_for(command: &str) -> Command {
    Command::Help(Some(command.to_string()))
}

/// The error for a word `command` does not take: an unknown option (with the closest known
/// one), a switch given a value (`--icount=1`), or a stray argument.
pub fn unknown_option(command: &str, flag: &str, inline: Option<&str>) -> Error {
    let known = help::flags(command);
    Error::usage(if known.contains(&flag) && inline.is_some() {
        format!("`{flag}` takes no value")
    } else if flag.starts_with('-') {
        format!(
            "unknown option `{flag}` for `{command}`{}",
            suggest::did_you_mean(flag, known)
        )
    } else {
        format!("unexpected argument `{flag}` for `{command}` (options start with `--`)")
    })
}

/// The command-line words after `xtask`, with `--flag value` / `--flag=value` handling.
pub struct Args {
    /// The words not read yet.
    pub words: VecDeque<String>,
}

impl Args {
    /// The next flag and its `=value` part, if any.
    pub fn next_flag(&mut self) -> Option<(String, Option<String>)> {
        let word = self.words.pop_front()?;
        match word.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => {
                Some((flag.to_string(), Some(value.to_string())))
            }
            _ => Some((word, None)),
        }
    }

    /// The value of `flag`: its `=value` part or the next word (which is not an option).
    pub fn value(&mut self, flag: &str, inline: Option<String>) -> Result<String, Error> {
        if inline.is_none() && self.words.front().is_some_and(|w| w.starts_with("--")) {
            return Err(Error::usage(format!("`{flag}` needs a value")));
        }
        inline
            .or_else(|| self.words.pop_front())
            .ok_or_else(|| Error::usage(format!("`{flag}` needs a value")))
    }

    /// The value of `--smp`: a core count 1..=4.
    pub fn smp(&mut self, flag: &str, inline: Option<String>) -> Result<u8, Error> {
        match self.number(flag, inline)? {
            n @ 1..=crate::qemu::MAX_SMP => Ok(n),
            n => Err(Error::usage(format!(
                "`--smp` must be 1 to {}, not {n}",
                crate::qemu::MAX_SMP
            ))),
        }
    }

    /// The value of `flag` as a number.
    pub fn number<T: std::str::FromStr>(
        &mut self,
        flag: &str,
        inline: Option<String>,
    ) -> Result<T, Error> {
        let value = self.value(flag, inline)?;
        value
            .parse()
            .map_err(|_| Error::usage(format!("`{flag}` needs a number, not `{value}`")))
    }
}

/// The command the words after `cargo xtask` ask for.
pub fn parse(words: Vec<String>) -> Result<Command, Error> {
    let mut args = Args {
        words: words.into(),
    };
    let Some(command) = args.words.pop_front() else {
        return Ok(Command::Help(None));
    };
    let parsed = match command.as_str() {
        "-h" | "--help" => return Ok(Command::Help(None)),
        "help" => return parse_help(args),
        "run" => parse_run(args),
        "test" => parse_test(args),
        "image" => parse_image(args),
        "bench" => bench::parse(args),
        "fuzz" => fuzz::parse(args),
        "profile" => profile::parse(args),
        "gdb" => gdb::parse(args),
        "trace" => trace::parse(args),
        other => {
            return Err(Error::usage(format!(
                "unknown command `{other}`{}\nsee 'cargo xtask help'",
                suggest::did_you_mean(other, help::commands())
            )))
        }
    };
    parsed.map_err(|mut e| {
        e.message
            .push_str(&format!("\nsee 'cargo xtask help {command}'"));
        e
    })
}

fn parse_help(mut args: Args) -> Result<Command, Error> {
    let Some(name) = args.words.pop_front() else {
        return Ok(Command::Help(None));
    };
    if help::page(&name).is_none() {
        return Err(Error::usage(format!(
            "no command `{name}`{}\nsee 'cargo xtask help'",
            suggest::did_you_mean(&name, help::commands())
        )));
    }
    if let Some(extra) = args.words.front() {
        return Err(Error::usage(format!(
            "unexpected argument `{extra}` for `help`\nsee 'cargo xtask help'"
        )));
    }
    Ok(Command::Help(Some(name)))
}

fn parse_run(mut args: Args) -> Result<Command, Error> {
    let mut opts = run::Options {
        example: "demo".to_string(),
        board: board::default(),
        gic: None,
        icount: false,
        smp: crate::qemu::DEFAULT_SMP,
        mini_uart: false,
        timeout: Some(Duration::from_secs(60)),
        qemu_args: Vec::new(),
    };
    while let Some((flag, inline)) = args.next_flag() {
        match flag.as_str() {
            "--" => {
                opts.qemu_args = args.words.drain(..).collect();
            }
            "--example" => opts.example = args.value(&flag, inline)?,
            "--board" => opts.board = board::find(&args.value(&flag, inline)?)?,
            "--gic" => match args.number(&flag, inline)? {
                v @ (2 | 3) => opts.gic = Some(v),
                v => return Err(Error::usage(format!("`--gic` must be 2 or 3, not {v}"))),
            },
            "--icount" if inline.is_none() => opts.icount = true,
            "--smp" => opts.smp = args.smp(&flag, inline)?,
            "--mini-uart" if inline.is_none() => opts.mini_uart = true,
            "--timeout" => {
                let secs: u64 = args.number(&flag, inline)?;
                opts.timeout = (secs > 0).then(|| Duration::from_secs(secs));
            }
            "-h" | "--help" => return Ok(help_for("run")),
            _ => return Err(unknown_option("run", &flag, inline.as_deref())),
        }
    }
    Ok(Command::Run(opts))
}

fn parse_test(mut args: Args) -> Result<Command, Error> {
    let mut opts = test::Options {
        boards: board::BOARDS.iter().collect(),
        jobs: test::default_jobs(),
        filter: None,
        smp: None,
    };
    while let Some((flag, inline)) = args.next_flag() {
        match flag.as_str() {
            "--board" => opts.boards = vec![board::find(&args.value(&flag, inline)?)?],
            "--jobs" | "-j" => match args.number(&flag, inline)? {
                0 => return Err(Error::usage("`--jobs` must be at least 1")),
                n => opts.jobs = n,
            },
            "--filter" => opts.filter = Some(args.value(&flag, inline)?),
            "--smp" => opts.smp = Some(args.smp(&flag, inline)?),
            "-h" | "--help" => return Ok(help_for("test")),
            _ => return Err(unknown_option("test", &flag, inline.as_deref())),
        }
    }
    Ok(Command::Test(opts))
}

fn parse_image(mut args: Args) -> Result<Command, Error> {
    let mut opts = image::Options {
        example: "demo".to_string(),
        board: board::find("rpi-zero2w")?,
        out: None,
        mini_uart: false,
    };
    while let Some((flag, inline)) = args.next_flag() {
        match flag.as_str() {
            "--example" => opts.example = args.value(&flag, inline)?,
            "--board" => opts.board = board::find(&args.value(&flag, inline)?)?,
            "--out" => opts.out = Some(args.value(&flag, inline)?.into()),
            "--mini-uart" if inline.is_none() => opts.mini_uart = true,
            "-h" | "--help" => return Ok(help_for("image")),
            _ => return Err(unknown_option("image", &flag, inline.as_deref())),
        }
    }
    Ok(Command::Image(opts))
}

/// [`parse`] of a command line written as one string, for tests.
#[cfg(test)]
pub(crate) fn parse_words(line: &str) -> Result<Command, Error> {
    parse(line.split_whitespace().map(String::from).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_run() {
        let Ok(Command::Run(opts)) =
            parse_words("run --example=ping --gic 2 --icount --smp=3 --timeout 0 -- -d int -s")
        else {
            panic!("not a run command")
        };
        assert_eq!(opts.example, "ping");
        assert_eq!(opts.gic, Some(2));
        assert!(opts.icount);
        assert_eq!(opts.smp, 3);
        assert_eq!(opts.timeout, None);
        assert_eq!(opts.qemu_args, ["-d", "int", "-s"]);
        assert_eq!(opts.board.name, "virt");
    }

    #[test]
    fn parses_test() {
        let Ok(Command::Test(opts)) =
            parse_words("test --board rpi-zero2w --jobs=3 --filter mutex")
        else {
            panic!("not a test command")
        };
        let names: Vec<_> = opts.boards.iter().map(|b| b.name).collect();
        assert_eq!(
            (names, opts.jobs, opts.filter.as_deref()),
            (vec!["rpi-zero2w"], 3, Some("mutex"))
        );
        let Ok(Command::Test(all)) = parse_words("test") else {
            panic!("not a test command")
        };
        assert_eq!(all.boards.len(), board::BOARDS.len());
    }

    #[test]
    fn parses_image() {
        let Ok(Command::Image(opts)) =
            parse_words("image --board rpi-zero2w --example sleep --out /tmp/boot --mini-uart")
        else {
            panic!("not an image command")
        };
        assert_eq!(
            (opts.board.name, opts.example.as_str(), opts.mini_uart),
            ("rpi-zero2w", "sleep", true)
        );
        assert_eq!(opts.out.as_deref(), Some(std::path::Path::new("/tmp/boot")));
        let Ok(Command::Image(default)) = parse_words("image") else {
            panic!("not an image command")
        };
        assert_eq!((default.board.name, default.out), ("rpi-zero2w", None));
    }

    #[test]
    fn rejects_bad_command_lines() {
        for line in [
            "image --gic 2",
            "image --board pc",
            "bench --quick --save-baseline",
            "bench --board pc",
            "run --gic 4",
            "run --timeout",
            "run --board pc",
            "test --jobs 0",
            "test --icount",
            "run --icount=1",
        ] {
            let err = parse_words(line).unwrap_err();
            assert_eq!(err.code, 2, "{line}");
        }
    }

    fn help_of(line: &str) -> Option<String> {
        match parse_words(line) {
            Ok(Command::Help(page)) => page,
            other => panic!("`{line}` is not a help command: {other:?}"),
        }
    }

    #[test]
    fn parses_help() {
        assert_eq!(help_of(""), None);
        assert_eq!(help_of("help"), None);
        assert_eq!(help_of("--help"), None);
        for command in help::commands() {
            assert_eq!(
                help_of(&format!("help {command}")).as_deref(),
                Some(command)
            );
        }
        for (command, option) in [
            ("run", "--gic 2"),
            ("test", "--jobs=1"),
            ("image", "--mini-uart"),
            ("bench", "--quick"),
            ("fuzz", "--seconds 5"),
            ("profile", "--listing"),
            ("trace", "--self-test"),
        ] {
            for flag in ["--help", "-h"] {
                let line = format!("{command} {option} {flag}");
                assert_eq!(help_of(&line).as_deref(), Some(command), "{line}");
            }
        }
        let err = parse_words("help tset").unwrap_err();
        assert_eq!(
            (err.code, err.message.as_str()),
            (
                2,
                "no command `tset`; did you mean `test`?\nsee 'cargo xtask help'"
            )
        );
        assert_eq!(parse_words("help run test").unwrap_err().code, 2);
    }

    #[test]
    fn a_mistake_gets_one_line_and_where_to_look() {
        let message = |line: &str| parse_words(line).unwrap_err().message;
        assert_eq!(
            message("tset --filter sleep"),
            "unknown command `tset`; did you mean `test`?\nsee 'cargo xtask help'"
        );
        assert_eq!(
            message("frobnicate"),
            "unknown command `frobnicate`\nsee 'cargo xtask help'"
        );
        assert_eq!(
            message("run --exmple ping"),
            "unknown option `--exmple` for `run`; did you mean `--example`?\n\
             see 'cargo xtask help run'"
        );
        assert_eq!(
            message("test --filtre=sleep"),
            "unknown option `--filtre` for `test`; did you mean `--filter`?\n\
             see 'cargo xtask help test'"
        );
        assert_eq!(
            message("bench --quikc"),
            "unknown option `--quikc` for `bench`; did you mean `--quick`?\n\
             see 'cargo xtask help bench'"
        );
        assert_eq!(
            message("run --icount=1"),
            "`--icount` takes no value\nsee 'cargo xtask help run'"
        );
        assert_eq!(
            message("run demo"),
            "unexpected argument `demo` for `run` (options start with `--`)\n\
             see 'cargo xtask help run'"
        );
        assert_eq!(
            message("run --board vrit"),
            "unknown board `vrit`; did you mean `virt`? (boards: virt, rpi-zero2w)\n\
             see 'cargo xtask help run'"
        );
        for line in [
            "run --gic 4",
            "run --smp 5",
            "test --smp 0",
            "test --jobs",
            "fuzz --seconds x",
            "image --out",
        ] {
            let text = message(line);
            assert_eq!(text.lines().count(), 2, "{line}: {text}");
        }
    }

    #[test]
    fn every_documented_option_is_accepted_with_either_value_form() {
        let values = |flag: &str| match flag {
            "--board" => "virt",
            "--gic" | "--jobs" | "--timeout" | "--seconds" | "--smp" => "2",
            _ => "x",
        };
        for command in ["run", "test", "image", "bench", "fuzz", "trace"] {
            for flag in help::flags(command) {
                let takes_value = help::page(command).unwrap().lines().any(|l| {
                    l.starts_with(&format!("  {flag} "))
                        && l.split_whitespace().nth(1).is_some_and(|w| {
                            w.chars()
                                .all(|c| c.is_ascii_uppercase() || "|0123456789".contains(c))
                        })
                });
                let lines = if takes_value {
                    let value = values(flag);
                    vec![
                        format!("{command} {flag} {value}"),
                        format!("{command} {flag}={value}"),
                    ]
                } else {
                    vec![format!("{command} {flag}")]
                };
                for line in lines {
                    let line = if command == "image" && flag == "--board" {
                        line.replace("virt", "rpi-zero2w")
                    } else {
                        line
                    };
                    if let Err(e) = parse_words(&line) {
                        panic!("`{line}`: {}", e.message);
                    }
                }
            }
        }
    }
}
