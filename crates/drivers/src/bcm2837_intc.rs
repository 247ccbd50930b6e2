//! The Raspberry Pi Zero 2 W's (BCM2837's) whole interrupt path as one controller: the
//! ARM-local block ([`LocalIntc`]) with the BCM2835 peripheral controller ([`PeripheralIntc`])
//! behind its GPU line, and software-generated interrupts emulated with a mailbox.
//!
//! # Line numbers
//!
//! | lines | source |
//! |-------|--------|
//! | 0..=3 | the calling core's generic timers (1 = `CNTPNSIRQ`, the kernel's tick) |
//! | 5 | [`IPI_LINE`]: the calling core's mailbox 1, the kernel's inter-processor interrupt |
//! | 16..=31 | SGIs 0..=15 of the calling core: bits 0..=15 of its mailbox 0 |
//! | 32..=95 | GPU interrupts 0..=63 (e.g. 33 system-timer match 1, 61 AUX/mini UART, 89 PL011) |
//! | 96..=103 | "basic" ARM interrupts 0..=7 (96 the SP804 ARM timer, 97 the ARM mailbox) |
//!
//! The local GPU line (8) is never returned: [`acknowledge`](InterruptController::acknowledge)
//! looks through it to the peripheral source behind it. Mailbox 1 carries the
//! inter-processor interrupt ([`IPI_LINE`]; raised on another core with
//! [`MailboxSender`](crate::bcm2836_local::MailboxSender) and [`IPI_MAILBOX`]), so that a user's
//! masked SGI can never switch it off; mailboxes 2 and 3 are unused.
//!
//! # SGIs
//!
//! A GIC has 16 SGIs per core; this SoC has four 32-bit mailboxes per core, each raising one
//! local line while any of its bits is set. So SGI `n` is bit `n` of the core's mailbox 0: a
//! program using SGI 5 on `virt` runs unchanged here. Acknowledging clears only that bit. The
//! hardware enables a whole mailbox, so the per-SGI enable is a mask kept here; SGIs raised
//! while masked stay pending (the mailbox line is switched off meanwhile) and arrive when
//! enabled, as on a GIC.

use crate::bcm2835_intc::{PeripheralIntc, SOURCES};
use crate::bcm2836_local::{LocalIntc, GPU_LINE, MAILBOX0_LINE};
use crate::irq::{InterruptController, IrqError};
use crate::mpidr;

/// Line of SGI 0; SGI `n` is line `SGI_LINE_BASE + n`.
pub const SGI_LINE_BASE: u32 = 16;

/// Number of SGIs (as on a GIC).
pub const SGIS: u32 = 16;

/// Line of peripheral source 0 ([`PeripheralIntc`]'s numbering); source `s` is line
/// `PERIPHERAL_LINE_BASE + s`.
pub const PERIPHERAL_LINE_BASE: u32 = 32;

/// The mailbox of each core that carries the inter-processor interrupt.
pub const IPI_MAILBOX: u32 = 1;

/// Line of the inter-processor interrupt: the local controller's line of [`IPI_MAILBOX`].
/// Acknowledging it empties the mailbox.
pub const IPI_LINE: u32 = MAILBOX0_LINE + IPI_MAILBOX;

/// Timer lines of the local controller (0..=3).
const TIMER_LINES: u32 = 4;

/// Mailbox of each core that carries its SGIs.
const SGI_MAILBOX: u32 = 0;

/// Cores of the SoC.
const CORES: usize = 4;

/// What a line number refers to.
enum Line {
    Timer(u32),
    Ipi,
    Sgi(u32),
    Peripheral(u32),
}

impl Line {
    fn of(line: u32) -> Result<Self, IrqError> {
        match line {
            0..TIMER_LINES => Ok(Self::Timer(line)),
            _ if line == IPI_LINE => Ok(Self::Ipi),
            SGI_LINE_BASE..PERIPHERAL_LINE_BASE => Ok(Self::Sgi(line - SGI_LINE_BASE)),
            _ => match line.checked_sub(PERIPHERAL_LINE_BASE) {
                Some(source) if source < SOURCES => Ok(Self::Peripheral(source)),
                _ => Err(IrqError::InvalidLine(line)),
            },
        }
    }
}

/// The BCM2837's interrupt controllers under one numbering (see the module docs).
pub struct Bcm2837Intc {
    local: LocalIntc,
    peripheral: PeripheralIntc,
    /// Per core: which SGIs (bits of mailbox 0) are enabled.
    sgi_enabled: [u32; CORES],
    initialised: bool,
}

impl Bcm2837Intc {
    /// Combines the two drivers; [`InterruptController::init_cpu`] sets both up.
    pub fn new(local: LocalIntc, peripheral: PeripheralIntc) -> Self {
        Self {
            local,
            peripheral,
            sgi_enabled: [0; CORES],
            initialised: false,
        }
    }

