//! `print!`/`println!`, the `log` backend, and the kernel's own reports.
//!
//! Two locks, so that user `Display` code never runs with IRQs masked and lines still come out
//! whole:
//!
//! - `OUTPUT`, a short IRQ-masking spinlock, is held only while bytes already formatted go to
//!   the UART (at most one `CHUNK` at a time) — never while user code runs.
//! - `LINE`, a kernel `Mutex` (blocking, with priority inheritance, IRQs untouched), makes a
//!   thread's line atomic with respect to other threads' lines. A thread formats into a
//!   256-byte buffer on its own stack with no lock at all; a line that fits (the usual case) is
//!   then written under `LINE` and `OUTPUT` in one go. A longer line takes `LINE` when the
//!   buffer first fills and keeps it while the rest is formatted, writing each full buffer out
//!   under `OUTPUT`: the formatting thread can be preempted, and can block, in the middle of
//!   its line, and other threads' lines wait for its end. Nothing here uses the heap, so an
//!   out-of-memory panic still prints (`LINE`'s scheduler record is made at boot, see
//!   `init_line_lock`).
//!
//! Consequence for user code: a `Display` of a line longer than 256 bytes runs holding `LINE`,
//! so it must not wait for another thread that prints (as any code holding a lock must not wait
//! for a thread that wants it).
//!
//! Prints that are not a thread's — from an interrupt handler, with IRQs masked, before threads
//! start, and the kernel's fault and halt reports (raised with IRQs masked) — never wait for
//! `LINE`: each is formatted and written whole under `OUTPUT`. They are rare; if one comes
//! while a thread is in the middle of a long line, it starts a line of its own (see below).
//!
//! Failures while printing:
//! - A thread whose `Display` panics or faults while it holds `LINE` ends like any failing
//!   thread. Its report is written through — a panic report sees that its thread owns `LINE`,
//!   a fault report (IRQs masked) never waits for it — and `LINE` passes to the next thread
//!   that wants it: the scheduler releases a mutex its dead owner held. The lost rest of the line is not written.
//! - A thread's panic report waits for another thread's `LINE` only briefly (about 5 ms) — the
//!   owner may be stuck — and is then written through.
//! - A report raised while this core holds `OUTPUT` (a fault in the UART driver, a panicking
//!   `Display` in an interrupt handler's print) writes straight to the UART rather than
//!   deadlocking: a garbled line beats a silent hang.
//!
//! Line breaks: `OUTPUT` remembers whether the console is at the start of a line and who
//! wrote last. Output from a different writer that would continue someone else's unfinished
//! line starts on a new line instead, and reports always start on a new line — so a report, or
//! the rest of a line cut by one, is never glued to another line.
//!
//! Thread names are printed through `Escaped`, so a name cannot forge console lines.

use core::fmt::{self, Write};
use core::sync::atomic::{AtomicU64, Ordering};
use core::time::Duration;

use preempt_arch::SpinLock;

use crate::board;
use crate::kernel::{self, percpu, wait};
use crate::sync::{Mutex, MutexGuard, TryLockError};

/// Bytes formatted on the printing thread's stack before they are written out.
const CHUNK: usize = 256;

/// How long a thread's panic report waits for another thread's line to end before it writes
/// through: [`REPORT_POLLS`] sleeps of this length.
const REPORT_WAIT: Duration = Duration::from_micros(200);
const REPORT_POLLS: u32 = 25;

/// Writer id of prints that are no thread's (interrupt handlers, IRQs masked, boot).
/// Thread id words have bit 63 clear, so this is no thread's id.
const NOT_A_THREAD: u64 = u64::MAX;
/// Marks a thread's id for a print it makes while already holding [`LINE`] (from inside its own
/// `Display`, or a report of its failure there): a different writer, so it gets its own line.
const NESTED: u64 = 1 << 63;

/// The console's output state, under the short IRQ-masking lock.
struct Output {
    /// The last byte written was a newline (or nothing was written yet).
    at_line_start: bool,
    /// Who wrote last: a thread's id word, `| NESTED`, or [`NOT_A_THREAD`].
    writer: u64,
}

