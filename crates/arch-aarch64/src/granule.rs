//! The translation granule, in a file of its own (no other items, no `asm!`) so that the
//! kernel crate's build script can include it and give the linker script the same page size
//! the MMU uses: one source for the alignment of the image's sections.

/// Size of a page: the 4 KiB translation granule (`TCR_EL1.TG0`), the unit of the
/// image's per-section permissions.
pub const PAGE_SIZE: usize = 4096;
