//! The performance monitors (PMUv3): counting retired instructions and cycles.
//!
//! The benchmarks measure kernel paths in *instructions*: under QEMU's `-icount shift=0` every
//! instruction takes one virtual nanosecond and QEMU's `INST_RETIRED` event is exact (it is
//! derived from the same instruction count), so a measurement is reproducible to the
//! instruction. On hardware the same counter gives retired instructions, and the cycle counter
//! gives cycles.
//!
//! [`enable`] programs event counter 0 with event `0x08` (`INST_RETIRED`, instruction
//! architecturally executed) through `PMSELR_EL0`/`PMXEVTYPER_EL0`, makes the cycle counter 64
//! bits wide, resets both, and starts them (`PMCNTENSET_EL0`, `PMCR_EL0.E`). Both count at EL1
//! and EL0 (the filter bits are zero); nothing runs at EL2 once boot has dropped to EL1.
//!
//! On ARMv8.0 (the Cortex-A53) event counters are 32 bits wide: the instruction count wraps
//! every 2^32 instructions (4.3 s at icount shift 0). Take differences with [`elapsed`], which
//! is correct across one wrap; no measured interval comes close to a second wrap.
//!
//! When the kernel runs below an EL2 (booted at EL2 or EL3, as on the Raspberry Pi), EL1 sees
//! only the event counters below `MDCR_EL2.HPMN`; counter 0 is usable when `HPMN >= 1`, which
//! is its reset value on the Cortex-A53 and in QEMU. [`is_available`] checks the PMU is there.

use core::arch::asm;

/// Event number of `INST_RETIRED` (instruction architecturally executed).
pub const INST_RETIRED: u64 = 0x08;

/// `PMCR_EL0` bits.
const PMCR_E: u64 = 1 << 0;
const PMCR_P: u64 = 1 << 1;
const PMCR_C: u64 = 1 << 2;
const PMCR_LC: u64 = 1 << 6;
/// `PMCNTENSET_EL0`: event counter 0 and the cycle counter (bit 31).
const CNTEN_INSTRUCTIONS: u64 = 1 << 0;
const CNTEN_CYCLES: u64 = 1 << 31;

/// Whether this core implements PMUv3 (`ID_AA64DFR0_EL1.PMUVer` is neither 0 nor 0xF) with at
/// least one event counter.
pub fn is_available() -> bool {
    let dfr0: u64;
    // SAFETY: reads an ID register; no side effects, no memory touched.
    unsafe {
        asm!("mrs {0}, id_aa64dfr0_el1", out(reg) dfr0, options(nomem, nostack, preserves_flags))
    }
    let version = (dfr0 >> 8) & 0xf;
    version != 0 && version != 0xf && event_counters() > 0
}

/// Number of event counters the PMU implements (`PMCR_EL0.N`; 6 on the Cortex-A53).
pub fn event_counters() -> u32 {
    let pmcr: u64;
    // SAFETY: reads PMCR_EL0, which EL1 may always read; no side effects.
    unsafe { asm!("mrs {0}, pmcr_el0", out(reg) pmcr, options(nomem, nostack, preserves_flags)) }
    ((pmcr >> 11) & 0x1f) as u32
}

/// Starts counting: event counter 0 counts `INST_RETIRED`, the cycle counter counts cycles;
/// both are reset to zero. Call once, at EL1, before [`read_instructions`]/[`read_cycles`].
///
/// Only the PMU's own registers change (its overflow interrupts stay disabled), so calling it
/// again merely restarts the counts.
pub fn enable() {
    // This writes PMU control registers only: counter selection, event type and cycle
    // filter (count at EL0 and EL1), counter enables, and PMCR_EL0 (enable, reset both
    // counters, 64-bit cycle counter). Overflow interrupts stay masked (PMINTENCLR_EL1). The
    // closing `isb` makes the new configuration visible to the instructions that follow.
    // SAFETY: PMU registers only: nothing here can raise an exception or touch memory.
    unsafe {
        asm!(
            "msr pmintenclr_el1, {all}",
            "msr pmselr_el0, xzr",
            "msr pmxevtyper_el0, {event}",
            "msr pmccfiltr_el0, xzr",
            "msr pmcntenset_el0, {cnten}",
            "msr pmovsclr_el0, {all}",
            "msr pmcr_el0, {pmcr}",
            "isb",
            all = in(reg) u64::from(u32::MAX),
            event = in(reg) INST_RETIRED,
            cnten = in(reg) CNTEN_INSTRUCTIONS | CNTEN_CYCLES,
            pmcr = in(reg) PMCR_E | PMCR_P | PMCR_C | PMCR_LC,
            options(nomem, nostack, preserves_flags)
        )
    }
}

/// Instructions retired since [`enable`], modulo 2^32 (event counter 0).
///
/// The `isb` before the read makes every earlier instruction retire first, so the value is
/// ordered with respect to the code around it. A read costs two instructions (`isb`, `mrs`).
#[inline(always)]
pub fn read_instructions() -> u64 {
    let n: u64;
    // SAFETY: `isb` and a read of PMEVCNTR0_EL0, which EL1 may always read; no side effects.
    // Not `nomem`, so the compiler keeps memory accesses on their side of the read.
    unsafe { asm!("isb", "mrs {0}, pmevcntr0_el0", out(reg) n, options(nostack, preserves_flags)) }
    n
}

/// Cycles since [`enable`] (the 64-bit cycle counter, `PMCCNTR_EL0`), ordered like
/// [`read_instructions`].
///
/// Under QEMU the cycle counter follows the virtual clock at 1 GHz; with `-icount shift=0`
/// that equals the instruction count plus any time the core spent idle in `wfi`.
#[inline(always)]
pub fn read_cycles() -> u64 {
    let n: u64;
    // SAFETY: `isb` and a read of PMCCNTR_EL0, which EL1 may always read; no side effects.
    unsafe { asm!("isb", "mrs {0}, pmccntr_el0", out(reg) n, options(nostack, preserves_flags)) }
    n
}

/// Instructions between two [`read_instructions`] values, correct across one wrap of the
/// 32-bit counter.
#[inline(always)]
pub const fn elapsed(start: u64, end: u64) -> u64 {
    (end as u32).wrapping_sub(start as u32) as u64
}
