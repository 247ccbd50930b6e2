//! The address of a symbol of the image, as a macro shared by the modules that need one (boot
//! hands the park loop and the secondary entry to firmware and PSCI; the exception handler
//! recognises the IRQ entry's stores by address).

/// The address of a symbol of the image (PC-relative: no memory access).
macro_rules! symbol_address {
    ($sym:literal) => {{
        #[cfg(target_arch = "aarch64")]
        {
            let addr: usize;
            // SAFETY: computes the address of a symbol; no memory access.
            unsafe {
                core::arch::asm!(
                    concat!("adrp {0}, ", $sym),
                    concat!("add {0}, {0}, :lo12:", $sym),
                    out(reg) addr,
                    options(nomem, nostack, preserves_flags)
                )
            };
            addr
        }
        #[cfg(not(target_arch = "aarch64"))]
        0
    }};
}
