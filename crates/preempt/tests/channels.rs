//! Channels: many producers with per-producer order kept, bounded channels blocking senders,
//! rendezvous, disconnection both ways, try_send/try_recv and recv_timeout accuracy.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::vec::Vec;
use preempt::sync::mpsc::{self, RecvTimeoutError, TryRecvError, TrySendError};
use preempt::thread::{self, Builder};
use preempt::time::{Duration, Instant};
use preempt::{check, check_eq, println};

preempt::entry!(main);

const PRODUCERS: u32 = 6;
const PER: u32 = 500;

fn main() {
    preempt::config::set_tick_hz(20_000).expect("tick");
    // Unbounded, many producers of different priorities.
    let (tx, rx) = mpsc::channel::<(u32, u32)>();
    for p in 0..PRODUCERS {
        let tx = tx.clone();
        Builder::new()
            .priority(40 + p as u8 * 10)
            .spawn(move || {
                for i in 0..PER {
                    tx.send((p, i)).expect("send");
                    if i % 50 == 0 {
                        thread::yield_now();
                    }
                }
            })
            .expect("spawn");
    }
    drop(tx);
    let mut next = [0u32; PRODUCERS as usize];
    let mut n = 0;
    for (p, i) in rx.iter() {
        check_eq!(i, next[p as usize]);
        next[p as usize] += 1;
        n += 1;
    }
    check_eq!(n, PRODUCERS * PER);
    check!(matches!(rx.try_recv(), Err(TryRecvError::Disconnected)));

    // Bounded: senders block while full; the consumer sees every value in order.
    let (stx, srx) = mpsc::sync_channel::<u32>(4);
    let producers: Vec<_> = (0..3u32)
        .map(|p| {
            let stx = stx.clone();
            Builder::new()
                .priority(150)
                .spawn(move || {
                    for i in 0..200 {
                        stx.send(p * 1000 + i).expect("send");
                    }
                })
                .expect("spawn")
        })
        .collect();
    let mut last = [None::<u32>; 3];
    for _ in 0..600 {
        let v = srx.recv().expect("recv");
        let p = (v / 1000) as usize;
        check!(
            last[p].is_none_or(|l| l < v),
            "order broken for producer {}",
            p
        );
        last[p] = Some(v);
    }
    for p in producers {
        p.join().expect("producer");
    }
    check!(stx.try_send(1).is_ok());
    for _ in 0..3 {
        let _ = stx.try_send(2);
    }
    check!(matches!(stx.try_send(3), Err(TrySendError::Full(3))));
    drop(srx);
    check!(matches!(
        stx.try_send(4),
        Err(TrySendError::Disconnected(4))
    ));
    check!(stx.send(5).is_err());

    // Rendezvous: send returns only once the receiver has taken the message.
    let (rtx, rrx) = mpsc::sync_channel::<u32>(0);
    let t0 = Instant::now();
    let r = Builder::new()
        .priority(10)
        .spawn(move || {
            thread::sleep(Duration::from_millis(5));
            rrx.recv().expect("rendezvous recv")
        })
        .expect("spawn");
    rtx.send(77).expect("rendezvous send");
    check!(
        t0.elapsed() >= Duration::from_millis(5),
        "rendezvous send returned before the receive"
    );
    check_eq!(r.join().expect("receiver"), 77);

    // recv_timeout accuracy, and disconnection while waiting.
    let (ttx, trx) = mpsc::channel::<u8>();
    let slack = Duration::from_micros(150);
    for ms in [1u64, 2, 5] {
        let t = Instant::now();
        check_eq!(
            trx.recv_timeout(Duration::from_millis(ms)),
            Err(RecvTimeoutError::Timeout)
        );
        let took = t.elapsed();
        check!(
            took >= Duration::from_millis(ms) && took <= Duration::from_millis(ms) + slack,
            "recv_timeout({}) took {:?}",
            ms,
            took
        );
    }
    let dropper = thread::spawn(move || {
        thread::sleep(Duration::from_millis(2));
        drop(ttx);
    });
    check_eq!(
        trx.recv_timeout(Duration::from_millis(50)),
        Err(RecvTimeoutError::Disconnected)
    );
    dropper.join().expect("dropper");
    println!("channels: ok");
}
