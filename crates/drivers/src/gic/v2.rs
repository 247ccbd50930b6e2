//! GICv2 specifics, on top of `arm_gic::gicv2`.
//!
//! Three things `arm-gic` 0.10 does not do the way a non-secure EL1 kernel needs:
//!
//! * **Which group, which registers.** `GicV2::setup` puts every line in group 0 when the GIC
//!   has no Security Extensions (QEMU `virt` without `secure=on`), and non-secure software
//!   always sees its own lines through `GICC_IAR`/`GICC_EOIR` (the aliased `GICC_AIAR` is a
//!   secure-only register). So acknowledging always uses the `Group0` accessors, which are the
//!   plain `IAR`/`EOIR`. And because bit 0 of `GICD_CTLR` is "enable group 0" in the first
//!   case and "enable (non-secure) group 1" in the non-secure view of the second, setting it
//!   is right for both.
//! * **SPI targets.** `GICD_ITARGETSR` has no accessor in the crate, and on a multi-core GICv2
//!   an SPI without a target is never delivered; we program those registers ourselves (the
//!   crate never touches them, so the two views of the distributor do not conflict).
//! * **SGI sources.** For an SGI, `GICC_IAR` also carries the sending core (bits 12:10) and
//!   `GICC_EOIR` must be written with that same value (GICv2 architecture specification,
//!   GICC_EOIR.CPUID). The kernel sees plain line numbers, so the full acknowledge value is
//!   kept per receiving core until the end of the interrupt. One slot per core is enough:
//!   with all priorities equal, a core has at most one active interrupt at a time.
//!
//! Priorities stay at their reset value (all equal); `GicV2::set_interrupt_priority` in
//! `arm-gic` 0.10 writes a whole `GICD_IPRIORITYR` word and would clobber three neighbours.

use core::ptr::NonNull;

use arm_gic::gicv2::registers::{Gicc, Gicd};
use arm_gic::gicv2::{GicV2, SgiTarget, SgiTargetListFilter};
use arm_gic::{IntId, Trigger, UniqueMmioPointer};
use safe_mmio::fields::ReadPureWrite;

use super::{Ack, CpuInterface, EL1_PHYS_TIMER_INTID, PPI_START, SPECIAL_START, SPI_START};
use crate::irq::IrqError;

/// Offset of `GICD_ITARGETSR0` in the distributor (GICv2 architecture specification,
/// distributor register map).
const GICD_ITARGETSR: usize = 0x800;

/// Number of `GICD_ITARGETSRn` words (one byte per INTID, 1024 INTIDs).
const ITARGETSR_WORDS: usize = 256;

/// A GICv2 supports at most eight CPU interfaces.
const MAX_CPUS: usize = 8;

/// The GICv2 half of [`Gic`](super::Gic).
///
/// Acknowledges through `GICC_IAR` (the non-secure view) with [`CpuInterface`] — the only code
/// that touches `GICC_IAR`/`GICC_EOIR` —, programs the SPI targets that `arm-gic` has no
/// accessor for, and remembers each core's SGI acknowledge value so the end of interrupt
/// carries the sender's CPU number, as GICv2 requires.
pub struct Gic2 {
    gic: GicV2<'static>,
    /// `GICD_ITARGETSR0..255`, which `arm-gic` leaves alone.
    targets: UniqueMmioPointer<'static, [ReadPureWrite<u32>; ITARGETSR_WORDS]>,
    /// For each CPU interface, the `GICC_IAR` value of the SGI it is handling.
    sgi_acks: [Option<Ack>; MAX_CPUS],
    /// The CPU interface's base address, for [`CpuInterface`].
    pub(super) gicc_base: usize,
    /// The distributor's base address, for [`SgiSender`](super::SgiSender).
    pub(super) gicd_base: usize,
    pub(super) timer: u32,
    initialised: bool,
}

impl Gic2 {
    /// # Safety
    ///
    /// As [`Gic::new_v2`](super::Gic::new_v2).
    pub(super) unsafe fn new(gicd_base: usize, gicc_base: usize) -> Self {
        let targets = NonNull::new((gicd_base + GICD_ITARGETSR) as *mut _)
            .expect("GIC distributor at address 0");
        // SAFETY: the caller gives us the distributor; `GICD_ITARGETSR` is a 1 KiB block of it
        // that `GicV2` never accesses, so this pointer is its only user.
        let targets = unsafe { UniqueMmioPointer::new(targets) };
        // SAFETY: the caller promises both blocks are a GICv2's and exclusively ours.
        let gic = unsafe { GicV2::new(gicd_base as *mut Gicd, gicc_base as *mut Gicc) };
        Self {
            gic,
            targets,
            sgi_acks: [None; MAX_CPUS],
            gicc_base,
            gicd_base,
            timer: EL1_PHYS_TIMER_INTID,
            initialised: false,
        }
    }

