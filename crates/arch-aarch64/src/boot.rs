//! The first instructions: whatever EL the firmware or QEMU enters at, reach EL1 with the
//! exception stack on `SP_EL1`, the boot stack on `SP_EL0` selected (EL1t), a zeroed BSS, FP/SIMD
//! enabled and the vector table installed, then call the kernel.
//!
//! From here on every thread, the kernel code they call and the idle loop run on `SP_EL0`
//! (EL1t); `SP_EL1` is the core's exception stack, which the vectors use for interrupt handlers
//! and faults, so a fault caused by an overflowing or wild thread stack is handled on a stack
//! that still works (see `exception.rs` and `layout.rs`).
//!
//! FP/SIMD must be on before any Rust runs because the compiler emits NEON for ordinary code.
//! From EL2 the boot code also grants EL1 the physical timer and counter (`CNTHCTL_EL2`),
//! stops FP traps (`CPTR_EL2`), sets the virtual MPIDR/MIDR (which EL1 reads while EL2 exists)
//! and, when a GICv3 is present, lets EL1 use its system-register interface (`ICC_SRE_EL2`).
//! From EL3 (QEMU starts an ELF on raspi3b there) it first drops to EL2 with the same path.
//!
//! Secondary cores park in a `wfe` loop for now; SMP bring-up starts them through PSCI or the
//! spin table and gives each its own boot stack slot (the linker reserves four). A board whose
//! firmware holds the secondaries in a spin table of its own (the Raspberry Pi's) may move them
//! to [`park_entry`] instead, where they wait in `wfi` with interrupts masked.
//!
//! Contract with the kernel: it defines `#[no_mangle] extern "C" fn preempt_kernel_main(dtb:
//! usize) -> !`, called on core 0 with x0 as the loader left it, and the linker script defines
//! `__cpu_stacks_start` (the per-core stack blocks of [`layout`](crate::layout)), `__bss_start`
//! and `__bss_end` (8-byte aligned).

use crate::layout::{BOOT_STACK_TOP, EXCEPTION_STACK_TOP};

/// Value of `SCTLR_EL1` at boot: RES1 bits set; MMU, caches and data alignment checks off;
/// SP alignment check on (SA), little-endian. (`0x30d0_0808` = bits 29, 28, 23, 22, 20, 11, 3.)
pub const SCTLR_EL1_BOOT: u64 = 0x30d0_0808;

/// The address of the secondary-core park loop, to hand to a firmware spin table: masks
/// every exception and waits in `wfi` for good, touching no memory and no stack, at whatever
/// EL and MMU state the core arrives in.
///
/// `wfi` rather than the spin tables' usual `wfe`: both are low-power waits on hardware, but
/// QEMU treats `wfe` as a yield, so cores spinning on it keep emulating instructions — which
/// burns host CPU and, under `-icount`, stops idle time from being skipped.
pub fn park_entry() -> usize {
    #[cfg(target_arch = "aarch64")]
    {
        let addr: usize;
        // SAFETY: computes the address of a symbol; no memory access.
        unsafe {
            core::arch::asm!(
                "adrp {0}, preempt_park_secondary",
                "add {0}, {0}, :lo12:preempt_park_secondary",
                out(reg) addr,
                options(nomem, nostack, preserves_flags)
            )
        };
        addr
    }
    #[cfg(not(target_arch = "aarch64"))]
    0
}

// Not in `.text.boot`: that section must start with `_start`, the image's first instruction.
#[cfg(target_arch = "aarch64")]
core::arch::global_asm!(
    ".section .text.preempt_park, \"ax\"",
    ".global preempt_park_secondary",
    ".type preempt_park_secondary, %function",
    "preempt_park_secondary:",
    "msr daifset, #0xf",
    "9: wfi",
    "b 9b",
    ".size preempt_park_secondary, . - preempt_park_secondary",
);

