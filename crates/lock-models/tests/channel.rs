//! The `sync_channel(n)` wake-up protocol: the flags word (`crates/preempt/src/sync/mpsc/
//! wake_flags.rs`) and the ring (`sync/mpsc/ring.rs`), both run here as they are, with the
//! blocking around them that `sync/mpsc/bounded.rs` does.
//!
//! One slot, so that senders find the ring full as often as the receiver finds it empty. The
//! receiver receives until it reads the disconnection; each sender sends, then drops its
//! handle. Two runs: one sender sending two messages (the receiver blocks on the empty ring,
//! the sender on the full one), and two senders sending one each (both may block on the full
//! ring at once, and both are woken by one receive). The channel's steps mirror
//! `bounded::Chan` line by line: `try_send` (push, then `published` and the wake-up),
//! `wait_for_room` and `wait_for_message` (under the scheduler lock: `announce`, the last look
//! at the ring, then settle or block), `try_recv` (pop, then `freed` and the wake-up),
//! `recv_until`'s loop (`senders_gone` before an empty ring is trusted), `wake_waiters`
//! (under the lock: `clear`, then wake all of that side) and `drop_sender`. The scheduler is
//! modelled as in `tests/semaphore.rs`: a loom mutex is the scheduler lock, the two wait
//! queues are lists of threads, and a blocked thread waits on a condition variable under
//! the lock until it is woken (as `wait::wait` blocks under the scheduler lock). Not
//! modelled: timeouts (a timed-out waiter only settles its bit under the lock), the bounded
//! looks again before blocking (`look_again`: more tries of the same steps), the receiver's
//! drop.
//!
//! Checked: no wake-up is lost (a thread left blocked is loom's "deadlock"), every message is
//! received once and in each sender's order, and the disconnection is read only after every
//! message. Planted bugs: the kernel's flags word against `AcqRel` fences where it has
//! `SeqCst` ones (the sender's read of the bits and the waiter's last look at the ring may
//! both see old values: each leaves the wake-up to the other), and a waiter that sets its bit
//! only after its last look at the ring (a message published between the two finds no bit):
//! both leave a thread blocked for good.

use lock_models::kernel::ring::{ModelRing, Push, Ring};
use lock_models::kernel::wake_flags::{
    ModelWakeFlags, WakeFlags, WeakFenceFlags, RX_WAITING, TX_WAITING,
};
use lock_models::model;
use loom::sync::{Condvar, Mutex, MutexGuard};
use loom::thread;
// Not loom's `Arc` (see `tests/mutex.rs`: its drop while unwinding from a deadlock aborts).
use std::sync::Arc;

/// A message: its sender and its sequence number there.
type Msg = (u8, u8);

#[derive(Clone, Copy, PartialEq)]
enum Variant {
    Correct,
    /// Planted bug: the waiter looks at the ring, then sets its bit.
    LateAnnounce,
}

/// The scheduler's side of the channel: its two wait queues (thread ids).
#[derive(Default)]
struct Queues {
    /// `rx_q`: the receiver, blocked on an empty ring.
    rx: Vec<u8>,
    /// `tx_q`: senders blocked on a full ring.
    tx: Vec<u8>,
    /// Threads woken and not yet run.
    woken: Vec<u8>,
}

struct Chan<F> {
    ring: Ring<Msg>,
    flags: F,
    sched: Mutex<Queues>,
    wake: Condvar,
    variant: Variant,
}

/// The receiver's thread id (the senders are 1 and 2).
const RECEIVER: u8 = 0;

impl<F: ModelWakeFlags> Chan<F> {
    /// `Chan::try_send`: `Err` gives the message back (the ring is full).
    fn try_send(&self, m: Msg) -> Result<(), Msg> {
        match self.ring.push(m) {
            Push::Sent => {
                if self.flags.published() {
                    self.wake_waiters(false);
                }
                Ok(())
            }
            Push::Full(m) => Err(m),
            Push::Closed(_) => panic!("the ring closed itself"),
        }
    }

    /// `Chan::wake_waiters::<senders>`, under the scheduler lock.
    fn wake_waiters(&self, senders: bool) {
        let mut s = self.sched.lock().unwrap();
        self.flags
            .clear(if senders { TX_WAITING } else { RX_WAITING });
        let q = core::mem::take(if senders { &mut s.tx } else { &mut s.rx });
        s.woken.extend(q);
        self.wake.notify_all();
    }

    /// `Chan::send` (and `send_slow`'s loop).
    fn send(&self, me: u8, mut m: Msg) {
        loop {
            match self.try_send(m) {
                Ok(()) => return,
                Err(back) => m = back,
            }
            self.wait_for_room(me);
        }
    }

    /// `Chan::wait_for_room`, under the scheduler lock.
    fn wait_for_room(&self, me: u8) {
        let s = self.sched.lock().unwrap();
        if self.must_block(TX_WAITING, || self.ring.can_push()) {
            self.block(s, me, true);
        } else {
            self.settle(&s, true);
        }
    }

