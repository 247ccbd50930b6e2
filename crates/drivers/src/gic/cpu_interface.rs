//! The interrupt path's side of a GIC: acknowledge and end of interrupt, without a lock.
//!
//! These two are the calling core's own registers — `GICC_IAR`/`GICC_EOIR` of a GICv2 are
//! banked per core, `ICC_IAR1_EL1`/`ICC_EOIR1_EL1` of a GICv3 are system registers — so, unlike
//! the distributor, which every core shares and the kernel keeps behind a lock in
//! [`Gic`](super::Gic), they need no mutual exclusion. Going through the `Gic` value would
//! cost a lock round, an `Option` and a version `match` per access, three times per
//! interrupt. For a GICv2 the registers are written here with volatile accesses rather than
//! through the `arm-gic` crate, whose CPU-interface methods need the whole driver mutably;
//! the driver itself never touches `GICC_IAR`/`GICC_EOIR` (see `v2.rs`). For a GICv3 they are
//! one `mrs`/`msr` each here (the `arm-gic` accessors re-validate the INTID on the way out).
//! The acknowledged value is handed back unchanged at the end, which for a GICv2 SGI carries
//! the source core the end of interrupt must name.

use super::{PPI_START, SPECIAL_START};
use crate::irq::IrqError;

/// `GICC_IAR`: acknowledge (read).
const GICC_IAR: usize = 0x0c;
/// `GICC_EOIR`: end of interrupt (write).
const GICC_EOIR: usize = 0x10;
/// The INTID field of `ICC_IAR1_EL1` (24 bits).
const ICC_IAR1_INTID_MASK: u64 = 0xff_ffff;
/// The INTID field of `GICC_IAR` (bits 12:10 hold an SGI's source core).
const GICV2_INTID_MASK: u32 = 0x3ff;

/// How this core acknowledges and ends interrupts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CpuInterface {
    /// A GICv2 whose CPU interface is at `gicc`.
    V2 {
        /// Base address of the CPU interface (identity-mapped device memory).
        gicc: usize,
    },
    /// A GICv3 (system-register interface).
    V3,
}

/// An acknowledged interrupt, to be handed back to [`CpuInterface::end`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ack {
    /// What the end of interrupt writes back: the `GICC_IAR` value (GICv2), or the INTID
    /// `ICC_IAR1_EL1` gave (GICv3).
    raw: Raw,
    line: u32,
}

/// 32 bits for either version (a GICv3 INTID has 24), so that an [`Ack`] is passed in
/// registers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Raw {
    V2(u32),
    V3(u32),
}

impl Ack {
    /// The GICv2 acknowledge value of `line` as the calling core would read it for a
    /// peripheral interrupt (no source core).
    pub(super) fn of_line(line: u32) -> Self {
        Ack {
            raw: Raw::V2(line),
            line,
        }
    }

    /// The interrupt's line (INTID).
    pub fn line(self) -> u32 {
        self.line
    }
}

impl CpuInterface {
    /// Acknowledges the calling core's highest-priority pending interrupt; `None` if nothing
    /// (or only a spurious interrupt) is pending.
    #[inline]
    pub fn acknowledge(self) -> Option<Ack> {
        match self {
            Self::V2 { gicc } => {
                // SAFETY: `gicc` is the CPU interface `Gic::new_v2`'s caller vouched for;
                // reading `GICC_IAR` acknowledges this core's interrupt and nothing else
                // reads it (module docs).
                let raw = unsafe { ((gicc + GICC_IAR) as *const u32).read_volatile() };
                let line = raw & GICV2_INTID_MASK;
                (line < SPECIAL_START).then_some(Ack {
                    raw: Raw::V2(raw),
                    line,
                })
            }
            Self::V3 => {
                let iar: u64;
                // SAFETY: reading ICC_IAR1_EL1 acknowledges this core's highest-priority
                // Group 1 interrupt; it touches no memory.
                unsafe {
                    core::arch::asm!("mrs {0}, icc_iar1_el1", out(reg) iar,
                        options(nomem, nostack, preserves_flags))
                };
                let id = iar & ICC_IAR1_INTID_MASK;
                (id < u64::from(SPECIAL_START)).then_some(Ack {
                    raw: Raw::V3(id as u32),
                    line: id as u32,
                })
            }
        }
    }

    /// Acknowledges, hands to `f` and ends every pending interrupt in turn until none is
    /// left: the interrupt path's loop, with the GIC version decided once rather than at every
    /// acknowledge and end. The first interrupt is served inline and any further ones by an
    /// out-of-line loop, so that the common case — one interrupt per exception — compiles to
    /// straight-line code without values kept alive across a loop.
    #[inline(always)]
    pub fn serve(self, mut f: impl FnMut(u32)) {
        match self {
            Self::V3 => Self::V3.serve_on(&mut f),
            Self::V2 { gicc } => Self::V2 { gicc }.serve_on(&mut f),
        }
    }

    #[inline(always)]
    fn serve_on<F: FnMut(u32)>(self, f: &mut F) {
        if let Some(ack) = self.acknowledge() {
            f(ack.line);
            self.end(ack);
            if let Some(next) = self.acknowledge() {
                self.serve_rest(next.raw, next.line, f);
            }
        }
    }

    /// The second and later interrupts of one entry. The first of them comes as its two
    /// fields, which go in registers: an `Ack` would be passed through memory, and a stack
    /// slot whose address escapes keeps the caller from ending in a tail call.
    #[cold]
    #[inline(never)]
    fn serve_rest<F: FnMut(u32)>(self, raw: Raw, line: u32, f: &mut F) {
        let mut ack = Some(Ack { raw, line });
        while let Some(a) = ack {
            f(a.line);
            self.end(a);
            ack = self.acknowledge();
        }
    }

    /// Raises software-generated interrupt `sgi` on the calling core when that needs no
    /// distributor access: on a GICv3 it is a write of the core's own `ICC_SGI1R_EL1`, so no
    /// lock either (`Some`). `None` on a GICv2, whose `GICD_SGIR` is a distributor register:
    /// the caller goes through the locked [`Gic`](super::Gic) instead.
    #[inline]
    pub fn send_sgi_to_self(self, sgi: u32) -> Option<Result<(), IrqError>> {
        match self {
            Self::V3 if sgi >= PPI_START => Some(Err(IrqError::InvalidLine(sgi))),
            Self::V3 => Some(super::Gic3::send_sgi_to_self(sgi)),
            Self::V2 { .. } => None,
        }
    }

    /// Ends the interrupt `ack` (from this core's [`acknowledge`](Self::acknowledge)).
    #[inline]
    pub fn end(self, ack: Ack) {
        match (self, ack.raw) {
            (Self::V2 { gicc }, Raw::V2(raw)) => {
                // SAFETY: as in `acknowledge`; `GICC_EOIR` takes the value `GICC_IAR` gave.
                unsafe { ((gicc + GICC_EOIR) as *mut u32).write_volatile(raw) }
            }
            (Self::V3, Raw::V3(id)) => {
                // SAFETY: writing ICC_EOIR1_EL1 with the INTID ICC_IAR1_EL1 gave ends that
                // interrupt (drop of the running priority and deactivation, EOImode 0).
                unsafe {
                    core::arch::asm!("msr icc_eoir1_el1, {0}", in(reg) u64::from(id),
                        options(nomem, nostack, preserves_flags))
                }
            }
            // An `Ack` of the other GIC version: not from this interface, nothing to end.
            _ => {}
        }
    }
}
