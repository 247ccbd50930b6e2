//! Small per-core primitives: interrupt masking, the core number, the per-CPU pointer.
//!
//! Interrupt masking is exposed only as save/restore pairs so that nesting is always right:
//! a caller never "enables" interrupts it did not itself disable.

use core::arch::asm;

/// The saved `DAIF` state returned by [`irq_save`], to be handed back to [`irq_restore`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[must_use]
pub struct IrqState(u64);

impl IrqState {
    /// The raw DAIF bits, for code that must carry the state through an integer (for example
    /// a `critical-section` restore token).
    pub fn to_bits(self) -> u64 {
        self.0
    }

    /// Rebuilds a state from [`to_bits`](Self::to_bits); only the D, A, I and F bits are kept.
    pub fn from_bits(bits: u64) -> Self {
        IrqState(bits & 0x3c0)
    }

    /// Whether IRQs were masked when this state was saved.
    pub fn was_masked(self) -> bool {
        self.0 & DAIF_I != 0
    }

    /// The state inside an interrupt handler (IRQs masked since the exception was taken), for
    /// code there that holds a lock taken without [`irq_save`].
    pub const IN_IRQ: IrqState = IrqState(DAIF_I);
}

/// `DAIF.I`: IRQs masked.
const DAIF_I: u64 = 1 << 7;

/// Bytes of stack that every IRQ-masked section may use: [`irq_save`] reads the stack this far
/// below the stack pointer before it masks IRQs. A thread with less room left faults there —
/// in its own code, with nothing locked — instead of inside a critical section, where the
/// kernel could not end it alone. At most a guard page, so that the read of a stack with
/// less room left always lands in its guard page.
pub const KERNEL_STACK_RESERVE: usize = 2 * 1024;
const _: () = assert!(KERNEL_STACK_RESERVE <= crate::layout::GUARD_SIZE);

/// Masks IRQs on this core and returns the previous mask state, after checking that the stack
/// has [`KERNEL_STACK_RESERVE`] bytes left (one load, see there).
#[inline(always)]
pub fn irq_save() -> IrqState {
    let daif: u64;
    // SAFETY: the load reads the caller's own stack (or faults in its guard page, which is the
    // point); reading DAIF and setting the I bit only changes this core's interrupt mask. The
    // asm is not `nomem` so that it also orders memory accesses.
    unsafe {
        asm!(
            "sub {0}, sp, #{reserve}",
            "ldr xzr, [{0}]",
            "mrs {0}, daif",
            "msr daifset, #2",
            out(reg) daif,
            reserve = const KERNEL_STACK_RESERVE,
            options(nostack)
        );
    }
    IrqState(daif)
}

/// [`irq_save`] without the stack check, for sections that use no stack at all (a few
/// register-only instructions, no calls): nothing in them can overflow.
#[inline(always)]
pub fn irq_save_stackless() -> IrqState {
    let daif: u64;
    // SAFETY: as in `irq_save`, without the load.
    unsafe {
        asm!("mrs {0}, daif", "msr daifset, #2", out(reg) daif, options(nostack));
    }
    IrqState(daif)
}

/// Restores the mask state saved by [`irq_save`].
#[inline(always)]
pub fn irq_restore(state: IrqState) {
    // SAFETY: writes back a DAIF value previously read on this core; only the interrupt mask
    // changes. Not `nomem`: memory accesses must not move across the unmask.
    unsafe { asm!("msr daif, {0}", in(reg) state.0, options(nostack)) }
}

/// Unmasks IRQs on this core.
///
/// Only the idle loop and a new thread's first instructions call this: everything else uses
/// [`irq_save`]/[`irq_restore`] pairs.
#[inline(always)]
pub fn irq_enable() {
    // SAFETY: clears the I bit of DAIF; affects only this core's interrupt mask.
    unsafe { asm!("msr daifclr, #2", options(nostack)) }
}

/// Whether IRQs are masked on this core right now.
#[inline(always)]
pub fn irqs_masked() -> bool {
    let daif: u64;
    // SAFETY: reads DAIF, no side effects.
    unsafe { asm!("mrs {0}, daif", out(reg) daif, options(nomem, nostack, preserves_flags)) }
    daif & DAIF_I != 0
}

