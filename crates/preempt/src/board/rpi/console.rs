//! The Pi's serial console on GPIO 14 (TXD, header pin 8) and 15 (RXD, pin 10), 115200 8N1.
//!
//! Two UARTs can drive those pins, chosen at build time:
//!
//! - **PL011** (UART0, `0x3F20_1000`, pins ALT0) — the default. Its baud divisor is computed
//!   from the UART reference clock the firmware reports (`init_uart_clock`, 48 MHz on current
//!   firmware; QEMU says 3 MHz), so it is right whatever `config.txt` chose. On the Zero 2 W
//!   the PL011 normally drives Bluetooth: `config.txt` needs `dtoverlay=disable-bt` (or
//!   `miniuart-bt`) so the firmware leaves it to us.
//! - **Mini UART** (UART1 in the AUX block, `0x3F21_5000`, pins ALT5) — feature
//!   `rpi-mini-uart`. Its baud rate derives from the VideoCore core clock, which the
//!   firmware reports too; `enable_uart=1` keeps that clock fixed so the rate stays right.
//!   In QEMU the mini UART is the second serial port (`-serial null -serial stdio`).
//!
//! The pins are connected here (with pulls off) rather than trusting the firmware, which
//! routes them according to `config.txt` and the device tree overlays it applied.

use core::fmt;

use preempt_arch::SpinLock;
use preempt_drivers::bcm2835_gpio::{ConsoleUart, Gpio, BCM2837_GPIO_BASE};
use preempt_drivers::bcm2835_mbox::{Clock, Mailbox};

/// The console's baud rate.
const BAUD: u32 = 115_200;

#[cfg(not(feature = "rpi-mini-uart"))]
mod uart {
    use super::{Clock, ConsoleUart};
    pub(super) use preempt_drivers::pl011::Pl011 as Uart;

    /// UART0 on the BCM2837.
    pub(super) const BASE: usize = 0x3F20_1000;
    pub(super) const PINS: ConsoleUart = ConsoleUart::Pl011;
    pub(super) const CLOCK: Clock = Clock::Uart;
    /// The firmware's default `init_uart_clock` (since 2016), used if it does not answer.
    pub(super) const FALLBACK_CLOCK_HZ: u32 = 48_000_000;
    pub(super) const NAME: &str = "PL011";
}

#[cfg(feature = "rpi-mini-uart")]
mod uart {
    use super::{Clock, ConsoleUart};
    pub(super) use preempt_drivers::bcm2835_aux::MiniUart as Uart;

    pub(super) const BASE: usize = preempt_drivers::bcm2835_aux::BCM2837_AUX_BASE;
    pub(super) const PINS: ConsoleUart = ConsoleUart::MiniUart;
    pub(super) const CLOCK: Clock = Clock::Core;
    /// The core clock `enable_uart=1` fixes on the Pi 3 family, used if the firmware is silent.
    pub(super) const FALLBACK_CLOCK_HZ: u32 = 250_000_000;
    pub(super) const NAME: &str = "mini UART";
}

static UART: SpinLock<Option<uart::Uart>> = SpinLock::new(None);

/// Which UART the console is and the clock its divisor came from, for the boot banner.
pub(super) struct Summary {
    clock_hz: u32,
    from_firmware: bool,
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let source = if self.from_firmware { "" } else { " assumed" };
        write!(
            f,
            "{} console ({} Hz clock{source})",
            uart::NAME,
            self.clock_hz
        )
    }
}

/// Connects GPIO 14/15 to the UART and programs it for 115200 8N1.
pub(super) fn init(mbox: &mut Mailbox) -> Summary {
    let reported = mbox.clock_rate(uart::CLOCK);
    let clock_hz = reported.unwrap_or(uart::FALLBACK_CLOCK_HZ);
    // SAFETY: the BCM2837's GPIO block, touched only here, once, during boot.
    let mut gpio = unsafe { Gpio::new(BCM2837_GPIO_BASE) };
    gpio.route_console(uart::PINS);
    // SAFETY: the BCM2837's UART at its fixed address; `UART` owns it from now on.
    let mut port = unsafe { uart::Uart::new(uart::BASE) };
    // A clock that cannot make 115200 leaves the UART as the firmware set it.
    let _ = port.init(clock_hz, BAUD);
    *UART.lock() = Some(port);
    Summary {
        clock_hz,
        from_firmware: reported.is_some(),
    }
}

/// Writes bytes to the console.
pub(super) fn write(bytes: &[u8]) {
    if let Some(uart) = UART.lock().as_mut() {
        uart.write_bytes(bytes);
    }
}

/// Waits until everything written has left the UART.
pub(super) fn flush() {
    // A failure inside a console write must not deadlock on the way out.
    if UART.raw().held_by_this_core() {
        return;
    }
    if let Some(uart) = UART.lock().as_mut() {
        uart.flush();
    }
}
