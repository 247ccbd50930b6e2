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
pub mod heap;
pub mod irq;
mod kernel;
pub mod pool;
pub mod sync;
pub mod testing;
pub mod thread;
pub mod time;

pub use kernel::fault::{KERNEL_FAULT_EXIT, KERNEL_PANIC_EXIT};

/// Stops the whole system with `code` as its exit status (under QEMU, the emulator's).
pub fn exit(code: u32) -> ! {
    board::exit(code)
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
