//! Reading QEMU's execution log (`-singlestep -d exec,nochain,in_asm`) as the instructions
//! the CPUs retired, streamed line by line (a log can be gigabytes).
//!
//! With `-singlestep` every translation block is one instruction, and with `-d exec,nochain`
//! QEMU logs one `Trace` line each time it enters a block:
//!
//! ```text
//! Trace 0: 0x7f62fc000100 [0000000000004000/0000000040200000/00000121/ff020201] _start
//! ```
//!
//! (CPU index, host code address, then `[cs_base/PC/flags/cflags]` and the symbol). A `Trace`
//! line is logged *before* the block runs, and twice QEMU logs a block that does not run,
//! saying so on the very next line:
//!
//! - `Stopped execution of TB chain before 0x… [PC] …`: the block was entered but left before
//!   its first instruction because the instruction budget of `-icount` ran out or an
//!   interrupt is pending. The instruction then runs later — logged again right away (a
//!   budget refill: the "instruction logged twice in a row"), or after the interrupt handler's
//!   `eret` (the "instruction logged just before an interrupt is taken").
//! - `cpu_io_recompile: rewound execution of TB to PC`: the instruction accessed a device
//!   register, which under `-icount` must be the last of its block, so QEMU undid it,
//!   retranslated it and runs it again (logged twice in a row).
//!
//! Neither retires, and the PMU's instruction counter does not count it; [`ExecLog`] drops
//! the `Trace` line such a marker follows. (Dropping "every repeat and every entry before an
//! exception" instead is almost the same but not quite: an interrupt taken right after an
//! `msr daif` that unmasks it leaves no stopped block, and that rule would drop the `msr`.)
//!
//! `-d in_asm` adds the disassembly of each instruction when it is first translated
//! (`0x40200000:  aa0003f4  mov      x20, x0`), which the listing shows.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;

use crate::Error;

/// One retired instruction: the CPU that ran it and its address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retired {
    /// QEMU's CPU index (0 for the boot core).
    pub cpu: u32,
    /// The instruction's address.
    pub pc: u64,
}

/// What the filter saw.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Stats {
    /// `Trace` lines read.
    pub logged: u64,
    /// Instructions passed on as retired.
    pub retired: u64,
    /// `Trace` lines dropped for a `Stopped execution …` marker.
    pub stopped: u64,
    /// `Trace` lines dropped for a `cpu_io_recompile: rewound …` marker.
    pub rewound: u64,
    /// Markers that did not name the block logged just before them (left alone).
    pub unmatched: u64,
}

/// The streaming filter: feed it lines with [`line`](Self::line), then call
/// [`finish`](Self::finish); retired instructions come out through the callback, in order.
#[derive(Debug, Default)]
pub struct ExecLog {
    /// The last `Trace` entry, held back until the next line shows whether it ran.
    pending: Option<Retired>,
    /// Counts so far.
    pub stats: Stats,
    /// Disassembly by address (`in_asm`), if collected.
    pub disassembly: Option<HashMap<u64, String>>,
}

impl ExecLog {
    /// A filter; `disassembly`: also keep the `in_asm` text of each address.
    pub fn new(disassembly: bool) -> Self {
        ExecLog {
            disassembly: disassembly.then(HashMap::new),
            ..ExecLog::default()
        }
    }

    /// Reads one log line (without or with its line end).
    pub fn line(&mut self, line: &[u8], out: &mut impl FnMut(Retired)) {
        if let Some(rest) = line.strip_prefix(b"Trace ") {
            let Some(entry) = parse_trace(rest) else {
                return;
            };
            self.stats.logged += 1;
            if let Some(previous) = self.pending.replace(entry) {
                self.emit(previous, out);
            }
        } else if let Some(rest) = line.strip_prefix(b"Stopped execution of TB chain before ") {
            let pc = rest
                .iter()
                .position(|&b| b == b'[')
                .and_then(|open| hex(&rest[open + 1..]));
            if self.drop_pending(pc) {
                self.stats.stopped += 1;
            }
        } else if let Some(rest) =
            line.strip_prefix(b"cpu_io_recompile: rewound execution of TB to ")
        {
            if self.drop_pending(hex(rest)) {
                self.stats.rewound += 1;
            }
        } else if line.starts_with(b"0x") {
            if let Some(map) = &mut self.disassembly {
                if let Some((pc, text)) = parse_disassembly(line) {
                    map.entry(pc).or_insert(text);
                }
            }
        }
    }

