//! The Arm Generic Interrupt Controller of QEMU `virt`, version 2 or 3, as one
//! [`InterruptController`].
//!
//! QEMU `virt` offers either GIC version (`gic-version=2|3`) and the kernel learns which one
//! from the device tree at run time, so the two are folded into one enum rather than chosen at
//! compile time. The register work is done by the `arm-gic` crate; this module adds what that
//! crate leaves to its user, and the two places where its defaults do not fit a kernel running
//! at non-secure EL1 (see [`Gic2`] and [`Gic3`]):
//!
//! * one routine that brings the distributor to a known state — every line disabled, in the
//!   group that reaches non-secure EL1, level-triggered (edge can be chosen per line with
//!   [`Gic::set_edge_triggered`]) — and a per-core routine that opens the CPU interface;
//! * validation of line numbers, so a bad line is an `Err` and never an index panic inside
//!   the crate;
//! * "send an SGI to myself", built from the core's own identity, and "send an SGI to that
//!   core" without a lock ([`SgiSender`], for inter-processor interrupts).
//!
//! Interrupt priorities are left uniform (all lines equal, none preempts another): the kernel
//! handles interrupts with IRQs masked and does not nest them, so priority would buy nothing.

mod cpu_interface;
mod sgi;
mod v2;
mod v3;

pub use cpu_interface::{Ack, CpuInterface};
pub use sgi::{PreparedSgi, SgiSender, SgiTarget};
pub use v2::Gic2;
pub use v3::Gic3;

use crate::irq::{InterruptController, IrqError};

/// INTID of the EL1 non-secure physical timer: PPI 14, fixed by the Arm Base System
/// Architecture and used by QEMU `virt`.
pub const EL1_PHYS_TIMER_INTID: u32 = 30;

/// The first special INTID (1020..1023 mean "spurious" or "no interrupt", never a line).
const SPECIAL_START: u32 = 1020;

/// The first Shared Peripheral Interrupt; below it, lines are private to a core.
const SPI_START: u32 = 32;

/// The first Private Peripheral Interrupt; below it, lines are SGIs.
const PPI_START: u32 = 16;

/// A GICv2 or GICv3 driven from non-secure EL1.
///
/// Call [`Gic::init`] once (or let the first [`InterruptController::init_cpu`] do it), then
/// `init_cpu` on every core before that core unmasks IRQs.
pub enum Gic {
    /// A GICv2 (memory-mapped CPU interface).
    V2(Gic2),
    /// A GICv3 (system-register CPU interface, one redistributor per core).
    V3(Gic3),
}

impl Gic {
    /// The lock-free acknowledge / end-of-interrupt path of this GIC (see [`CpuInterface`]).
    pub fn cpu_interface(&self) -> CpuInterface {
        match self {
            Self::V2(gic) => CpuInterface::V2 {
                gicc: gic.gicc_base,
            },
            Self::V3(_) => CpuInterface::V3,
        }
    }

    /// The lock-free SGI path of this GIC, for inter-processor interrupts (see [`SgiSender`]).
    pub fn sgi_sender(&self) -> SgiSender {
        match self {
            Self::V2(gic) => SgiSender::V2 {
                gicd: gic.gicd_base,
            },
            Self::V3(_) => SgiSender::V3,
        }
    }

    /// How an SGI sent to the calling core names it: record it at each core's interrupt
    /// set-up and pass it to [`SgiSender::send`].
    pub fn this_core_target(&mut self) -> SgiTarget {
        match self {
            Self::V2(gic) => gic.own_sgi_target(),
            Self::V3(_) => sgi::own_v3_target(),
        }
    }

    /// A driver for the GICv2 whose distributor is at `gicd_base` and CPU interface at
    /// `gicc_base`.
    ///
    /// # Safety
    ///
    /// `gicd_base` and `gicc_base` must be the physical (identity-mapped, device-memory)
    /// addresses of a GICv2 distributor (4 KiB) and CPU interface (8 KiB), and nothing else
    /// may access those registers while the returned value lives.
    pub unsafe fn new_v2(gicd_base: usize, gicc_base: usize) -> Self {
        // SAFETY: forwarded from this function's contract.
        Self::V2(unsafe { Gic2::new(gicd_base, gicc_base) })
    }

