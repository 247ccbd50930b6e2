//! `Condvar`: a bounded work queue; the producer waits while it is full, the consumer while
//! it is empty. `wait_timeout` shows a timed wait.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::collections::VecDeque;
use preempt::println;
use preempt::sync::{Arc, Condvar, Mutex};
use preempt::thread;
use preempt::time::Duration;

preempt::entry!(main);

fn main() {
    let q = Arc::new((Mutex::new(VecDeque::new()), Condvar::new()));
    let q2 = q.clone();
    let consumer = thread::spawn(move || {
        let (m, cv) = &*q2;
        let mut total = 0;
        for _ in 0..10 {
            let mut g = cv.wait_while(m.lock().unwrap(), |q| q.is_empty()).unwrap();
            total += g.pop_front().unwrap();
            cv.notify_all();
        }
        total
    });
    let (m, cv) = &*q;
    for job in 1..=10u32 {
        let mut g = cv.wait_while(m.lock().unwrap(), |q| q.len() >= 3).unwrap();
        g.push_back(job);
        cv.notify_all();
    }
    println!("consumer summed {}", consumer.join().unwrap());
    let (_g, r) = cv
        .wait_timeout(m.lock().unwrap(), Duration::from_millis(2))
        .unwrap();
    println!(
        "waiting with nobody to notify: timed out = {}",
        r.timed_out()
    );
}
