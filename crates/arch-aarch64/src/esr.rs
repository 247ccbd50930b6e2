//! Decoding of `ESR_EL1`, so a fault report names what happened instead of printing a number.

use core::arch::asm;

/// The syndrome registers of the synchronous exception being handled.
#[derive(Clone, Copy, Debug)]
pub struct Syndrome {
    /// `ESR_EL1`.
    pub esr: u64,
    /// `FAR_EL1` (meaningful for aborts and alignment faults).
    pub far: u64,
}

impl Syndrome {
    /// Reads ESR_EL1 and FAR_EL1. Call before anything could take another exception.
    pub fn read() -> Self {
        let (esr, far): (u64, u64);
        // SAFETY: reads two syndrome registers; no side effects.
        unsafe {
            asm!("mrs {0}, esr_el1", "mrs {1}, far_el1", out(reg) esr, out(reg) far,
                 options(nomem, nostack, preserves_flags))
        }
        Self { esr, far }
    }

    /// The exception class, ESR bits [31:26].
    pub fn class(&self) -> u8 {
        ((self.esr >> 26) & 0x3f) as u8
    }

    /// The instruction-specific syndrome, ESR bits [24:0].
    pub fn iss(&self) -> u32 {
        (self.esr & 0x1ff_ffff) as u32
    }

    /// Whether FAR holds a meaningful address for this class.
    pub fn far_valid(&self) -> bool {
        matches!(self.class(), 0x20 | 0x21 | 0x24 | 0x25 | 0x22)
    }

    /// A human-readable description of the exception class.
    pub fn class_name(&self) -> &'static str {
        class_name(self.class())
    }

    /// For aborts: a description of the fault status code (DFSC/IFSC).
    pub fn fault_status(&self) -> Option<&'static str> {
        if !matches!(self.class(), 0x20 | 0x21 | 0x24 | 0x25) {
            return None;
        }
        Some(fault_status_name((self.iss() & 0x3f) as u8))
    }
}

/// Names an ESR exception class.
pub fn class_name(ec: u8) -> &'static str {
    match ec {
        0x00 => "unknown reason (undefined instruction)",
        0x01 => "trapped WFI/WFE",
        0x07 => "access to SIMD/FP trapped",
        0x0e => "illegal execution state",
        0x15 => "SVC from AArch64",
        0x18 => "trapped MSR/MRS/system instruction",
        0x20 => "instruction abort from a lower EL",
        0x21 => "instruction abort (invalid address for code)",
        0x22 => "PC alignment fault",
        0x24 => "data abort from a lower EL",
        0x25 => "data abort (invalid data address)",
        0x26 => "SP alignment fault",
        0x2c => "trapped floating-point exception",
        0x2f => "SError interrupt",
        0x30 | 0x31 => "breakpoint",
        0x32 | 0x33 => "software step",
        0x34 | 0x35 => "watchpoint",
        0x3c => "BRK instruction",
        _ => "unrecognised exception class",
    }
}

/// Names a data/instruction fault status code.
pub fn fault_status_name(fsc: u8) -> &'static str {
    match fsc {
        0x00..=0x03 => "address size fault",
        0x04..=0x07 => "translation fault",
        0x09..=0x0b => "access flag fault",
        0x0d..=0x0f => "permission fault",
        0x10 => "synchronous external abort (no device or memory at this address)",
        0x21 => "alignment fault",
        0x30 => "TLB conflict abort",
        _ => "other fault status",
    }
}