/// Whether this code runs on the exception stack (`SPSel` = 1, `SP_EL1`): in an exception
/// handler — an interrupt handler, a fault handler or the fatal path. Thread code and the
/// kernel code it calls (including switches) run on `SP_EL0`.
#[inline(always)]
pub fn on_exception_stack() -> bool {
    let spsel: u64;
    // SAFETY: reads SPSel, no side effects.
    unsafe { asm!("mrs {0}, spsel", out(reg) spsel, options(nomem, nostack, preserves_flags)) }
    spsel & 1 != 0
}

/// The hint for a loop that waits for another core to change something (`yield`). On the
/// Cortex-A53 it is a no-op; under QEMU's `-icount`, where the cores take turns on one host
/// thread, it ends this core's turn so that the core waited for runs — where
/// `core::hint::spin_loop` (an `isb` on AArch64) would spin out the whole turn, up to 25 ms of
/// virtual time while no timer deadline is near.
#[inline(always)]
pub fn spin_hint() {
    // SAFETY: `yield` is a hint; it changes no state.
    unsafe { asm!("yield", options(nomem, nostack, preserves_flags)) }
}

/// Waits for an interrupt (`wfi`).
#[inline(always)]
pub fn wait_for_interrupt() {
    // SAFETY: `wfi` only suspends the core until an interrupt or event.
    unsafe { asm!("wfi", options(nomem, nostack, preserves_flags)) }
}

/// This core's number (MPIDR_EL1 affinity level 0), as used to index per-CPU data.
#[inline(always)]
pub fn core_id() -> usize {
    let mpidr: u64;
    // SAFETY: reads MPIDR_EL1, no side effects.
    unsafe { asm!("mrs {0}, mpidr_el1", out(reg) mpidr, options(nomem, nostack, preserves_flags)) }
    (mpidr & 0xff) as usize
}

/// Reads `TPIDR_EL1`, the kernel's per-CPU data pointer (0 until [`set_percpu`]).
#[inline(always)]
pub fn percpu() -> usize {
    let v: usize;
    // SAFETY: reads TPIDR_EL1, no side effects.
    unsafe { asm!("mrs {0}, tpidr_el1", out(reg) v, options(nomem, nostack, preserves_flags)) }
    v
}

/// Sets `TPIDR_EL1` to this core's per-CPU block.
///
/// # Safety
/// `ptr` must point to a per-CPU block that lives as long as the core runs; code that reads
/// [`percpu`] trusts it.
#[inline(always)]
pub unsafe fn set_percpu(ptr: usize) {
    // SAFETY: writes TPIDR_EL1, which only the kernel reads; validity is the caller's contract.
    unsafe { asm!("msr tpidr_el1, {0}", in(reg) ptr, options(nomem, nostack, preserves_flags)) }
}

/// Sets `SP_EL0`, the stack pointer of thread and kernel code, from an exception handler
/// running on the exception stack.
///
/// # Safety
/// Only in an exception handler (on `SP_EL1`), and `sp` must be a stack the interrupted code
/// may resume on when the handler returns.
pub unsafe fn set_sp_el0(sp: usize) {
    // SAFETY: the caller runs on SP_EL1, so this does not move its own stack; what the
    // interrupted code resumes on is the caller's contract.
    unsafe { asm!("msr sp_el0, {0}", in(reg) sp, options(nomem, nostack, preserves_flags)) }
}

/// Reads the current stack pointer.
#[inline(always)]
pub fn stack_pointer() -> usize {
    let sp: usize;
    // SAFETY: copies SP into a register.
    unsafe { asm!("mov {0}, sp", out(reg) sp, options(nomem, nostack, preserves_flags)) }
    sp
}

/// The exception level this code runs at (1 once boot has dropped from EL2).
#[inline(always)]
pub fn current_el() -> u8 {
    let el: u64;
    // SAFETY: reads CurrentEL, no side effects.
    unsafe { asm!("mrs {0}, currentel", out(reg) el, options(nomem, nostack, preserves_flags)) }
    ((el >> 2) & 3) as u8
}
