//! Real parallelism (QEMU MTTCG, no `-icount`): up to a million messages cross cores through
//! channels (fewer if [`BUDGET`] runs out first: the host sets the pace), each accounted for. Two producers (cores 0 and 1) send numbered messages into one
//! bounded channel read on core 2, and a rendezvous-free unbounded channel carries the
//! consumer's acknowledgements in batches to core 3; every message arrives exactly once and,
//! per producer, in order.
//! xtask: smp=4
//! xtask: icount=off
//! xtask: gic=2
//! xtask: timeout=240
#![no_std]
#![no_main]

extern crate alloc;

use preempt::sync::mpsc;
use preempt::thread::JoinHandle;
use preempt::time::{Duration, Instant};
use preempt::{check, check_eq, cpu, println};

preempt::entry!(main);

/// Messages per producer (two producers: the million in all). On a 2-core host
/// running 4 vCPUs: about 60,000 messages a second with the host otherwise idle (a million in
/// about 17 s), 23,700-42,200 beside other QEMUs, 2,100 while a 4-vCPU mutex convoy ran
/// beside it (8,800 before a full `send` and an empty `recv` looked again before waiting).
/// So the producers also stop at [`BUDGET`], and the run says how far it got.
const PER_PRODUCER: u64 = 500_000;
/// Time after which the producers stop early.
const BUDGET: Duration = Duration::from_secs(50);
/// An acknowledgement goes to core 3 after this many messages.
const BATCH: u64 = 1_000;

use preempt::testing::spawn_on as on;

fn main() {
    check_eq!(cpu::count(), 4);
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
        check_eq!(cpu::current(), 2);
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
    if count < 2 * PER_PRODUCER {
        println!(
            "stopped by the {} s budget before {} messages (a slow or busy host)",
            BUDGET.as_secs(),
            2 * PER_PRODUCER
        );
    }
    println!(
        "smp_stress_channel: all ok ({count} messages in {ms} ms, {} a second)",
        count * 1000 / ms
    );
}
