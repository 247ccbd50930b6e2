//! A fault in kernel context (here: with IRQs masked, as inside any kernel critical section)
//! is reported the same way and stops the whole system with a non-zero exit status.
//! xtask: expect-exit=102
//! xtask: expect-output=fault in the kernel: unknown reason (undefined instruction)
//! xtask: expect-output=ELR
#![no_std]
#![no_main]

use core::arch::asm;
use preempt::println;

preempt::entry!(main);

fn main() {
    println!("kernel_fault: faulting with IRQs masked");
    // SAFETY: deliberately fakes kernel context and executes an undefined instruction; the
    // kernel must stop the system.
    unsafe { asm!("msr daifset, #2", "udf #1") };
    println!("kernel_fault: still running — the fault was not caught");
}