impl Output {
    /// Writes `bytes` for `writer`, first ending another writer's unfinished line.
    fn write(&mut self, writer: u64, bytes: &[u8]) {
        let Some(&last) = bytes.last() else { return };
        if !self.at_line_start && self.writer != writer {
            board::console_write(b"\n");
        }
        board::console_write(bytes);
        self.at_line_start = last == b'\n';
        self.writer = writer;
    }

    /// Ends the current line if it is unfinished (before a report).
    fn break_line(&mut self) {
        if !self.at_line_start {
            board::console_write(b"\n");
            self.at_line_start = true;
        }
    }
}

static OUTPUT: SpinLock<Output> = SpinLock::new(Output {
    at_line_start: true,
    writer: NOT_A_THREAD,
});

/// Held by a thread while its line is written (and, for a long line, formatted).
static LINE: Mutex<()> = Mutex::new(());

/// The id word of the thread holding [`LINE`] (0: none). Only the holder stores its own id, so
/// a thread reading its own id here holds `LINE`. It is left stale when the holder dies with
/// it — harmless, since thread ids are never reused.
static LINE_OWNER: AtomicU64 = AtomicU64::new(0);

/// Creates [`LINE`]'s scheduler record, so that waiting for it never allocates (printing must
/// work with the heap exhausted). Called once, by the `main` thread before the program's
/// `main`.
pub(crate) fn init_line_lock() {
    LINE.reserve();
}

#[doc(hidden)]
pub fn _print(args: fmt::Arguments<'_>) {
    print(args, Kind::Print);
}

/// Prints a thread's failure report line (a newline is added): on a line of its own, waiting
/// only briefly for another thread's line to end.
pub(crate) fn report(args: fmt::Arguments<'_>) {
    print(format_args!("{args}\n"), Kind::Report);
}

/// Prints a line of a kernel report (a newline is added): on a line of its own, never waiting
/// for a thread.
pub(crate) fn report_kernel(args: fmt::Arguments<'_>) {
    print(format_args!("{args}\n"), Kind::KernelReport);
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Print,
    Report,
    KernelReport,
}

fn print(args: fmt::Arguments<'_>, kind: Kind) {
    if OUTPUT.raw().held_by_this_core() {
        // Raised while this core writes (a fault in the UART driver, a panicking `Display` in
        // an interrupt handler's print): write through.
        let _ = Direct.write_fmt(args);
        return;
    }
    let thread_context = kernel::started()
        && !percpu::this().in_irq()
        && !preempt_arch::cpu::irqs_masked()
        && kind != Kind::KernelReport;
    if !thread_context {
        let mut out = OUTPUT.lock();
        if kind != Kind::Print {
            out.break_line();
        }
        let _ = Whole {
            out: &mut out,
            writer: NOT_A_THREAD,
        }
        .write_fmt(args);
        return;
    }
    let me = wait::current_id_word();
    let nested = LINE_OWNER.load(Ordering::Relaxed) == me;
    let mut line = Line {
        buf: [0; CHUNK],
        len: 0,
        writer: if nested { me | NESTED } else { me },
        hold: if nested { Hold::Nested } else { Hold::None },
        report: kind == Kind::Report,
    };
    // A formatting error (a `Display` returning `Err`) ends the line early, as in `std`.
    let _ = line.write_fmt(args);
    line.finish();
}

/// Whether, and how, a thread's print holds [`LINE`].
enum Hold {
    /// Not yet taken.
    None,
    /// Taken by this print.
    Held(MutexGuard<'static, ()>),
    /// Already held by this thread, further out (a print from inside its own `Display`).
    Nested,
    /// A report that gave up waiting: written without it.
    Through,
}

/// A thread's print in progress: formats into `buf`, takes [`LINE`] when `buf` first fills
/// (or at the end), and writes each full `buf` under [`OUTPUT`].
struct Line {
    buf: [u8; CHUNK],
    len: usize,
    writer: u64,
    hold: Hold,
    report: bool,
}

impl Line {
    fn acquire(&mut self) {
        if !matches!(self.hold, Hold::None) {
            return;
        }
        let guard = if self.report {
            report_lock()
        } else {
            Some(LINE.lock().unwrap_or_else(|e| e.into_inner()))
        };
        self.hold = match guard {
            Some(g) => {
                LINE_OWNER.store(self.writer, Ordering::Relaxed);
                Hold::Held(g)
            }
            None => Hold::Through,
        };
    }

