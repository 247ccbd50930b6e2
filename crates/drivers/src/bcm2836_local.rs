//! The BCM2836/BCM2837 "ARM local" interrupt controller: the Raspberry Pi Zero 2 W's answer
//! to a GIC.
//!
//! The BCM2837 has no GIC. Each core's generic-timer interrupts, four mailboxes per core and
//! the single GPU (peripheral) interrupt line meet in a small per-core block at ARM physical
//! `0x4000_0000`, described in Broadcom's "BCM2836 ARM-local peripherals" (QA7 rev 3.4).
//! No maintained crate drives it, so the register map is written out below on `safe-mmio`.
//!
//! # Line numbers
//!
//! A line is the bit number of the source in the core's IRQ-source register (offset `0x60`), so
//! acknowledging is reading that register:
//!
//! | line | source |
//! |------|--------|
//! | 0 | `CNTPSIRQ`, secure physical timer |
//! | 1 | `CNTPNSIRQ`, non-secure physical timer — [`TIMER_LINE`] |
//! | 2 | `CNTHPIRQ`, hypervisor timer |
//! | 3 | `CNTVIRQ`, virtual timer |
//! | 4..=7 | mailbox 0..=3 of this core — SGI `n` is mailbox `n`, line `4 + n` |
//! | 8 | GPU interrupt (the BCM2835 interrupt controller's output) — [`GPU_LINE`] |
//!
//! There are no priorities: [`acknowledge`](InterruptController::acknowledge) returns the
//! lowest-numbered pending line, so the timers come first.
//!
//! # SGIs
//!
//! Without a GIC there are no software-generated interrupts; a core interrupts itself by
//! writing a bit into one of its own mailboxes, which holds the interrupt pending until the
//! bit is cleared. Acknowledging a mailbox line clears the mailbox, so the source is quiet
//! before the handler runs and a new write during the handler raises it again.

use core::mem::offset_of;
use core::ptr::NonNull;

use safe_mmio::fields::{ReadPure, ReadPureWrite, WriteOnly};
use safe_mmio::{field, UniqueMmioPointer};

use crate::irq::{InterruptController, IrqError};
use crate::mpidr;

/// ARM physical address of the block on the BCM2836 and BCM2837.
pub const BCM2837_LOCAL_BASE: usize = 0x4000_0000;

/// Line of the EL1 non-secure physical timer, `CNTPNSIRQ`.
pub const TIMER_LINE: u32 = 1;

/// Line of the first mailbox; mailbox `n` is line `MAILBOX0_LINE + n`.
pub const MAILBOX0_LINE: u32 = 4;

/// Line of the GPU interrupt.
pub const GPU_LINE: u32 = 8;

/// Number of timer lines (0..=3) and of mailboxes per core.
const PER_KIND: u32 = 4;

/// Cores served by the block.
const CORES: usize = 4;

/// Core-timer prescaler value for a 1:1 ratio: the counter then advances once per crystal
/// (19.2 MHz) tick, matching `CNTFRQ_EL0` as the firmware sets it (QA7, core timer
/// prescaler: counter rate = 2^31 / prescaler * input clock).
const PRESCALER_ONE_TO_ONE: u32 = 0x8000_0000;

/// Control register: counter clocked from the crystal (bit 9 clear), incrementing by 1
/// (bit 8 clear) (QA7, control register).
const CONTROL_CRYSTAL_INCREMENT_1: u32 = 0;

