//! Inter-processor interrupts: an SGI sent to another core, without the distributor lock.
//!
//! A reschedule interrupt is sent on the kernel's hottest cross-core path (a wake-up on one
//! core of a thread that must run on another), so it must not queue behind the lock the kernel
//! keeps around [`Gic`](super::Gic) for configuration. Sending needs none: on a GICv2 it is one
//! write of `GICD_SGIR`, which the distributor takes as a whole (no read-modify-write, so two
//! cores writing at once cannot mix their requests), and on a GICv3 one write of the sending
//! core's own `ICC_SGI1R_EL1` system register. The value is the same that `arm-gic` writes
//! (`GicV2::send_sgi`, `GicCpuInterface::send_sgi`), which needs the driver mutably (v2) or
//! is used as is (v3).
//!
//! A target core is named by a [`SgiTarget`] the core reported for itself at its interrupt
//! set-up ([`Gic::this_core_target`](super::Gic::this_core_target)): its CPU-interface bit on a
//! GICv2 (read from the banked `GICD_ITARGETSR0`), its `MPIDR_EL1` affinity on a GICv3 — so the
//! kernel's core numbering need not be the GIC's.
//!
//! Ordering: the data the target will act on (a thread made ready under the scheduler lock)
//! must be visible to it before the interrupt can be taken there. Both writes are preceded by
//! `dsb ishst` (stores to normal memory complete before the interrupt is raised), as Linux's
//! `gic_ipi_send_mask` does.

use aarch64_cpu::asm::barrier;
use arm_gic::gicv3::{GicCpuInterface, SgiTarget as V3Target, SgiTargetGroup};
use arm_gic::IntId;

use super::PPI_START;
use crate::irq::IrqError;
use crate::mpidr;

/// Offset of `GICD_SGIR` in a GICv2 distributor.
const GICD_SGIR: usize = 0xf00;

/// `GICD_SGIR.NSATT`: send the SGI as a group 1 interrupt (ignored without Security
/// Extensions; what `arm-gic` sets).
const SGIR_NSATT: u32 = 1 << 15;

/// `ICC_SGI1R_EL1.TargetList` has 16 bits: only cores with Aff0 below 16 can be named
/// without the range selector, which this driver does not use.
const V3_TARGET_LIST_BITS: u64 = 16;

/// A core as an SGI names it (see the module docs): for a GICv2 its CPU-interface bit
/// (`1 << interface`), for a GICv3 its `MPIDR_EL1` affinity (Aff3 in bits 39:32, Aff2..Aff0
/// in bits 23:0).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SgiTarget(pub u64);

impl SgiTarget {
    /// The target that core number `core` has when the GIC numbers cores as QEMU `virt`
    /// does (CPU interface `core`, affinity `0.0.0.core`), for a core that has not reported
    /// its own yet.
    pub fn assumed(v2: bool, core: usize) -> Self {
        if v2 {
            Self(1 << (core % 8))
        } else {
            Self(core as u64 & 0xff)
        }
    }
}

/// Sends SGIs to any core, without a lock (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SgiSender {
    /// A GICv2 whose distributor is at `gicd`.
    V2 {
        /// Base address of the distributor (identity-mapped device memory).
        gicd: usize,
    },
    /// A GICv3 (the sending core's `ICC_SGI1R_EL1`).
    V3,
}

impl SgiSender {
    /// Raises SGI `sgi` (below 16) on the core named by `target`, after making this core's
    /// earlier stores visible to it. Returns [`IrqError::InvalidLine`] for an SGI number of 16
    /// or more, [`IrqError::Unsupported`] for a GICv3 core with Aff0 of 16 or more.
    #[inline]
    pub fn send(self, sgi: u32, target: SgiTarget) -> Result<(), IrqError> {
        if sgi >= PPI_START {
            return Err(IrqError::InvalidLine(sgi));
        }
        match self {
            Self::V2 { gicd } => {
                // TargetListFilter 0 (the list), the target's interface bit, group 1.
                let value = sgi | (target.0 as u32 & 0xff) << 16 | SGIR_NSATT;
                barrier::dsb(barrier::ISHST);
                // SAFETY: `gicd` is the distributor `Gic::new_v2`'s caller vouched for;
                // `GICD_SGIR` is write-only and a write only raises the SGI (module docs).
                unsafe { ((gicd + GICD_SGIR) as *mut u32).write_volatile(value) };
                Ok(())
            }
            Self::V3 => {
                barrier::dsb(barrier::ISHST);
                raise_v3(sgi, target.0)
            }
        }
    }
}

/// `ICC_SGI1R_EL1` aimed at affinity `aff` (no barrier before: the caller's business).
pub(super) fn raise_v3(sgi: u32, aff: u64) -> Result<(), IrqError> {
    let aff0 = aff & 0xff;
    if aff0 >= V3_TARGET_LIST_BITS {
        return Err(IrqError::Unsupported);
    }
    let target = V3Target::List {
        affinity3: (aff >> 32) as u8,
        affinity2: (aff >> 16) as u8,
        affinity1: (aff >> 8) as u8,
        target_list: 1 << aff0,
    };
    GicCpuInterface::send_sgi(IntId::sgi(sgi), target, SgiTargetGroup::CurrentGroup1)
        .map_err(|_| IrqError::InvalidLine(sgi))?;
    barrier::isb(barrier::SY);
    Ok(())
}

/// The calling core's GICv3 target (its affinity).
pub(super) fn own_v3_target() -> SgiTarget {
    SgiTarget(mpidr::affinity())
}
