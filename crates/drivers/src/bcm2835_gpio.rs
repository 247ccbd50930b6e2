//! BCM2835/BCM2837 GPIO: just enough to connect a UART to the header pins.
//!
//! On the Pi Zero 2 W the serial console is GPIO 14 (TXD) and 15 (RXD), pins 8 and 10 of the
//! header. Those pins reach either the PL011 (function ALT0) or the mini UART (ALT5); which
//! UART is there at boot depends on `config.txt` (the PL011 drives Bluetooth unless
//! `dtoverlay=disable-bt` or `miniuart-bt` is set). Setting the function and disabling the
//! pull resistors is all the kernel needs, so that is all this driver does. Register offsets
//! are from "BCM2835 ARM Peripherals", section 6.1; the BCM2837 keeps the same block, at ARM
//! physical `0x3F20_0000`.

use core::mem::offset_of;
use core::ptr::NonNull;

use safe_mmio::fields::ReadPureWrite;
use safe_mmio::{field, UniqueMmioPointer};

/// ARM physical address of the GPIO block on the BCM2837.
pub const BCM2837_GPIO_BASE: usize = 0x3F20_0000;

/// Number of GPIO lines.
const PINS: u32 = 54;

/// Pins per `GPFSELn` register (three bits each).
const PINS_PER_FSEL: u32 = 10;

/// Core cycles to wait around the pull-control clock pulse ("BCM2835 ARM Peripherals",
/// GPPUDCLKn: "wait 150 cycles").
const PULL_SETTLE_CYCLES: u32 = 150;

/// The GPIO registers the driver uses ("BCM2835 ARM Peripherals", 6.1, register view).
#[repr(C)]
struct GpioRegisters {
    /// 0x00..0x14: `GPFSEL0..5`, function select, 3 bits per pin.
    fsel: [ReadPureWrite<u32>; 6],
    /// 0x18..0x90: set/clear/level/event/detect registers, unused here.
    _unused: [u32; 31],
    /// 0x94: `GPPUD`, the pull-up/down setting latched by the clock pulse below.
    pud: ReadPureWrite<u32>,
    /// 0x98, 0x9C: `GPPUDCLK0/1`, one bit per pin to latch `GPPUD` into.
    pud_clk: [ReadPureWrite<u32>; 2],
}

const _: () = {
    assert!(offset_of!(GpioRegisters, pud) == 0x94);
    assert!(offset_of!(GpioRegisters, pud_clk) == 0x98);
};

/// A pin function (`GPFSELn` field values; note ALT4 and ALT5 are not in numeric order).
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
#[repr(u32)]
pub enum Function {
    /// General-purpose input.
    Input = 0b000,
    /// General-purpose output.
    Output = 0b001,
    /// Alternate function 0 (GPIO 14/15: PL011 TXD0/RXD0).
    Alt0 = 0b100,
    /// Alternate function 1.
    Alt1 = 0b101,
    /// Alternate function 2.
    Alt2 = 0b110,
    /// Alternate function 3.
    Alt3 = 0b111,
    /// Alternate function 4.
    Alt4 = 0b011,
    /// Alternate function 5 (GPIO 14/15: mini UART TXD1/RXD1).
    Alt5 = 0b010,
}

/// A pull resistor setting (`GPPUD` values).
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
#[repr(u32)]
pub enum Pull {
    /// No pull resistor.
    None = 0b00,
    /// Pull down.
    Down = 0b01,
    /// Pull up.
    Up = 0b10,
}

/// Which UART the console pins GPIO 14/15 are given to.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub enum ConsoleUart {
    /// The PL011 (UART0): function ALT0.
    Pl011,
    /// The mini UART (UART1): function ALT5.
    MiniUart,
}

/// The GPIO block.
pub struct Gpio {
    regs: UniqueMmioPointer<'static, GpioRegisters>,
}

impl Gpio {
    /// A driver for the GPIO block at `base` ([`BCM2837_GPIO_BASE`] on the Pi Zero 2 W).
    ///
    /// # Safety
    ///
    /// `base` must be the identity-mapped (device-memory) address of the GPIO block, and
    /// nothing else may access it while the returned value lives.
    pub unsafe fn new(base: usize) -> Self {
        let regs = NonNull::new(base as *mut GpioRegisters).expect("GPIO block at 0");
        // SAFETY: forwarded from this function's contract.
        let regs = unsafe { UniqueMmioPointer::new(regs) };
        Self { regs }
    }

    /// Sets the function of `pin` (0..54); other pins are unchanged.
    ///
    /// # Panics
    ///
    /// If `pin` is not below 54.
    pub fn set_function(&mut self, pin: u32, function: Function) {
        assert!(pin < PINS, "no GPIO {pin}");
        let shift = (pin % PINS_PER_FSEL) * 3;
        let mut fsel = field!(self.regs, fsel);
        if let Some(mut reg) = fsel.get((pin / PINS_PER_FSEL) as usize) {
            reg.modify(|v| (v & !(0b111 << shift)) | (function as u32) << shift);
        }
    }

    /// Sets the pull resistor of every pin in `pins`, a bit mask of GPIO 0..31, with the
    /// `GPPUD`/`GPPUDCLK0` sequence: write the setting, wait, clock it into the chosen pins,
    /// wait, then remove both.
    pub fn set_pull(&mut self, pins: u32, pull: Pull) {
        field!(self.regs, pud).write(pull as u32);
        settle();
        self.write_pud_clk0(pins);
        settle();
        field!(self.regs, pud).write(Pull::None as u32);
        self.write_pud_clk0(0);
    }

    fn write_pud_clk0(&mut self, pins: u32) {
        if let Some(mut clk0) = field!(self.regs, pud_clk).get(0) {
            clk0.write(pins);
        }
    }

    /// Connects GPIO 14 (TXD) and 15 (RXD) to `uart`, with pull resistors off.
    pub fn route_console(&mut self, uart: ConsoleUart) {
        let function = match uart {
            ConsoleUart::Pl011 => Function::Alt0,
            ConsoleUart::MiniUart => Function::Alt5,
        };
        self.set_pull(1 << 14 | 1 << 15, Pull::None);
        self.set_function(14, function);
        self.set_function(15, function);
    }
}

/// Waits at least [`PULL_SETTLE_CYCLES`] core cycles.
fn settle() {
    for _ in 0..PULL_SETTLE_CYCLES {
        aarch64_cpu::asm::nop();
    }
}