    fn flush(&mut self) {
        self.acquire();
        let mut out = OUTPUT.lock();
        if core::mem::take(&mut self.report) {
            out.break_line();
        }
        out.write(self.writer, &self.buf[..self.len]);
        self.len = 0;
    }

    fn finish(mut self) {
        self.flush();
        if let Hold::Held(guard) = core::mem::replace(&mut self.hold, Hold::None) {
            LINE_OWNER.store(0, Ordering::Relaxed);
            drop(guard);
        }
    }
}

impl Write for Line {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let mut bytes = s.as_bytes();
        while !bytes.is_empty() {
            let n = bytes.len().min(CHUNK - self.len);
            self.buf[self.len..self.len + n].copy_from_slice(&bytes[..n]);
            self.len += n;
            bytes = &bytes[n..];
            if self.len == CHUNK {
                self.flush();
            }
        }
        Ok(())
    }
}

/// [`LINE`] for a report: taken if it is free (or its owner died), else polled for a little
/// while, since its owner may be stuck; `None` if it stayed busy.
fn report_lock() -> Option<MutexGuard<'static, ()>> {
    for _ in 0..REPORT_POLLS {
        match LINE.try_lock() {
            Ok(g) => return Some(g),
            Err(TryLockError::Poisoned(e)) => return Some(e.into_inner()),
            Err(TryLockError::WouldBlock) => crate::thread::sleep(REPORT_WAIT),
        }
    }
    None
}

/// Formats straight to the UART (only when this core already holds [`OUTPUT`]).
struct Direct;

impl Write for Direct {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        board::console_write(s.as_bytes());
        Ok(())
    }
}

/// Formats under [`OUTPUT`], for prints that are no thread's.
struct Whole<'a> {
    out: &'a mut Output,
    writer: u64,
}

impl Write for Whole<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.out.write(self.writer, s.as_bytes());
        Ok(())
    }
}

/// Displays a string (a thread name) with control characters and `\` escaped as
/// [`char::escape_debug`] does (`\n`, `\r`, `\t`, `\0`, `\\`, `\u{1b}`…), and the Unicode line
/// and paragraph separators as `\u{2028}`/`\u{2029}`: whatever the name, it prints as part of
/// one line. Nothing is allocated.
pub(crate) struct Escaped<'a>(pub &'a str);

impl fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let needs_escape = |c: char| c.is_control() || matches!(c, '\\' | '\u{2028}' | '\u{2029}');
        let mut rest = self.0;
        while let Some(i) = rest.find(needs_escape) {
            f.write_str(&rest[..i])?;
            let c = rest[i..].chars().next().unwrap_or_default();
            if c.is_control() || c == '\\' {
                write!(f, "{}", c.escape_debug())?;
            } else {
                write!(f, "{}", c.escape_unicode())?;
            }
            rest = &rest[i + c.len_utf8()..];
        }
        f.write_str(rest)
    }
}

/// Prints to the console (the board's UART).
#[macro_export]
macro_rules! print {
    ($($arg:tt)*) => { $crate::console::_print(format_args!($($arg)*)) };
}

/// Prints a line to the console; the line is never split by output from other threads.
#[macro_export]
macro_rules! println {
    () => { $crate::console::_print(format_args!("\n")) };
    ($($arg:tt)*) => { $crate::console::_print(format_args!("{}\n", format_args!($($arg)*))) };
}

struct Logger;

impl log::Log for Logger {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }
    fn log(&self, record: &log::Record<'_>) {
        if self.enabled(record.metadata()) {
            crate::println!(
                "[{:<5} {}] {}",
                record.level(),
                record.target(),
                record.args()
            );
        }
    }
    fn flush(&self) {}
}

static LOGGER: Logger = Logger;

/// Installs the console as the `log` backend (at `Info`; raise with `log::set_max_level`).
pub(crate) fn init_log() {
    let _ = log::set_logger(&LOGGER);
    log::set_max_level(log::LevelFilter::Info);
}
