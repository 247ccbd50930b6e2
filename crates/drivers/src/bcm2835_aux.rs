//! The BCM2835/BCM2837 mini UART (UART1), part of the "auxiliary peripherals" block.
//!
//! On the Pi Zero 2 W the mini UART is the console on GPIO 14/15 by default (the PL011 serves
//! Bluetooth), so the Pi board needs it. No maintained crate drives it; the register map is
//! "BCM2835 ARM Peripherals", section 2 (Auxiliaries), at ARM physical `0x3F21_5000` on the
//! BCM2837. The GPIO pins must be given to it separately (ALT5, see
//! [`bcm2835_gpio`](crate::bcm2835_gpio)).
//!
//! Its baud rate is derived from the VideoCore core clock, which the firmware may change at
//! run time; `enable_uart=1` in `config.txt` pins the core clock (250 MHz on the Pi 3 family,
//! Zero 2 W included) so the divisor stays right.

use core::fmt;
use core::mem::offset_of;
use core::ptr::NonNull;

use safe_mmio::fields::{ReadOnly, ReadPureWrite, WriteOnly};
use safe_mmio::{field, UniqueMmioPointer};

use crate::console::{for_each_crlf, Console, InvalidBaudRate};

/// ARM physical address of the auxiliary block on the BCM2837.
pub const BCM2837_AUX_BASE: usize = 0x3F21_5000;

/// `AUX_ENABLES` bit 0: mini UART enable (bits 1, 2 are SPI1, SPI2 and are preserved).
const ENABLES_MINI_UART: u32 = 1 << 0;

/// `AUX_MU_LCR_REG` value for 8-bit data. The document lists only bit 0, but 8-bit mode
/// needs bits 1:0 both set (a known erratum of "BCM2835 ARM Peripherals", listed in the
/// community errata for the document).
const LCR_8_BITS: u32 = 0b11;

/// `AUX_MU_IIR_REG` write: clear the receive (bit 1) and transmit (bit 2) FIFOs.
const IIR_CLEAR_FIFOS: u32 = 0b110;

/// `AUX_MU_CNTL_REG`: receiver (bit 0) and transmitter (bit 1) enable.
const CNTL_RX_TX: u32 = 0b11;

/// `AUX_MU_LSR_REG` bit 5: the transmit FIFO can accept at least one byte.
const LSR_TX_READY: u32 = 1 << 5;

/// `AUX_MU_LSR_REG` bit 6: the transmit FIFO is empty and the transmitter idle.
const LSR_TX_IDLE: u32 = 1 << 6;

/// The auxiliary block up to the mini UART's last register ("BCM2835 ARM Peripherals", 2.1).
#[repr(C)]
struct AuxRegisters {
    /// 0x00: `AUX_IRQ`, pending auxiliary interrupts (unused).
    _irq: u32,
    /// 0x04: `AUX_ENABLES`.
    enables: ReadPureWrite<u32>,
    _reserved: [u32; 14],
    /// 0x40: `AUX_MU_IO_REG`, transmit/receive data.
    io: WriteOnly<u32>,
    /// 0x44: `AUX_MU_IER_REG`, interrupt enables.
    ier: ReadPureWrite<u32>,
    /// 0x48: `AUX_MU_IIR_REG`, interrupt identity / FIFO clear.
    iir: WriteOnly<u32>,
    /// 0x4C: `AUX_MU_LCR_REG`, line control.
    lcr: ReadPureWrite<u32>,
    /// 0x50: `AUX_MU_MCR_REG`, modem control.
    mcr: ReadPureWrite<u32>,
    /// 0x54: `AUX_MU_LSR_REG`, line status; reading clears the overrun flag.
    lsr: ReadOnly<u32>,
    /// 0x58: `AUX_MU_MSR_REG`, modem status (unused).
    _msr: u32,
    /// 0x5C: `AUX_MU_SCRATCH` (unused).
    _scratch: u32,
    /// 0x60: `AUX_MU_CNTL_REG`, extra control.
    cntl: ReadPureWrite<u32>,
    /// 0x64: `AUX_MU_STAT_REG`, extra status (unused).
    _stat: u32,
    /// 0x68: `AUX_MU_BAUD_REG`, 16-bit baud divisor.
    baud: ReadPureWrite<u32>,
}

const _: () = {
    assert!(offset_of!(AuxRegisters, io) == 0x40);
    assert!(offset_of!(AuxRegisters, lsr) == 0x54);
    assert!(offset_of!(AuxRegisters, cntl) == 0x60);
    assert!(offset_of!(AuxRegisters, baud) == 0x68);
};

