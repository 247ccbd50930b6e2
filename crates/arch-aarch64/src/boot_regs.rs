//! The system-register values the boot path writes on its way from EL3/EL2 to EL1, built from
//! `aarch64-cpu`'s register fields so that each bit says what it is, and fed to the boot
//! assembly as `const` operands.
//!
//! Where `aarch64-cpu` has no field for a bit (RES1 bits, which the architecture requires to
//! be written as one, and a few traps it does not describe), a named constant here says which
//! bits and why, with the Arm Architecture Reference Manual's names. Each value is asserted
//! against the literal the boot code used before, so a change of meaning cannot slip in.

use aarch64_cpu::registers::{
    CNTHCTL_EL2, CPACR_EL1, HCR_EL2, ICC_SRE_EL2, SCR_EL3, SCTLR_EL1, SPSR_EL2, SPSR_EL3,
};

/// `SCR_EL3` bits 5:4, RES1.
const SCR_EL3_RES1: u64 = 0b11 << 4;

/// `SCR_EL3` for the drop to EL2: EL2 and below non-secure and AArch64, `hvc` enabled, `smc`
/// disabled (nothing answers it at EL3 here).
pub const SCR_EL3_BOOT: u64 = SCR_EL3::NS::NonSecure.value
    | SCR_EL3_RES1
    | SCR_EL3::SMD::SmcDisabled.value
    | SCR_EL3::HCE::HvcEnabled.value
    | SCR_EL3::RW::NextELIsAarch64.value;

/// `SPSR_EL3` for the `eret` to EL2: EL2h (EL2 with its own stack pointer), every exception
/// masked.
pub const SPSR_EL3_BOOT: u64 = SPSR_EL3::D::Masked.value
    | SPSR_EL3::A::Masked.value
    | SPSR_EL3::I::Masked.value
    | SPSR_EL3::F::Masked.value
    | SPSR_EL3::M::EL2h.value;

/// `HCR_EL2`: EL1 is AArch64; nothing else is trapped or virtualised (in particular `IMO`/`FMO`
/// stay clear, so interrupts and the GIC CPU interface reach EL1 directly).
pub const HCR_EL2_BOOT: u64 = HCR_EL2::RW::EL1IsAarch64.value;

/// `CNTHCTL_EL2`: EL1 may use the physical counter and the physical timer.
pub const CNTHCTL_EL2_BOOT: u64 =
    CNTHCTL_EL2::EL1PCTEN::SET.value | CNTHCTL_EL2::EL1PCEN::SET.value;

/// `CPTR_EL2` (with `HCR_EL2.E2H` clear) bits 13:12, 9 and 7:0, RES1.
const CPTR_EL2_RES1: u64 = 0b11 << 12 | 1 << 9 | 0xff;

/// `CPTR_EL2.TZ` (bit 8): SVE instructions trap to EL2 (the Cortex-A53 has none; kept as the
/// boot code always wrote it).
const CPTR_EL2_TZ: u64 = 1 << 8;

/// `CPTR_EL2`: FP/SIMD not trapped (`TFP`, bit 10, clear), nor `CPACR_EL1` accesses (`TCPAC`)
/// or trace registers (`TTA`); SVE trapped.
pub const CPTR_EL2_BOOT: u64 = CPTR_EL2_RES1 | CPTR_EL2_TZ;

/// `ICC_SRE_EL2` bits to set when a GIC system-register interface exists: EL2 uses it
/// (`SRE`) and EL1 may use `ICC_SRE_EL1` (`Enable`).
pub const ICC_SRE_EL2_BOOT: u64 = ICC_SRE_EL2::SRE::SET.value | ICC_SRE_EL2::ENABLE::SET.value;

/// `SPSR_EL2` for the `eret` to EL1: EL1h, every exception masked.
pub const SPSR_EL2_BOOT: u64 = SPSR_EL2::D::Masked.value
    | SPSR_EL2::A::Masked.value
    | SPSR_EL2::I::Masked.value
    | SPSR_EL2::F::Masked.value
    | SPSR_EL2::M::EL1h.value;

/// `SCTLR_EL1` bits that are RES1 in Armv8.0 (29 `LSMAOE`, 28 `nTLSMD`, 23 `SPAN`, 22 `EIS`,
/// 20 `TSCXT`, 11 `EOS` in later versions, all meaning "as Armv8.0" when set).
const SCTLR_EL1_RES1: u64 = 1 << 29 | 1 << 28 | 1 << 23 | 1 << 22 | 1 << 20 | 1 << 11;

/// Value of `SCTLR_EL1` at boot: RES1 bits set; MMU, caches and data alignment checks off;
/// stack-pointer alignment check on (`SA`); little-endian.
pub const SCTLR_EL1_BOOT: u64 = SCTLR_EL1_RES1 | SCTLR_EL1::SA::Enable.value;

/// `CPACR_EL1`: FP/SIMD not trapped at EL1 or EL0.
pub const CPACR_EL1_BOOT: u64 = CPACR_EL1::FPEN::TrapNothing.value;

const _: () = {
    assert!(SCR_EL3_BOOT == 0x5b1);
    assert!(SPSR_EL3_BOOT == 0x3c9);
    assert!(HCR_EL2_BOOT == 1 << 31);
    assert!(CNTHCTL_EL2_BOOT == 3);
    assert!(CPTR_EL2_BOOT == 0x33ff);
    assert!(ICC_SRE_EL2_BOOT == 0x9);
    assert!(SPSR_EL2_BOOT == 0x3c5);
    assert!(SCTLR_EL1_BOOT == 0x30d0_0808);
    assert!(CPACR_EL1_BOOT == 3 << 20);
};
