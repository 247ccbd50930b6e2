//! Real parallelism (QEMU MTTCG, no `-icount`): a million messages cross cores through
//! channels, each accounted for. Two producers send numbered messages into one bounded channel
//! read by a consumer, and a rendezvous-free unbounded channel carries the consumer's
//! acknowledgements in batches to a fourth thread; every message arrives exactly once and,
//! per producer, in order. Thread n runs on core n mod the core count (producers 0 and 1,
//! consumer 2, acknowledgements 3), so on two cores each producer shares its core with a
//! reader.
//!
//! The run has as many cores as the host (`smp=host`: 2 to 4; see `smp_stress_mutex`). The
//! producers stop at [`BUDGET`] so that a starved host cannot hang the run, but stopping early
//! is a failure.
//! xtask: smp=host
//! xtask: icount=off
//! xtask: gic=2
//! xtask: timeout=120
#![no_std]
#![no_main]

extern crate alloc;

use preempt::sync::mpsc;
use preempt::thread::JoinHandle;
use preempt::time::{Duration, Instant};
use preempt::{check, check_eq, cpu, println};

preempt::entry!(main);

/// Messages per producer (two producers: the million in all).
const PER_PRODUCER: u64 = 500_000;
/// Time after which the producers stop early (a failure, but a clear one).
const BUDGET: Duration = Duration::from_secs(50);
/// An acknowledgement goes to core 3 after this many messages.
const BATCH: u64 = 1_000;

/// Spawns thread `n` of the four on core `n` mod the core count.
fn on<T: Send + 'static>(n: usize, f: impl FnOnce() -> T + Send + 'static) -> JoinHandle<T> {
    preempt::testing::spawn_on(n % cpu::count(), f)
}

fn main() {
    let cores = cpu::count();
    check!(cores >= 2, "{} core: nothing runs in parallel", cores);
    let t0 = Instant::now();
    let (tx, rx) = mpsc::sync_channel::<(u8, u64)>(256);
    let (ack_tx, ack_rx) = mpsc::channel::<u64>();
    let producers: [JoinHandle<u64>; 2] = core::array::from_fn(|p| {
        let tx = tx.clone();
        on(p, move || {
            let mut sent = 0;
            while sent < PER_PRODUCER {
                if sent % 1024 == 0 && t0.elapsed() >= BUDGET {
                    break;
                }
                tx.send((p as u8, sent)).expect("send");
                sent += 1;
            }
            sent
        })
    });
    drop(tx);
    let consumer = on(2, move || {
        let mut next = [0u64; 2];
        let mut count = 0u64;
        for (p, seq) in rx.iter() {
            let p = usize::from(p);
            check!(p < 2, "message from producer {}", p);
            check!(
                seq == next[p],
                "producer {}: got {} expecting {}",
                p,
                seq,
                next[p]
            );
            next[p] += 1;
            count += 1;
            if count % BATCH == 0 {
                ack_tx.send(count).expect("ack");
            }
        }
        check_eq!(cpu::current(), 2 % cpu::count());
        (next, count)
    });
    let acker = on(3, move || {
        let mut last = 0;
        for n in ack_rx.iter() {
            check_eq!(n, last + BATCH);
            last = n;
        }
        last
    });
    let sent = producers.map(|p| p.join().expect("producer"));
    let (next, count) = consumer.join().expect("consumer");
    check_eq!(next, sent);
    check_eq!(acker.join().expect("acker"), count / BATCH * BATCH);
    let ms = t0.elapsed().as_millis().max(1) as u64;
    check!(
        count == 2 * PER_PRODUCER,
        "stopped by the {} s budget at {} of {} messages (a starved host?)",
        BUDGET.as_secs(),
        count,
        2 * PER_PRODUCER
    );
    println!(
        "smp_stress_channel: all ok ({count} messages in {ms} ms on {cores} cores, {} a second)",
        count * 1000 / ms
    );
}
