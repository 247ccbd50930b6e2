//! The exception vector table and the exception frame.
//!
//! Threads and the kernel code they call run on `SP_EL0` (EL1t); each core's `SP_EL1` is its
//! exception stack (see [`layout`](crate::layout)). A synchronous exception or a fatal one
//! stores the complete interrupted state — x0–x30, SP, ELR, SPSR, q0–q31, FPCR and FPSR — as
//! a [`Frame`]; an IRQ saves less, and its floating-point state lazily (see
//! [`irq_entry`](crate::irq_entry)).
//!
//! Where each kind goes:
//! - **IRQ from a thread** (the only interrupt: handlers run with IRQs masked). An
//!   [`IrqFrame`](crate::irq_entry::IrqFrame) is pushed on the interrupted thread's own stack,
//!   the stack is probed [`IRQ_EXIT_RESERVE`] bytes further down, and the handler
//!   `preempt_irq` runs on the exception stack. If it decided on a switch, the vector makes it
//!   back on the thread's stack ([`switch_context_irq`](crate::context::switch_context_irq)):
//!   the frame stays on the interrupted thread's stack until a later switch returns into the
//!   vector, which calls `preempt_irq_resume` and `eret`s. That is why one context format
//!   serves both the cooperative and the interrupt path, and why interrupt handlers never run
//!   on a thread's stack. A thread stack too full for the frame or the probe faults in the
//!   entry code ([`is_irq_entry`]) — before anything is acknowledged — and the kernel ends that
//!   thread for a stack overflow.
//! - **Synchronous exception from a thread or the kernel on `SP_EL0`** (a fault, `udf`, `brk`):
//!   the frame goes on the exception stack and `preempt_exception` decides. The faulting stack
//!   is never touched, so an overflow into a guard page or a wild stack pointer is handled like
//!   any other fault. The kernel may rewrite the frame (and `SP_EL0`) to resume elsewhere.
//! - **An FP/SIMD access trapped in an interrupt handler** (synchronous, on `SP_EL1`, class
//!   0x07): saved into the IRQ frame and resumed (`preempt_fp_trap`, see
//!   [`irq_entry`](crate::irq_entry)). FP access is off only while `preempt_irq` runs.
//! - **Anything else taken while already on the exception stack** (a fault in an interrupt
//!   handler or a fault handler, an overflow of the exception stack itself), and anything from
//!   a lower EL: the vector moves to the core's fatal stack — found from the core number alone,
//!   without touching memory — turns FP access on, and `preempt_exception` reports and stops.
//!   (FIQ and SError taken from `SP_EL0` are fatal too, but are reported from the exception
//!   stack, which is intact then.)
//!
//! Contract with the kernel: it defines
//! `#[no_mangle] extern "C" fn preempt_exception(kind: u64, frame: &mut Frame)` (`kind` is the
//! vector index, see [`ExceptionKind`]), `extern "C" fn preempt_irq() -> IrqSwitch` (see
//! [`IrqSwitch`](crate::irq_entry::IrqSwitch)) and `extern "C" fn preempt_irq_resume()`, called
//! by a thread switched away from by an interrupt when it is switched back in, to release the
//! scheduler lock handed over. All are entered with IRQs masked. `TPIDRRO_EL0` is the vectors'
//! scratch register (no code runs at EL0).

use core::mem::{offset_of, size_of};

use crate::irq_entry::{CPACR_FP_ON, IRQ_FRAME_SIZE};
use crate::layout::{CPU_STACKS_SHIFT, EXCEPTION_STACK_SIZE, FATAL_STACK_TOP, MAX_CPUS};

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
    /// The interrupted code's stack pointer for an exception from `SP_EL0` (thread and kernel
    /// code); for a nested exception (taken on `SP_EL1`) the `SP_EL0` of the code the first
    /// exception interrupted, since the fatal vector replaces `SP_EL1` before saving.
    pub sp: u64,
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
const F_SP: usize = offset_of!(Frame, sp);
const F_Q: usize = offset_of!(Frame, q);

