//! Panics and synchronous exceptions: end the failing thread alone, or stop the system when the
//! failure is the kernel's own.
//!
//! There is no unwinding. A thread that panics or faults is reported (name, cause, registers),
//! marked failed so its `join` returns `Err`, and removed like a thread that returned — its
//! destructors do not run. A failure with the scheduler lock held, inside an interrupt handler,
//! in the idle thread, or with IRQs masked is the kernel's: it prints the same report and exits
//! with [`KERNEL_PANIC_EXIT`] or [`KERNEL_FAULT_EXIT`]. So does a failure of the thread running
//! the program's `main`: the program cannot go on without it, and a hang would hide the error.
//!
//! Reports start on a line of their own and print thread names escaped (`console::Escaped`).
//! A thread's panic report is printed in thread context through `console::report`, which
//! writes through if the thread was printing when it panicked; fault and kernel reports come
//! with IRQs masked and go through `console::report_kernel`, which never waits for a thread.

use core::fmt;

use preempt_arch::{cpu, esr::Syndrome, ExceptionKind, Frame};
use sched_core::ExitStatus;

use super::{exit_current, failing_thread, Failure};
use crate::{board, console};

/// Exit status of a system stopped by a panic outside any thread.
pub const KERNEL_PANIC_EXIT: u32 = 101;
/// Exit status of a system stopped by a fault (or overflow, or broken invariant) in the kernel.
pub const KERNEL_FAULT_EXIT: u32 = 102;

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    match failing_thread(cpu::irqs_masked()) {
        Some(thread) => {
            console::report(format_args!(
                "thread '{}' panicked at {}",
                thread.display_name(),
                Located(info)
            ));
            if super::is_main(&thread) {
                // `main` ending abnormally ends the program, with a failure status.
                board::exit(KERNEL_PANIC_EXIT);
            }
            thread.set_failure(Failure::Panicked);
            drop(thread);
            exit_current(ExitStatus::Failed)
        }
        None => {
            console::report_kernel(format_args!("kernel panic at {}", Located(info)));
            board::exit(KERNEL_PANIC_EXIT)
        }
    }
}

struct Located<'a>(&'a core::panic::PanicInfo<'a>);

impl fmt::Display for Located<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.location() {
            Some(l) => write!(
                f,
                "{}:{}:{}: {}",
                l.file(),
                l.line(),
                l.column(),
                self.0.message()
            ),
            None => write!(f, "<unknown>: {}", self.0.message()),
        }
    }
}

/// A synchronous exception (fault, undefined instruction, `brk`…).
pub(crate) fn handle_sync(frame: &mut Frame) {
    let syn = Syndrome::read();
    let irqs_were_masked = frame.spsr & (1 << 7) != 0;
    match failing_thread(irqs_were_masked) {
        Some(thread) => {
            report(
                &format_args!("thread '{}'", thread.display_name()),
                &syn,
                frame,
            );
            if super::is_main(&thread) {
                board::exit(KERNEL_FAULT_EXIT);
            }
            thread.set_failure(Failure::Faulted);
            drop(thread);
            exit_current(ExitStatus::Failed)
        }
        None => {
            report(&format_args!("the kernel"), &syn, frame);
            board::exit(KERNEL_FAULT_EXIT)
        }
    }
}

/// An exception preempt never expects (FIQ, SError, anything from EL0 or on SP_EL0).
pub(crate) fn handle_unexpected(kind: ExceptionKind, frame: &mut Frame) {
    let syn = Syndrome::read();
    console::report_kernel(format_args!("unexpected exception {:?}", kind));
    report(&format_args!("the kernel"), &syn, frame);
    board::exit(KERNEL_FAULT_EXIT)
}

fn report(who: &dyn fmt::Display, syn: &Syndrome, frame: &Frame) {
    console::report_kernel(format_args!(
        "fault in {}: {} (ESR_EL1 {:#010x}, EC {:#04x})",
        who,
        syn.class_name(),
        syn.esr,
        syn.class()
    ));
    if let Some(status) = syn.fault_status() {
        console::report_kernel(format_args!("  {status}, FAR {:#018x}", syn.far));
    } else if syn.far_valid() {
        console::report_kernel(format_args!("  FAR {:#018x}", syn.far));
    }
    console::report_kernel(format_args!(
        "  ELR {:#018x}  SPSR {:#010x}  SP {:#018x}",
        frame.elr,
        frame.spsr,
        frame.interrupted_sp()
    ));
    for row in 0..8 {
        let mut line = heapless::String::<160>::new();
        for col in 0..4 {
            let i = row * 4 + col;
            if i < 31 {
                let _ = fmt::Write::write_fmt(
                    &mut line,
                    format_args!("  x{:<2} {:#018x}", i, frame.x[i]),
                );
            }
        }
        console::report_kernel(format_args!("{}", line.as_str()));
    }
}

/// Stops the system after an internal inconsistency (a broken stack canary, a lost control
/// block): nothing after it can be trusted.
pub(crate) fn kernel_halt(why: fmt::Arguments<'_>) -> ! {
    console::report_kernel(format_args!("kernel halt: {why}"));
    board::exit(KERNEL_FAULT_EXIT)
}