    /// Passes on the last entry (at the end of the log).
    pub fn finish(&mut self, out: &mut impl FnMut(Retired)) {
        if let Some(last) = self.pending.take() {
            self.emit(last, out);
        }
    }

    fn emit(&mut self, entry: Retired, out: &mut impl FnMut(Retired)) {
        self.stats.retired += 1;
        out(entry);
    }

    /// Drops the held-back entry if a marker names it; counts the marker as unmatched if not.
    fn drop_pending(&mut self, pc: Option<u64>) -> bool {
        match self.pending {
            Some(entry) if Some(entry.pc) == pc => {
                self.pending = None;
                true
            }
            _ => {
                self.stats.unmatched += 1;
                false
            }
        }
    }
}

/// Streams the log at `path` through an [`ExecLog`], handing each retired instruction to
/// `on_retired`, which returns whether to read on (reading stops early when it says no).
pub fn read(
    path: &Path,
    disassembly: bool,
    mut on_retired: impl FnMut(Retired) -> bool,
) -> Result<ExecLog, Error> {
    let file =
        File::open(path).map_err(|e| Error::new(format!("opening {}: {e}", path.display())))?;
    let mut reader = BufReader::with_capacity(1 << 20, file);
    let mut log = ExecLog::new(disassembly);
    let mut line = Vec::with_capacity(256);
    let going = std::cell::Cell::new(true);
    let mut out = |r: Retired| {
        if going.get() {
            going.set(on_retired(r));
        }
    };
    loop {
        line.clear();
        let n = reader
            .read_until(b'\n', &mut line)
            .map_err(|e| Error::new(format!("reading {}: {e}", path.display())))?;
        if n == 0 {
            break;
        }
        log.line(&line, &mut out);
        if !going.get() {
            return Ok(log);
        }
    }
    log.finish(&mut out);
    Ok(log)
}

/// `0: 0x7f62fc000100 [0000000000004000/0000000040200000/00000121/ff020201] _start`: the CPU
/// index and the second field in the brackets (the guest PC).
fn parse_trace(rest: &[u8]) -> Option<Retired> {
    let colon = rest.iter().position(|&b| b == b':')?;
    let cpu = std::str::from_utf8(&rest[..colon]).ok()?.parse().ok()?;
    let open = rest.iter().position(|&b| b == b'[')?;
    let fields = &rest[open + 1..];
    let slash = fields.iter().position(|&b| b == b'/')?;
    let pc = hex(&fields[slash + 1..])?;
    Some(Retired { cpu, pc })
}

/// `0x40200000:  aa0003f4  mov      x20, x0`: the address and `mov x20, x0`.
fn parse_disassembly(line: &[u8]) -> Option<(u64, String)> {
    let text = std::str::from_utf8(line).ok()?;
    let (addr, rest) = text.split_once(':')?;
    let pc = u64::from_str_radix(addr.strip_prefix("0x")?, 16).ok()?;
    let mut words = rest.split_whitespace();
    let _encoding = words.next()?;
    let mnemonic = words.next()?;
    let operands: Vec<&str> = words.collect();
    let text = if operands.is_empty() {
        mnemonic.to_string()
    } else {
        format!("{mnemonic} {}", operands.join(" "))
    };
    Some((pc, text))
}