// Pairs stored with one stp/ldp must be adjacent; immediates must fit their encodings.
const _: () = assert!(F_X == 0 && F_ELR == F_X + 31 * 8);
const _: () = assert!(F_FPCR == F_SPSR + 8 && F_SP == F_FPSR + 8);
const _: () = assert!(F_Q.is_multiple_of(16) && F_Q + 30 * 16 <= 1008);
const _: () = assert!(FRAME_SIZE.is_multiple_of(16) && FRAME_SIZE < 4096);

const _: () = assert!(EXCEPTION_STACK_SIZE > 4 * FRAME_SIZE);

pub use crate::irq_entry::IRQ_EXIT_RESERVE;
const _: () = assert!(MAX_CPUS.is_power_of_two());

/// `ESR_EL1.EC` of an FP/SIMD access trapped by `CPACR_EL1.FPEN`.
const EC_FP_TRAP: u64 = 0x07;

/// `SPSR_EL1.M` for EL1 using `SP_EL0` (EL1t).
const SPSR_M_EL1T: u64 = 0b0100;
/// `SPSR_EL1` D, A, I and F: every exception masked.
const SPSR_DAIF: u64 = 0b1111 << 6;

impl Frame {
    /// The stack pointer of the interrupted code.
    pub fn interrupted_sp(&self) -> u64 {
        self.sp
    }

    /// Makes the exception return into `entry`, called with no arguments on a fresh stack
    /// whose top is `sp`, at EL1t with every exception masked (the interrupted code is
    /// abandoned; `entry` unmasks what it needs). The frame pointer and link register are
    /// cleared so that backtraces stop there.
    ///
    /// # Safety
    /// Only from the handler of an exception taken from `SP_EL0` (kind
    /// [`ExceptionKind::Sync`]), whose frame is on the exception stack. `sp` must be the
    /// 16-byte-aligned top of a stack that `entry` may use and nothing else uses any more.
    pub unsafe fn resume_at(&mut self, entry: extern "C" fn() -> !, sp: usize) {
        self.elr = entry as usize as u64;
        self.spsr = SPSR_M_EL1T | SPSR_DAIF;
        self.x[29] = 0;
        self.x[30] = 0;
        // SAFETY: in a handler on SP_EL1 (the contract); the stack is the caller's to give.
        unsafe { crate::cpu::set_sp_el0(sp & !15) };
    }
}

/// Whether `pc` is one of the IRQ entry's stores to the thread's stack or its probe: the frame
/// store in the vector, or anything from the start of the common entry code up to the probe.
/// A fault there means the interrupted thread's stack pointer had no room for the interrupt
/// (a full stack, or garbage that happened to leave the frame's lowest word mapped); no state
/// of the interrupted code is lost that the thread could still need, since it is ended.
pub fn is_irq_entry(pc: u64) -> bool {
    let pc = pc as usize;
    pc == symbol_address!("preempt_irq_frame_store")
        || (symbol_address!("preempt_irq_common")..=symbol_address!("preempt_irq_probe"))
            .contains(&pc)
}

/// Which of the 16 vectors was taken (IRQs from threads go to `preempt_irq` instead).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExceptionKind {
    /// Synchronous exception from thread or kernel code on `SP_EL0`: a fault, `udf`, `brk`.
    /// Handled on the exception stack; the frame is on that stack.
    Sync,
    /// Synchronous exception taken while on the exception stack (in an interrupt handler or a
    /// fault handler), including an overflow of the exception stack. Always fatal; handled on
    /// the fatal stack.
    Nested,
    /// FIQ (not used by preempt).
    Fiq,
    /// System error.
    SError,
    /// An IRQ on the exception stack (handlers run with IRQs masked) or anything from a lower
    /// EL (nothing runs there).
    Unexpected(u64),
}

