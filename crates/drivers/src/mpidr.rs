//! Which core is running, as the interrupt hardware identifies it.
//!
//! Per-core interrupt state (GICv3 redistributors, SGI targets, the BCM2836 per-core
//! registers) is selected by the core's affinity in `MPIDR_EL1`, not by the kernel's linear
//! CPU number, so the drivers read it themselves instead of trusting a caller-supplied index.

use aarch64_cpu::registers::{Readable, MPIDR_EL1};

/// The affinity fields of `MPIDR_EL1` (Aff3 in bits 39:32, Aff2..Aff0 in bits 23:0), with the
/// non-affinity bits (U, MT, RES1) cleared.
pub(crate) fn affinity() -> u64 {
    MPIDR_EL1.get() & 0xff_00ff_ffff
}

/// Affinity level 0: the core number within its cluster.
pub(crate) fn aff0() -> u8 {
    (affinity() & 0xff) as u8
}
