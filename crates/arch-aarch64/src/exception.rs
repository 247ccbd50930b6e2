//! The exception vector table and the exception frame.
//!
//! Every exception, whatever its kind, stores the complete interrupted state — x0–x30, ELR,
//! SPSR, q0–q31, FPCR and FPSR — as a [`Frame`] on the current stack, then calls the kernel's
//! `preempt_exception(kind, frame)`. Saving all of q0–q31 even for an IRQ is deliberate: Rust
//! emits NEON for ordinary code (memcpy, struct moves) anywhere in the kernel, the ABI keeps only
//! the low halves of v8–v15, and a lazy-FP trap would fire on the kernel's own use at EL1.
//!
//! When the handler decides to run another thread it calls
//! [`switch_context`](crate::switch_context) from inside the handler; the frame stays on the
//! interrupted thread's stack until a later switch returns into the handler and the restore
//! path below `eret`s from it. That is why one context format serves both the cooperative and
//! the interrupt path.
//!
//! Contract with the kernel: it defines
//! `#[no_mangle] extern "C" fn preempt_exception(kind: u64, frame: &mut Frame)`, where `kind` is
//! the vector index (see [`ExceptionKind`]). It is entered with IRQs masked.

use core::mem::{offset_of, size_of};

/// The full interrupted state, as saved by the vector table.
#[repr(C, align(16))]
#[derive(Debug, Clone)]
pub struct Frame {
    /// x0–x30.
    pub x: [u64; 31],
    /// Where the exception returns to (`ELR_EL1`).
    pub elr: u64,
    /// The interrupted PSTATE (`SPSR_EL1`), NZCV and the interrupt masks included.
    pub spsr: u64,
    /// Floating-point control register.
    pub fpcr: u64,
    /// Floating-point status register.
    pub fpsr: u64,
    _pad: u64,
    /// q0–q31.
    pub q: [u128; 32],
}

/// Size of a [`Frame`] on the stack.
pub const FRAME_SIZE: usize = size_of::<Frame>();
const F_X: usize = offset_of!(Frame, x);
const F_ELR: usize = offset_of!(Frame, elr);
const F_SPSR: usize = offset_of!(Frame, spsr);
const F_FPCR: usize = offset_of!(Frame, fpcr);
const F_FPSR: usize = offset_of!(Frame, fpsr);
const F_Q: usize = offset_of!(Frame, q);

// Pairs stored with one stp/ldp must be adjacent; immediates must fit their encodings.
const _: () = assert!(F_X == 0 && F_ELR == F_X + 31 * 8);
const _: () = assert!(F_FPCR == F_SPSR + 8);
const _: () = assert!(F_Q.is_multiple_of(16) && F_Q + 30 * 16 <= 1008);
const _: () = assert!(FRAME_SIZE.is_multiple_of(16) && FRAME_SIZE < 4096);

impl Frame {
    /// The stack pointer at the moment of the exception (just above this frame).
    pub fn interrupted_sp(&self) -> u64 {
        self as *const Frame as u64 + FRAME_SIZE as u64
    }
}

/// Which of the 16 vectors was taken.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExceptionKind {
    /// Synchronous exception from the kernel or a thread (current EL, SP_ELx): faults, `brk`.
    Sync,
    /// IRQ while running at EL1 on SP_EL1: the normal interrupt path.
    Irq,
    /// FIQ (not used by preempt).
    Fiq,
    /// System error.
    SError,
    /// Anything taken on SP_EL0 or from a lower EL; preempt never runs there.
    Unexpected(u64),
}

impl ExceptionKind {
    /// Decodes the vector index handed to `preempt_exception`.
    pub fn from_index(kind: u64) -> Self {
        match kind {
            4 => Self::Sync,
            5 => Self::Irq,
            6 => Self::Fiq,
            7 => Self::SError,
            k => Self::Unexpected(k),
        }
    }
}

/// Points `VBAR_EL1` at the vector table. Boot does this before any Rust runs; this function
/// exists for cores brought up later.
pub fn install_vectors() {
    extern "C" {
        static preempt_vectors: u8;
    }
    // SAFETY: the vector table is a static, 2 KiB-aligned part of the image; writing VBAR_EL1
    // only changes where this core's exceptions go.
    unsafe {
        core::arch::asm!(
            "msr vbar_el1, {0}",
            "isb",
            in(reg) core::ptr::addr_of!(preempt_vectors),
            options(nostack)
        )
    }
}

