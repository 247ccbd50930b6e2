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
//! The register values of that path are typed constants (`boot_regs`), not literals.
//!
//! Secondary cores: a core other than 0 that enters `_start` waits in `wfe` for good. The
//! others are started by the kernel once it is ready for them, at [`secondary_entry`]: through
//! PSCI `CPU_ON` (QEMU `virt`), or out of the park loop ([`park_entry`]) where a board whose
//! firmware holds the secondaries in a spin table (the Raspberry Pi's) moved them early, and
//! whence [`release_parked`] lets them go. A secondary takes the same path to EL1 as core 0
//! (one subroutine, `preempt_to_el1`), then its own stack block from its core number — no
//! BSS clearing, core 0 did that — and calls the kernel with its MMU still off.
//!
//! Contract with the kernel: it defines `#[no_mangle] extern "C" fn preempt_kernel_main(dtb:
//! usize) -> !`, called on core 0 with x0 as the loader left it, and `#[no_mangle] extern "C"
//! fn preempt_secondary_main(core: usize) -> !` for every other core (which must turn its MMU
//! on with the tables core 0 built before any atomic read-modify-write); the linker script defines
//! `__cpu_stacks_start` (the per-core stack blocks of [`layout`](crate::layout)), `__bss_start`
//! and `__bss_end` (8-byte aligned).

use core::sync::atomic::{AtomicU64, Ordering};

use crate::boot_regs;
use crate::layout::{BOOT_STACK_TOP, CPU_STACKS_SHIFT, EXCEPTION_STACK_TOP, MAX_CPUS};

/// Cleans and invalidates `core`'s boot stack in the caller's data cache, before that core is
/// started: the new core writes its boot stack with its MMU and caches off (straight to
/// memory) until [`mmu::enable_on_core`](crate::mmu::enable_on_core), so no cache may hold a
/// line of it that a later eviction would write back over those writes, or that would hide
/// them once the core reads through its caches.
pub fn clean_boot_stack(core: usize) {
    let range = crate::stacks::range(core, crate::stacks::CpuStack::Boot);
    #[cfg(target_arch = "aarch64")]
    for line in range.step_by(CACHE_LINE) {
        // SAFETY: cache maintenance by address of mapped RAM (the boot stack, never a guard
        // page); it changes no memory contents.
        unsafe {
            core::arch::asm!("dc civac, {0}", in(reg) line, options(nostack, preserves_flags))
        };
    }
    #[cfg(not(target_arch = "aarch64"))]
    let _ = range;
    #[cfg(target_arch = "aarch64")]
    // SAFETY: a barrier; the maintenance above completes before the core is started.
    unsafe {
        core::arch::asm!("dsb sy", options(nostack, preserves_flags))
    };
}

/// The smallest data-cache line of the cores this layer runs on (Cortex-A53: 64 bytes), the
/// step of by-address cache maintenance.
const CACHE_LINE: usize = 64;

pub use crate::boot_regs::SCTLR_EL1_BOOT;

/// Per-core release words of the park loop ([`park_entry`]): 0 while the core stays parked,
/// else the address it jumps to. Read by the parked core with its MMU and caches off, so the
/// writer cleans the word to the point of coherency ([`release_parked`]). In BSS, zeroed by
/// core 0 before any core can be moved to the park loop.
#[no_mangle]
static PREEMPT_PARK_RELEASE: [AtomicU64; MAX_CPUS] = [const { AtomicU64::new(0) }; MAX_CPUS];

/// The address of the secondary-core park loop, to hand to a firmware spin table: masks
/// every exception and waits in `wfi` until its release word says where to go, at whatever
/// EL and MMU state the core arrives in. It touches no stack and reads nothing but its
/// release word (with the MMU off: straight from memory).
///
/// `wfi` rather than the spin tables' usual `wfe`: both are low-power waits on hardware, but
/// QEMU treats `wfe` as a yield, so cores spinning on it keep emulating instructions — which
/// burns host CPU and, under `-icount`, stops idle time from being skipped. A parked core
/// therefore has to be woken by an interrupt (pending, though masked), not by `sev`: see
/// [`release_parked`].
pub fn park_entry() -> usize {
    symbol_address!("preempt_park_secondary")
}

/// The entry point of a secondary core (for PSCI `CPU_ON` and for [`release_parked`]): the
/// same EL3/EL2 → EL1 path as core 0, FP on, vectors, the core's own stack block (from its
/// number, `MPIDR_EL1` Aff0), no BSS clearing, then `preempt_secondary_main(core)` with the
/// MMU still off. A core whose number has no stack block waits forever instead.
pub fn secondary_entry() -> usize {
    symbol_address!("preempt_secondary_entry")
}

/// Tells the parked core `core` to jump to `entry` (normally [`secondary_entry`]): writes its
/// release word and cleans it to the point of coherency, so that the core, whose MMU and
/// caches are off, reads it from memory. The caller must then wake the core with an
/// interrupt (it waits in `wfi` with exceptions masked, where `sev` does not reach it).
/// Returns `false` for a core number without a release word.
pub fn release_parked(core: usize, entry: usize) -> bool {
    let Some(word) = PREEMPT_PARK_RELEASE.get(core) else {
        return false;
    };
    word.store(entry as u64, Ordering::Release);
    #[cfg(target_arch = "aarch64")]
    // SAFETY: cache maintenance of one line of a static and barriers; no memory is changed.
    unsafe {
        core::arch::asm!(
            "dc cvac, {0}",
            "dsb sy",
            in(reg) word.as_ptr(),
            options(nostack, preserves_flags)
        )
    };
    true
}

