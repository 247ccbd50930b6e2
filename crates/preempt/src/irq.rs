//! User interrupt handlers.
//!
//! A handler is a plain `fn(line)` registered for an interrupt line (a GIC INTID on virt). It
//! runs in interrupt context with IRQs masked, on the interrupted thread's stack: keep it short.
//! From a handler a program may release a semaphore, `try_send` on a channel, unpark a thread
//! or set event flags; a thread they wake that outranks the interrupted one runs as soon as the
//! handler returns. `Mutex::try_lock` and `RwLock::try_read`/`try_write` work there (the
//! handler acts as the thread it interrupted). Blocking calls (lock, read, write, condition
//! waits, join, sleep, recv) are not allowed there, even when they would not have to wait: they
//! stop the system with a message.
//!
//! A line has at most one handler: registering a second is refused. The kernel keeps two
//! lines for itself ([`IrqError::Reserved`]): the timer and the inter-processor interrupt
//! (SGI 15 on virt; the core's mailbox 1, line 5, on the Raspberry Pi, where SGIs 0..=15 all
//! stay the program's).

use core::fmt;
use core::sync::atomic::{AtomicU32, Ordering};

use preempt_arch::{cpu, layout::MAX_CPUS, SpinLock};

use crate::board;
use crate::kernel::irq as kirq;
pub use preempt_drivers::irq::IrqError as ControllerError;

/// Why an interrupt request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IrqError {
    /// The line number is not one this kernel can dispatch.
    InvalidLine(u32),
    /// The line is the kernel's own (the timer, or the inter-processor interrupt: SGI 15 on
    /// virt, line 5 on the Raspberry Pi).
    Reserved(u32),
    /// The line already has a handler (unregister it first).
    AlreadyRegistered(u32),
    /// The interrupt controller refused.
    Controller(ControllerError),
}

impl fmt::Display for IrqError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidLine(l) => write!(f, "interrupt line {l} is out of range"),
            Self::Reserved(l) => write!(f, "interrupt line {l} is reserved by the kernel"),
            Self::AlreadyRegistered(l) => write!(f, "interrupt line {l} already has a handler"),
            Self::Controller(e) => write!(f, "interrupt controller: {e}"),
        }
    }
}

fn check(line: u32) -> Result<(), IrqError> {
    if line as usize >= kirq::MAX_LINES {
        return Err(IrqError::InvalidLine(line));
    }
    if line == board::timer_line() || line == board::ipi_line() {
        return Err(IrqError::Reserved(line));
    }
    Ok(())
}

/// Registers `handler` for `line` and enables the line on this core (a software interrupt's
/// line also on every other core that raises it: [`trigger_software`]).
///
/// A line has at most one handler: registering a second is refused with
/// [`IrqError::AlreadyRegistered`] and the first stays. If the controller refuses to enable the
/// line, the handler is removed again and the controller's error returned.
pub fn register(line: u32, handler: fn(u32)) -> Result<(), IrqError> {
    check(line)?;
    kirq::install_handler(line, handler).map_err(|e| match e {
        kirq::InstallError::OutOfRange => IrqError::InvalidLine(line),
        kirq::InstallError::Occupied => IrqError::AlreadyRegistered(line),
    })?;
    let enabled = enable(line);
    if enabled.is_err() {
        kirq::remove_handler(line);
    }
    forget_sgi_enables();
    enabled
}

/// Disables `line` and removes its handler.
pub fn unregister(line: u32) -> Result<(), IrqError> {
    check(line)?;
    disable(line)?;
    kirq::remove_handler(line);
    forget_sgi_enables();
    Ok(())
}

/// Enables delivery of `line` to this core.
pub fn enable(line: u32) -> Result<(), IrqError> {
    check(line)?;
    controller(|c| c.enable(line, true))
}

/// Disables delivery of `line`.
pub fn disable(line: u32) -> Result<(), IrqError> {
    check(line)?;
    controller(|c| c.enable(line, false))
}

/// The line on which software-generated interrupt `sgi` arrives.
pub fn sgi_line(sgi: u32) -> u32 {
    board::with_irqchip(|c| c.sgi_line(sgi)).unwrap_or(sgi)
}

