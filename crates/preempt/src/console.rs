//! `print!`/`println!` and the `log` backend.
//!
//! A whole `println!` is written under one IRQ-masking lock, so lines from different threads,
//! cores and interrupt handlers never interleave mid-line. A panic or fault report raised while
//! this core already holds the lock (say, inside a `Display` impl) writes through anyway rather
//! than deadlocking: a garbled line beats a silent hang. In thread context the line is
//! formatted before the lock is taken, so user `Display` code never runs with IRQs masked.

use core::fmt::{self, Write};

use preempt_arch::SpinLock;

use crate::board;

static CONSOLE: SpinLock<()> = SpinLock::new(());

struct Sink;

impl Write for Sink {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        board::console_write(s.as_bytes());
        Ok(())
    }
}

#[doc(hidden)]
pub fn _print(args: fmt::Arguments<'_>) {
    if CONSOLE.raw().held_by_this_core() {
        let _ = Sink.write_fmt(args);
        return;
    }
    // In a thread, format first and only then take the lock: user `Display` code then never
    // runs with IRQs masked, so it may block or panic like any other thread code.
    if crate::kernel::started()
        && !crate::kernel::percpu::this().in_irq()
        && !preempt_arch::cpu::irqs_masked()
    {
        // A stack buffer, not the heap: printing must work when the heap is exhausted (an
        // out-of-memory panic prints). Longer lines fall back to formatting under the lock.
        let mut line = heapless::String::<256>::new();
        if fmt::Write::write_fmt(&mut line, args).is_ok() {
            let _guard = CONSOLE.lock();
            board::console_write(line.as_bytes());
            return;
        }
    }
    let _guard = CONSOLE.lock();
    let _ = Sink.write_fmt(args);
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