/// `AUX_MU_BAUD_REG` for `baud` from `core_clock_hz`, rounded to the nearest rate: the mini
/// UART sends at `core_clock / (8 * (divisor + 1))`. `None` if no 16-bit divisor fits.
pub fn baud_divisor(core_clock_hz: u32, baud: u32) -> Option<u16> {
    let eight_baud = u64::from(baud).checked_mul(8).filter(|&d| d != 0)?;
    let ratio = (u64::from(core_clock_hz) + eight_baud / 2) / eight_baud;
    u16::try_from(ratio.checked_sub(1)?).ok()
}

/// The mini UART used as a polled, transmit-only console.
pub struct MiniUart {
    regs: UniqueMmioPointer<'static, AuxRegisters>,
}

impl MiniUart {
    /// A driver for the mini UART of the auxiliary block at `aux_base`
    /// ([`BCM2837_AUX_BASE`] on the Pi Zero 2 W, where `AUX_ENABLES` is `0x3F21_5004`).
    ///
    /// # Safety
    ///
    /// `aux_base` must be the identity-mapped (device-memory) address of the auxiliary block,
    /// and nothing else may drive the mini UART or change `AUX_ENABLES` while the returned
    /// value lives.
    pub unsafe fn new(aux_base: usize) -> Self {
        let regs = NonNull::new(aux_base as *mut AuxRegisters).expect("AUX block at 0");
        // SAFETY: forwarded from this function's contract.
        let regs = unsafe { UniqueMmioPointer::new(regs) };
        Self { regs }
    }

    /// Enables the mini UART for 8 data bits, no parity, one stop bit at `baud` (115200 for
    /// the Pi console), with interrupts off and flow control unused.
    pub fn init(&mut self, core_clock_hz: u32, baud: u32) -> Result<(), InvalidBaudRate> {
        let divisor = baud_divisor(core_clock_hz, baud).ok_or(InvalidBaudRate)?;
        field!(self.regs, enables).modify(|v| v | ENABLES_MINI_UART);
        // Transmitter and receiver off while the line is reconfigured.
        field!(self.regs, cntl).write(0);
        field!(self.regs, ier).write(0);
        field!(self.regs, lcr).write(LCR_8_BITS);
        field!(self.regs, mcr).write(0);
        field!(self.regs, iir).write(IIR_CLEAR_FIFOS);
        field!(self.regs, baud).write(u32::from(divisor));
        field!(self.regs, cntl).write(CNTL_RX_TX);
        Ok(())
    }

    fn line_status(&mut self) -> u32 {
        field!(self.regs, lsr).read()
    }

    fn put(&mut self, byte: u8) {
        while self.line_status() & LSR_TX_READY == 0 {
            core::hint::spin_loop();
        }
        field!(self.regs, io).write(u32::from(byte));
    }

    /// Writes `bytes`, sending `\r\n` for every `\n`.
    pub fn write_bytes(&mut self, bytes: &[u8]) {
        for_each_crlf(bytes, |byte| self.put(byte));
    }

    /// Blocks until the transmit FIFO is empty and the transmitter idle.
    pub fn flush(&mut self) {
        while self.line_status() & LSR_TX_IDLE == 0 {
            core::hint::spin_loop();
        }
    }
}

impl fmt::Write for MiniUart {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.write_bytes(s.as_bytes());
        Ok(())
    }
}

impl Console for MiniUart {
    fn write_bytes(&mut self, bytes: &[u8]) {
        MiniUart::write_bytes(self, bytes);
    }

    fn flush(&mut self) {
        MiniUart::flush(self);
    }
}

#[cfg(test)]
mod tests {
    use super::baud_divisor;

    #[test]
    fn divisor_for_the_pi_console() {
        // 250 MHz / (8 * 271) = 115313 baud, 0.1 % fast: the usual Pi 3 value.
        assert_eq!(baud_divisor(250_000_000, 115_200), Some(270));
        // 500 MHz (some firmware with a raised core clock).
        assert_eq!(baud_divisor(500_000_000, 115_200), Some(542));
    }

    #[test]
    fn divisor_out_of_range() {
        assert_eq!(baud_divisor(250_000_000, 0), None);
        assert_eq!(baud_divisor(1_000, 115_200), None);
        assert_eq!(baud_divisor(u32::MAX, 300), None);
    }
}
