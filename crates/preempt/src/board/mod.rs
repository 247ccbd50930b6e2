//! Board selection: the one place that knows which machine the kernel runs on.
//!
//! The kernel calls the free functions below; each board module provides them. A board is
//! chosen with a Cargo feature (`board-virt`, the default, or `board-rpi`), because the boards
//! need different link addresses and image formats anyway — but nothing outside this module
//! (and the drivers it uses) ever tests which one it is.

#[cfg(not(feature = "board-rpi"))]
mod virt;
#[cfg(not(feature = "board-rpi"))]
pub(crate) use virt::*;
