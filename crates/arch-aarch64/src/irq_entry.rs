//! The IRQ path from a thread: what the interrupt saves, where the handler runs, how it
//! switches threads, and the floating-point policy that keeps it short.
//!
//! **What is saved on entry.** The vector pushes an [`IrqFrame`] on the interrupted thread's
//! stack with only what the handler may clobber: the AAPCS64 caller-saved registers x0–x18 and
//! x30, `ELR_EL1` and `SPSR_EL1`. x19–x29 are not saved: `preempt_irq` is an ordinary function
//! that preserves them.
//!
//! **The switch.** `preempt_irq` (on the exception stack) handles the interrupt *and* takes the
//! scheduling decision it calls for, and returns an [`IrqSwitch`]. For "no switch" the vector
//! restores the frame and `eret`s. For a switch it holds the scheduler lock, and the vector —
//! back on the thread's stack — calls [`switch_context_irq`](crate::context::switch_context_irq)
//! itself: x19–x29 go into the thread's `Context` there, with no Rust frame of the kernel's in
//! between. When the thread is switched back in, that call returns into the vector, which calls
//! `preempt_irq_resume` (the second half of every switch: release the lock handed over), then
//! restores the frame and `eret`s.
//!
//! **Floating point: saved lazily, and only when needed.** The handler is Rust and may use
//! FP/SIMD anywhere (the compiler emits NEON for copies and constants), so the thread's q0–q31,
//! `FPCR` and `FPSR` must survive it — but most interrupts (a timer interrupt, a short driver
//! handler) never touch them. So the entry turns FP/SIMD access off (`CPACR_EL1.FPEN = 0`)
//! before it calls `preempt_irq`:
//! - if `preempt_irq` never uses FP, nothing FP is saved or restored, and the exit turns access
//!   back on (`eret` synchronises the write);
//! - its first FP instruction traps (EL1h synchronous exception, class 0x07): the vector saves
//!   q0–q31, `FPCR` and `FPSR` into the frame — which is at `SP_EL0`, since the handler runs on
//!   `SP_EL1` — turns access on and returns to the instruction; the exit then restores the FP
//!   state from the frame;
//! - for a switch the FP state is saved in full first, unless the trap already did (so
//!   `switch_context_irq` skips the FP half of `switch_context`), and comes back from the
//!   frame when the thread resumes. A decision that keeps the thread costs no FP work.
//!
//! FP/SIMD access is therefore off exactly while `preempt_irq` runs on the exception stack and
//! nowhere else: thread code, switches, fault handlers and the fatal path (which turns it on
//! before saving, as a fault inside a handler may leave it off) always run with it on. The
//! `irq_fp` test checks q0–q31, `FPCR` and `FPSR` of a thread across handlers that do and do
//! not use FP, timer interrupts and switches from the interrupt exit.

use core::mem::{offset_of, size_of, MaybeUninit};

use crate::context::Context;
use crate::cpu::KERNEL_STACK_RESERVE;
use crate::layout::GUARD_SIZE;

/// What an IRQ from a thread saves on the thread's stack.
#[repr(C, align(16))]
pub struct IrqFrame {
    /// x0–x18 (caller-saved).
    pub x: [u64; 19],
    /// The link register.
    pub x30: u64,
    /// Where the interrupt returns to.
    pub elr: u64,
    /// The interrupted PSTATE.
    pub spsr: u64,
    /// `FPCR`, valid once the FP state is saved.
    pub fpcr: u64,
    /// `FPSR`, valid once the FP state is saved.
    pub fpsr: u64,
    /// The FP trap's spare register.
    scratch: u64,
    _pad: u64,
    /// q0–q31, valid once the FP state is saved.
    pub q: [u128; 32],
}