#[cfg(target_arch = "aarch64")]
core::arch::global_asm!(
    ".section .text.boot, \"ax\"",
    ".global _start",
    ".type _start, %function",
    "_start:",
    "mov x20, x0",                        // keep the device-tree pointer
    "mrs x1, mpidr_el1",
    "and x1, x1, #0xff",
    "cbz x1, 2f",
    "1: wfe",
    "b 1b",
    "2:",
    "mrs x1, currentel",
    "lsr x1, x1, #2",
    "cmp x1, #3",
    "b.ne 3f",
    // EL3 -> EL2: non-secure, AArch64 below, HVC enabled.
    "mov x1, #0x5b1",
    "msr scr_el3, x1",
    "mov x1, #0x3c9",                    // EL2h, DAIF masked
    "msr spsr_el3, x1",
    "adr x1, 3f",
    "msr elr_el3, x1",
    "eret",
    "3:",
    "mrs x1, currentel",
    "lsr x1, x1, #2",
    "cmp x1, #2",
    "b.ne 5f",
    // EL2 -> EL1.
    "mov x1, #(1 << 31)",                // HCR_EL2.RW: EL1 is AArch64
    "msr hcr_el2, x1",
    "mov x1, #3",                        // EL1PCTEN | EL1PCEN
    "msr cnthctl_el2, x1",
    "msr cntvoff_el2, xzr",
    "mov x1, #0x33ff",                   // CPTR_EL2: no FP/SIMD traps
    "msr cptr_el2, x1",
    "msr hstr_el2, xzr",
    "mrs x1, midr_el1",
    "msr vpidr_el2, x1",
    "mrs x1, mpidr_el1",
    "msr vmpidr_el2, x1",
    "mrs x1, id_aa64pfr0_el1",
    "ubfx x1, x1, #24, #4",              // GIC system-register interface present?
    "cbz x1, 4f",
    "mrs x1, icc_sre_el2",
    "mov x2, #0x9",                      // SRE | Enable (EL1 may use ICC_SRE_EL1)
    "orr x1, x1, x2",
    "msr icc_sre_el2, x1",
    "isb",
    "4:",
    "ldr x1, ={sctlr}",
    "msr sctlr_el1, x1",
    "mov x1, #0x3c5",                    // EL1h, DAIF masked
    "msr spsr_el2, x1",
    "adr x1, 5f",
    "msr elr_el2, x1",
    "eret",
    "5:",
    "ldr x1, ={sctlr}",
    "msr sctlr_el1, x1",
    "mov x1, #(3 << 20)",                // CPACR_EL1.FPEN: no FP/SIMD traps at EL1/EL0
    "msr cpacr_el1, x1",
    "adrp x1, preempt_vectors",
    "add x1, x1, :lo12:preempt_vectors",
    "msr vbar_el1, x1",
    "isb",
    // Core 0's block: SP_EL1 = its exception stack, then select SP_EL0 = its boot stack.
    "adrp x1, __cpu_stacks_start",
    "add x1, x1, :lo12:__cpu_stacks_start",
    "add x2, x1, #{exc_top}",
    "mov sp, x2",
    "msr spsel, #0",
    "add x2, x1, #{boot_top}",
    "mov sp, x2",
    "adrp x1, __bss_start",
    "add x1, x1, :lo12:__bss_start",
    "adrp x2, __bss_end",
    "add x2, x2, :lo12:__bss_end",
    "6: cmp x1, x2",
    "b.hs 7f",
    "str xzr, [x1], #8",
    "b 6b",
    "7:",
    "mov x0, x20",
    "mov x29, xzr",
    "mov x30, xzr",
    "bl preempt_kernel_main",
    "8: wfe",
    "b 8b",
    ".size _start, . - _start",
    sctlr = const SCTLR_EL1_BOOT,
    exc_top = const EXCEPTION_STACK_TOP,
    boot_top = const BOOT_STACK_TOP,
);
