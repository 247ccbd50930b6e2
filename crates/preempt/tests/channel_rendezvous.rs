//! `try_send` on a rendezvous channel (`sync_channel(0)`) succeeds only when a receiver is
//! blocked in `recv` and takes the message at once; otherwise it is `Full` and the message
//! comes back.
//!
//! Main and the receivers share one core on purpose: "the receiver is blocked in `recv` now"
//! rests on per-core policy (a higher-priority receiver runs at spawn and blocks before spawn
//! returns; a lower one runs while main sleeps), which another core would not give.
#![no_std]
#![no_main]

use preempt::sync::mpsc::{self, RecvTimeoutError, TryRecvError, TrySendError};
use preempt::thread::{self, Builder};
use preempt::time::Duration;
use preempt::{check, check_eq, cpu, println};

preempt::entry!(main);

fn main() {
    preempt::config::set_tick_hz(20_000).expect("tick");
    let core = 1 << cpu::current();
    thread::set_affinity(core).expect("pin main");
    let (tx, rx) = mpsc::sync_channel::<u32>(0);

    // Nobody receiving: Full, with the message back, and nothing is left queued.
    check!(
        matches!(tx.try_send(1), Err(TrySendError::Full(1))),
        "try_send on a rendezvous channel with no receiver waiting did not fail with Full"
    );
    check!(matches!(tx.try_send(2), Err(TrySendError::Full(2))));
    check_eq!(rx.try_recv(), Err(TryRecvError::Empty));

    // A higher-priority receiver blocked in `recv`: Ok, and it gets the message at once.
    let rx = {
        let r = Builder::new()
            .priority(200)
            .affinity(core)
            .spawn(move || {
                let v = rx.recv();
                (v, rx)
            })
            .expect("spawn");
        // The receiver ran at spawn and is blocked now.
        check!(
            tx.try_send(3).is_ok(),
            "try_send to a blocked receiver failed"
        );
        let (v, rx) = r.join().expect("receiver");
        check_eq!(v, Ok(3));
        rx
    };

    // A lower-priority receiver blocked in `recv_timeout`: Ok as well.
    let rx = {
        let r = Builder::new()
            .priority(10)
            .affinity(core)
            .spawn(move || {
                let v = rx.recv_timeout(Duration::from_millis(200));
                (v, rx)
            })
            .expect("spawn");
        thread::sleep(Duration::from_millis(2)); // let it run and block
        check!(
            tx.try_send(4).is_ok(),
            "try_send to a blocked receiver failed"
        );
        // Taken before the receiver ran: a second message has no one to go to.
        check!(matches!(tx.try_send(5), Err(TrySendError::Full(5))));
        let (v, rx) = r.join().expect("receiver");
        check_eq!(v, Ok(4));
        rx
    };
    check_eq!(
        rx.recv_timeout(Duration::from_millis(1)),
        Err(RecvTimeoutError::Timeout)
    );
    check!(matches!(tx.try_send(6), Err(TrySendError::Full(6))));

    // Receiver gone: Disconnected, with the message back.
    drop(rx);
    check!(matches!(tx.try_send(7), Err(TrySendError::Disconnected(7))));
    check_eq!(tx.send(8).map_err(|e| e.0), Err(8));
    println!("channel_rendezvous: ok");
}
