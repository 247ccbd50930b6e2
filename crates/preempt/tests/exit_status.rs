//! `preempt::exit` with a code that does not fit an exit status (256 here, which the host
//! would truncate to 0, a success) ends the run with status 255, a failure.
//! xtask: expect-exit=255
//! xtask: expect-output=exiting with 256
#![no_std]
#![no_main]

use preempt::println;

preempt::entry!(main);

fn main() {
    println!("exiting with 256");
    preempt::exit(core::hint::black_box(256))
}
