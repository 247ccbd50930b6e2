//! Crash reports made readable: the backtrace lines of the kernel's fault and panic reports
//! get the function and source line of their address appended, in place.
//!
//! The kernel prints addresses only (it carries no symbol table), one per line in a fixed
//! form (see `crates/preempt/src/kernel/backtrace.rs`):
//!
//! ```text
//!   pc 0x0000000040081234        the faulting instruction
//!   lr 0x0000000040081200        the link register at the fault (a return address)
//!   #1 0x0000000040081310        the return addresses of the frame chain
//! ```
//!
//! which become, with the ELF's DWARF (through [`crate::symbols`]):
//!
//! ```text
//!   #1 0x0000000040081310 crash_report::deep_fault (crates/preempt/tests/crash_report.rs:42)
//! ```
//!
//! A return address is looked up one instruction back (`bl` is 4 bytes), so that the line
//! shown is the call's, not the next statement's. Where code was inlined, the innermost
//! function comes first, then `, inlined into OUTER (file:line)` for each function around it.
//! Addresses outside the ELF's code, and every other line, pass through untouched.
//!
//! `cargo xtask test` rewrites a run's log before checking its expected output; `cargo xtask
//! run` rewrites QEMU's console stream as it comes ([`forward`]), holding back a partial line
//! only while it could still become a backtrace line, and flushed once [`QUIET`] passes
//! without new output.

use std::io::{self, Read, Write};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::Duration;

use crate::symbols::{Place, Symbols};

/// How long [`forward`] holds back a partial line before writing it as it is.
pub const QUIET: Duration = Duration::from_millis(100);

/// Whether a backtrace line's address is a return address (`lr`, `#N`) or the faulting
/// instruction itself (`pc`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The faulting instruction.
    Pc,
    /// An address a call returns to.
    Return,
}

/// The address and kind of a backtrace line (`  pc 0x…`, `  lr 0x…`, `  #N 0x…`, with 16 hex
/// digits; leading spaces and a trailing `\r` allowed), or `None` for any other line.
pub fn parse_line(line: &str) -> Option<(u64, Kind)> {
    let line = line
        .strip_suffix('\r')
        .unwrap_or(line)
        .trim_start_matches(' ');
    let (tag, hex) = line.split_once(" 0x")?;
    let kind = match tag {
        "pc" => Kind::Pc,
        "lr" => Kind::Return,
        _ => match tag.strip_prefix('#') {
            Some(n) if is_frame_number(n) => Kind::Return,
            _ => return None,
        },
    };
    if hex.len() != 16 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    Some((u64::from_str_radix(hex, 16).ok()?, kind))
}

fn is_frame_number(n: &str) -> bool {
    (1..=3).contains(&n.len()) && n.bytes().all(|b| b.is_ascii_digit())
}

/// Whether `partial`, the start of a line, could still become a backtrace line.
pub fn could_become_line(partial: &str) -> bool {
    let s = partial.trim_start_matches(' ');
    let Some((tag, rest)) = s.split_once(' ') else {
        // Still in the tag.
        return matches!(s, "" | "p" | "pc" | "l" | "lr")
            || s.strip_prefix('#')
                .is_some_and(|n| n.is_empty() || is_frame_number(n));
    };
    let tag_ok = matches!(tag, "pc" | "lr") || tag.strip_prefix('#').is_some_and(is_frame_number);
    if !tag_ok {
        return false;
    }
    match rest.strip_prefix("0x") {
        None => "0x".starts_with(rest),
        Some(hex) => {
            let hex = hex.strip_suffix('\r').unwrap_or(hex);
            hex.len() <= 16 && hex.bytes().all(|b| b.is_ascii_hexdigit())
        }
    }
}

