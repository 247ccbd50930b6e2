//! Sizes shared by the MMU, the boot code, the exception vectors and the linker script.
//!
//! Plain constants in a file of their own (no other items, no `asm!`, no `use`), so that the
//! kernel crate's build script can include this file and give the linker script the same
//! numbers the code uses: one source for the page size and for the per-core stacks.
//!
//! Every core owns one block of [`CPU_STACKS_SIZE`] bytes, from its low end: a guard page, the
//! fatal stack, a guard page, the exception stack, a guard page, the boot stack. Guard pages
//! are never mapped, so running off the end of any of these stacks faults at once. The block
//! size is a power of two so that the vector table can find a core's fatal stack from its
//! core number with a shift, without any memory access (see `exception.rs`).

/// Size of a page: the 4 KiB translation granule (`TCR_EL1.TG0`), the unit of the MMU's
/// per-page permissions and of guard pages.
pub const PAGE_SIZE: usize = 4096;

/// An unmapped page below every stack.
pub const GUARD_SIZE: usize = PAGE_SIZE;

/// Cores that have stacks reserved in the image (the kernel checks that its own per-CPU
/// tables have the same size).
pub const MAX_CPUS: usize = 4;

/// The stack a core reports a fatal nested exception on (an overflow of its exception stack,
/// a fault inside a handler).
pub const FATAL_STACK_SIZE: usize = 12 * 1024;

/// The stack of a core's interrupt handlers and synchronous-exception handlers (`SP_EL1`).
pub const EXCEPTION_STACK_SIZE: usize = 32 * 1024;

/// The stack boot runs on; it later becomes the core's idle thread's stack (`SP_EL0`).
pub const BOOT_STACK_SIZE: usize = 72 * 1024;

/// log2 of [`CPU_STACKS_SIZE`].
pub const CPU_STACKS_SHIFT: u32 = 17;

/// Bytes of stacks and guard pages per core.
pub const CPU_STACKS_SIZE: usize =
    3 * GUARD_SIZE + FATAL_STACK_SIZE + EXCEPTION_STACK_SIZE + BOOT_STACK_SIZE;

/// Offset of the fatal stack's top in a core's block.
pub const FATAL_STACK_TOP: usize = GUARD_SIZE + FATAL_STACK_SIZE;

/// Offset of the exception stack's top in a core's block.
pub const EXCEPTION_STACK_TOP: usize = FATAL_STACK_TOP + GUARD_SIZE + EXCEPTION_STACK_SIZE;

/// Offset of the boot stack's top in a core's block (its end).
pub const BOOT_STACK_TOP: usize = EXCEPTION_STACK_TOP + GUARD_SIZE + BOOT_STACK_SIZE;

const _: () = assert!(CPU_STACKS_SIZE == 1 << CPU_STACKS_SHIFT);
const _: () = assert!(BOOT_STACK_TOP == CPU_STACKS_SIZE);
const _: () = assert!(FATAL_STACK_SIZE.is_multiple_of(PAGE_SIZE));
const _: () = assert!(EXCEPTION_STACK_SIZE.is_multiple_of(PAGE_SIZE));
const _: () = assert!(BOOT_STACK_SIZE.is_multiple_of(PAGE_SIZE));
