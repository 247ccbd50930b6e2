//! Dropping a `Receiver` drops the messages still queued (as `std` does), at once, even with
//! senders alive, and with IRQs enabled (outside the scheduler lock); a send after that returns
//! the message. A rendezvous sender blocked when the receiver goes gets its message back.
#![no_std]
#![no_main]

use core::arch::asm;
use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use preempt::sync::mpsc::{self, TrySendError};
use preempt::thread::{self, Builder};
use preempt::time::Duration;
use preempt::{check, check_eq, println};

preempt::entry!(main);

static DROPS: AtomicUsize = AtomicUsize::new(0);
static DROPPED_MASKED: AtomicBool = AtomicBool::new(false);

struct Counted(u32);

impl Drop for Counted {
    fn drop(&mut self) {
        let daif: u64;
        // SAFETY: reads DAIF, no side effects.
        unsafe { asm!("mrs {0}, daif", out(reg) daif, options(nomem, nostack, preserves_flags)) };
        if daif & (1 << 7) != 0 {
            DROPPED_MASKED.store(true, Ordering::Relaxed);
        }
        DROPS.fetch_add(1, Ordering::Relaxed);
    }
}

fn drops() -> usize {
    DROPS.load(Ordering::Relaxed)
}

fn main() {
    // Unbounded, several blocks' worth queued, a sender still alive.
    const N: usize = 100;
    let (tx, rx) = mpsc::channel::<Counted>();
    for i in 0..N as u32 {
        tx.send(Counted(i)).expect("send");
    }
    check_eq!(rx.recv().map(|c| c.0).ok(), Some(0));
    check_eq!(drops(), 1);
    drop(rx);
    check!(
        drops() == N,
        "the queued messages outlived the dropped receiver: {} of {} dropped",
        drops(),
        N
    );
    let back = tx
        .send(Counted(1000))
        .expect_err("send to a dropped receiver");
    check_eq!(back.0 .0, 1000);
    check_eq!(drops(), N);
    drop(back);
    check_eq!(drops(), N + 1);
    drop(tx);
    check_eq!(drops(), N + 1);

    // Bounded, partly full, a sender still alive.
    DROPS.store(0, Ordering::Relaxed);
    let (tx, rx) = mpsc::sync_channel::<Counted>(8);
    for i in 0..5 {
        tx.send(Counted(i)).expect("send");
    }
    drop(rx);
    check!(
        drops() == 5,
        "the queued messages outlived the dropped receiver: {} of 5 dropped",
        drops()
    );
    match tx.try_send(Counted(7)) {
        Err(TrySendError::Disconnected(c)) => check_eq!(c.0, 7),
        _ => check!(false, "try_send to a dropped receiver"),
    }
    check_eq!(tx.send(Counted(8)).map_err(|e| e.0 .0).err(), Some(8));
    check_eq!(drops(), 7);
    drop(tx);
    check_eq!(drops(), 7);

    // Rendezvous: a sender blocked in `send` when the receiver goes gets its message back.
    DROPS.store(0, Ordering::Relaxed);
    let (tx, rx) = mpsc::sync_channel::<Counted>(0);
    let sender = Builder::new()
        .priority(200)
        .spawn(move || match tx.send(Counted(42)) {
            Err(e) => {
                let v = e.0 .0;
                drop(e);
                Some(v)
            }
            Ok(()) => None,
        })
        .expect("spawn");
    thread::sleep(Duration::from_millis(1));
    check_eq!(drops(), 0);
    drop(rx);
    check_eq!(sender.join().expect("sender"), Some(42));
    check_eq!(drops(), 1);

    check!(
        !DROPPED_MASKED.load(Ordering::Relaxed),
        "a message was dropped with IRQs masked"
    );
    println!("channel_drop: ok");
}
