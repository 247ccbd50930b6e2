//! Thread-Metric message processing (`tm_message`): one thread sends a four-word message
//! (32 bytes) to a queue — a `sync_channel` of 16 messages — receives it back, checks its
//! content, and counts. Score: round trips.
//!
//! xtask: timeout=60
#![no_std]
#![no_main]

extern crate alloc;

use core::sync::atomic::{AtomicU64, Ordering::Relaxed};

use preempt::sync::mpsc;
use preempt_bench::tm;

preempt::entry!(main);

static COUNTER: AtomicU64 = AtomicU64::new(0);

fn main() {
    tm::setup("tm_message");
    let _worker = preempt_bench::builder()
        .name("message")
        .priority(tm::priority(10))
        .spawn(|| {
            let (tx, rx) = mpsc::sync_channel::<[u64; 4]>(16);
            loop {
                let n = COUNTER.load(Relaxed);
                let sent = [n, n ^ 0x55, n ^ 0xaa, !n];
                tx.send(sent).expect("send");
                let got = rx.recv().expect("recv");
                // Word by word, folded: an array `!=` would become a call to the byte-wise
                // `memcmp` of compiler-builtins (~200 instructions), which is not the kernel's.
                let diff = (got[0] ^ sent[0])
                    | (got[1] ^ sent[1])
                    | (got[2] ^ sent[2])
                    | (got[3] ^ sent[3]);
                if diff != 0 {
                    preempt::println!("BENCH-ERROR tm_message: received {got:?} for round {n}");
                    preempt::exit(1);
                }
                COUNTER.store(n + 1, Relaxed);
            }
        })
        .expect("spawn");
    tm::report("tm_message", || COUNTER.load(Relaxed), || Ok(()));
}
