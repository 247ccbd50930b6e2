//! The BCM2835 interrupt controller: the "ARM peripheral" interrupts of the BCM2837.
//!
//! Every peripheral interrupt of the SoC (system timer, UARTs, GPIO, DMA, the SP804 "ARM
//! timer", doorbells…) goes through this block at ARM physical `0x3F00_B200` ("BCM2835 ARM
//! Peripherals", section 7). Its single output is the *GPU interrupt*, which the ARM-local
//! block ([`bcm2836_local`](crate::bcm2836_local)) delivers to one core as its line 8. There
//! are no priorities, no acknowledge and no end-of-interrupt: a source stays pending until
//! the device is serviced, and is masked with write-1-to-set / write-1-to-clear registers.
//! [`Bcm2837Intc`](crate::bcm2837_intc::Bcm2837Intc) puts the two controllers together.
//!
//! Sources are numbered 0..72: GPU interrupts 0..=63 (e.g. 1 system-timer match 1, 29 AUX/mini
//! UART, 57 PL011), then the eight "basic" ARM interrupts as 64..=71 (64 the SP804 ARM timer,
//! 65 the ARM mailbox, 66/67 the doorbells).

use core::mem::offset_of;
use core::ptr::NonNull;

use safe_mmio::fields::{ReadPure, ReadPureWrite, WriteOnly};
use safe_mmio::{field, UniqueMmioPointer};

use crate::irq::IrqError;

/// ARM physical address of the interrupt controller's registers on the BCM2837.
pub const BCM2837_INTC_BASE: usize = 0x3F00_B200;

/// Number of peripheral sources: 64 GPU interrupts, then 8 basic ARM interrupts.
pub const SOURCES: u32 = 72;

/// First basic ARM source (bit 0 of the basic registers) among the 72 sources.
const BASIC_SOURCE_BASE: u32 = 64;

/// The eight ARM-side sources of the basic registers (bits 8 and up are summaries).
const BASIC_MASK: u32 = 0xff;

/// The register block ("BCM2835 ARM Peripherals", 7.5; offsets from `0x7E00_B200`).
#[repr(C)]
struct IntcRegisters {
    /// 0x00: IRQ basic pending.
    basic_pending: ReadPure<u32>,
    /// 0x04, 0x08: IRQ pending 1 and 2 (GPU interrupts 0..31, 32..63).
    pending: [ReadPure<u32>; 2],
    /// 0x0C: FIQ control.
    fiq_control: ReadPureWrite<u32>,
    /// 0x10, 0x14: enable IRQs 1 and 2 (write 1 to enable).
    enable: [WriteOnly<u32>; 2],
    /// 0x18: enable basic IRQs.
    enable_basic: WriteOnly<u32>,
    /// 0x1C, 0x20: disable IRQs 1 and 2 (write 1 to disable).
    disable: [WriteOnly<u32>; 2],
    /// 0x24: disable basic IRQs.
    disable_basic: WriteOnly<u32>,
}

const _: () = {
    assert!(offset_of!(IntcRegisters, fiq_control) == 0x0C);
    assert!(offset_of!(IntcRegisters, enable) == 0x10);
    assert!(offset_of!(IntcRegisters, enable_basic) == 0x18);
    assert!(offset_of!(IntcRegisters, disable) == 0x1C);
    assert!(offset_of!(IntcRegisters, disable_basic) == 0x24);
};

/// Which register and bit hold a peripheral source.
fn locate(source: u32) -> Result<(usize, u32), IrqError> {
    match source {
        0..BASIC_SOURCE_BASE => Ok(((source / 32) as usize, 1 << (source % 32))),
        BASIC_SOURCE_BASE..SOURCES => Ok((2, 1 << (source - BASIC_SOURCE_BASE))),
        _ => Err(IrqError::InvalidLine(source)),
    }
}