    /// `Chan::try_recv`.
    fn try_recv(&self) -> Option<Msg> {
        // SAFETY: only the receiver's thread calls this.
        let m = unsafe { self.ring.pop() }?;
        if self.flags.freed() {
            self.wake_waiters(true);
        }
        Some(m)
    }

    /// `Chan::recv_until(None)`: `None` once every sender is gone and the ring is empty.
    fn recv(&self) -> Option<Msg> {
        loop {
            if let Some(m) = self.try_recv() {
                return Some(m);
            }
            if self.flags.senders_gone() {
                return self.try_recv();
            }
            self.wait_for_message();
        }
    }

    /// `Chan::wait_for_message`, under the scheduler lock.
    fn wait_for_message(&self) {
        let s = self.sched.lock().unwrap();
        if self.must_block(RX_WAITING, || {
            self.ring.can_pop() || self.flags.senders_gone_locked()
        }) {
            self.block(s, RECEIVER, false);
        } else {
            self.settle(&s, false);
        }
    }

    /// The waiter's step under the lock: its bit set, then its last look (`ready`); the other
    /// order with the planted bug.
    fn must_block(&self, bit: usize, ready: impl Fn() -> bool) -> bool {
        if self.variant == Variant::LateAnnounce {
            let ready = ready();
            self.flags.announce(bit); // planted bug: after the look
            return !ready;
        }
        self.flags.announce(bit);
        !ready()
    }

    /// `Chan::settle`: nobody waits on that side after all, so its bit goes.
    fn settle(&self, s: &Queues, senders: bool) {
        let (q, bit) = if senders {
            (&s.tx, TX_WAITING)
        } else {
            (&s.rx, RX_WAITING)
        };
        if q.is_empty() {
            self.flags.clear(bit);
        }
    }

    /// `wait_on`, then the switch: blocked (the scheduler lock released) until woken.
    fn block(&self, mut s: MutexGuard<'_, Queues>, me: u8, sender: bool) {
        if sender {
            s.tx.push(me);
        } else {
            s.rx.push(me);
        }
        while !s.woken.contains(&me) {
            s = self.wake.wait(s).unwrap();
        }
        s.woken.retain(|&t| t != me);
    }

    /// `Chan::drop_sender`: the last one wakes the receiver under the lock.
    fn drop_sender(&self) {
        if self.flags.drop_sender() {
            let mut s = self.sched.lock().unwrap();
            let q = core::mem::take(&mut s.rx);
            s.woken.extend(q);
            self.wake.notify_all();
        }
    }
}

/// `senders`: how many messages each sender (ids 1, 2, …) sends.
fn no_lost_wake_up<F: ModelWakeFlags + 'static>(v: Variant, senders: &'static [u8]) {
    model(move || {
        let chan = Arc::new(Chan {
            ring: Ring::new(1),
            flags: F::new(),
            sched: Mutex::new(Queues::default()),
            wake: Condvar::new(),
            variant: v,
        });
        // The handles are cloned before any runs, as a program clones a `SyncSender`.
        for _ in 1..senders.len() {
            chan.flags.add_sender();
        }
        let threads: Vec<_> = (1..)
            .zip(senders)
            .map(|(id, &count)| {
                let chan = chan.clone();
                thread::spawn(move || {
                    for seq in 0..count {
                        chan.send(id, (id, seq));
                    }
                    chan.drop_sender();
                })
            })
            .collect();
        let mut got = Vec::new();
        while let Some(m) = chan.recv() {
            got.push(m);
        }
        for t in threads {
            t.join().unwrap();
        }
        for (id, &count) in (1..).zip(senders) {
            let from: Vec<u8> = got.iter().filter(|m| m.0 == id).map(|m| m.1).collect();
            assert_eq!(
                from,
                (0..count).collect::<Vec<u8>>(),
                "sender {id}'s messages lost, doubled or reordered (or the disconnection read \
                 before them)"
            );
        }
    });
}

#[test]
fn sender_and_receiver_blocking_lose_no_wake_up() {
    no_lost_wake_up::<WakeFlags>(Variant::Correct, &[2]);
}

#[test]
fn two_senders_blocking_on_a_full_ring_lose_no_wake_up() {
    no_lost_wake_up::<WakeFlags>(Variant::Correct, &[1, 1]);
}

#[test]
#[should_panic(expected = "deadlock")]
fn model_catches_acq_rel_fences() {
    no_lost_wake_up::<WeakFenceFlags>(Variant::Correct, &[2]);
}

#[test]
#[should_panic(expected = "deadlock")]
fn model_catches_a_bit_set_after_the_last_look() {
    no_lost_wake_up::<WakeFlags>(Variant::LateAnnounce, &[2]);
}
