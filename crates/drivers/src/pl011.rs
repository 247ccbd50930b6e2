//! Arm PL011 UART console (QEMU `virt` at `0x0900_0000`; UART0 of the BCM2837).
//!
//! Built on `arm-pl011-uart`, which owns the register map and the baud-divisor arithmetic.
//! This wrapper adds the console behaviour the kernel wants: line-end translation, waiting
//! for FIFO space, and waiting for the transmitter to drain before it is reconfigured.

use core::fmt;
use core::ptr::NonNull;

use arm_pl011_uart::{DataBits, LineConfig, Parity, StopBits, Uart, UniqueMmioPointer};

use crate::console::{for_each_crlf, Console, InvalidBaudRate};

/// A PL011 used as a polled, transmit-only console.
pub struct Pl011 {
    uart: Uart<'static>,
}

impl Pl011 {
    /// A console on the PL011 at `base`, used as it is: on QEMU, and after firmware that set
    /// the UART up, no [`init`](Self::init) is needed.
    ///
    /// # Safety
    ///
    /// `base` must be the identity-mapped (device-memory) address of a PL011's 4 KiB register
    /// block, and nothing else may drive that UART while the returned value lives.
    pub unsafe fn new(base: usize) -> Self {
        let regs = NonNull::new(base as *mut _).expect("PL011 at address 0");
        // SAFETY: forwarded from this function's contract.
        let uart = Uart::new(unsafe { UniqueMmioPointer::new(regs) });
        Self { uart }
    }

    /// Programs 8 data bits, no parity, one stop bit, FIFOs on, at `baud` given the UART's
    /// reference clock, and enables transmit and receive. Output still in the FIFO from
    /// before is sent first, under the old settings.
    pub fn init(&mut self, uart_clock_hz: u32, baud: u32) -> Result<(), InvalidBaudRate> {
        self.flush();
        let config = LineConfig {
            data_bits: DataBits::Bits8,
            parity: Parity::None,
            stop_bits: StopBits::One,
        };
        self.uart
            .enable(config, baud, uart_clock_hz)
            .map_err(|_| InvalidBaudRate)
    }

    fn put(&mut self, byte: u8) {
        while self.uart.is_tx_fifo_full() {
            core::hint::spin_loop();
        }
        self.uart.write_word(byte);
    }

    /// Writes `bytes`, sending `\r\n` for every `\n`.
    pub fn write_bytes(&mut self, bytes: &[u8]) {
        for_each_crlf(bytes, |byte| self.put(byte));
    }

    /// Blocks until the transmit FIFO and shift register are empty.
    pub fn flush(&mut self) {
        while self.uart.is_busy() {
            core::hint::spin_loop();
        }
    }
}

impl fmt::Write for Pl011 {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.write_bytes(s.as_bytes());
        Ok(())
    }
}

impl Console for Pl011 {
    fn write_bytes(&mut self, bytes: &[u8]) {
        Pl011::write_bytes(self, bytes);
    }

    fn flush(&mut self) {
        Pl011::flush(self);
    }
}
