//! std parity of `sync::mpsc`: `Receiver::iter` / `try_iter` and `IntoIterator` for
//! `&Receiver` and `Receiver` (std's `Iter`, `TryIter`, `IntoIter`), `SyncSender::send_timeout`
//! with std's `SendTimeoutError` on a buffered and a rendezvous channel, and std's `Send` /
//! `Sync` bounds of the three handles (checked at compile time).
//!
//! Written from std's documentation: `iter` blocks and ends once the channel is empty and every
//! sender is gone; `try_iter` never blocks and ends at the first empty look; `send_timeout`
//! gives the message back in `Timeout` or `Disconnected`, and on `sync_channel(0)` a message
//! that timed out was never received.
//! xtask: timeout=120
#![no_std]
#![no_main]

extern crate alloc;

use alloc::vec::Vec;
use preempt::sync::mpsc::{
    self, IntoIter, Iter, Receiver, SendTimeoutError, Sender, SyncSender, TryIter, TryRecvError,
};
use preempt::thread::{self, Builder};
use preempt::time::{Duration, Instant};
use preempt::{check, check_eq, println};

preempt::entry!(main);

fn send_sync<T: Send + Sync>() {}
fn send_only<T: Send>() {}

/// Resolves only for a type that is not `Sync` (two impls become applicable otherwise).
trait AmbiguousIfSync<A> {
    fn check() {}
}
impl<T: ?Sized> AmbiguousIfSync<()> for T {}
struct IsSync;
impl<T: ?Sized + Sync> AmbiguousIfSync<IsSync> for T {}

/// std: `Sender<T>` and `SyncSender<T>` are `Send + Sync` for `T: Send`; `Receiver<T>` is
/// `Send` but not `Sync`; the iterators are named types.
fn bounds() {
    send_sync::<Sender<u32>>();
    send_sync::<SyncSender<u32>>();
    send_sync::<Sender<core::cell::Cell<u32>>>();
    send_sync::<SyncSender<core::cell::Cell<u32>>>();
    send_only::<Receiver<u32>>();
    send_only::<Receiver<core::cell::Cell<u32>>>();
    <Receiver<u32> as AmbiguousIfSync<_>>::check();
    send_only::<IntoIter<u32>>();
    fn named<'a>(rx: &'a Receiver<u32>) -> (Iter<'a, u32>, TryIter<'a, u32>) {
        (rx.iter(), rx.try_iter())
    }
    let (_tx, rx) = mpsc::channel::<u32>();
    let _ = named(&rx);
    let _: IntoIter<u32> = rx.into_iter();
}

/// `iter` on each flavour: every message in order from two producers (each one's order kept),
/// ending only when both are gone and the queue is drained.
fn iter_all_flavours() {
    const N: u32 = 200;
    let (tx, rx) = mpsc::channel::<(u32, u32)>();
    // Room for all: only the rendezvous channel makes its senders wait for main.
    let (stx, srx) = mpsc::sync_channel::<(u32, u32)>(2 * N as usize);
    let (ztx, zrx) = mpsc::sync_channel::<(u32, u32)>(0);
    let mut hs = Vec::new();
    for p in 0..2 {
        let (tx, stx, ztx) = (tx.clone(), stx.clone(), ztx.clone());
        hs.push(thread::spawn(move || {
            for i in 0..N {
                tx.send((p, i)).expect("send");
                stx.send((p, i)).expect("sync send");
                ztx.send((p, i)).expect("rendezvous send");
            }
        }));
    }
    drop((tx, stx, ztx));
    let mut got = [[0u32; 2]; 3];
    // Rendezvous first (its senders wait for each message), then the others.
    for (p, i) in zrx.iter() {
        check_eq!(i, got[2][p as usize]);
        got[2][p as usize] += 1;
    }
    for (p, i) in &srx {
        check_eq!(i, got[1][p as usize]);
        got[1][p as usize] += 1;
    }
    for (p, i) in rx {
        check_eq!(i, got[0][p as usize]);
        got[0][p as usize] += 1;
    }
    check_eq!(got, [[N; 2]; 3]);
    for h in hs {
        h.join().expect("producer");
    }
    // Messages queued before the last sender went are still yielded, then the end.
    let (tx, rx) = mpsc::sync_channel::<u32>(8);
    for i in 0..5 {
        tx.send(i).expect("send");
    }
    drop(tx);
    check_eq!(rx.iter().collect::<Vec<_>>(), [0, 1, 2, 3, 4]);
    check_eq!(rx.iter().next(), None);
    check_eq!(rx.into_iter().next(), None);
}

/// `try_iter` never blocks: with senders alive it ends at the first empty look; a new one picks
/// up later messages.
fn try_iter() {
    let (tx, rx) = mpsc::channel::<u32>();
    let (stx, srx) = mpsc::sync_channel::<u32>(4);
    let t = Instant::now();
    check_eq!(rx.try_iter().next(), None);
    check_eq!(srx.try_iter().count(), 0);
    for i in 0..3 {
        tx.send(i).expect("send");
        stx.send(i).expect("send");
    }
    check_eq!(rx.try_iter().collect::<Vec<_>>(), [0, 1, 2]);
    check_eq!(srx.try_iter().collect::<Vec<_>>(), [0, 1, 2]);
    let mut it = rx.try_iter();
    check_eq!(it.next(), None);
    tx.send(9).expect("send");
    check_eq!(it.next(), Some(9));
    check!(t.elapsed() < Duration::from_millis(20), "try_iter blocked");
    drop(tx);
    check_eq!(rx.try_iter().next(), None);
    check_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
}

