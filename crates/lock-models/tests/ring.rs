//! The `sync_channel(n)` ring (`crates/preempt/src/sync/mpsc/ring.rs`, run here as it is):
//! two senders on two cores and the receiver on a third.
//!
//! With two slots, the first sender sends two messages and the second one; with one slot a
//! single sender sends three (every message through the one slot, three laps of positions;
//! two senders there make the model minutes long). The receiver takes messages until it has
//! them all. A sender that finds the ring full, and the receiver that finds it empty,
//! wait for the other side's next step and try again (in the kernel they block in
//! `bounded.rs` and are woken; that protocol is not modelled here: a loom `Notify` stands in,
//! rather than a spin, whose every stale look would multiply the interleavings). Messages are written into and moved out of loom cells, so a message read
//! while it is written, or a slot rewritten before its message is moved out, is a data race.
//!
//! Checked: every message received exactly once, each sender's in the order sent, and no torn
//! read. Planted bug: the same ring against atomics whose `Release` stores are `Relaxed`
//! (the stamp that publishes a message, and the one that frees a slot): the receiver's read
//! then races with the sender's write (loom's "Causality violation").

use lock_models::kernel::ring::{ModelRing, Push, RelaxedRing, Ring};
use lock_models::model;
use loom::sync::Notify;
use loom::thread;
// Not loom's `Arc` (see `tests/mutex.rs`).
use std::sync::Arc;

/// A message: its sender and its sequence number there.
type Msg = (u8, u8);

struct Shared<R> {
    ring: R,
    /// The receiver waits here for a message; each sender notifies it after a send.
    rx: Notify,
    /// Sender `i` waits in `tx[i]` for room; the receiver notifies both after a receive.
    tx: [Notify; 2],
}

fn send<R: ModelRing<Msg>>(sh: &Shared<R>, mut msg: Msg) {
    loop {
        match sh.ring.push(msg) {
            Push::Sent => {
                sh.rx.notify();
                return;
            }
            Push::Full(m) => msg = m,
            Push::Closed(_) => panic!("the ring closed itself"),
        }
        sh.tx[usize::from(msg.0 - 1)].wait();
    }
}

/// `senders`: each sender's id (1 or 2) and number of messages.
fn exactly_once_in_order<R: ModelRing<Msg> + 'static>(cap: usize, senders: &'static [(u8, u8)]) {
    model(move || {
        let sh = Arc::new(Shared {
            ring: R::new(cap),
            rx: Notify::new(),
            tx: [Notify::new(), Notify::new()],
        });
        let total = senders.iter().map(|s| usize::from(s.1)).sum::<usize>();
        let threads: Vec<_> = senders
            .iter()
            .map(|&(id, count)| {
                let sh = sh.clone();
                thread::spawn(move || {
                    for seq in 0..count {
                        send(&*sh, (id, seq));
                    }
                })
            })
            .collect();
        let mut got = Vec::new();
        while got.len() < total {
            // SAFETY: this thread is the only receiver.
            match unsafe { sh.ring.pop() } {
                Some(m) => {
                    got.push(m);
                    sh.tx.iter().for_each(Notify::notify);
                }
                None => sh.rx.wait(),
            }
        }
        for t in threads {
            t.join().unwrap();
        }
        // SAFETY: as above; the senders are done.
        assert!(unsafe { sh.ring.pop() }.is_none(), "a message came twice");
        for &(id, count) in senders {
            let from: Vec<u8> = got.iter().filter(|m| m.0 == id).map(|m| m.1).collect();
            let sent: Vec<u8> = (0..count).collect();
            assert_eq!(
                from, sent,
                "sender {id}'s messages lost, doubled or reordered"
            );
        }
    });
}

#[test]
fn one_slot_ring_delivers_each_message_once_in_order() {
    exactly_once_in_order::<Ring<Msg>>(1, &[(1, 3)]);
}

#[test]
fn two_slot_ring_delivers_each_message_once_in_order() {
    exactly_once_in_order::<Ring<Msg>>(2, &[(1, 2), (2, 1)]);
}

#[test]
#[should_panic(expected = "Causality violation")]
fn model_catches_a_relaxed_publication() {
    exactly_once_in_order::<RelaxedRing<Msg>>(2, &[(1, 2), (2, 1)]);
}