/// Raises software-generated interrupt `sgi` on the current core (for tests and benchmarks).
///
/// Its handler runs whichever core raises it: an SGI's line is enabled per core (banked), and
/// [`register`] enables it only on the registering core, so the first raise on another core
/// enables it there (IRQs masked meanwhile, so the caller cannot move between the two).
pub fn trigger_software(sgi: u32) -> Result<(), IrqError> {
    let bit = 1u32.checked_shl(sgi).unwrap_or(0);
    if SGIS_EVERYWHERE.load(Ordering::Relaxed) & bit != 0 {
        return raise(sgi);
    }
    trigger_enabling(sgi, bit)
}

/// [`trigger_software`] until every started core has enabled `sgi`'s line.
#[cold]
#[inline(never)]
fn trigger_enabling(sgi: u32, bit: u32) -> Result<(), IrqError> {
    let irqs = cpu::irq_save();
    let r = enable_sgi_here(sgi, bit).and_then(|()| raise(sgi));
    cpu::irq_restore(irqs);
    r
}

/// Raises `sgi` on this core.
#[inline(always)]
fn raise(sgi: u32) -> Result<(), IrqError> {
    // Without the controller's lock where it allows (GICv3: the core's own system register).
    if let Some(r) = board::irq_send_sgi_to_self(sgi) {
        return r.map_err(IrqError::Controller);
    }
    controller(|c| c.send_sgi_to_self(sgi))
}

/// Per core, bit n: SGI n's line has been enabled on this core since the last
/// [`register`]/[`unregister`] (which clear every core's bits).
static SGIS_ENABLED: [AtomicU32; MAX_CPUS] = [const { AtomicU32::new(0) }; MAX_CPUS];

/// Bit n: every started core has SGI n's line enabled (the raise needs no check).
static SGIS_EVERYWHERE: AtomicU32 = AtomicU32::new(0);

/// Enables SGI `sgi`'s line (`bit` its bit) on this core if it has a handler and this core
/// has not enabled it yet. IRQs masked (the core cannot change).
fn enable_sgi_here(sgi: u32, bit: u32) -> Result<(), IrqError> {
    let core = cpu::core_id();
    let Some(mine) = SGIS_ENABLED.get(core) else {
        return Ok(());
    };
    if bit == 0 || mine.load(Ordering::Relaxed) & bit != 0 {
        return Ok(());
    }
    let line = sgi_line(sgi);
    if !kirq::has_handler(line) {
        return Ok(());
    }
    enable(line)?;
    // Under the lock, so that a registration's `forget_sgi_enables` on another core cannot
    // fall between reading the cores' records and setting the flag (it would set the flag
    // from records the registration had cleared, and a core whose line was disabled since
    // would skip enabling it).
    let _records = SGI_RECORDS.lock();
    mine.fetch_or(bit, Ordering::Relaxed);
    let everywhere = (0..MAX_CPUS)
        .filter(|c| crate::kernel::cpus_mask() & (1 << c) != 0)
        .all(|c| SGIS_ENABLED[c].load(Ordering::Relaxed) & bit != 0);
    if everywhere {
        SGIS_EVERYWHERE.fetch_or(bit, Ordering::Relaxed);
    }
    Ok(())
}

/// Serializes the updates of [`SGIS_ENABLED`] and [`SGIS_EVERYWHERE`] (slow paths only: a
/// raise reads the flag without it).
static SGI_RECORDS: SpinLock<()> = SpinLock::new(());

/// After a registration changes: every core enables SGI lines again on its next raise.
fn forget_sgi_enables() {
    let _records = SGI_RECORDS.lock();
    SGIS_EVERYWHERE.store(0, Ordering::Relaxed);
    for mask in &SGIS_ENABLED {
        mask.store(0, Ordering::Relaxed);
    }
}

fn controller(
    f: impl FnOnce(&mut dyn preempt_drivers::irq::InterruptController) -> Result<(), ControllerError>,
) -> Result<(), IrqError> {
    match board::with_irqchip(f) {
        Some(r) => r.map_err(IrqError::Controller),
        None => Err(IrqError::Controller(ControllerError::Unsupported)),
    }
}
