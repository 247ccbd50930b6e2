//! # preempt — preemptive threads for bare-metal AArch64
//!
//! A program is a `#![no_std]`, `#![no_main]` binary that names its `main` with [`entry!`]:
//!
//! ```ignore
//! #![no_std]
//! #![no_main]
//! preempt::entry!(main);
//!
//! fn main() {
//!     let h = preempt::thread::spawn(|| 6 * 7);
//!     preempt::println!("{}", h.join().unwrap());
//! }
//! ```
//!
//! `main` runs as a thread of default priority; when it returns the system shuts down with
//! success. preempt supplies the panic handler and a global heap, so `extern crate alloc;` gives
//! `Vec`, `Box`, `Arc` and friends.
#![no_std]
#![forbid(unsafe_op_in_unsafe_fn)]

extern crate alloc;

mod board;
mod boot;
pub mod config;
#[doc(hidden)]
pub mod console;
pub mod cpu;
pub mod heap;
pub mod irq;
mod kernel;
pub mod pool;
pub mod sync;
pub mod testing;
pub mod thread;
pub mod time;
pub mod timer;
pub mod trace;

pub use kernel::fault::{KERNEL_FAULT_EXIT, KERNEL_PANIC_EXIT};

/// Stops the whole system with `code` as its exit status (under QEMU, the emulator's).
///
/// A host exit status is one byte, and truncating `code` to it could turn a failure into a
/// success (256 would read as 0). So 0 and 1–255 are passed as they are, and any other code
/// becomes 255.
pub fn exit(code: u32) -> ! {
    board::exit(exit_status(code))
}

/// The exit status `exit(code)` reports: `code` if it fits in 0..=255, else 255.
const fn exit_status(code: u32) -> u32 {
    if code <= 255 {
        code
    } else {
        255
    }
}

/// Declares the program's `main` function: `preempt::entry!(main);`.
#[macro_export]
macro_rules! entry {
    ($main:path) => {
        #[doc(hidden)]
        #[no_mangle]
        pub fn __preempt_main() {
            let main: fn() = $main;
            main()
        }
    };
}
