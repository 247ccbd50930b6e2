//! The event trace: markers of your own among the kernel's events.
//!
//! Built with the cargo feature `trace`, the kernel records every switch (with why the
//! thread stopped), wake-up (and who woke it), spawn, exit, priority boost and restore,
//! interrupt handler, deadline and migration into per-core rings, and writes them to
//! `preempt-trace.bin` in QEMU's working directory as the program exits — even when it ends
//! in a kernel panic. `cargo xtask trace` runs a program that way and turns the file into a
//! timeline.
//!
//! Without the feature, [`mark`] compiles to nothing, so programs need no `cfg` of their own.

/// Whether this build records a trace (the cargo feature `trace`).
pub const ENABLED: bool = cfg!(feature = "trace");

/// Records a marker with `label` at this moment, on this core, for the running thread (from an
/// interrupt handler: for no thread). Costs a few dozen instructions with the feature `trace`, nothing without
/// it. Callable from any context: threads, interrupt handlers, with IRQs masked.
///
/// Only the label's address and length are recorded: `cargo xtask trace` reads its text from
/// the program's image, so pass a string literal (a `'static` string made at run time, e.g.
/// leaked from the heap, is not in the image and shows as its address).
#[inline(always)]
pub fn mark(label: &'static str) {
    crate::kernel::trace::mark(label);
}