impl ExceptionKind {
    /// Decodes the vector index handed to `preempt_exception`.
    pub fn from_index(kind: u64) -> Self {
        match kind {
            0 => Self::Sync,
            4 => Self::Nested,
            2 | 6 => Self::Fiq,
            3 | 7 => Self::SError,
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
    // x2–x30, ELR, SPSR, FPCR, FPSR, q0–q31 into the frame at sp (x0/x1 are stored by the
    // vector); the frame's SP field is the caller's business.
    ".macro SAVE_REST",
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
    q_pairs!("stp", "sp"),
    ".endm",
    "",
    // Everything but SP back from the frame at sp, then pop it and return.
    ".macro RESTORE_ERET",
    q_pairs!("ldp", "sp"),
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
    ".endm",
    "",
    // A synchronous exception (or FIQ/SError) from SP_EL0: the frame on the exception stack.
    ".macro VECTOR_SYNC kind",
    ".balign 0x80",
    "sub sp, sp, #{size}",
    "stp x0, x1, [sp, #{x}]",
    "mov x0, #\\kind",
    "b preempt_sync_common",
    ".endm",
    "",
    // Anything on SP_EL1 or from a lower EL, x0 already parked in TPIDRRO_EL0: move to this
    // core's fatal stack first, found from the core number (core block = __cpu_stacks_start +
    // (core << shift)) with no memory access, because the exception stack may be the one that
    // overflowed; turn FP access on (a fault in an interrupt handler leaves it off).
    ".macro FATAL_BODY kind",
    "mrs x0, mpidr_el1",
    "ubfiz x0, x0, #{shift}, #{cpu_bits}",
    "add x0, x0, #{fatal_top}",
    "mov sp, x0",
    "adrp x0, __cpu_stacks_start",
    "add x0, x0, :lo12:__cpu_stacks_start",
    "add sp, sp, x0",
    "mov x0, #{fp_on}",
    "msr cpacr_el1, x0",
    "isb",
    "mrs x0, tpidrro_el0",
    "sub sp, sp, #{size}",
    "stp x0, x1, [sp, #{x}]",
    "mov x0, #\\kind",
    "b preempt_sync_common",
    ".endm",
    ".macro VECTOR_FATAL kind",
    ".balign 0x80",
    "msr tpidrro_el0, x0",
    "FATAL_BODY \\kind",
    ".endm",
    "",
    ".section .text.preempt_vectors, \"ax\"",
    ".global preempt_vectors",
    ".balign 0x800",
    "preempt_vectors:",
    "VECTOR_SYNC 0",
    // IRQ from SP_EL0: the frame goes on the interrupted thread's stack (irq_entry.rs).
    ".balign 0x80",
    "msr spsel, #0",
    "sub sp, sp, #{irq_size}",
    ".global preempt_irq_frame_store",
    "preempt_irq_frame_store:",
    "stp x0, x1, [sp]",
    "b preempt_irq_common",
    "VECTOR_SYNC 2", "VECTOR_SYNC 3",
    // Synchronous on SP_EL1: an FP/SIMD trap in an interrupt handler is resumed; anything
    // else is fatal.
    ".balign 0x80",
    "msr tpidrro_el0, x0",
    "mrs x0, esr_el1",
    "lsr x0, x0, #26",
    "cmp x0, #{ec_fp}",
    "b.eq preempt_fp_trap",
    "FATAL_BODY 4",
    "VECTOR_FATAL 5", "VECTOR_FATAL 6", "VECTOR_FATAL 7",
    "VECTOR_FATAL 8", "VECTOR_FATAL 9", "VECTOR_FATAL 10", "VECTOR_FATAL 11",
    "VECTOR_FATAL 12", "VECTOR_FATAL 13", "VECTOR_FATAL 14", "VECTOR_FATAL 15",
    "",
    "preempt_sync_common:",
    "SAVE_REST",
    "mrs x2, fpsr",
    "mrs x3, sp_el0",
    "stp x2, x3, [sp, #{fpsr}]",
    "mov x1, sp",
    "bl preempt_exception",
    "RESTORE_ERET",
    "",
    size = const FRAME_SIZE,
    x = const F_X,
    spsr = const F_SPSR,
    fpsr = const F_FPSR,
    q = const F_Q,
    shift = const CPU_STACKS_SHIFT,
    cpu_bits = const MAX_CPUS.trailing_zeros(),
    fatal_top = const FATAL_STACK_TOP,
    irq_size = const IRQ_FRAME_SIZE,
    fp_on = const CPACR_FP_ON,
    ec_fp = const EC_FP_TRAP,
);
