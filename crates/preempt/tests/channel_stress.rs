//! `sync_channel` under stress: senders of different priorities (blocking `send`, `try_send`
//! with yields, and an interrupt handler's `try_send`), a receiver mixing `recv`,
//! `recv_timeout` and `try_recv`, a small ring (so senders block and the positions wrap laps
//! constantly), a 50 kHz tick with a one-tick slice (equal priorities preempt each other
//! anywhere) and a high-priority thread that wakes from short sleeps at arbitrary points. Every
//! message must arrive exactly once, intact, and in its sender's order; then the receiver sees
//! the disconnection.
//!
//! xtask: expect-output=channel_stress: ok
//! xtask: timeout=60
#![no_std]
#![no_main]

extern crate alloc;

use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use preempt::irq;
use preempt::sync::mpsc::{self, RecvTimeoutError, SyncSender, TryRecvError, TrySendError};
use preempt::sync::Mutex;
use preempt::thread::{self, Builder};
use preempt::time::Duration;
use preempt::{check, check_eq, println};

preempt::entry!(main);

/// Thread senders, then the interrupt handler's sender id.
const SENDERS: usize = 5;
const IRQ_SENDER: usize = SENDERS;
const PER: u64 = 5000;
/// Priorities: around the receiver's (120), some equal to it.
const PRIORITY: [u8; SENDERS] = [100, 120, 120, 140, 160];
const RECEIVER_PRIORITY: u8 = 120;
const SGI: u32 = 5;

type Msg = [u64; 4];

/// The message `seq` of `sender`; every word depends on both, so a torn, stale or overwritten
/// message does not pass [`check_msg`].
fn msg(sender: usize, seq: u64) -> Msg {
    let s = sender as u64;
    [
        s,
        seq,
        seq.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ s,
        !(seq ^ (s << 56)),
    ]
}

fn check_msg(m: &Msg) -> (usize, u64) {
    let (s, seq) = (m[0] as usize, m[1]);
    check!(s <= IRQ_SENDER, "message from unknown sender: {:x?}", m);
    check!(*m == msg(s, seq), "torn or stale message: {:x?}", m);
    (s, seq)
}

/// The interrupt handler's sender (`try_lock` there: a handler may not block).
static IRQ_TX: Mutex<Option<SyncSender<Msg>>> = Mutex::new(None);
static IRQ_SENT: AtomicU64 = AtomicU64::new(0);
static STOP: AtomicBool = AtomicBool::new(false);

/// Sends the interrupt handler's next message if there is room (a `Full` is simply retried at
/// the next interrupt).
fn handler(_line: u32) {
    let Ok(guard) = IRQ_TX.try_lock() else {
        return;
    };
    if let Some(tx) = guard.as_ref() {
        let n = IRQ_SENT.load(Ordering::Relaxed);
        if tx.try_send(msg(IRQ_SENDER, n)).is_ok() {
            IRQ_SENT.store(n + 1, Ordering::Relaxed);
        }
    }
}

fn round(bound: usize) {
    STOP.store(false, Ordering::Relaxed);
    IRQ_SENT.store(0, Ordering::Relaxed);
    let (tx, rx) = mpsc::sync_channel::<Msg>(bound);
    *IRQ_TX.lock().expect("irq tx") = Some(tx.clone());

    let senders: Vec<_> = (0..SENDERS)
        .map(|id| {
            let tx = tx.clone();
            Builder::new()
                .name("sender")
                .priority(PRIORITY[id])
                .spawn(move || {
                    for seq in 0..PER {
                        if id % 2 == 0 {
                            tx.send(msg(id, seq)).expect("send");
                        } else {
                            let mut m = msg(id, seq);
                            loop {
                                match tx.try_send(m) {
                                    Ok(()) => break,
                                    Err(TrySendError::Full(back)) => {
                                        // Not a yield: a sender above the receiver would
                                        // spin and starve it.
                                        m = back;
                                        thread::sleep(Duration::from_micros(3));
                                    }
                                    Err(TrySendError::Disconnected(_)) => {
                                        panic!("receiver gone")
                                    }
                                }
                            }
                        }
                    }
                })
                .expect("spawn sender")
        })
        .collect();
    drop(tx);

    // Wakes at arbitrary points and preempts whoever runs; also raises the interrupt whose
    // handler sends.
    let disturber = preempt::testing::spawn_disturber(&STOP, SGI);

    let receiver = Builder::new()
        .name("receiver")
        .priority(RECEIVER_PRIORITY)
        .spawn(move || {
            let mut next = [0u64; SENDERS + 1];
            let mut n = 0u64;
            while next[..SENDERS].iter().any(|&k| k < PER) {
                let m = match n % 5 {
                    0 => match rx.recv_timeout(Duration::from_micros(40)) {
                        Ok(m) => m,
                        Err(RecvTimeoutError::Timeout) => continue,
                        Err(RecvTimeoutError::Disconnected) => {
                            check!(false, "disconnected early");
                            unreachable!()
                        }
                    },
                    1 => match rx.try_recv() {
                        Ok(m) => m,
                        Err(TryRecvError::Empty) => {
                            n += 1;
                            continue;
                        }
                        Err(TryRecvError::Disconnected) => {
                            check!(false, "disconnected early");
                            unreachable!()
                        }
                    },
                    _ => rx.recv().expect("recv"),
                };
                let (s, seq) = check_msg(&m);
                check!(
                    seq == next[s],
                    "sender {} order: got {}, expected {}",
                    s,
                    seq,
                    next[s]
                );
                next[s] += 1;
                n += 1;
            }
            (rx, next[IRQ_SENDER])
        })
        .expect("spawn receiver");

    for s in senders {
        s.join().expect("sender");
    }
    let (rx, irq_seen) = receiver.join().expect("receiver");
    STOP.store(true, Ordering::Relaxed);
    disturber.join().expect("disturber");
    // The last sender goes: after what is queued, the receiver sees the disconnection.
    drop(IRQ_TX.lock().expect("irq tx").take());
    // What the handler sent after the receiver stopped counting is still queued, in order.
    let mut irq_next = irq_seen;
    while let Ok(m) = rx.recv() {
        let (s, seq) = check_msg(&m);
        check_eq!(s, IRQ_SENDER);
        check_eq!(seq, irq_next);
        irq_next += 1;
    }
    check_eq!(irq_next, IRQ_SENT.load(Ordering::Relaxed));
    check_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
    println!(
        "bound {}: {} thread messages, {} from the handler",
        bound,
        SENDERS as u64 * PER,
        irq_next
    );
}

fn main() {
    preempt::config::set_tick_hz(50_000).expect("tick");
    irq::register(irq::sgi_line(SGI), handler).expect("register");
    // Odd sizes wrap laps at a non-power-of-two; 1 is the smallest ring.
    round(3);
    round(1);
    round(16);
    println!("channel_stress: ok");
}