    /// A driver for the GICv3 with distributor at `gicd_base` and the redistributors of `cpus`
    /// cores laid out contiguously from `gicr_base`.
    ///
    /// # Panics
    ///
    /// If the first redistributor does not identify itself as a GICv3 (or GICv4) one; use
    /// [`Gic::try_new_v3`] to get an error instead.
    ///
    /// # Safety
    ///
    /// `gicd_base` must be the address of a GICv3 distributor (64 KiB) and `gicr_base` of
    /// `cpus` consecutive redistributor frames, identity-mapped as device memory, and nothing
    /// else may access those registers while the returned value lives.
    pub unsafe fn new_v3(gicd_base: usize, gicr_base: usize, cpus: usize) -> Self {
        // SAFETY: forwarded from this function's contract.
        match unsafe { Self::try_new_v3(gicd_base, gicr_base, cpus) } {
            Ok(gic) => gic,
            Err(_) => panic!("no GICv3 redistributor at {gicr_base:#x}"),
        }
    }

    /// Like [`Gic::new_v3`], but returns [`IrqError::Unsupported`] if the redistributor
    /// frames are not laid out as a GICv3 or GICv4 ones.
    ///
    /// # Safety
    ///
    /// As for [`Gic::new_v3`].
    pub unsafe fn try_new_v3(
        gicd_base: usize,
        gicr_base: usize,
        cpus: usize,
    ) -> Result<Self, IrqError> {
        // SAFETY: forwarded from this function's contract.
        unsafe { Gic3::new(gicd_base, gicr_base, cpus) }.map(Self::V3)
    }

    /// One-time global setup, on one core, before any core takes interrupts: disables every
    /// line, puts every line in the group delivered as IRQ to non-secure EL1, makes shared
    /// lines level-triggered (and, on a GICv2, routes them to the calling core) and enables
    /// the distributor.
    ///
    /// [`InterruptController::init_cpu`] runs this itself the first time if it was not called.
    pub fn init(&mut self) {
        match self {
            Self::V2(gic) => gic.init(),
            Self::V3(gic) => gic.init(),
        }
    }

    /// Makes `line` edge-triggered (`true`) or level-triggered (`false`); private lines are
    /// changed for the calling core. SGIs are always edge-triggered and refuse the change.
    pub fn set_edge_triggered(&mut self, line: u32, edge: bool) -> Result<(), IrqError> {
        match self {
            Self::V2(gic) => gic.set_edge_triggered(line, edge),
            Self::V3(gic) => gic.set_edge_triggered(line, edge),
        }
    }

    /// Overrides the timer line (default [`EL1_PHYS_TIMER_INTID`]), for a device tree that
    /// names another PPI; `init_cpu` configures this line level-triggered on each core.
    pub fn set_timer_line(&mut self, line: u32) -> Result<(), IrqError> {
        if !(PPI_START..SPI_START).contains(&line) {
            return Err(IrqError::InvalidLine(line));
        }
        match self {
            Self::V2(gic) => gic.timer = line,
            Self::V3(gic) => gic.timer = line,
        }
        Ok(())
    }
}

impl InterruptController for Gic {
    fn init_cpu(&mut self, cpu: usize) {
        match self {
            Self::V2(gic) => gic.init_cpu(),
            Self::V3(gic) => gic.init_cpu(cpu),
        }
    }

    fn enable(&mut self, line: u32, enable: bool) -> Result<(), IrqError> {
        match self {
            Self::V2(gic) => gic.enable(line, enable),
            Self::V3(gic) => gic.enable(line, enable),
        }
    }

    fn acknowledge(&mut self) -> Option<u32> {
        match self {
            Self::V2(gic) => gic.acknowledge(),
            Self::V3(_) => Gic3::acknowledge(),
        }
    }

    fn end_of_interrupt(&mut self, line: u32) {
        match self {
            Self::V2(gic) => gic.end_of_interrupt(line),
            Self::V3(_) => Gic3::end_of_interrupt(line),
        }
    }

    fn send_sgi_to_self(&mut self, sgi: u32) -> Result<(), IrqError> {
        if sgi >= PPI_START {
            return Err(IrqError::InvalidLine(sgi));
        }
        match self {
            Self::V2(gic) => {
                gic.send_sgi_to_self(sgi);
                Ok(())
            }
            Self::V3(_) => Gic3::send_sgi_to_self(sgi),
        }
    }

    fn timer_line(&self) -> u32 {
        match self {
            Self::V2(gic) => gic.timer,
            Self::V3(gic) => gic.timer,
        }
    }
}
