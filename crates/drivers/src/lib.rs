//! Device drivers of preempt.
//!
//! This crate answers "how do I talk to this device?" and nothing else. Which controller a
//! board has, when a core enables its timer line and what runs after an interrupt are the
//! kernel's and the board module's decisions; the drivers only expose mechanisms behind two
//! small hardware-interface traits, [`irq::InterruptController`] and [`console::Console`], so
//! the kernel can be written once for the GIC of QEMU `virt` and for the BCM2836-style local
//! controller of the Raspberry Pi Zero 2 W.
//!
//! Where a maintained crate already drives a device (`arm-gic`, `arm-pl011-uart`, `fdt`) we
//! build on it; the Broadcom blocks have no such crate, so their register maps are written out
//! here on top of `safe-mmio`, the same MMIO layer those Arm crates use.
//!
//! Everything that dereferences a device address is an `unsafe fn` constructor whose caller
//! promises the address is right and owned; after construction the drivers are safe to use.
#![no_std]

pub mod bcm2835_aux;
pub mod bcm2835_gpio;
pub mod bcm2835_intc;
pub mod bcm2835_mbox;
pub mod bcm2835_wdt;
pub mod bcm2836_local;
pub mod bcm2837_intc;
pub mod console;
pub mod gic;
pub mod irq;
mod mpidr;
pub mod pl011;
pub mod platform;
pub mod semihosting;