/// What to append to a backtrace line for `place`: `function (file:line)`, then the functions
/// it is inlined into; `None` when nothing is known.
pub fn describe(place: &Place) -> Option<String> {
    let mut frames = place.frames.iter();
    let Some(inner) = frames.next() else {
        return (place.symbol != "?").then(|| place.symbol.clone());
    };
    let with_location = |function: &str, location: &Option<(String, u32)>| match location {
        Some((file, line)) => format!("{function} ({file}:{line})"),
        None => function.to_string(),
    };
    let mut text = with_location(&inner.function, &inner.location);
    for outer in frames {
        text.push_str(", inlined into ");
        text.push_str(&with_location(&outer.function, &outer.location));
    }
    Some(text)
}

/// `line` with its description appended if it is a backtrace line whose address `lookup`
/// knows (`lookup` gets the address to look up: a return address minus 4); else `None`.
pub fn rewrite_line(line: &str, lookup: &dyn Fn(u64) -> Option<String>) -> Option<String> {
    let (address, kind) = parse_line(line)?;
    let at = match kind {
        Kind::Pc => address,
        Kind::Return => address.checked_sub(4)?,
    };
    let description = lookup(at)?;
    let (body, cr) = match line.strip_suffix('\r') {
        Some(body) => (body.trim_end(), "\r"),
        None => (line.trim_end(), ""),
    };
    Some(format!("{body} {description}{cr}"))
}

/// The lookup of [`rewrite_line`] for an ELF: addresses in its code only.
pub fn lookup<'a, 'data>(
    symbols: &'a Symbols<'data>,
) -> impl Fn(u64) -> Option<String> + use<'a, 'data> {
    move |at| {
        if symbols.in_text(at) {
            describe(&symbols.place(at))
        } else {
            None
        }
    }
}

/// `text` with every backtrace line rewritten (line endings kept).
pub fn text(text: &str, lookup: &dyn Fn(u64) -> Option<String>) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        let (body, newline) = match line.strip_suffix('\n') {
            Some(body) => (body, "\n"),
            None => (line, ""),
        };
        match rewrite_line(body, lookup) {
            Some(new) => out.push_str(&new),
            None => out.push_str(body),
        }
        out.push_str(newline);
    }
    out
}

/// Whether `text` has a backtrace line at all (so that a log without one is left alone and
/// no ELF is read for it).
pub fn has_backtrace(text: &str) -> bool {
    text.lines().any(|l| parse_line(l).is_some())
}

