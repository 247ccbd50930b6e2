//! Inter-processor interrupts: an SGI sent to another core, without the distributor lock.
//!
//! A reschedule interrupt is sent on the kernel's hottest cross-core path (a wake-up on one
//! core of a thread that must run on another), so it must not queue behind the lock the kernel
//! keeps around [`Gic`](super::Gic) for configuration. Sending needs none: on a GICv2 it is one
//! write of `GICD_SGIR`, which the distributor takes as a whole (no read-modify-write, so two
//! cores writing at once cannot mix their requests), and on a GICv3 one write of the sending
//! core's own `ICC_SGI1R_EL1` system register. The value is the same that `arm-gic` writes
//! (`GicV2::send_sgi`, `GicCpuInterface::send_sgi`, which needs the driver mutably on a v2 and
//! composes the value at every send); the GICv3 one is built with `arm-sysregs`' typed
//! register.
//!
//! A target core is named by a [`SgiTarget`] the core reported for itself at its interrupt
//! set-up ([`Gic::this_core_target`](super::Gic::this_core_target)): its CPU-interface bit on a
//! GICv2 (read from the banked `GICD_ITARGETSR0`), its `MPIDR_EL1` affinity on a GICv3 — so the
//! kernel's core numbering need not be the GIC's.
//!
//! The kernel sends its reschedule interrupt to the same few cores again and again, so it
//! composes each core's register value once, when the core reports its target
//! ([`SgiSender::prepare`]), and a send is then a barrier and one write
//! ([`SgiSender::send_prepared`]): composing a GICv3 `ICC_SGI1R_EL1` value from an affinity
//! took about 15 instructions on every cross-core wake-up.
//!
//! Ordering: the data the target will act on (a thread made ready under the scheduler lock)
//! must be visible to it before the interrupt can be taken there. Both writes are preceded by
//! `dsb ishst` (stores to normal memory complete before the interrupt is raised), as Linux's
//! `gic_ipi_send_mask` does.

use aarch64_cpu::asm::barrier;
use arm_sysregs::el1::accessors::write_icc_sgi1r_el1;
use arm_sysregs::el1::registers::IccSgi1rEl1;

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

/// One SGI to one core, composed in advance ([`SgiSender::prepare`]): the value written to
/// `GICD_SGIR` (GICv2) or `ICC_SGI1R_EL1` (GICv3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PreparedSgi(pub u64);

impl SgiSender {
    /// Raises SGI `sgi` (below 16) on the core named by `target`, after making this core's
    /// earlier stores visible to it. Returns [`IrqError::InvalidLine`] for an SGI number of 16
    /// or more, [`IrqError::Unsupported`] for a GICv3 core with Aff0 of 16 or more.
    #[inline]
    pub fn send(self, sgi: u32, target: SgiTarget) -> Result<(), IrqError> {
        let prepared = self.prepare(sgi, target)?;
        self.send_prepared(prepared);
        Ok(())
    }

    /// The register value that raises SGI `sgi` on the core named by `target`, for
    /// [`send_prepared`](Self::send_prepared); the errors of [`send`](Self::send).
    pub fn prepare(self, sgi: u32, target: SgiTarget) -> Result<PreparedSgi, IrqError> {
        if sgi >= PPI_START {
            return Err(IrqError::InvalidLine(sgi));
        }
        Ok(PreparedSgi(match self {
            // TargetListFilter 0 (the list), the target's interface bit, group 1.
            Self::V2 { .. } => u64::from(sgi | (target.0 as u32 & 0xff) << 16 | SGIR_NSATT),
            Self::V3 => {
                let aff = target.0;
                let aff0 = aff & 0xff;
                if aff0 >= V3_TARGET_LIST_BITS {
                    return Err(IrqError::Unsupported);
                }
                IccSgi1rEl1::empty()
                    .with_intid(sgi as u8)
                    .with_aff3((aff >> 32) as u8)
                    .with_aff2((aff >> 16) as u8)
                    .with_aff1((aff >> 8) as u8)
                    .with_targetlist(1 << aff0)
                    .bits()
            }
        }))
    }

    /// Raises the SGI `prepared` names (made by [`prepare`](Self::prepare) for a sender of the
    /// same GIC), after making this core's earlier stores visible to its target.
    #[inline(always)]
    pub fn send_prepared(self, prepared: PreparedSgi) {
        barrier::dsb(barrier::ISHST);
        match self {
            Self::V2 { gicd } => {
                // SAFETY: `gicd` is the distributor `Gic::new_v2`'s caller vouched for;
                // `GICD_SGIR` is write-only and a write only raises the SGI (module docs).
                unsafe { ((gicd + GICD_SGIR) as *mut u32).write_volatile(prepared.0 as u32) };
            }
            Self::V3 => write_v3(prepared),
        }
    }
}

/// `ICC_SGI1R_EL1` aimed at affinity `aff` (no barrier before: the caller's business).
pub(super) fn raise_v3(sgi: u32, aff: u64) -> Result<(), IrqError> {
    write_v3(SgiSender::V3.prepare(sgi, SgiTarget(aff))?);
    Ok(())
}

/// Writes a prepared GICv3 SGI to this core's `ICC_SGI1R_EL1` (no barrier before).
#[inline(always)]
fn write_v3(prepared: PreparedSgi) {
    write_icc_sgi1r_el1(IccSgi1rEl1::from_bits_retain(prepared.0));
    barrier::isb(barrier::SY);
}

/// The calling core's GICv3 target (its affinity).
pub(super) fn own_v3_target() -> SgiTarget {
    SgiTarget(mpidr::affinity())
}