    /// Number of implemented INTIDs (`GICD_TYPER.ITLinesNumber`), special ones excluded.
    fn lines(&self) -> u32 {
        self.gic.typer().num_irqs().min(SPECIAL_START)
    }

    /// The calling core's CPU-interface bit. `GICD_ITARGETSR0..7` are banked and read back
    /// the reading core's own bit; a uniprocessor GIC may read zero there, meaning core 0.
    fn own_target_bit(&mut self) -> u8 {
        let bits = self.targets.get(0).map_or(0, |reg| reg.read() as u8);
        if bits == 0 {
            1
        } else {
            bits
        }
    }

    /// The calling core's target for an SGI: its CPU-interface bit.
    pub(super) fn own_sgi_target(&mut self) -> super::SgiTarget {
        super::SgiTarget(u64::from(self.own_target_bit()))
    }

    /// The calling core's CPU-interface number.
    fn own_cpu_interface(&mut self) -> usize {
        self.own_target_bit().trailing_zeros() as usize
    }

    /// Per-core part of the setup: the CPU interface and the banked distributor registers
    /// (group and configuration of this core's SGIs and PPIs).
    fn open_cpu_interface(&mut self) {
        // `setup` sets the groups (all 32 `GICD_IGROUPRn`, of which the first is banked),
        // enables the CPU interface and opens its priority mask.
        self.gic.setup();
        self.gic.enable_group0(true);
        self.gic
            .set_trigger(IntId::ppi(self.timer - PPI_START), Trigger::Level);
    }

    pub(super) fn init(&mut self) {
        self.gic.enable_all_interrupts(false);
        self.open_cpu_interface();
        let lines = self.lines();
        for spi in 0..lines.saturating_sub(SPI_START) {
            self.gic.set_trigger(IntId::spi(spi), Trigger::Level);
        }
        // One target byte per INTID, four per word; SPIs start at word 8.
        let word = u32::from(self.own_target_bit()) * 0x0101_0101;
        for index in (SPI_START / 4) as usize..(lines / 4) as usize {
            if let Some(mut reg) = self.targets.get(index) {
                reg.write(word);
            }
        }
        self.initialised = true;
    }

    pub(super) fn init_cpu(&mut self) {
        if self.initialised {
            self.open_cpu_interface();
        } else {
            self.init();
        }
    }

    /// The line as an `IntId`, if this GIC implements it.
    fn checked(&self, line: u32) -> Result<IntId, IrqError> {
        if line >= self.lines() {
            return Err(IrqError::InvalidLine(line));
        }
        IntId::try_from(line).map_err(|_| IrqError::InvalidLine(line))
    }

    pub(super) fn enable(&mut self, line: u32, enable: bool) -> Result<(), IrqError> {
        let id = self.checked(line)?;
        self.gic
            .enable_interrupt(id, enable)
            .map_err(|_| IrqError::Refused(line))
    }

    pub(super) fn set_edge_triggered(&mut self, line: u32, edge: bool) -> Result<(), IrqError> {
        let id = self.checked(line)?;
        if line < PPI_START {
            return Err(IrqError::Refused(line));
        }
        let trigger = if edge { Trigger::Edge } else { Trigger::Level };
        self.gic.set_trigger(id, trigger);
        Ok(())
    }

    fn cpu_interface(&self) -> CpuInterface {
        CpuInterface::V2 {
            gicc: self.gicc_base,
        }
    }

    pub(super) fn acknowledge(&mut self) -> Option<u32> {
        let ack = self.cpu_interface().acknowledge()?;
        let line = ack.line();
        if line < PPI_START {
            let cpu = self.own_cpu_interface();
            self.sgi_acks[cpu] = Some(ack);
        }
        Some(line)
    }

    pub(super) fn end_of_interrupt(&mut self, line: u32) {
        let ack = if line < PPI_START {
            let cpu = self.own_cpu_interface();
            match self.sgi_acks[cpu].take() {
                Some(ack) if ack.line() == line => ack,
                _ => Ack::of_line(line),
            }
        } else if line < SPECIAL_START {
            Ack::of_line(line)
        } else {
            return;
        };
        self.cpu_interface().end(ack);
    }

    /// `GICD_SGIR` with TargetListFilter = "this core only"; `sgi` is below 16.
    pub(super) fn send_sgi_to_self(&mut self, sgi: u32) {
        self.gic.send_sgi(
            IntId::sgi(sgi),
            SgiTarget::List {
                target_list_filter: SgiTargetListFilter::ForwardSelfOnly,
                target_list: 0,
            },
        );
    }
}
