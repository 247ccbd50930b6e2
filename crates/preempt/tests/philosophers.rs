//! Dining philosophers: five threads, five forks (mutexes), each philosopher picks up the
//! lower-numbered fork first, so there is no deadlock; everyone eats the same number of times.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::vec::Vec;
use preempt::sync::{Arc, Mutex};
use preempt::thread::{self, Builder};
use preempt::time::Duration;
use preempt::{check_eq, println};

preempt::entry!(main);

const N: usize = 5;
const MEALS: u32 = 30;

fn main() {
    preempt::config::set_tick_hz(10_000).expect("tick");
    let forks: Arc<Vec<Mutex<u32>>> = Arc::new((0..N).map(|_| Mutex::new(0)).collect());
    let diners: Vec<_> = (0..N)
        .map(|i| {
            let forks = forks.clone();
            Builder::new()
                .name(alloc::format!("philosopher {i}"))
                .priority(60 + i as u8)
                .spawn(move || {
                    let (a, b) = (i, (i + 1) % N);
                    let (first, second) = (a.min(b), a.max(b));
                    for _ in 0..MEALS {
                        let mut f1 = forks[first].lock().expect("fork");
                        let mut f2 = forks[second].lock().expect("fork");
                        *f1 += 1;
                        *f2 += 1;
                        thread::sleep(Duration::from_micros(100)); // eat
                        drop(f2);
                        drop(f1);
                        thread::yield_now(); // think
                    }
                    MEALS
                })
                .expect("spawn")
        })
        .collect();
    let meals: u32 = diners
        .into_iter()
        .map(|d| d.join().expect("philosopher"))
        .sum();
    check_eq!(meals, MEALS * N as u32);
    let uses: u32 = forks.iter().map(|f| *f.lock().expect("fork")).sum();
    check_eq!(uses, 2 * MEALS * N as u32);
    println!("philosophers: ok ({meals} meals, no deadlock)");
}
