//! `RwLock`, `Barrier`, `Once`/`OnceLock`, `EventFlags` and `park`/`unpark` in one tour.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::vec::Vec;
use preempt::println;
use preempt::sync::{Arc, Barrier, EventFlags, OnceLock, RwLock, WaitMode};
use preempt::thread;

preempt::entry!(main);

static CONFIG: OnceLock<u32> = OnceLock::new();
static EVENTS: EventFlags = EventFlags::new();

fn main() {
    // OnceLock: computed once, whoever asks first.
    println!("config = {}", CONFIG.get_or_init(|| 115_200));

    // RwLock: many readers or one writer.
    let table = Arc::new(RwLock::new(Vec::new()));
    let barrier = Arc::new(Barrier::new(3));
    let workers: Vec<_> = (0..3)
        .map(|i| {
            let (table, barrier) = (table.clone(), barrier.clone());
            thread::spawn(move || {
                table.write().unwrap().push(i);
                // Barrier: nobody reads until all three have written.
                let leader = barrier.wait().is_leader();
                let len = table.read().unwrap().len();
                if leader {
                    EVENTS.set(1 << i);
                }
                len
            })
        })
        .collect();
    let lens: Vec<usize> = workers.into_iter().map(|w| w.join().unwrap()).collect();
    println!("every worker saw {:?} entries after the barrier", lens);
    println!(
        "event bits from the leader: {:#b}",
        EVENTS.wait(0b111, WaitMode::Any, false)
    );

    // park / unpark.
    let sleeper = thread::spawn(|| {
        thread::park();
        "unparked"
    });
    sleeper.thread().unpark();
    println!("sleeper says: {}", sleeper.join().unwrap());
}