/// Size of an [`IrqFrame`] on the stack.
pub const IRQ_FRAME_SIZE: usize = size_of::<IrqFrame>();
const I_X: usize = offset_of!(IrqFrame, x);
const I_X30: usize = offset_of!(IrqFrame, x30);
const I_ELR: usize = offset_of!(IrqFrame, elr);
const I_SPSR: usize = offset_of!(IrqFrame, spsr);
const I_FPCR: usize = offset_of!(IrqFrame, fpcr);
const I_FPSR: usize = offset_of!(IrqFrame, fpsr);
const I_SCRATCH: usize = offset_of!(IrqFrame, scratch);
const I_Q: usize = offset_of!(IrqFrame, q);

// Pairs stored with one stp/ldp must be adjacent; immediates must fit their encodings.
const _: () = assert!(I_X == 0 && I_X30 == I_X + 19 * 8 && I_SPSR == I_ELR + 8);
const _: () = assert!(I_FPSR == I_FPCR + 8);
const _: () = assert!(I_Q.is_multiple_of(16) && I_Q + 30 * 16 <= 1008);
const _: () = assert!(IRQ_FRAME_SIZE.is_multiple_of(16) && IRQ_FRAME_SIZE < 4096);

/// Bytes of a thread's stack below an interrupt's frame that the IRQ vector probes before it
/// handles the interrupt: room for the switch it may make and `preempt_irq_resume` after it
/// (kernel code that masks IRQs probes [`KERNEL_STACK_RESERVE`] itself). At most a guard
/// page, so that the probe of a stack with less room left always lands in the guard.
pub const IRQ_EXIT_RESERVE: usize = 3 * 1024;
const _: () = assert!(IRQ_EXIT_RESERVE <= GUARD_SIZE);
const _: () = assert!(IRQ_EXIT_RESERVE >= KERNEL_STACK_RESERVE + 512);

/// What `preempt_irq` returns to the IRQ vector (in x0 and x1): the switch it decided on, with
/// the scheduler lock held and handed to the thread resumed, or [`IrqSwitch::NONE`] to return
/// to the interrupted thread.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct IrqSwitch {
    /// Where the interrupted thread's callee-saved state goes (null: no switch).
    pub prev: *mut Context,
    /// The thread to resume (left undefined by [`NONE`](Self::NONE), which the vector never
    /// reads it for: one register write less on every interrupt that does not switch).
    pub next: MaybeUninit<*const Context>,
}

impl IrqSwitch {
    /// No switch: the vector returns to the interrupted thread.
    pub const NONE: Self = Self {
        prev: core::ptr::null_mut(),
        next: MaybeUninit::uninit(),
    };

    /// Switch from the thread whose context is `prev` to the one whose context is `next`.
    pub fn switch(prev: *mut Context, next: *const Context) -> Self {
        Self {
            prev,
            next: MaybeUninit::new(next),
        }
    }
}

/// `CPACR_EL1` with FP/SIMD access on at EL1 and EL0 (`FPEN = 0b11`), as boot sets it; the
/// IRQ entry writes 0 (`FPEN = 0b00`: every FP/SIMD access at EL1 traps).
pub const CPACR_FP_ON: u64 = 3 << 20;