/// The hexadecimal number at the start of `s` (an optional `0x`, then hex digits).
fn hex(s: &[u8]) -> Option<u64> {
    let s = s.strip_prefix(b"0x").unwrap_or(s);
    let mut value: u64 = 0;
    let mut digits = 0;
    for &b in s {
        let d = match b {
            b'0'..=b'9' => b - b'0',
            b'a'..=b'f' => b - b'a' + 10,
            b'A'..=b'F' => b - b'A' + 10,
            _ => break,
        };
        value = value.checked_mul(16)? | u64::from(d);
        digits += 1;
    }
    (digits > 0).then_some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An excerpt in QEMU 7.2's format: a budget refill (logged twice), a device access
    /// (rewound and logged again), an interrupt taken before a block (stopped, then the
    /// vector), the vector entry itself refilled, and a plain `msr daif` unmask followed by an
    /// interrupt with nothing stopped.
    const EXCERPT: &str = "\
----------------
IN: _ZN4tick4spin17h7483ad007587abf9E
0x40219350:  d5033fdf  isb      

Trace 0: 0x7fa6c4241e00 [0000000000004000/0000000040219350/00000021/ff020201] spin
Trace 0: 0x7fa6c4241f40 [0000000000004000/0000000040219354/00000021/ff020201] spin
Stopped execution of TB chain before 0x7fa6c4241f40 [0000000040219354] spin
Trace 0: 0x7fa6c4241f40 [0000000000004000/0000000040219354/00000021/ff020201] spin
Trace 0: 0x7f62fc12af00 [0000000000004000/00000000402119dc/00000021/ff020201] write
cpu_io_recompile: rewound execution of TB to 00000000402119dc
----------------
IN: _ZN7preempt7console6Output5write17h0f62924eccc2714dE
0x402119dc:  b94001b0  ldr      w16, [x13]

Trace 0: 0x7f62fc12b080 [0000000000004000/00000000402119dc/00000021/ff038201] write
Trace 0: 0x7fa6c4242680 [0000000000004000/0000000040219368/00000021/ff020201] spin
Stopped execution of TB chain before 0x7fa6c4242680 [0000000040219368] spin
Taking exception 5 [IRQ] on CPU 0
...from EL1 to EL1
...with ELR 0x40219368
Trace 0: 0x7fa6c42463c0 [0000000000004000/0000000040213280/00000021/ff020201] 
Stopped execution of TB chain before 0x7fa6c42463c0 [0000000040213280] 
Trace 0: 0x7fa6c42463c0 [0000000000004000/0000000040213280/00000021/ff020201] 
Trace 0: 0x7fa6c4246500 [0000000000004000/0000000040213284/00000021/ff020201] 
Trace 0: 0x7fa6c4246640 [0000000000004000/0000000040213f00/00000021/ff020201] 
Taking exception 5 [IRQ] on CPU 0
Trace 1: 0x7fa6c4246780 [0000000000004000/0000000000080010/00000021/ff020201] 
Trace 0: 0x7fa6c42463c0 [0000000000004000/0000000040213280/00000021/ff020201] 
";

    fn filter(text: &str) -> (Vec<(u32, u64)>, ExecLog) {
        let mut log = ExecLog::new(true);
        let mut out = Vec::new();
        let mut push = |r: Retired| out.push((r.cpu, r.pc));
        for line in text.lines() {
            log.line(line.as_bytes(), &mut push);
        }
        log.finish(&mut push);
        (out, log)
    }

    #[test]
    fn drops_exactly_the_entries_qemu_marks_as_not_run() {
        let (retired, log) = filter(EXCERPT);
        assert_eq!(
            retired,
            [
                (0, 0x40219350),
                (0, 0x40219354), // the repeat after a budget refill, once
                (0, 0x402119dc), // the device access, once
                // 0x40219368 was stopped: the interrupt came first (it runs after `eret`)
                (0, 0x40213280), // the vector, once
                (0, 0x40213284),
                (0, 0x40213f00), // an unmask: the interrupt after it drops nothing
                (1, 0x80010),
                (0, 0x40213280),
            ]
        );
        assert_eq!(
            log.stats,
            Stats {
                logged: 12,
                retired: 8,
                stopped: 3,
                rewound: 1,
                unmatched: 0,
            }
        );
        let asm = log.disassembly.unwrap();
        assert_eq!(asm[&0x402119dc], "ldr w16, [x13]");
        assert_eq!(asm[&0x40219350], "isb");
    }

    #[test]
    fn a_marker_for_another_block_drops_nothing() {
        let (retired, log) = filter(
            "Trace 0: 0x1 [0/0000000040000000/0/0] a\n\
             Stopped execution of TB chain before 0x2 [0000000040000004] b\n\
             Trace 0: 0x3 [0/0000000040000008/0/0] c\n",
        );
        assert_eq!(retired, [(0, 0x40000000), (0, 0x40000008)]);
        assert_eq!(log.stats.unmatched, 1);
    }

    #[test]
    fn reading_a_file_can_stop_early() {
        let path = std::env::temp_dir().join(format!("xtask-profile-{}.log", std::process::id()));
        std::fs::write(&path, EXCERPT).unwrap();
        let mut seen = 0;
        let log = read(&path, false, |_| {
            seen += 1;
            seen < 3
        })
        .unwrap();
        std::fs::remove_file(&path).unwrap();
        assert_eq!(seen, 3);
        assert!(log.disassembly.is_none());
        assert_eq!(hex(b"00000000402119dc\n"), Some(0x402119dc));
        assert_eq!(hex(b"zz"), None);
    }
}
