//! Panics and synchronous exceptions: end the failing thread alone, or stop the system when the
//! failure is the kernel's own.
//!
//! Faults are handled on the core's exception stack, never on the faulting one, so a thread
//! that ran into the guard page below its stack (or set its stack pointer to garbage) is
//! ended like any other faulting thread; the report says "stack overflow" with the stack's
//! size and the faulting address when the address is in the guard page. An overflow of a
//! core's own stacks (exception, boot/idle) is the kernel's, and says which stack it was.
//!
//! There is no unwinding. A thread that panics or faults is reported (name, cause, registers),
//! marked failed so its `join` returns `Err`, and removed like a thread that returned — its
//! destructors do not run. A failure with the scheduler lock held, inside an interrupt handler,
//! in the idle thread, or with IRQs masked is the kernel's: it prints the same report and exits
//! with [`KERNEL_PANIC_EXIT`] or [`KERNEL_FAULT_EXIT`]. So does a failure of the thread running
//! the program's `main`: the program cannot go on without it, and a hang would hide the error.
//!
//! Every report ends with a backtrace (`pc`, `lr` and the return addresses of the frame
//! chain, see [`backtrace`](super::backtrace)), which `cargo xtask run`/`test` symbolize.
//!
//! Reports start on a line of their own and print thread names escaped (`console::Escaped`).
//! A thread's panic report is printed in thread context through `console::report`, which
//! writes through if the thread was printing when it panicked; fault and kernel reports come
//! with IRQs masked and go through `console::report_kernel`, which never waits for a thread.

use core::fmt;
use core::ops::Range;
use core::sync::atomic::{AtomicBool, Ordering};

use preempt_arch::stacks::{self, CpuStack};
use preempt_arch::{cpu, esr::Syndrome, exception, ExceptionKind, Frame};
use sched_core::{ExitStatus, MAX_CPUS};

use super::backtrace;
use super::cause::{self, Cause, FaultRecord};
use super::{exit_current, failing_thread, Failure};
use crate::{board, console};

/// Exit status of a system stopped by a panic outside any thread.
pub const KERNEL_PANIC_EXIT: u32 = 101;
/// Exit status of a system stopped by a fault (or overflow, or broken invariant) in the kernel.
pub const KERNEL_FAULT_EXIT: u32 = 102;

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    // The walk starts at this handler's own frame record: its first return address is in the
    // panic machinery of `core` that called it, the next ones lead to the panicking code.
    let fp = preempt_arch::backtrace::frame_pointer();
    match failing_thread(cpu::irqs_masked(), super::percpu::this().in_irq()) {
        Some(thread) => {
            // The message is formatted once, here (a `Display` that panics ends this thread
            // from the nested panic, which reports its own message), and kept for `JoinError`.
            let message = cause::capture(&info.message());
            match &message {
                Some(text) => console::report(format_args!(
                    "thread '{}' panicked at {}: {}",
                    thread.display_name(),
                    Location(info),
                    text
                )),
                None => console::report(format_args!(
                    "thread '{}' panicked at {}: {}",
                    thread.display_name(),
                    Location(info),
                    info.message()
                )),
            }
            backtrace::chain(console::report, fp, super::current_stack());
            if super::is_main(&thread) {
                // `main` ending abnormally ends the program, with a failure status.
                board::exit(KERNEL_PANIC_EXIT);
            }
            thread.set_cause(Cause::Panic(message));
            thread.set_failure(Failure::Panicked);
            drop(thread);
            exit_current(ExitStatus::Failed)
        }
        None => {
            console::report_kernel(format_args!(
                "kernel panic at {}: {}",
                Location(info),
                info.message()
            ));
            backtrace::chain(console::report_kernel, fp, None);
            board::exit(KERNEL_PANIC_EXIT)
        }
    }
}

/// Where a panic happened: `file:line:column`.
struct Location<'a>(&'a core::panic::PanicInfo<'a>);

impl fmt::Display for Location<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.location() {
            Some(l) => write!(f, "{}:{}:{}", l.file(), l.line(), l.column()),
            None => write!(f, "<unknown>"),
        }
    }
}