/// The register block, offsets as in the register overview of QA7 rev 3.4.
#[repr(C)]
struct LocalRegisters {
    /// 0x00: control — counter clock source and increment.
    control: ReadPureWrite<u32>,
    _reserved_04: u32,
    /// 0x08: core-timer prescaler.
    prescaler: ReadPureWrite<u32>,
    /// 0x0C: GPU interrupt routing — bits 1:0 the core taking the GPU IRQ.
    gpu_routing: ReadPureWrite<u32>,
    _reserved_10: [u32; 12],
    /// 0x40 + 4*core: timer interrupt control — bit n routes timer line n as IRQ.
    timer_control: [ReadPureWrite<u32>; CORES],
    /// 0x50 + 4*core: mailbox interrupt control — bit n routes mailbox n as IRQ.
    mailbox_control: [ReadPureWrite<u32>; CORES],
    /// 0x60 + 4*core: IRQ source — one bit per line, as in the module docs.
    irq_source: [ReadPure<u32>; CORES],
    /// 0x70 + 4*core: FIQ source (unused: this driver routes nothing to FIQ).
    _fiq_source: [ReadPure<u32>; CORES],
    /// 0x80 + 16*core + 4*n: mailbox n write-set.
    mailbox_set: [[WriteOnly<u32>; 4]; CORES],
    /// 0xC0 + 16*core + 4*n: mailbox n read / write-1-to-clear.
    mailbox_clear: [[ReadPureWrite<u32>; 4]; CORES],
}

const _: () = {
    assert!(offset_of!(LocalRegisters, prescaler) == 0x08);
    assert!(offset_of!(LocalRegisters, gpu_routing) == 0x0C);
    assert!(offset_of!(LocalRegisters, timer_control) == 0x40);
    assert!(offset_of!(LocalRegisters, mailbox_control) == 0x50);
    assert!(offset_of!(LocalRegisters, irq_source) == 0x60);
    assert!(offset_of!(LocalRegisters, mailbox_set) == 0x80);
    assert!(offset_of!(LocalRegisters, mailbox_clear) == 0xC0);
};

/// What a line number refers to.
enum Source {
    Timer(u32),
    Mailbox(u32),
    Gpu,
}

impl Source {
    fn of(line: u32) -> Result<Self, IrqError> {
        match line {
            0..PER_KIND => Ok(Self::Timer(line)),
            MAILBOX0_LINE..GPU_LINE => Ok(Self::Mailbox(line - MAILBOX0_LINE)),
            GPU_LINE => Ok(Self::Gpu),
            _ => Err(IrqError::InvalidLine(line)),
        }
    }
}

/// Offset of core 0's mailbox 0 write-set register; core `c`'s mailbox `n` is at
/// `MAILBOX_SET + 16 * c + 4 * n`.
const MAILBOX_SET: usize = 0x80;

/// Raises mailbox interrupts on any core without the driver (and so without the lock a kernel
/// keeps around it): an inter-processor interrupt is one write of the target core's mailbox
/// write-set register, which sets bits and never clears any, so writers on several cores
/// cannot undo each other.
///
/// Ordering: `dsb ishst` first, so that the target, once it takes the interrupt, sees every
/// store this core made before sending.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MailboxSender {
    base: usize,
}

impl MailboxSender {
    /// A sender for the block at `base` ([`BCM2837_LOCAL_BASE`]).
    ///
    /// # Safety
    ///
    /// `base` must be the identity-mapped (device-memory) address of the ARM-local block.
    /// (The write-set registers may be written alongside a [`LocalIntc`] owning the block.)
    pub const unsafe fn new(base: usize) -> Self {
        Self { base }
    }

    /// Sets `bits` in mailbox `mailbox` (0..4) of core `core` (0..4); out-of-range numbers are
    /// ignored.
    #[inline]
    pub fn raise(self, core: usize, mailbox: u32, bits: u32) {
        if core >= CORES || mailbox >= PER_KIND {
            return;
        }
        let reg = self.base + MAILBOX_SET + 16 * core + 4 * mailbox as usize;
        aarch64_cpu::asm::barrier::dsb(aarch64_cpu::asm::barrier::ISHST);
        // SAFETY: the constructor's caller vouched for the block; `reg` is one of its 16
        // write-only mailbox-set registers, and writing one only sets mailbox bits.
        unsafe { (reg as *mut u32).write_volatile(bits) };
    }
}