/// The lowest source set in the three masked pending words (GPU 1, GPU 2, basic).
fn lowest_pending(words: [u32; 3]) -> Option<u32> {
    words
        .iter()
        .zip([0, 32, BASIC_SOURCE_BASE])
        .find(|(w, _)| **w != 0)
        .map(|(w, base)| base + w.trailing_zeros())
}

/// The BCM2835 peripheral interrupt controller, sources numbered 0..72 (64 GPU, 8 basic).
///
/// The enable registers cannot be read back, so the driver keeps a copy of what it enabled
/// and only reports sources it enabled itself.
pub struct PeripheralIntc {
    regs: UniqueMmioPointer<'static, IntcRegisters>,
    /// Enabled sources: GPU 0..31, GPU 32..63, basic 0..7.
    enabled: [u32; 3],
}

impl PeripheralIntc {
    /// A driver for the controller at `base` ([`BCM2837_INTC_BASE`] on the Pi Zero 2 W).
    ///
    /// # Safety
    ///
    /// `base` must be the identity-mapped (device-memory) address of the interrupt
    /// controller's registers, and nothing else may access them while the returned value lives.
    pub unsafe fn new(base: usize) -> Self {
        let regs = NonNull::new(base as *mut IntcRegisters).expect("interrupt controller at 0");
        // SAFETY: forwarded from this function's contract.
        let regs = unsafe { UniqueMmioPointer::new(regs) };
        Self {
            regs,
            enabled: [0; 3],
        }
    }

    /// Disables every source and FIQ routing: the firmware may leave some enabled.
    pub fn init(&mut self) {
        field!(self.regs, fiq_control).write(0);
        for i in 0..2 {
            if let Some(mut reg) = field!(self.regs, disable).get(i) {
                reg.write(u32::MAX);
            }
        }
        field!(self.regs, disable_basic).write(BASIC_MASK);
        self.enabled = [0; 3];
    }

    /// Enables or disables peripheral `source` (0..72).
    pub fn enable(&mut self, source: u32, enable: bool) -> Result<(), IrqError> {
        let (word, bit) = locate(source)?;
        match (word, enable) {
            (2, true) => field!(self.regs, enable_basic).write(bit),
            (2, false) => field!(self.regs, disable_basic).write(bit),
            (i, true) => field!(self.regs, enable)
                .get(i)
                .ok_or(IrqError::InvalidLine(source))?
                .write(bit),
            (i, false) => field!(self.regs, disable)
                .get(i)
                .ok_or(IrqError::InvalidLine(source))?
                .write(bit),
        }
        if let Some(mask) = self.enabled.get_mut(word) {
            *mask = if enable { *mask | bit } else { *mask & !bit };
        }
        Ok(())
    }

    /// The lowest-numbered enabled source that is pending.
    pub fn pending(&mut self) -> Option<u32> {
        let mut gpu = [0; 2];
        for (i, word) in gpu.iter_mut().enumerate() {
            *word = field!(self.regs, pending).get(i).map_or(0, |r| r.read());
        }
        let words = [
            gpu[0] & self.enabled[0],
            gpu[1] & self.enabled[1],
            field!(self.regs, basic_pending).read() & BASIC_MASK & self.enabled[2],
        ];
        lowest_pending(words)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_map_to_registers() {
        assert_eq!(locate(0), Ok((0, 1)));
        assert_eq!(locate(57), Ok((1, 1 << 25)));
        assert_eq!(locate(64), Ok((2, 1)));
        assert_eq!(locate(71), Ok((2, 1 << 7)));
        assert_eq!(locate(72), Err(IrqError::InvalidLine(72)));
    }

    #[test]
    fn lowest_pending_source_first() {
        assert_eq!(lowest_pending([0, 0, 0]), None);
        assert_eq!(lowest_pending([0, 1 << 25, 1]), Some(57));
        assert_eq!(lowest_pending([1 << 29, 1 << 25, 1]), Some(29));
        assert_eq!(lowest_pending([0, 0, 1 << 3]), Some(67));
    }
}