/// A synchronous exception (fault, undefined instruction, `brk`…) from thread or kernel code
/// on `SP_EL0`, handled on this core's exception stack.
///
/// A thread's fault ends that thread: the exception returns into [`fault_exit`] on the
/// thread's own stack, reset to its top (whatever the thread left there, including a stack
/// pointer past its guard page, is abandoned), which exits it like a panic does. A fault at
/// the IRQ vector's frame store or stack probe is the interrupted thread's: its stack had no
/// room for the interrupt (nothing has been acknowledged yet; the interrupt stays pending).
pub(crate) fn handle_sync(frame: &mut Frame) {
    let syn = Syndrome::read();
    let at_irq_entry = exception::is_irq_entry(frame.elr);
    let irqs_were_masked = frame.spsr & (1 << 7) != 0 && !at_irq_entry;
    let Some(thread) = failing_thread(irqs_were_masked, false) else {
        kernel_fault(&syn, frame)
    };
    let (stack, exit_top) = super::with_sched(|s, cpu| {
        let t = s.data(s.current(cpu));
        let stack = t
            .and_then(|t| t.stack.as_ref())
            .map(|st| (st.guard(), st.bottom(), st.top(), st.size()));
        (
            stack,
            t.and_then(|t| t.exit_stack.as_ref()).map(|st| st.top()),
        )
    });
    let overflow = stack.clone().and_then(|(guard, bottom, top, size)| {
        let far = syn.far as usize;
        (syn.far_valid() && guard.contains(&far)).then_some(Overflow::Thread {
            bottom,
            top,
            size,
            far,
        })
    });
    let who = format_args!("thread '{}'", thread.display_name());
    let walk = stack.clone().map(|(_, bottom, top, _)| bottom..top);
    report(&who, &syn, frame, overflow.as_ref(), walk);
    if at_irq_entry {
        console::report_kernel(format_args!(
            "  (an interrupt found no room on this thread's stack for its frame)"
        ));
    }
    if super::is_main(&thread) {
        board::exit(KERNEL_FAULT_EXIT);
    }
    let overflowed_stack = match overflow {
        Some(Overflow::Thread { size, .. }) => Some(size),
        _ => None,
    };
    thread.set_cause(Cause::Fault(FaultRecord {
        syndrome: syn,
        elr: frame.elr,
        overflowed_stack,
    }));
    thread.set_failure(Failure::Faulted);
    if let Some(size) = overflowed_stack {
        thread.set_final_stack_peak(size);
    }
    // Scoped threads borrow from this thread's frames: exit on its exit stack instead (see
    // `scope`), leaving them as they are until those threads have ended.
    let borrowed = thread.scope_links.owns_live_threads();
    drop(thread);
    let Some((_, _, top, _)) = stack else {
        kernel_halt(format_args!("a faulting thread has no stack"))
    };
    let top = match exit_top {
        Some(exit_top) if borrowed => exit_top,
        _ => top,
    };
    // SAFETY: a Sync exception from SP_EL0, handled on the exception stack; the thread's own
    // stack is abandoned from its top down (the thread never returns to its old frames), or
    // left alone and the thread exits on its exit stack, which it owns until it ends.
    unsafe { frame.resume_at(fault_exit, top) };
}

/// Where a faulting thread resumes (see [`handle_sync`]): it exits, failed. `eret` brought it
/// here with every exception masked; it unmasks IRQs first, so that its exit runs like a
/// panicking thread's (the final stack-peak scan, for one, never runs with IRQs masked).
extern "C" fn fault_exit() -> ! {
    cpu::irq_enable();
    exit_current(ExitStatus::Failed)
}

/// Anything taken while on the exception stack (a fault in an interrupt handler or a fault
/// handler, an overflow of the exception stack), FIQ, SError, or from a lower EL: report and
/// stop. A second one on the same core while reporting stops at once, without a report.
pub(crate) fn handle_fatal(kind: ExceptionKind, frame: &mut Frame) -> ! {
    static REPORTING: [AtomicBool; MAX_CPUS] = [const { AtomicBool::new(false) }; MAX_CPUS];
    if REPORTING[cpu::core_id() % MAX_CPUS].swap(true, Ordering::Relaxed) {
        board::exit(KERNEL_FAULT_EXIT);
    }
    let syn = Syndrome::read();
    if !matches!(kind, ExceptionKind::Nested) {
        console::report_kernel(format_args!("unexpected exception {:?}", kind));
    }
    kernel_fault(&syn, frame)
}

/// Reports a fault of the kernel's own (naming the core stack it overflowed, if any) and stops.
fn kernel_fault(syn: &Syndrome, frame: &Frame) -> ! {
    let overflow = cpu_stack_overflow(syn);
    report(
        &format_args!("the kernel"),
        syn,
        frame,
        overflow.as_ref(),
        None,
    );
    board::exit(KERNEL_FAULT_EXIT)
}

/// A fault that ran off the end of a stack.
enum Overflow {
    /// A thread's stack (`far` is in the guard page below `bottom`).
    Thread {
        bottom: usize,
        top: usize,
        size: usize,
        far: usize,
    },
    /// One of a core's own stacks.
    Cpu { core: usize, stack: CpuStack },
}

fn cpu_stack_overflow(syn: &Syndrome) -> Option<Overflow> {
    if !syn.far_valid() {
        return None;
    }
    stacks::guard_hit(syn.far).map(|(core, stack)| Overflow::Cpu { core, stack })
}

/// Prints a fault's report; its backtrace reads `stack` (the thread's; `None`: the core's own
/// stack holding the frame pointer, if any).
fn report(
    who: &dyn fmt::Display,
    syn: &Syndrome,
    frame: &Frame,
    overflow: Option<&Overflow>,
    stack: Option<Range<usize>>,
) {
    match overflow {
        Some(Overflow::Thread {
            bottom,
            top,
            size,
            far,
        }) => console::report_kernel(format_args!(
            "fault in {who}: stack overflow: FAR {far:#x} is in the guard page below its \
             {size}-byte stack ({bottom:#x}..{top:#x})"
        )),
        Some(Overflow::Cpu { core, stack }) => console::report_kernel(format_args!(
            "fault in {who}: stack overflow of core {core}'s {}",
            stack.name()
        )),
        None => {}
    }
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
    backtrace::fault(
        console::report_kernel,
        frame.elr,
        frame.x[30],
        frame.x[29],
        stack,
    );
}

/// Stops the system after an internal inconsistency (a broken stack canary, a lost control
/// block): nothing after it can be trusted.
pub(crate) fn kernel_halt(why: fmt::Arguments<'_>) -> ! {
    console::report_kernel(format_args!("kernel halt: {why}"));
    board::exit(KERNEL_FAULT_EXIT)
}
