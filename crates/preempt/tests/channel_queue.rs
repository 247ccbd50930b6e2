//! The unbounded channel's block queue: order kept across blocks whatever the fill pattern, a
//! queue that stays shallow touches the heap not at all, and a drained queue keeps at most its
//! first block and one spare.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::collections::VecDeque;
use preempt::heap;
use preempt::sync::mpsc::{self, TryRecvError};
use preempt::{check, check_eq, println};

preempt::entry!(main);

fn main() {
    // Warm up: the scheduler's object table keeps the room a channel's wait queues took.
    drop(mpsc::channel::<u32>());
    let base = heap::used();
    let (tx, rx) = mpsc::channel::<u32>();
    let with_channel = heap::used();

    // Shallow: up to 10 queued at a time, far less than a block; no allocation at all.
    let mut next = 0u32;
    let mut expect = 0u32;
    for round in 0..200u32 {
        for _ in 0..(round % 10) + 1 {
            tx.send(next).expect("send");
            next += 1;
        }
        while let Ok(v) = rx.try_recv() {
            check_eq!(v, expect);
            expect += 1;
        }
    }
    check_eq!(heap::used(), with_channel);

    // Deep and uneven: bursts of up to 300, partly drained, against a model.
    let mut model = VecDeque::new();
    let mut seed = 12345u32;
    for _ in 0..300 {
        seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        let sends = (seed >> 16) % 300;
        let recvs = (seed >> 8) % 300;
        for _ in 0..sends {
            tx.send(next).expect("send");
            model.push_back(next);
            next += 1;
        }
        for _ in 0..recvs {
            match rx.try_recv() {
                Ok(v) => check_eq!(Some(v), model.pop_front()),
                Err(TryRecvError::Empty) => check!(model.is_empty()),
                Err(TryRecvError::Disconnected) => check!(false, "disconnected"),
            }
        }
    }
    while let Some(m) = model.pop_front() {
        check_eq!(rx.try_recv(), Ok(m));
    }
    check_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    drop(model);
    // Drained: the first block and a spare at most (a block of u32 is 32 slots).
    let kept = heap::used() - with_channel;
    check!(kept <= 256, "a drained queue kept {} bytes", kept);

    drop(tx);
    check_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
    drop(rx);
    check_eq!(heap::used(), base);
    println!("channel_queue: ok");
}
