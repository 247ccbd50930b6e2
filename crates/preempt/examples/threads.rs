//! Spawning and joining: closures returning values, names and priorities, a thread builder
//! with a small stack, detached threads, and spawn errors handled as values.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::vec::Vec;
use preempt::println;
use preempt::thread::{self, Builder};

preempt::entry!(main);

fn main() {
    // Fan out: eight threads each sum a slice of numbers; main gathers the results.
    let handles: Vec<_> = (0..8u64)
        .map(|i| thread::spawn(move || (i * 1000..(i + 1) * 1000).sum::<u64>()))
        .collect();
    let total: u64 = handles.into_iter().map(|h| h.join().expect("worker")).sum();
    println!("sum of 0..8000 computed by 8 threads: {total}");

    // A named, prioritised thread with its own stack size.
    let h = Builder::new()
        .name("reporter")
        .priority(150)
        .stack_size(16 * 1024)
        .spawn(|| {
            let me = thread::current();
            println!(
                "hello from '{}' (id {:?}) at priority {}",
                me.name().unwrap_or("?"),
                me.id(),
                me.priority()
            );
        })
        .expect("spawn reporter");
    h.join().expect("reporter");

    // Spawn errors are values.
    match Builder::new().stack_size(512).spawn(|| ()) {
        Ok(_) => println!("unexpected: a 512-byte stack was accepted"),
        Err(e) => println!("as expected, spawn failed: {e}"),
    }

    // A detached thread: dropping the handle lets it run and clean up after itself.
    drop(thread::spawn(|| println!("a detached thread ran")));
    thread::yield_now();
    println!("threads example done");
}