const _: () = assert!(offset_of!(LocalRegisters, mailbox_set) == MAILBOX_SET);

/// Offset of core 0's IRQ-source register; core `c`'s is at `IRQ_SOURCE + 4 * c`.
const IRQ_SOURCE: usize = 0x60;

/// Offset of core 0's mailbox 0 read/write-1-to-clear register; core `c`'s mailbox `n` is at
/// `MAILBOX_CLEAR + 16 * c + 4 * n`.
const MAILBOX_CLEAR: usize = 0xC0;

const _: () = assert!(offset_of!(LocalRegisters, irq_source) == IRQ_SOURCE);
const _: () = assert!(offset_of!(LocalRegisters, mailbox_clear) == MAILBOX_CLEAR);

/// The calling core's own interrupt sources without the driver (and so without the lock a
/// kernel keeps around it), for the interrupt path: every core has its own IRQ-source
/// register, which reading changes nothing, and its own mailbox-clear registers, so cores
/// reading and clearing their own never meet. A tick then costs no lock shared by all
/// cores — with four cores taking 1,000 ticks a second each, a shared lock on every
/// interrupt was the busiest lock of the system.
///
/// Only routed sources show in the IRQ-source register (a timer or mailbox whose control bit
/// is clear, or the GPU line of another core, stays out of it: QA7 "core interrupt sources";
/// Linux's `irq-bcm2836` reads it the same way, unmasked).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OwnSources {
    base: usize,
}

impl OwnSources {
    /// The calling core's sources in the block at `base` ([`BCM2837_LOCAL_BASE`]).
    ///
    /// # Safety
    ///
    /// `base` must be the identity-mapped (device-memory) address of the ARM-local block.
    /// (The IRQ-source and mailbox-clear registers may be used alongside a [`LocalIntc`] owning
    /// the block.)
    pub const unsafe fn new(base: usize) -> Self {
        Self { base }
    }

    /// The lines pending on the calling core, one bit per line (as in the module docs).
    #[inline]
    pub fn pending(self) -> u32 {
        let reg = self.base + IRQ_SOURCE + 4 * LocalIntc::core();
        // SAFETY: the constructor's caller vouched for the block; `reg` is the calling core's
        // read-only IRQ-source register, whose read has no side effect.
        unsafe { (reg as *const u32).read_volatile() }
    }

    /// Empties mailbox `mailbox` (0..4) of the calling core; an out-of-range number is ignored.
    #[inline]
    pub fn clear_mailbox(self, mailbox: u32) {
        if mailbox >= PER_KIND {
            return;
        }
        let reg = self.base + MAILBOX_CLEAR + 16 * LocalIntc::core() + 4 * mailbox as usize;
        // SAFETY: the constructor's caller vouched for the block; `reg` is one of the calling
        // core's mailbox write-1-to-clear registers, and writing it only clears that mailbox.
        unsafe { (reg as *mut u32).write_volatile(u32::MAX) };
    }
}

/// The BCM2836-style per-core interrupt controller.
pub struct LocalIntc {
    regs: UniqueMmioPointer<'static, LocalRegisters>,
    initialised: bool,
}

impl LocalIntc {
    /// A driver for the block at `base` ([`BCM2837_LOCAL_BASE`] on the Pi Zero 2 W).
    ///
    /// # Safety
    ///
    /// `base` must be the identity-mapped (device-memory) address of the ARM-local block, and
    /// nothing else may access it while the returned value lives.
    pub unsafe fn new(base: usize) -> Self {
        let regs = NonNull::new(base as *mut LocalRegisters).expect("ARM-local block at 0");
        // SAFETY: forwarded from this function's contract.
        let regs = unsafe { UniqueMmioPointer::new(regs) };
        Self {
            regs,
            initialised: false,
        }
    }

