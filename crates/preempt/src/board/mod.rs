//! Board selection: the one place that knows which machine the kernel runs on.
//!
//! The kernel calls the free functions below; each board module provides them: `init(dtb) ->
//! BoardInfo { ram_end, description }`, `MEMORY_MAP`, `console_write`, `exit`, `timer_line`,
//! `with_irqchip`, `irq_serve` (the interrupt path: acknowledge, handle and end every pending
//! line) and the other `irq_*` hooks. A board is chosen with a Cargo feature
//! (`board-virt`, the default, or `board-rpi`), because the boards need different link
//! addresses and image formats anyway — but nothing outside this module (and the drivers it
//! uses) ever tests which one it is.
//!
//! - [`virt`]: QEMU `virt` — GICv2/GICv3, PL011, devices from the device tree.
//! - [`rpi`]: Raspberry Pi Zero 2 W (BCM2837) and QEMU `raspi3b` — ARM-local and BCM2835
//!   interrupt controllers, PL011 or mini UART, firmware mailbox, fixed addresses. Its features:
//!   `qemu-exit` (exit through semihosting, for QEMU runs) and `rpi-mini-uart`.

#[cfg(not(feature = "board-rpi"))]
mod virt;
#[cfg(not(feature = "board-rpi"))]
pub(crate) use virt::*;

#[cfg(feature = "board-rpi")]
mod rpi;
#[cfg(feature = "board-rpi")]
pub(crate) use rpi::*;

/// The number `N` of the first word `key=N` of a command line.
#[allow(dead_code)] // the Pi's use is behind `qemu-exit`
fn number_in(line: &str, key: &str) -> Option<u64> {
    line.split_ascii_whitespace()
        .find_map(|word| word.strip_prefix(key)?.strip_prefix('='))
        .and_then(|n| n.parse().ok())
}
