//! `Semaphore` and `preempt::irq`: an interrupt handler (a software-generated interrupt here)
//! releases a semaphore; the high-priority thread waiting on it runs as soon as the handler
//! returns.
#![no_std]
#![no_main]

use preempt::sync::Semaphore;
use preempt::thread::Builder;
use preempt::{irq, println};

preempt::entry!(main);

static DATA_READY: Semaphore = Semaphore::new(0);

fn on_interrupt(line: u32) {
    let _ = line;
    DATA_READY.release();
}

fn main() {
    let sgi = 5;
    irq::register(irq::sgi_line(sgi), on_interrupt).unwrap();
    let handler_thread = Builder::new()
        .name("bottom-half")
        .priority(220)
        .spawn(|| {
            for i in 0..3 {
                DATA_READY.acquire();
                println!("  bottom-half: processed interrupt {i}");
            }
        })
        .unwrap();
    for i in 0..3 {
        println!("main: raising interrupt {i}");
        irq::trigger_software(sgi).unwrap();
    }
    handler_thread.join().unwrap();
    let pool = Semaphore::new(2);
    let (a, b, c) = (pool.try_acquire(), pool.try_acquire(), pool.try_acquire());
    println!("a pool of 2 permits: try_acquire -> {a} {b} {c}");
    pool.release();
    println!("after one release: {} available", pool.available_permits());
}