    fn core() -> usize {
        usize::from(mpidr::aff0()) % CORES
    }

    /// Takes the lowest enabled pending SGI of the calling core, clearing only its bit. If
    /// only masked SGIs are pending, switches the mailbox line off so they wait quietly.
    fn take_sgi(&mut self) -> Option<u32> {
        let enabled = self.sgi_enabled[Self::core()];
        let bits = self.local.mailbox_bits(SGI_MAILBOX) & enabled;
        if bits == 0 {
            let _ = self.local.enable(MAILBOX0_LINE, false);
            return None;
        }
        let sgi = bits.trailing_zeros();
        self.local.mailbox_clear_bits(SGI_MAILBOX, 1 << sgi);
        Some(SGI_LINE_BASE + sgi)
    }
}

/// The mailbox that wakes a parked core ([`Bcm2837Intc::wake_core`]): the last one, which
/// SGIs (mailbox 0) never use.
const WAKE_MAILBOX: u32 = 3;

impl Bcm2837Intc {
    /// Wakes core `core` out of a `wfi` with an interrupt (its wake mailbox), for bring-up;
    /// the core clears it with [`Bcm2837Intc::clear_wake`].
    pub fn wake_core(&mut self, core: usize) -> Result<(), IrqError> {
        self.local.wake_core(core, WAKE_MAILBOX)
    }

    /// On the woken core: stops the wake interrupt.
    pub fn clear_wake(&mut self) {
        self.local.unroute_own_mailbox(WAKE_MAILBOX);
    }
}

impl InterruptController for Bcm2837Intc {
    /// Local set-up for the calling core; on the first call also masks every peripheral source.
    fn init_cpu(&mut self, cpu: usize) {
        if !self.initialised {
            self.peripheral.init();
            self.initialised = true;
        }
        self.local.init_cpu(cpu);
        self.sgi_enabled[Self::core()] = 0;
    }

    /// Timers and SGIs switch for the calling core. A peripheral line is switched in the
    /// BCM2835 controller, and enabling one also routes the GPU line to the calling core.
    fn enable(&mut self, line: u32, enable: bool) -> Result<(), IrqError> {
        match Line::of(line)? {
            Line::Timer(timer) => self.local.enable(timer, enable),
            Line::Ipi => self.local.enable(IPI_LINE, enable),
            Line::Sgi(sgi) => {
                let mask = &mut self.sgi_enabled[Self::core()];
                *mask = if enable {
                    *mask | 1 << sgi
                } else {
                    *mask & !(1 << sgi)
                };
                let any = *mask != 0;
                self.local.enable(MAILBOX0_LINE, any)
            }
            Line::Peripheral(source) => {
                self.peripheral.enable(source, enable)?;
                if enable {
                    self.local.enable(GPU_LINE, true)?;
                }
                Ok(())
            }
        }
    }

    /// The lowest pending line: timers, then SGIs, then peripherals.
    fn acknowledge(&mut self) -> Option<u32> {
        let mut pending = self.local.pending_lines();
        while pending != 0 {
            let line = pending.trailing_zeros();
            pending &= pending - 1;
            let found = match line {
                0..TIMER_LINES => Some(line),
                MAILBOX0_LINE => self.take_sgi(),
                IPI_LINE => {
                    self.local.mailbox_clear_bits(IPI_MAILBOX, u32::MAX);
                    Some(IPI_LINE)
                }
                GPU_LINE => self.peripheral.pending().map(|s| PERIPHERAL_LINE_BASE + s),
                _ => None, // mailboxes 2 and 3: never enabled by this driver
            };
            if found.is_some() {
                return found;
            }
        }
        None
    }

    /// Nothing to do on either controller: sources fall silent when serviced, and an SGI's
    /// bit was cleared when it was acknowledged.
    fn end_of_interrupt(&mut self, _line: u32) {}

    fn send_sgi_to_self(&mut self, sgi: u32) -> Result<(), IrqError> {
        if sgi >= SGIS {
            return Err(IrqError::InvalidLine(sgi));
        }
        self.local.mailbox_set_bits(SGI_MAILBOX, 1 << sgi);
        // An SGI that was pending while masked may have switched the line off.
        if self.sgi_enabled[Self::core()] & 1 << sgi != 0 {
            self.local.enable(MAILBOX0_LINE, true)?;
        }
        Ok(())
    }

    fn timer_line(&self) -> u32 {
        self.local.timer_line()
    }

    fn sgi_line(&self, sgi: u32) -> u32 {
        SGI_LINE_BASE + sgi
    }
}