    /// One-time setup: the generic counter runs from the crystal at 1:1, and no core has any
    /// timer or mailbox line enabled.
    ///
    /// [`InterruptController::init_cpu`] runs this itself the first time if it was not called.
    pub fn init(&mut self) {
        field!(self.regs, control).write(CONTROL_CRYSTAL_INCREMENT_1);
        field!(self.regs, prescaler).write(PRESCALER_ONE_TO_ONE);
        for core in 0..CORES {
            Self::write_at(field!(self.regs, timer_control).get(core), 0);
            Self::write_at(field!(self.regs, mailbox_control).get(core), 0);
        }
        self.initialised = true;
    }

    /// The calling core's index in the block's per-core arrays.
    fn core() -> usize {
        usize::from(mpidr::aff0()) % CORES
    }

    fn write_at(reg: Option<UniqueMmioPointer<'_, ReadPureWrite<u32>>>, value: u32) {
        if let Some(mut reg) = reg {
            reg.write(value);
        }
    }

    fn read_at(reg: Option<UniqueMmioPointer<'_, ReadPureWrite<u32>>>) -> u32 {
        reg.map_or(0, |reg| reg.read())
    }

    fn set_bit(reg: Option<UniqueMmioPointer<'_, ReadPureWrite<u32>>>, bit: u32, on: bool) {
        if let Some(mut reg) = reg {
            reg.modify(|v| if on { v | 1 << bit } else { v & !(1 << bit) });
        }
    }

    /// Lines that can currently interrupt the calling core, as a mask of line bits.
    fn enabled_mask(&mut self) -> u32 {
        let core = Self::core();
        let timers = Self::read_at(field!(self.regs, timer_control).get(core)) & 0xf;
        let mailboxes = Self::read_at(field!(self.regs, mailbox_control).get(core)) & 0xf;
        let gpu = Self::read_at(Some(field!(self.regs, gpu_routing))) & 0b11 == core as u32;
        timers | mailboxes << MAILBOX0_LINE | u32::from(gpu) << GPU_LINE
    }

    /// Empties mailbox `mailbox` of the calling core.
    fn clear_mailbox(&mut self, mailbox: u32) {
        self.mailbox_clear_bits(mailbox, u32::MAX);
    }

    /// The enabled lines that are pending on the calling core, as a mask of line bits, without
    /// acknowledging anything (for controllers layered on this one).
    pub fn pending_lines(&mut self) -> u32 {
        let core = Self::core();
        let pending = field!(self.regs, irq_source)
            .get(core)
            .map_or(0, |r| r.read());
        pending & self.enabled_mask()
    }

    /// The bits held in mailbox `mailbox` (0..4) of the calling core.
    pub fn mailbox_bits(&mut self, mailbox: u32) -> u32 {
        let core = Self::core();
        let mut clear = field!(self.regs, mailbox_clear);
        clear
            .get(core)
            .map_or(0, |mut own| Self::read_at(own.get(mailbox as usize)))
    }

    /// Sets `bits` in mailbox `mailbox` (0..4) of the calling core (its line is pending while
    /// any bit is set).
    pub fn mailbox_set_bits(&mut self, mailbox: u32, bits: u32) {
        let core = Self::core();
        let mut set = field!(self.regs, mailbox_set);
        if let Some(mut own) = set.get(core) {
            if let Some(mut reg) = own.get(mailbox as usize) {
                reg.write(bits);
            }
        }
    }

    /// Clears `bits` in mailbox `mailbox` (0..4) of the calling core.
    pub fn mailbox_clear_bits(&mut self, mailbox: u32, bits: u32) {
        let core = Self::core();
        let mut clear = field!(self.regs, mailbox_clear);
        if let Some(mut own) = clear.get(core) {
            Self::write_at(own.get(mailbox as usize), bits);
        }
    }
}

