//! With `--smp 1` the kernel runs on one core only, whatever the board has: `cpu::count()` is
//! 1 and every thread runs on core 0.
//!
//! xtask: smp=1
#![no_std]
#![no_main]

extern crate alloc;

use alloc::vec::Vec;
use preempt::thread;
use preempt::{check_eq, cpu, println};

preempt::entry!(main);

fn main() {
    check_eq!(cpu::count(), 1);
    check_eq!(cpu::current(), 0);
    let workers: Vec<_> = (0..4)
        .map(|_| {
            thread::spawn(|| {
                let mut cores = 0u32;
                for _ in 0..20_000 {
                    cores |= 1 << cpu::current();
                }
                cores
            })
        })
        .collect();
    for w in workers {
        check_eq!(w.join().expect("join"), 1);
    }
    println!("smp=1 ok");
}
