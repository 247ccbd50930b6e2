//! The interrupt-controller interface the kernel programs against.
//!
//! The kernel's interrupt path is the same on every board: acknowledge the highest pending
//! line, dispatch on its number, signal the end of the interrupt. Only the controller differs
//! (a GICv2 or GICv3 on QEMU `virt`, the BCM2836-style per-core controller on the Pi), so this
//! trait is the seam between them. Line numbers are the controller's own (GIC INTIDs, or the
//! bit numbers of the BCM2836 per-core IRQ source register); the kernel learns the ones it
//! needs from [`InterruptController::timer_line`] and [`InterruptController::sgi_line`] rather
//! than hard-coding them.

use core::fmt;

/// Why an interrupt-controller operation was refused.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub enum IrqError {
    /// The line number does not exist on this controller.
    InvalidLine(u32),
    /// The line exists but the hardware did not accept the change (for instance a GICv2
    /// enable bit that does not stick because the line is not implemented).
    Refused(u32),
    /// This controller cannot do the requested operation at all.
    Unsupported,
}

impl fmt::Display for IrqError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidLine(line) => write!(f, "interrupt line {line} does not exist"),
            Self::Refused(line) => write!(f, "interrupt line {line} refused the change"),
            Self::Unsupported => f.write_str("operation not supported by this controller"),
        }
    }
}

/// An interrupt controller as seen from one core at a time.
///
/// Operations on private lines (GIC SGIs and PPIs, every BCM2836 local line) act on the
/// *calling* core, like the banked hardware registers they reach; so each core enables its own
/// timer line after its own [`init_cpu`](Self::init_cpu).
pub trait InterruptController: Send {
    /// Per-core setup, run on core `cpu` (its linear index) before it unmasks interrupts:
    /// wake the core's redistributor, enable its CPU interface and open the priority mask.
    ///
    /// Also performs the controller's one-time global setup if that has not happened yet, so
    /// calling this on the boot core is enough to get a working controller.
    fn init_cpu(&mut self, cpu: usize);

    /// Enables or disables `line`; private lines are changed for the calling core only.
    fn enable(&mut self, line: u32, enable: bool) -> Result<(), IrqError>;

    /// Acknowledges and returns the highest-priority pending line of the calling core, or
    /// `None` if nothing (or only a spurious interrupt) is pending.
    fn acknowledge(&mut self) -> Option<u32>;

    /// Signals that the calling core finished handling `line`, returned by
    /// [`acknowledge`](Self::acknowledge).
    fn end_of_interrupt(&mut self, line: u32);

    /// Raises software-generated interrupt `sgi` on the calling core (for tests). It arrives
    /// as line [`sgi_line(sgi)`](Self::sgi_line), which must be enabled first.
    fn send_sgi_to_self(&mut self, sgi: u32) -> Result<(), IrqError>;

    /// The line of the EL1 non-secure physical timer (`CNTP_*_EL0`) on this controller.
    fn timer_line(&self) -> u32;

    /// The line on which software-generated interrupt `sgi` is acknowledged. On a GIC an SGI's
    /// line is its INTID, which is the default; controllers that emulate SGIs override this.
    fn sgi_line(&self, sgi: u32) -> u32 {
        sgi
    }
}