// Not in `.text.boot`: that section must start with `_start`, the image's first instruction.
#[cfg(target_arch = "aarch64")]
core::arch::global_asm!(
    ".section .text.preempt_park, \"ax\"",
    ".global preempt_park_secondary",
    ".type preempt_park_secondary, %function",
    "preempt_park_secondary:",
    "msr daifset, #0xf",
    "mrs x1, mpidr_el1",
    "and x1, x1, #0xff",
    "cmp x1, #{max_cpus}",
    "b.hs 9f",
    "adrp x2, PREEMPT_PARK_RELEASE",
    "add x2, x2, :lo12:PREEMPT_PARK_RELEASE",
    "8: ldr x3, [x2, x1, lsl #3]",
    "cbnz x3, 7f",
    "wfi",
    "b 8b",
    "7: br x3",
    "9: wfi",
    "b 9b",
    ".size preempt_park_secondary, . - preempt_park_secondary",
    "",
    // A secondary core's first instructions (PSCI CPU_ON, or out of the park loop).
    ".global preempt_secondary_entry",
    ".type preempt_secondary_entry, %function",
    "preempt_secondary_entry:",
    "msr daifset, #0xf",
    "bl preempt_to_el1",
    "mrs x1, mpidr_el1",
    "and x1, x1, #0xff",
    "cmp x1, #{max_cpus}",
    "b.hs 9b",
    "adrp x2, __cpu_stacks_start",
    "add x2, x2, :lo12:__cpu_stacks_start",
    "add x2, x2, x1, lsl #{shift}",
    "add x3, x2, #{exc_top}",
    "mov sp, x3",
    "msr spsel, #0",
    "add x3, x2, #{boot_top}",
    "mov sp, x3",
    "mov x0, x1",
    "mov x29, xzr",
    "mov x30, xzr",
    "bl preempt_secondary_main",
    "b 9b",
    ".size preempt_secondary_entry, . - preempt_secondary_entry",
    max_cpus = const MAX_CPUS,
    shift = const CPU_STACKS_SHIFT,
    exc_top = const EXCEPTION_STACK_TOP,
    boot_top = const BOOT_STACK_TOP,
);

// From whatever EL the core is in to EL1h with everything masked, FP on and the vectors
// installed; returns to x30 at EL1 (an `eret` keeps the general registers). Uses x1, x2 only.
#[cfg(target_arch = "aarch64")]
core::arch::global_asm!(
    ".section .text.preempt_park, \"ax\"",
    ".type preempt_to_el1, %function",
    "preempt_to_el1:",
    "mrs x1, currentel",
    "lsr x1, x1, #2",
    "cmp x1, #3",
    "b.ne 3f",
    // EL3 -> EL2: non-secure, AArch64 below, HVC enabled.
    "mov x1, #{scr_el3}",
    "msr scr_el3, x1",
    "mov x1, #{spsr_el3}",
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
    "mov x1, #{hcr_el2}",
    "msr hcr_el2, x1",
    "mov x1, #{cnthctl_el2}",
    "msr cnthctl_el2, x1",
    "msr cntvoff_el2, xzr",
    "mov x1, #{cptr_el2}",
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
    "mov x2, #{icc_sre_el2}",
    "orr x1, x1, x2",
    "msr icc_sre_el2, x1",
    "isb",
    "4:",
    "ldr x1, ={sctlr}",
    "msr sctlr_el1, x1",
    "mov x1, #{spsr_el2}",
    "msr spsr_el2, x1",
    "adr x1, 5f",
    "msr elr_el2, x1",
    "eret",
    "5:",
    "ldr x1, ={sctlr}",
    "msr sctlr_el1, x1",
    "mov x1, #{cpacr_el1}",
    "msr cpacr_el1, x1",
    "adrp x1, preempt_vectors",
    "add x1, x1, :lo12:preempt_vectors",
    "msr vbar_el1, x1",
    "isb",
    "ret",
    ".ltorg",
    ".size preempt_to_el1, . - preempt_to_el1",
    scr_el3 = const boot_regs::SCR_EL3_BOOT,
    spsr_el3 = const boot_regs::SPSR_EL3_BOOT,
    hcr_el2 = const boot_regs::HCR_EL2_BOOT,
    cnthctl_el2 = const boot_regs::CNTHCTL_EL2_BOOT,
    cptr_el2 = const boot_regs::CPTR_EL2_BOOT,
    icc_sre_el2 = const boot_regs::ICC_SRE_EL2_BOOT,
    spsr_el2 = const boot_regs::SPSR_EL2_BOOT,
    sctlr = const SCTLR_EL1_BOOT,
    cpacr_el1 = const boot_regs::CPACR_EL1_BOOT,
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
    "bl preempt_to_el1",
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
    exc_top = const EXCEPTION_STACK_TOP,
    boot_top = const BOOT_STACK_TOP,
);