impl LocalIntc {
    /// Raises mailbox `mailbox` of core `core` and routes it to that core's IRQ, to wake a core
    /// that waits in `wfi` (with its IRQs masked, a pending interrupt still ends the wait).
    pub fn wake_core(&mut self, core: usize, mailbox: u32) -> Result<(), IrqError> {
        if core >= CORES || mailbox >= PER_KIND {
            return Err(IrqError::Unsupported);
        }
        Self::set_bit(field!(self.regs, mailbox_control).get(core), mailbox, true);
        let mut set = field!(self.regs, mailbox_set);
        let mut own = set.get(core).ok_or(IrqError::Unsupported)?;
        let mut reg = own.get(mailbox as usize).ok_or(IrqError::Unsupported)?;
        reg.write(1);
        Ok(())
    }

    /// Stops routing mailbox `mailbox` of the calling core to its IRQ, and empties it.
    pub fn unroute_own_mailbox(&mut self, mailbox: u32) {
        if mailbox < PER_KIND {
            let core = Self::core();
            Self::set_bit(field!(self.regs, mailbox_control).get(core), mailbox, false);
            self.clear_mailbox(mailbox);
        }
    }
}

impl InterruptController for LocalIntc {
    /// Empties the calling core's mailboxes (left-over values would fire as soon as a mailbox
    /// line is enabled). The block has no per-core switch to turn on, and the core is found
    /// from `MPIDR_EL1`, so `cpu` is not needed.
    fn init_cpu(&mut self, _cpu: usize) {
        if !self.initialised {
            self.init();
        }
        for mailbox in 0..PER_KIND {
            self.clear_mailbox(mailbox);
        }
    }

    /// Timer and mailbox lines are switched per core. The GPU line is routed as a whole to
    /// one core: enabling it routes it to the calling core; it cannot be disabled here (mask
    /// the individual peripheral interrupts in the BCM2835 interrupt controller instead).
    fn enable(&mut self, line: u32, enable: bool) -> Result<(), IrqError> {
        let core = Self::core();
        match Source::of(line)? {
            Source::Timer(bit) => {
                Self::set_bit(field!(self.regs, timer_control).get(core), bit, enable)
            }
            Source::Mailbox(bit) => {
                Self::set_bit(field!(self.regs, mailbox_control).get(core), bit, enable)
            }
            Source::Gpu if enable => {
                // Bits 3:2 (FIQ routing) stay 0; bits 1:0 name the IRQ core.
                field!(self.regs, gpu_routing).modify(|v| (v & !0b11) | core as u32);
            }
            Source::Gpu => return Err(IrqError::Unsupported),
        }
        Ok(())
    }

    fn acknowledge(&mut self) -> Option<u32> {
        let core = Self::core();
        let pending = field!(self.regs, irq_source).get(core)?.read();
        let pending = pending & self.enabled_mask();
        if pending == 0 {
            return None;
        }
        let line = pending.trailing_zeros();
        if let Ok(Source::Mailbox(mailbox)) = Source::of(line) {
            self.clear_mailbox(mailbox);
        }
        Some(line)
    }

    /// Nothing to do: timer lines fall silent when the timer is reprogrammed, mailboxes were
    /// cleared on acknowledge, and the GPU line when the peripheral is serviced.
    fn end_of_interrupt(&mut self, _line: u32) {}

    fn send_sgi_to_self(&mut self, sgi: u32) -> Result<(), IrqError> {
        if sgi >= PER_KIND {
            return Err(IrqError::InvalidLine(sgi));
        }
        let core = Self::core();
        let mut set = field!(self.regs, mailbox_set);
        let mut own = set.get(core).ok_or(IrqError::Unsupported)?;
        let mut mailbox = own.get(sgi as usize).ok_or(IrqError::InvalidLine(sgi))?;
        mailbox.write(1);
        Ok(())
    }

    fn timer_line(&self) -> u32 {
        TIMER_LINE
    }

    fn sgi_line(&self, sgi: u32) -> u32 {
        MAILBOX0_LINE + sgi
    }
}
