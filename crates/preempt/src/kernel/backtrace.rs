//! The backtrace lines of fault and panic reports.
//!
//! A report names where a failure happened (`pc`, the faulting instruction; `lr`, the link
//! register then) and the calls that led there: the return addresses of the frame-record
//! chain (`preempt_arch::backtrace`), one per line in a fixed form that `cargo xtask run`
//! and `cargo xtask test` recognise and extend with `function (file:line)`:
//!
//! ```text
//!   pc 0x0000000040081234
//!   lr 0x0000000040081200
//!   #1 0x0000000040081310
//!   #2 0x00000000400813a8
//!   (backtrace cut at 32 frames)
//! ```
//!
//! `#N` is the N-th return address up the chain (`#1` the caller of the failing function, or
//! for a panic the caller of the panic handler, i.e. the panic machinery of `core`). `lr` often
//! repeats `#1`: a function that has not called anything yet still has its own return address
//! there. Addresses are printed, not names: the kernel carries no symbol table, and the ELF
//! the host keeps has better ones (inlining, source lines).
//!
//! The walk reads only the one stack that holds the frames — the failing thread's own stack,
//! or for the kernel's failures the core's stack that `fp` is in — so it cannot fault or run
//! away whatever the failing code left behind (see `preempt_arch::backtrace`). A kernel
//! failure on a thread's stack (with the scheduler lock held, say) gets `pc` and `lr` only:
//! finding that stack would need the lock.

use core::fmt;
use core::ops::Range;

use preempt_arch::{backtrace, cpu, stacks};

/// Where report lines go: `console::report` (thread context) or `console::report_kernel`.
pub(crate) type Line = fn(fmt::Arguments<'_>);

/// Prints the `pc` and `lr` lines of a fault, then the chain from `fp` (see [`chain`]).
pub(crate) fn fault(line: Line, pc: u64, lr: u64, fp: u64, stack: Option<Range<usize>>) {
    line(format_args!("  pc {pc:#018x}"));
    line(format_args!("  lr {lr:#018x}"));
    chain(line, fp, stack);
}

/// Prints the return addresses of the frame chain from the record at `fp`, read inside
/// `stack` — or, without one, inside whichever of this core's own stacks holds `fp` (none:
/// nothing is printed).
pub(crate) fn chain(line: Line, fp: u64, stack: Option<Range<usize>>) {
    let Some(stack) = stack.or_else(|| core_stack(fp)) else {
        return;
    };
    // SAFETY: `stack` is the usable range of the failing thread's stack, which is not freed
    // while the thread reports (it is still running), or one of this core's own stacks,
    // which are always mapped.
    let mut frames = unsafe { backtrace::live(fp, stack) };
    for (n, ret) in frames.by_ref().enumerate() {
        line(format_args!("  #{} {ret:#018x}", n + 1));
    }
    if frames.was_cut() {
        line(format_args!(
            "  (backtrace cut at {} frames)",
            backtrace::MAX_FRAMES
        ));
    }
}

/// The usable range of this core's own stack (boot/idle, exception, fatal) holding `addr`.
fn core_stack(addr: u64) -> Option<Range<usize>> {
    stacks::containing(cpu::core_id(), addr).map(|(_, range)| range)
}
