//! The console interface the kernel writes its output through.
//!
//! Boards have different UARTs (the PL011 on QEMU `virt`, the PL011 or the BCM2835 mini UART
//! on the Pi), but the kernel only ever needs "write these bytes, translating line ends" and
//! "wait until they are out" (before it resets or exits), so that is the whole interface.

use core::fmt;

/// A polled, transmit-only serial console.
pub trait Console: fmt::Write + Send {
    /// Writes `bytes`, sending `\r\n` for every `\n` so terminals return the carriage.
    /// Blocks while the transmit FIFO is full.
    fn write_bytes(&mut self, bytes: &[u8]);

    /// Blocks until everything written has left the transmitter.
    fn flush(&mut self);
}

/// The requested baud rate cannot be produced from the given UART clock.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub struct InvalidBaudRate;

impl fmt::Display for InvalidBaudRate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("baud rate not reachable from this UART clock")
    }
}

/// Feeds `bytes` to `put` one at a time, with `\r` inserted before every `\n`.
pub(crate) fn for_each_crlf(bytes: &[u8], mut put: impl FnMut(u8)) {
    for &byte in bytes {
        if byte == b'\n' {
            put(b'\r');
        }
        put(byte);
    }
}
