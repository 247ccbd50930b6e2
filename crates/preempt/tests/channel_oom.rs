//! An unbounded channel's sender running out of memory ends only the sending thread: the queue
//! grows outside the scheduler lock, so the failed allocation is a panic in the sender's own
//! context (its `join` returns `Err`), never a kernel panic under the lock.
//! xtask: expect-output=Sender::send: out of memory
#![no_std]
#![no_main]

extern crate alloc;

use alloc::vec::Vec;
use preempt::sync::mpsc;
use preempt::thread::Builder;
use preempt::{check, println};

preempt::entry!(main);

fn main() {
    let (tx, rx) = mpsc::channel::<[u64; 8]>();
    let (go_tx, go_rx) = mpsc::sync_channel::<()>(1);
    // Spawned (its stack allocated) before the heap is filled; unnamed, so `join` needs no heap.
    let sender = Builder::new()
        .spawn(move || {
            go_rx.recv().expect("go");
            let mut n = 0u64;
            loop {
                tx.send([n; 8]).expect("receiver alive");
                n += 1;
            }
        })
        .expect("spawn");

    // Fill the heap: the largest blocks that still fit, halving down to a few bytes.
    let mut hog: Vec<Vec<u8>> = Vec::with_capacity(256);
    let mut size = preempt::heap::free();
    while size >= 16 && hog.len() < hog.capacity() {
        let mut v = Vec::new();
        if v.try_reserve_exact(size).is_ok() {
            hog.push(v);
        } else {
            size /= 2;
        }
    }
    println!("heap filled: {} bytes free", preempt::heap::free());

    go_tx.send(()).expect("go");
    check!(
        sender.join().is_err(),
        "the sender ran out of memory without failing"
    );
    drop(hog);
    let got = rx.try_iter().count();
    check!(got > 0, "no message got through before the heap ran out");
    println!("{} messages queued before the sender failed", got);
    println!("channel_oom: ok");
}
