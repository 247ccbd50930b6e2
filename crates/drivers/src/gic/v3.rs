//! GICv3 specifics, on top of `arm_gic::gicv3`.
//!
//! The CPU interface of a GICv3 is the `ICC_*_EL1` system registers. `GicV3::init_cpu` from
//! `arm-gic` enables them (`ICC_SRE_EL1.SRE`), wakes the core's redistributor and selects
//! "EOI also deactivates"; it leaves the priority mask closed and group 1 disabled, which this
//! module opens per core. All lines are non-secure group 1 (what `arm-gic`'s default settings
//! choose), acknowledged through `ICC_IAR1_EL1`.
//!
//! Two things are the arch layer's duty when the kernel enters at EL2 (QEMU
//! `virtualization=on`) and drops to EL1: `ICC_SRE_EL2` must have `SRE` and `Enable` set, or
//! EL1's accesses to `ICC_SRE_EL1` trap; and `HCR_EL2.IMO`/`FMO` must be clear, or EL1's
//! `ICC_*` accesses reach the virtual CPU interface instead of this one.
//!
//! The redistributor of the running core is found by matching `GICR_TYPER.Affinity` against
//! `MPIDR_EL1`, so the kernel's CPU numbering does not have to follow the GIC's.

use core::ptr::NonNull;

use aarch64_cpu::asm::barrier;
use arm_gic::gicv3::registers::{Gicd, GicrSgi};
use arm_gic::gicv3::{GicCpuInterface, GicV3};
use arm_gic::{IntId, InterruptGroup, Trigger, UniqueMmioPointer};

use super::{EL1_PHYS_TIMER_INTID, PPI_START, SPECIAL_START, SPI_START};
use crate::irq::IrqError;
use crate::mpidr;

/// `ICC_PMR_EL1` value that lets every priority through.
const PRIORITY_MASK_OPEN: u8 = 0xff;

/// The GICv3 half of [`Gic`](super::Gic).
///
/// All lines are non-secure group 1, reached through the `ICC_*_EL1` system registers; the
/// calling core's redistributor is found by its affinity. Entering from EL2, the arch layer
/// must have set `ICC_SRE_EL2.{SRE,Enable}` and left `HCR_EL2.{IMO,FMO}` clear.
pub struct Gic3 {
    gic: GicV3<'static>,
    cpus: usize,
    pub(super) timer: u32,
    initialised: bool,
}

impl Gic3 {
    /// # Safety
    ///
    /// As [`Gic::new_v3`](super::Gic::new_v3).
    pub(super) unsafe fn new(
        gicd_base: usize,
        gicr_base: usize,
        cpus: usize,
    ) -> Result<Self, IrqError> {
        let gicd = NonNull::new(gicd_base as *mut Gicd).expect("GIC distributor at address 0");
        let gicr = NonNull::new(gicr_base as *mut GicrSgi).expect("GIC redistributor at 0");
        // SAFETY: the caller promises the distributor is a GICv3's and exclusively ours.
        let gicd = unsafe { UniqueMmioPointer::new(gicd) };
        // SAFETY: the caller promises `cpus` redistributor frames start at `gicr` and are
        // exclusively ours.
        let gic = unsafe { GicV3::new(gicd, gicr, cpus) }.map_err(|_| IrqError::Unsupported)?;
        Ok(Self {
            gic,
            cpus,
            timer: EL1_PHYS_TIMER_INTID,
            initialised: false,
        })
    }

    /// Index of the calling core's redistributor, found by affinity.
    fn own_redistributor(&mut self) -> Option<usize> {
        let me = mpidr::affinity();
        (0..self.cpus).find(|&i| self.gic.gicr_typer(i).is_ok_and(|t| t.core_mpidr() == me))
    }

    pub(super) fn init(&mut self) {
        self.gic.enable_all_interrupts(false);
        for cpu in 0..self.cpus {
            if let Ok(mut redistributor) = self.gic.redistributor(cpu) {
                // Private lines: group 1 non-secure, one priority, PPIs level-triggered.
                redistributor.configure_default_settings();
            }
        }
        // Affinity routing on, group 1 non-secure enabled, SPIs as above.
        self.gic.distributor().configure_default_settings();
        self.gic.gicd_barrier();
        self.initialised = true;
    }

    pub(super) fn init_cpu(&mut self, cpu: usize) {
        if !self.initialised {
            self.init();
        }
        GicCpuInterface::enable_system_register_el1();
        // The other `ICC_*` registers may only be used once the SRE write has taken effect.
        barrier::isb(barrier::SY);
        let index = self.own_redistributor().unwrap_or(cpu);
        self.gic.init_cpu(index);
        let timer = IntId::ppi(self.timer - PPI_START);
        let _ = self.gic.set_trigger(timer, Some(index), Trigger::Level);
        GicCpuInterface::set_priority_mask(PRIORITY_MASK_OPEN);
        GicCpuInterface::enable_group1(true);
        barrier::isb(barrier::SY);
    }

    /// The line as an `IntId`, if this GIC implements it.
    fn checked(&self, line: u32) -> Result<IntId, IrqError> {
        let spis = self.gic.typer().num_spis();
        if line >= SPECIAL_START || line >= SPI_START + spis {
            return Err(IrqError::InvalidLine(line));
        }
        IntId::try_from(line).map_err(|_| IrqError::InvalidLine(line))
    }

    /// For a private line, the calling core's redistributor; `None` for a shared line.
    fn redistributor_for(&mut self, line: u32) -> Result<Option<usize>, IrqError> {
        if line >= SPI_START {
            return Ok(None);
        }
        self.own_redistributor()
            .map(Some)
            .ok_or(IrqError::Unsupported)
    }

    pub(super) fn enable(&mut self, line: u32, enable: bool) -> Result<(), IrqError> {
        let id = self.checked(line)?;
        let cpu = self.redistributor_for(line)?;
        self.gic
            .enable_interrupt(id, cpu, enable)
            .map_err(|_| IrqError::Refused(line))
    }

    pub(super) fn set_edge_triggered(&mut self, line: u32, edge: bool) -> Result<(), IrqError> {
        let id = self.checked(line)?;
        if line < PPI_START {
            return Err(IrqError::Refused(line));
        }
        let cpu = self.redistributor_for(line)?;
        let trigger = if edge { Trigger::Edge } else { Trigger::Level };
        self.gic
            .set_trigger(id, cpu, trigger)
            .map_err(|_| IrqError::Refused(line))
    }

    pub(super) fn acknowledge() -> Option<u32> {
        GicCpuInterface::get_and_acknowledge_interrupt(InterruptGroup::Group1)
            .map(u32::from)
            .filter(|&line| line < SPECIAL_START)
    }

    pub(super) fn end_of_interrupt(line: u32) {
        if let Ok(id) = IntId::try_from(line) {
            GicCpuInterface::end_interrupt(id, InterruptGroup::Group1);
        }
    }

    /// `ICC_SGI1R_EL1` aimed at the calling core's own affinity; `sgi` is below 16.
    pub(super) fn send_sgi_to_self(sgi: u32) -> Result<(), IrqError> {
        super::sgi::raise_v3(sgi, mpidr::affinity())
    }
}