#[cfg(target_arch = "aarch64")]
core::arch::global_asm!(
    // q0–q31, FPCR and FPSR into the IRQ frame at \base (\tmp is clobbered).
    ".macro IRQ_SAVE_FP base, tmp",
    q_pairs!("stp", "\\base"),
    "mrs \\tmp, fpcr",
    "str \\tmp, [\\base, #{fpcr}]",
    "mrs \\tmp, fpsr",
    "str \\tmp, [\\base, #{fpsr}]",
    ".endm",
    "",
    ".section .text.preempt_irq_entry, \"ax\"",
    // Entered from the IRQ vector (EL1t): on SP_EL0, the frame allocated, x0/x1 stored.
    ".global preempt_irq_common",
    "preempt_irq_common:",
    "stp x2, x3, [sp, #{x} + 16]",
    "stp x4, x5, [sp, #{x} + 32]",
    "stp x6, x7, [sp, #{x} + 48]",
    "stp x8, x9, [sp, #{x} + 64]",
    "stp x10, x11, [sp, #{x} + 80]",
    "stp x12, x13, [sp, #{x} + 96]",
    "stp x14, x15, [sp, #{x} + 112]",
    "stp x16, x17, [sp, #{x} + 128]",
    "stp x18, x30, [sp, #{x} + 144]",
    "mrs x0, elr_el1",
    "mrs x1, spsr_el1",
    "stp x0, x1, [sp, #{elr}]",
    "sub x0, sp, #{irq_reserve}",
    ".global preempt_irq_probe",
    "preempt_irq_probe:",
    "ldr xzr, [x0]",
    // FP/SIMD off for the handler: its first use traps to preempt_fp_trap.
    "msr cpacr_el1, xzr",
    "isb",
    "msr spsel, #1",
    "bl preempt_irq",
    "msr spsel, #0",
    // x0 = the context to save this thread in when preempt_irq decided to switch (x1 = the
    // one to resume; the scheduler lock is held), else 0.
    "cbnz x0, 2f",
    "mrs x1, cpacr_el1",
    "tbnz x1, #20, 3f",
    // The handler used no FP: the thread's FP state is still in the registers.
    "mov x1, #{fp_on}",
    "msr cpacr_el1, x1",
    "1:",
    "ldp x0, x1, [sp, #{elr}]",
    "msr elr_el1, x0",
    "msr spsr_el1, x1",
    "ldp x0, x1, [sp, #{x} + 0]",
    "ldp x2, x3, [sp, #{x} + 16]",
    "ldp x4, x5, [sp, #{x} + 32]",
    "ldp x6, x7, [sp, #{x} + 48]",
    "ldp x8, x9, [sp, #{x} + 64]",
    "ldp x10, x11, [sp, #{x} + 80]",
    "ldp x12, x13, [sp, #{x} + 96]",
    "ldp x14, x15, [sp, #{x} + 112]",
    "ldp x16, x17, [sp, #{x} + 128]",
    "ldp x18, x30, [sp, #{x} + 144]",
    "add sp, sp, #{size}",
    "eret",
    // A switch: the FP state goes into the frame (unless the trap put it there), the switch
    // saves the rest, and when this thread is switched back in it releases the scheduler lock
    // (preempt_irq_resume) and gets its FP state back from the frame.
    "2:",
    "mrs x2, cpacr_el1",
    "tbnz x2, #20, 4f",
    "mov x2, #{fp_on}",
    "msr cpacr_el1, x2",
    "isb",
    "IRQ_SAVE_FP sp, x2",
    "4:",
    "bl switch_context_irq",
    "bl preempt_irq_resume",
    // The FP state from the frame.
    "3:",
    "ldp x0, x1, [sp, #{fpcr}]",
    "msr fpcr, x0",
    "msr fpsr, x1",
    q_pairs!("ldp", "sp"),
    "b 1b",
    "",
    // An FP/SIMD access trapped in the interrupt handler (from the EL1h synchronous vector,
    // x0 parked in TPIDRRO_EL0): save the interrupted thread's FP state into the IRQ frame at
    // SP_EL0, turn access on and run the instruction again.
    ".global preempt_fp_trap",
    "preempt_fp_trap:",
    "mrs x0, sp_el0",
    "str x1, [x0, #{scratch}]",
    "mov x1, #{fp_on}",
    "msr cpacr_el1, x1",
    "isb",
    "IRQ_SAVE_FP x0, x1",
    "ldr x1, [x0, #{scratch}]",
    "mrs x0, tpidrro_el0",
    "eret",
    size = const IRQ_FRAME_SIZE,
    x = const I_X,
    elr = const I_ELR,
    fpcr = const I_FPCR,
    fpsr = const I_FPSR,
    scratch = const I_SCRATCH,
    q = const I_Q,
    irq_reserve = const IRQ_EXIT_RESERVE,
    fp_on = const CPACR_FP_ON,
);