/// Checks that `f` took at least `ms` (and not wildly more).
fn took_about(ms: u64, t: Instant, what: &str) {
    let took = t.elapsed();
    check!(
        took >= Duration::from_millis(ms) && took < Duration::from_millis(ms + 100),
        "{} took {:?}, asked for {} ms",
        what,
        took,
        ms
    );
}

/// `send_timeout` on a buffered channel.
fn send_timeout_buffered() {
    let (tx, rx) = mpsc::sync_channel::<u32>(1);
    check_eq!(tx.send_timeout(1, Duration::from_millis(5)), Ok(()));
    let t = Instant::now();
    check_eq!(
        tx.send_timeout(2, Duration::from_millis(10)),
        Err(SendTimeoutError::Timeout(2))
    );
    took_about(10, t, "send_timeout on a full channel");
    // Room made by a receiver 3 ms later: Ok, well before the timeout.
    let h = thread::spawn(move || {
        thread::sleep(Duration::from_millis(3));
        let a = rx.recv().expect("first");
        let b = rx.recv().expect("second");
        ((a, b), rx)
    });
    let t = Instant::now();
    check_eq!(tx.send_timeout(3, Duration::from_millis(500)), Ok(()));
    check!(
        t.elapsed() < Duration::from_millis(100),
        "send_timeout waited too long"
    );
    let (got, rx) = h.join().expect("receiver");
    check_eq!(got, (1, 3));
    // Receiver gone: Disconnected at once, message back.
    drop(rx);
    check_eq!(
        tx.send_timeout(4, Duration::from_millis(500)),
        Err(SendTimeoutError::Disconnected(4))
    );
    // Receiver dropped while a send_timeout waits on a full channel.
    let (tx, rx) = mpsc::sync_channel::<u32>(1);
    tx.send(5).expect("send");
    let h = thread::spawn(move || {
        thread::sleep(Duration::from_millis(3));
        drop(rx);
    });
    check_eq!(
        tx.send_timeout(6, Duration::from_millis(500)),
        Err(SendTimeoutError::Disconnected(6))
    );
    h.join().expect("dropper");
}

/// `send_timeout` on `sync_channel(0)`: Ok only once a receiver took the message; on timeout
/// the message comes back and is never received.
fn send_timeout_rendezvous() {
    let (tx, rx) = mpsc::sync_channel::<u32>(0);
    let t = Instant::now();
    check_eq!(
        tx.send_timeout(1, Duration::from_millis(10)),
        Err(SendTimeoutError::Timeout(1))
    );
    took_about(10, t, "rendezvous send_timeout");
    check_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    // A receiver arriving 3 ms later takes it.
    let h = thread::spawn(move || {
        thread::sleep(Duration::from_millis(3));
        (rx.recv(), rx)
    });
    check_eq!(tx.send_timeout(2, Duration::from_millis(500)), Ok(()));
    let (got, rx) = h.join().expect("receiver");
    check_eq!(got, Ok(2));
    // A receiver already blocked in recv (higher priority, so it blocks before spawn returns).
    let h = Builder::new()
        .priority(200)
        .spawn(move || (rx.recv(), rx))
        .expect("spawn");
    thread::sleep(Duration::from_millis(2));
    check_eq!(tx.send_timeout(3, Duration::from_millis(500)), Ok(()));
    let (got, rx) = h.join().expect("receiver");
    check_eq!(got, Ok(3));
    // A timed-out message frees the slot for a sender waiting behind it, whose message is the
    // one received.
    let tx2 = tx.clone();
    let h = thread::spawn(move || {
        thread::sleep(Duration::from_millis(2));
        tx2.send(8)
    });
    check_eq!(
        tx.send_timeout(7, Duration::from_millis(15)),
        Err(SendTimeoutError::Timeout(7))
    );
    check_eq!(rx.recv_timeout(Duration::from_millis(500)), Ok(8));
    check_eq!(h.join().expect("second sender"), Ok(()));
    check_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    // Receiver gone: Disconnected, message back (at once, and while waiting).
    let h = thread::spawn(move || {
        thread::sleep(Duration::from_millis(3));
        drop(rx);
    });
    check_eq!(
        tx.send_timeout(9, Duration::from_millis(500)),
        Err(SendTimeoutError::Disconnected(9))
    );
    h.join().expect("dropper");
    check_eq!(
        tx.send_timeout(10, Duration::from_millis(500)),
        Err(SendTimeoutError::Disconnected(10))
    );
}

fn main() {
    preempt::config::set_tick_hz(20_000).expect("tick");
    bounds();
    iter_all_flavours();
    try_iter();
    send_timeout_buffered();
    send_timeout_rendezvous();
    println!("parity_mpsc: ok");
}
