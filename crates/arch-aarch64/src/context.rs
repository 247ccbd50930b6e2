//! The one saved-context format and the switch primitive.
//!
//! `switch_context(prev, next)` is an ordinary function call, so it saves only what the
//! AAPCS64 says a callee must preserve — x19–x28, fp, lr, sp, d8–d15 — plus the per-thread
//! state the compiler cannot know about: `TPIDR_EL0`, `FPCR` and `FPSR`. Everything else is
//! already saved by the caller, or, when the switch happens inside an interrupt, lives in the
//! exception [`Frame`](crate::Frame) on the interrupted thread's stack. Because both paths end in
//! the same call, a thread switched out by `yield` can be resumed from an interrupt and the
//! other way round: resuming simply returns from `switch_context` into whichever path called it.
//!
//! The layout is defined here once; the assembly gets every offset as a `const` operand from
//! `offset_of!`, and the asserts below keep the pairs used by `stp`/`ldp` adjacent.

use core::mem::{offset_of, size_of};

/// The callee-saved state of a thread that is not running.
#[repr(C, align(16))]
#[derive(Debug, Default, Clone)]
pub struct Context {
    /// x19–x28.
    pub x19_x28: [u64; 10],
    /// x29, the frame pointer.
    pub fp: u64,
    /// x30, where `switch_context` returns to.
    pub lr: u64,
    /// The stack pointer.
    pub sp: u64,
    /// The EL0 thread-ID register: `preempt` keeps the thread's thread-local block pointer
    /// there (a hint it re-checks, since code at any level may write the register).
    pub tpidr_el0: u64,
    /// The low halves of v8–v15.
    pub d8_d15: [u64; 8],
    /// Floating-point control (rounding mode, flush-to-zero…).
    pub fpcr: u64,
    /// Floating-point status (cumulative exception flags).
    pub fpsr: u64,
}

const CTX_X19: usize = offset_of!(Context, x19_x28);
const CTX_FP: usize = offset_of!(Context, fp);
const CTX_SP: usize = offset_of!(Context, sp);
const CTX_D8: usize = offset_of!(Context, d8_d15);
const CTX_FPCR: usize = offset_of!(Context, fpcr);

// The assembly stores these fields pairwise with stp/ldp: each pair must be adjacent.
const _: () = assert!(offset_of!(Context, lr) == CTX_FP + 8);
const _: () = assert!(offset_of!(Context, tpidr_el0) == CTX_SP + 8);
const _: () = assert!(offset_of!(Context, fpsr) == CTX_FPCR + 8);
const _: () = assert!(CTX_X19.is_multiple_of(8) && CTX_D8.is_multiple_of(8));
const _: () = assert!(size_of::<Context>() == 192);

impl Context {
    /// A context that, when switched to, starts `entry(arg)` on a fresh stack whose top
    /// (exclusive, 16-byte aligned) is `stack_top`. `entry` must never return.
    pub fn new_thread(stack_top: usize, entry: extern "C" fn(usize) -> !, arg: usize) -> Self {
        let mut x19_x28 = [0; 10];
        x19_x28[0] = arg as u64;
        x19_x28[1] = entry as *const () as u64;
        Context {
            x19_x28,
            sp: (stack_top & !15) as u64,
            lr: thread_trampoline as *const () as u64,
            ..Context::default()
        }
    }
}

extern "C" {
    /// Saves the callee-saved state into `*prev` and resumes the thread whose state is in
    /// `*next`; returns when some later switch resumes `prev`.
    ///
    /// # Safety
    /// IRQs must be masked. `prev` must be valid for writes and `next` must hold a context
    /// saved by this function or made by [`Context::new_thread`], whose stack is still
    /// allocated; neither may be accessed by anyone else until the switch is complete.
    pub fn switch_context(prev: *mut Context, next: *const Context);
    /// [`switch_context`] for a thread interrupted by an IRQ whose whole FP state (q0–q31,
    /// `FPCR`, `FPSR`) is already saved in its interrupt frame: it skips saving d8–d15,
    /// `FPCR` and `FPSR` into `*prev`. When the thread is resumed, those registers are loaded
    /// from `*prev` (older values of the same thread) and then overwritten by the interrupt's
    /// return, which restores the frame's FP state. Called from the IRQ exit only
    /// ([`irq_entry`](crate::irq_entry)); same contract otherwise.
    pub fn switch_context_irq(prev: *mut Context, next: *const Context);
    fn thread_trampoline() -> !;
}

#[cfg(target_arch = "aarch64")]
core::arch::global_asm!(
    ".section .text.preempt_switch_context, \"ax\"",
    ".global switch_context",
    ".type switch_context, %function",
    ".balign 16",
    "switch_context:",
    // Save prev: its FP part, then (falling through) the rest.
    "stp d8, d9, [x0, #{d8} + 0]",
    "stp d10, d11, [x0, #{d8} + 16]",
    "stp d12, d13, [x0, #{d8} + 32]",
    "stp d14, d15, [x0, #{d8} + 48]",
    "mrs x9, fpcr",
    "mrs x10, fpsr",
    "stp x9, x10, [x0, #{fpcr}]",
    ".global switch_context_irq",
    "switch_context_irq:",
    "stp x19, x20, [x0, #{x19} + 0]",
    "stp x21, x22, [x0, #{x19} + 16]",
    "stp x23, x24, [x0, #{x19} + 32]",
    "stp x25, x26, [x0, #{x19} + 48]",
    "stp x27, x28, [x0, #{x19} + 64]",
    "stp x29, x30, [x0, #{fp}]",
    "mov x9, sp",
    "mrs x10, tpidr_el0",
    "stp x9, x10, [x0, #{sp}]",
    // Load next.
    "ldp x19, x20, [x1, #{x19} + 0]",
    "ldp x21, x22, [x1, #{x19} + 16]",
    "ldp x23, x24, [x1, #{x19} + 32]",
    "ldp x25, x26, [x1, #{x19} + 48]",
    "ldp x27, x28, [x1, #{x19} + 64]",
    "ldp x29, x30, [x1, #{fp}]",
    "ldp x9, x10, [x1, #{sp}]",
    "mov sp, x9",
    "msr tpidr_el0, x10",
    "ldp d8, d9, [x1, #{d8} + 0]",
    "ldp d10, d11, [x1, #{d8} + 16]",
    "ldp d12, d13, [x1, #{d8} + 32]",
    "ldp d14, d15, [x1, #{d8} + 48]",
    "ldp x9, x10, [x1, #{fpcr}]",
    "msr fpcr, x9",
    "msr fpsr, x10",
    "ret",
    ".size switch_context, . - switch_context",
    "",
    // First return of a new thread: x19 = argument, x20 = entry. Clear fp/lr so backtraces stop.
    ".global thread_trampoline",
    ".type thread_trampoline, %function",
    "thread_trampoline:",
    "mov x0, x19",
    "mov x29, xzr",
    "mov x30, xzr",
    "br x20",
    ".size thread_trampoline, . - thread_trampoline",
    x19 = const CTX_X19,
    fp = const CTX_FP,
    sp = const CTX_SP,
    d8 = const CTX_D8,
    fpcr = const CTX_FPCR,
);