/// Copies `input` to `output` until `input` ends, rewriting backtrace lines through
/// `rewrite` (see [`rewrite_line`]). Output is written as it comes: a partial line right
/// away unless it could still become a backtrace line, and then once [`QUIET`] passes without
/// new output (a prompt is never held back). After an error writing `output` the rest of `input` is
/// read and dropped; the error is returned at the end.
pub fn forward(
    input: impl Read + Send,
    output: &mut dyn Write,
    rewrite: &dyn Fn(&str) -> Option<String>,
) -> io::Result<()> {
    std::thread::scope(|scope| {
        let (tx, rx) = mpsc::channel::<Vec<u8>>();
        scope.spawn(move || {
            let mut input = input;
            let mut buf = [0u8; 4096];
            loop {
                match input.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => {
                        if tx.send(buf[..n].to_vec()).is_err() {
                            break;
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(_) => break,
                }
            }
        });
        let mut line = Line::default();
        // After a failed write the input is still read to its end (and dropped), so that the
        // writer (QEMU) never blocks on a full pipe.
        let mut failed = Ok(());
        loop {
            let written = match rx.recv_timeout(QUIET) {
                Ok(chunk) => line.push(&chunk, output, rewrite),
                Err(RecvTimeoutError::Timeout) => line.flush_partial(output),
                Err(RecvTimeoutError::Disconnected) => break,
            };
            if failed.is_ok() {
                failed = written;
            }
            if failed.is_err() {
                line = Line::default();
            }
        }
        // The reader has ended (the channel is disconnected); the scope joins it.
        failed.and_then(|()| line.flush_partial(output))
    })
}

/// The line [`forward`] is in the middle of.
#[derive(Default)]
struct Line {
    /// Bytes of it not written yet.
    pending: Vec<u8>,
    /// Whether its start has been written already (it is then passed on as it comes).
    started: bool,
}

impl Line {
    fn push(
        &mut self,
        chunk: &[u8],
        output: &mut dyn Write,
        rewrite: &dyn Fn(&str) -> Option<String>,
    ) -> io::Result<()> {
        self.pending.extend_from_slice(chunk);
        while let Some(end) = self.pending.iter().position(|&b| b == b'\n') {
            let whole: Vec<u8> = self.pending.drain(..=end).collect();
            let rewritten = if self.started {
                None
            } else {
                std::str::from_utf8(&whole[..end]).ok().and_then(rewrite)
            };
            match rewritten {
                Some(new) => {
                    output.write_all(new.as_bytes())?;
                    output.write_all(b"\n")?;
                }
                None => output.write_all(&whole)?,
            }
            self.started = false;
        }
        let hold = !self.started && std::str::from_utf8(&self.pending).is_ok_and(could_become_line);
        if !hold {
            self.flush_partial(output)?;
        }
        output.flush()
    }

    fn flush_partial(&mut self, output: &mut dyn Write) -> io::Result<()> {
        if !self.pending.is_empty() {
            output.write_all(&self.pending)?;
            self.pending.clear();
            self.started = true;
        }
        output.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::symbols::Frame;
    use std::sync::{Arc, Mutex};
    use std::time::Instant;

    #[test]
    fn recognises_backtrace_lines_only() {
        assert_eq!(
            parse_line("  pc 0x0000000040081234"),
            Some((0x4008_1234, Kind::Pc))
        );
        assert_eq!(
            parse_line("  lr 0x00000000400812aB\r"),
            Some((0x4008_12ab, Kind::Return))
        );
        assert_eq!(
            parse_line("  #12 0x0000000040081234"),
            Some((0x4008_1234, Kind::Return))
        );
        for other in [
            "  #0x 0x0000000040081234",
            "  # 0x0000000040081234",
            "  #1234 0x0000000040081234",
            "  sp 0x0000000040081234",
            "  pc 0x40081234",
            "  pc 0x0000000040081234 extra",
            "  pc 0x000000004008123g",
            "  ELR 0x0000000040081234  SPSR 0x00000005  SP 0x0000000040081234",
            "thread 'a' panicked at src/main.rs:1:1: #1 0x0000000040081234",
            "",
        ] {
            assert_eq!(parse_line(other), None, "{other:?}");
        }
    }

    #[test]
    fn partial_lines_are_held_only_while_they_may_be_backtrace_lines() {
        for yes in [
            "",
            "  ",
            "  p",
            "  pc",
            "  pc ",
            "  pc 0",
            "  pc 0x",
            "  #",
            "  #1",
            "  #12 0x40",
            "  lr 0x0000000040081234",
            "  lr 0x0000000040081234\r",
        ] {
            assert!(could_become_line(yes), "{yes:?}");
        }
        for no in [
            "> ",
            "login: ",
            "  pcx",
            "  #a",
            "  #1234",
            "  pc 1",
            "  pc 0y",
            "  lr 0xg",
            "  lr 0x00000000400812345",
            "thread",
        ] {
            assert!(!could_become_line(no), "{no:?}");
        }
    }

    fn frame(function: &str, file: &str, line: u32) -> Frame {
        Frame {
            function: function.into(),
            location: Some((file.into(), line)),
            local: true,
        }
    }

    #[test]
    fn describes_inline_chains_innermost_first() {
        let place = Place {
            symbol: "app::outer".into(),
            frames: vec![
                frame("app::inner", "src/a.rs", 3),
                frame("app::outer", "src/b.rs", 9),
            ],
        };
        assert_eq!(
            describe(&place).unwrap(),
            "app::inner (src/a.rs:3), inlined into app::outer (src/b.rs:9)"
        );
        let asm = Place {
            symbol: "preempt_vectors".into(),
            frames: vec![],
        };
        assert_eq!(describe(&asm).unwrap(), "preempt_vectors");
        let unknown = Place {
            symbol: "?".into(),
            frames: vec![],
        };
        assert_eq!(describe(&unknown), None);
    }

    /// Knows 0x1000..0x2000 as `f` at line (address - 0x1000).
    fn fake(at: u64) -> Option<String> {
        (0x1000..0x2000)
            .contains(&at)
            .then(|| format!("f (src/f.rs:{})", at - 0x1000))
    }

    #[test]
    fn rewrites_in_place_return_addresses_one_instruction_back() {
        let log = "hello\r\n  pc 0x0000000000001010\r\n  lr 0x0000000000001010\r\n  #1 0x0000000000001020\n  #2 0x0000000000009000\npanic  pc 0x0000000000001010\nend";
        assert_eq!(
            text(log, &fake),
            "hello\r\n  pc 0x0000000000001010 f (src/f.rs:16)\r\n  lr 0x0000000000001010 f (src/f.rs:12)\r\n  \
             #1 0x0000000000001020 f (src/f.rs:28)\n  #2 0x0000000000009000\npanic  pc 0x0000000000001010\nend"
        );
        assert!(has_backtrace(log));
        assert!(!has_backtrace("hello\n  ELR 0x0000000000001010\n"));
        // A return address of 0..4 has no call before it.
        assert_eq!(
            rewrite_line("  #1 0x0000000000000002", &|_| Some("x".into())),
            None
        );
    }

    /// A `Write` shared with the test, recording what arrived when.
    #[derive(Clone, Default)]
    struct Sink(Arc<Mutex<Vec<u8>>>);

    impl Write for Sink {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl Sink {
        fn text(&self) -> String {
            String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
        }
        /// Waits up to `limit` for the output to become `want`.
        fn wait_for(&self, want: &str, limit: Duration) -> bool {
            let start = Instant::now();
            while start.elapsed() < limit {
                if self.text() == want {
                    return true;
                }
                std::thread::sleep(Duration::from_millis(5));
            }
            false
        }
    }

    #[test]
    fn forwards_promptly_and_rewrites_whole_lines() {
        let (reader, mut writer) = io::pipe().unwrap();
        let sink = Sink::default();
        let rewrite = |line: &str| rewrite_line(line, &fake);
        std::thread::scope(|scope| {
            let mut out = sink.clone();
            let copier = scope.spawn(move || forward(reader, &mut out, &rewrite));
            // A prompt is passed on at once, before any newline.
            writer.write_all(b"boot\r\n> ").unwrap();
            assert!(sink.wait_for("boot\r\n> ", Duration::from_millis(80)));
            // A backtrace line arriving in pieces is rewritten whole.
            writer.write_all(b"\n  #1 0x00000000").unwrap();
            std::thread::sleep(Duration::from_millis(20));
            writer.write_all(b"00001020\r\n").unwrap();
            let want = "boot\r\n> \n  #1 0x0000000000001020 f (src/f.rs:28)\r\n";
            assert!(
                sink.wait_for(want, Duration::from_secs(2)),
                "{:?}",
                sink.text()
            );
            // A partial line that could be a backtrace line is held no longer than QUIET.
            writer.write_all(b"  pc").unwrap();
            let want = format!("{want}  pc");
            assert!(sink.wait_for(&want, QUIET * 5), "{:?}", sink.text());
            // ... and the rest of it is then passed on untouched.
            writer.write_all(b" 0x0000000000001010\n").unwrap();
            drop(writer);
            copier.join().unwrap().unwrap();
            assert_eq!(sink.text(), format!("{want} 0x0000000000001010\n"));
        });
    }
}
