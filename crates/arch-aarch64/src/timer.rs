//! The EL1 non-secure physical generic timer (CNTP_*) and the system counter.
//!
//! The physical timer is used rather than the virtual one because it is the one both boards
//! route the same way: a GIC PPI on QEMU virt and `CNTPNSIRQ` on the BCM2836 local interrupt
//! controller. Deadlines are written as absolute compare values (CVAL), so a late tick never
//! shifts later ones. The counter frequency is always read from `CNTFRQ_EL0` — 62.5 MHz in
//! QEMU, 19.2 MHz on the Pi.

use core::arch::asm;

/// Counter ticks per second (`CNTFRQ_EL0`).
#[inline]
pub fn frequency() -> u64 {
    let f: u64;
    // SAFETY: reads CNTFRQ_EL0, no side effects.
    unsafe { asm!("mrs {0}, cntfrq_el0", out(reg) f, options(nomem, nostack, preserves_flags)) }
    f
}

/// The current count of the physical system counter (`CNTPCT_EL0`), ordered after earlier
/// instructions by an `isb`.
#[inline]
pub fn counter() -> u64 {
    let c: u64;
    // SAFETY: `isb` + read of CNTPCT_EL0; no memory is touched.
    unsafe {
        asm!("isb", "mrs {0}, cntpct_el0", out(reg) c, options(nomem, nostack, preserves_flags))
    }
    c
}

/// The current count of the physical system counter, read without an `isb`: it may be
/// read a little before the instructions ahead of it complete. For times that only need to
/// be right to within a few instructions (the start of a time slice).
#[inline(always)]
pub fn counter_unordered() -> u64 {
    let c: u64;
    // SAFETY: reads CNTPCT_EL0; no memory is touched.
    unsafe { asm!("mrs {0}, cntpct_el0", out(reg) c, options(nomem, nostack, preserves_flags)) }
    c
}

/// The current count of the virtual system counter (`CNTVCT_EL0`), read without an `isb`
/// (as [`counter_unordered`]). Boot sets `CNTVOFF_EL2` to 0 when it starts at EL2, so it
/// counts as the physical counter does; timestamps of the event trace use it.
#[inline(always)]
pub fn virtual_counter() -> u64 {
    let c: u64;
    // SAFETY: reads CNTVCT_EL0; no memory is touched.
    unsafe { asm!("mrs {0}, cntvct_el0", out(reg) c, options(nomem, nostack, preserves_flags)) }
    c
}

/// Whether the timer is enabled (`CNTP_CTL_EL0.ENABLE`).
#[inline]
pub fn enabled() -> bool {
    let ctl: u64;
    // SAFETY: reads CNTP_CTL_EL0, no side effects.
    unsafe { asm!("mrs {0}, cntp_ctl_el0", out(reg) ctl, options(nomem, nostack, preserves_flags)) }
    ctl & 1 != 0
}

/// Arms the timer to fire when the counter reaches `deadline`, with its interrupt unmasked.
#[inline]
pub fn set_deadline(deadline: u64) {
    // SAFETY: programs this core's EL1 physical timer; enable=1, imask=0. Touches no memory.
    unsafe {
        asm!(
            "msr cntp_cval_el0, {d}",
            "msr cntp_ctl_el0, {ctl}",
            "isb",
            d = in(reg) deadline,
            ctl = in(reg) 1u64,
            options(nomem, nostack, preserves_flags)
        )
    }
}

/// Moves the deadline of a timer that is already armed (enabled, interrupt unmasked) to
/// `deadline`: the compare value alone, one register write fewer than [`set_deadline`]. The
/// `isb` makes the write — and so the timer's interrupt line dropping when `deadline` is in
/// the future — take effect before the caller ends the interrupt.
#[inline]
pub fn set_compare(deadline: u64) {
    // SAFETY: programs this core's EL1 physical timer's compare value; touches no memory.
    unsafe {
        asm!(
            "msr cntp_cval_el0, {d}",
            "isb",
            d = in(reg) deadline,
            options(nomem, nostack, preserves_flags)
        )
    }
}

/// The compare value last programmed.
#[inline]
pub fn deadline() -> u64 {
    let d: u64;
    // SAFETY: reads CNTP_CVAL_EL0, no side effects.
    unsafe { asm!("mrs {0}, cntp_cval_el0", out(reg) d, options(nomem, nostack, preserves_flags)) }
    d
}

/// Stops the timer (its interrupt line drops).
#[inline]
pub fn stop() {
    // SAFETY: disables this core's EL1 physical timer; touches no memory.
    unsafe {
        asm!(
            "msr cntp_ctl_el0, xzr",
            "isb",
            options(nomem, nostack, preserves_flags)
        )
    }
}

/// Converts a duration in nanoseconds to counter ticks at `freq`, rounding up so a
/// timeout is never shorter than asked.
pub fn ns_to_ticks(ns: u64, freq: u64) -> u64 {
    let t = (ns as u128 * freq as u128).div_ceil(1_000_000_000);
    t.min(u64::MAX as u128) as u64
}

/// Converts counter ticks at `freq` to nanoseconds, rounding down.
pub fn ticks_to_ns(ticks: u64, freq: u64) -> u64 {
    let ns = ticks as u128 * 1_000_000_000 / freq.max(1) as u128;
    ns.min(u64::MAX as u128) as u64
}
