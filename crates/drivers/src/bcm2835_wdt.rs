//! Resetting (or powering off) a Raspberry Pi through the BCM2835 power-management watchdog.
//!
//! The Pi has no PSCI firmware to ask for a reset, so the only way out is the PM block's
//! watchdog: arm it with a very short timeout and ask for a full reset when it fires. The
//! registers are not in "BCM2835 ARM Peripherals"; their layout (`PM_RSTC` at 0x1C, `PM_RSTS`
//! at 0x20, `PM_WDOG` at 0x24 of the PM block, ARM physical `0x3F10_0000` on the BCM2837,
//! every write carrying the password `0x5A` in bits 31:24) is the one the Linux
//! `bcm2835_wdt` driver and QEMU's `bcm2835_powermgt` model agree on.

use core::mem::offset_of;
use core::ptr::NonNull;

use safe_mmio::fields::ReadPureWrite;
use safe_mmio::{field, UniqueMmioPointer};

/// ARM physical address of the power-management block on the BCM2837.
pub const BCM2837_PM_BASE: usize = 0x3F10_0000;

/// Every PM register write must carry this in bits 31:24 or it is ignored.
const PASSWORD: u32 = 0x5A00_0000;

/// `PM_RSTC.WRCFG` (bits 5:4): what happens when the watchdog fires.
const RSTC_WRCFG_MASK: u32 = 0x30;

/// `PM_RSTC.WRCFG` value: full reset.
const RSTC_WRCFG_FULL_RESET: u32 = 0x20;

/// `PM_WDOG` timeout, in watchdog ticks of about 16 µs: fire almost at once.
const WDOG_RESET_TICKS: u32 = 10;

/// `PM_WDOG` timeout field (bits 19:0).
const WDOG_TIME_MASK: u32 = 0x000F_FFFF;

/// `PM_RSTS` boot-partition field: six bits stored in bits 0, 2, 4, 6, 8 and 10.
const RSTS_PARTITION_MASK: u32 = 0x555;

/// The partition number (63, all six bits set) that the Raspberry Pi firmware reads after a
/// watchdog reset as "halt instead of booting"; Linux powers a Pi off this way.
const RSTS_PARTITION_HALT: u32 = 0x555;

/// The watchdog part of the PM block.
#[repr(C)]
struct PmRegisters {
    _reserved: [u32; 7],
    /// 0x1C: `PM_RSTC`, reset control.
    rstc: ReadPureWrite<u32>,
    /// 0x20: `PM_RSTS`, reset status, including the partition to boot next.
    rsts: ReadPureWrite<u32>,
    /// 0x24: `PM_WDOG`, watchdog timeout.
    wdog: ReadPureWrite<u32>,
}

const _: () = {
    assert!(offset_of!(PmRegisters, rstc) == 0x1C);
    assert!(offset_of!(PmRegisters, rsts) == 0x20);
    assert!(offset_of!(PmRegisters, wdog) == 0x24);
};

/// The PM watchdog.
pub struct Watchdog {
    regs: UniqueMmioPointer<'static, PmRegisters>,
}

impl Watchdog {
    /// A driver for the PM block at `pm_base` ([`BCM2837_PM_BASE`] on the Pi Zero 2 W).
    ///
    /// # Safety
    ///
    /// `pm_base` must be the identity-mapped (device-memory) address of the PM block, and
    /// nothing else may use its watchdog registers while the returned value lives.
    pub unsafe fn new(pm_base: usize) -> Self {
        let regs = NonNull::new(pm_base as *mut PmRegisters).expect("PM block at 0");
        // SAFETY: forwarded from this function's contract.
        let regs = unsafe { UniqueMmioPointer::new(regs) };
        Self { regs }
    }

    /// Resets the whole chip: the watchdog is armed with a timeout of about 160 µs and set to
    /// cause a full reset. If the reset never comes, the core [`halt`]s.
    pub fn reset(&mut self) -> ! {
        field!(self.regs, wdog).write(PASSWORD | (WDOG_RESET_TICKS & WDOG_TIME_MASK));
        field!(self.regs, rstc)
            .modify(|v| PASSWORD | (v & !(0xFF00_0000 | RSTC_WRCFG_MASK)) | RSTC_WRCFG_FULL_RESET);
        halt()
    }

    /// Powers the board down as far as it can go: marks the next boot partition as 63, which
    /// the Raspberry Pi firmware treats as "halt", then resets.
    pub fn power_off(&mut self) -> ! {
        field!(self.regs, rsts).modify(|v| {
            PASSWORD | (v & !(0xFF00_0000 | RSTS_PARTITION_MASK)) | RSTS_PARTITION_HALT
        });
        self.reset()
    }
}

/// Parks the calling core for good, waiting for events; the fallback when no reset or exit
/// mechanism works. Interrupts are left as they are, so masking them first is the caller's
/// choice.
pub fn halt() -> ! {
    loop {
        aarch64_cpu::asm::wfe();
    }
}