#[cfg(target_arch = "aarch64")]
core::arch::global_asm!(
    ".macro VECTOR kind",
    ".balign 0x80",
    "sub sp, sp, #{size}",
    "stp x0, x1, [sp, #{x}]",
    "mov x0, #\\kind",
    "b preempt_exception_common",
    ".endm",
    "",
    ".section .text.preempt_vectors, \"ax\"",
    ".global preempt_vectors",
    ".balign 0x800",
    "preempt_vectors:",
    "VECTOR 0", "VECTOR 1", "VECTOR 2", "VECTOR 3",
    "VECTOR 4", "VECTOR 5", "VECTOR 6", "VECTOR 7",
    "VECTOR 8", "VECTOR 9", "VECTOR 10", "VECTOR 11",
    "VECTOR 12", "VECTOR 13", "VECTOR 14", "VECTOR 15",
    "",
    "preempt_exception_common:",
    "stp x2, x3, [sp, #{x} + 16]",
    "stp x4, x5, [sp, #{x} + 32]",
    "stp x6, x7, [sp, #{x} + 48]",
    "stp x8, x9, [sp, #{x} + 64]",
    "stp x10, x11, [sp, #{x} + 80]",
    "stp x12, x13, [sp, #{x} + 96]",
    "stp x14, x15, [sp, #{x} + 112]",
    "stp x16, x17, [sp, #{x} + 128]",
    "stp x18, x19, [sp, #{x} + 144]",
    "stp x20, x21, [sp, #{x} + 160]",
    "stp x22, x23, [sp, #{x} + 176]",
    "stp x24, x25, [sp, #{x} + 192]",
    "stp x26, x27, [sp, #{x} + 208]",
    "stp x28, x29, [sp, #{x} + 224]",
    "mrs x2, elr_el1",
    "stp x30, x2, [sp, #{x} + 240]",
    "mrs x2, spsr_el1",
    "mrs x3, fpcr",
    "stp x2, x3, [sp, #{spsr}]",
    "mrs x2, fpsr",
    "str x2, [sp, #{fpsr}]",
    "stp q0, q1, [sp, #{q} + 0]",
    "stp q2, q3, [sp, #{q} + 32]",
    "stp q4, q5, [sp, #{q} + 64]",
    "stp q6, q7, [sp, #{q} + 96]",
    "stp q8, q9, [sp, #{q} + 128]",
    "stp q10, q11, [sp, #{q} + 160]",
    "stp q12, q13, [sp, #{q} + 192]",
    "stp q14, q15, [sp, #{q} + 224]",
    "stp q16, q17, [sp, #{q} + 256]",
    "stp q18, q19, [sp, #{q} + 288]",
    "stp q20, q21, [sp, #{q} + 320]",
    "stp q22, q23, [sp, #{q} + 352]",
    "stp q24, q25, [sp, #{q} + 384]",
    "stp q26, q27, [sp, #{q} + 416]",
    "stp q28, q29, [sp, #{q} + 448]",
    "stp q30, q31, [sp, #{q} + 480]",
    "mov x1, sp",
    "bl preempt_exception",
    "ldp q0, q1, [sp, #{q} + 0]",
    "ldp q2, q3, [sp, #{q} + 32]",
    "ldp q4, q5, [sp, #{q} + 64]",
    "ldp q6, q7, [sp, #{q} + 96]",
    "ldp q8, q9, [sp, #{q} + 128]",
    "ldp q10, q11, [sp, #{q} + 160]",
    "ldp q12, q13, [sp, #{q} + 192]",
    "ldp q14, q15, [sp, #{q} + 224]",
    "ldp q16, q17, [sp, #{q} + 256]",
    "ldp q18, q19, [sp, #{q} + 288]",
    "ldp q20, q21, [sp, #{q} + 320]",
    "ldp q22, q23, [sp, #{q} + 352]",
    "ldp q24, q25, [sp, #{q} + 384]",
    "ldp q26, q27, [sp, #{q} + 416]",
    "ldp q28, q29, [sp, #{q} + 448]",
    "ldp q30, q31, [sp, #{q} + 480]",
    "ldr x2, [sp, #{fpsr}]",
    "msr fpsr, x2",
    "ldp x2, x3, [sp, #{spsr}]",
    "msr spsr_el1, x2",
    "msr fpcr, x3",
    "ldp x30, x2, [sp, #{x} + 240]",
    "msr elr_el1, x2",
    "ldp x0, x1, [sp, #{x} + 0]",
    "ldp x2, x3, [sp, #{x} + 16]",
    "ldp x4, x5, [sp, #{x} + 32]",
    "ldp x6, x7, [sp, #{x} + 48]",
    "ldp x8, x9, [sp, #{x} + 64]",
    "ldp x10, x11, [sp, #{x} + 80]",
    "ldp x12, x13, [sp, #{x} + 96]",
    "ldp x14, x15, [sp, #{x} + 112]",
    "ldp x16, x17, [sp, #{x} + 128]",
    "ldp x18, x19, [sp, #{x} + 144]",
    "ldp x20, x21, [sp, #{x} + 160]",
    "ldp x22, x23, [sp, #{x} + 176]",
    "ldp x24, x25, [sp, #{x} + 192]",
    "ldp x26, x27, [sp, #{x} + 208]",
    "ldp x28, x29, [sp, #{x} + 224]",
    "add sp, sp, #{size}",
    "eret",
    size = const FRAME_SIZE,
    x = const F_X,
    spsr = const F_SPSR,
    fpsr = const F_FPSR,
    q = const F_Q,
);
