//! A `sync_channel(n)` with `n ≥ 1`: the lock-free [`Ring`] for the messages, the scheduler
//! only for threads that wait.
//!
//! A `send` with room and a `recv` with a message queued touch the ring and one flags word,
//! never the scheduler lock. Blocking goes through the scheduler as in the other flavours — the
//! receiver waits in `rx_q` while the ring is empty, senders in `tx_q` while it is full — and
//! the flags word ([`WakeFlags`], in `wake_flags.rs` with its protocol) tells the lock-free
//! side when someone waits:
//!
//! - A waiter, under the scheduler lock, sets `RX_WAITING` (or `TX_WAITING`), then a `SeqCst`
//!   fence, then checks the ring again, and blocks only if it still has to.
//! - A sender, after publishing, fences (`SeqCst`) and reads the flags; the receiver does the
//!   same after freeing a slot. Only if the other side's bit is set does it take the scheduler
//!   lock, clear the bit and wake that side's waiters.
//!
//! The two fences make this a Dekker pair: either the waiter's re-check sees the message (or
//! the room), or the other side sees the bit; and since the waiter checks and blocks in one
//! scheduler-lock section, the side that saw the bit finds it queued. No wake-up is lost, on
//! one core or several (loom model: `crates/lock-models/tests/channel.rs`). A bit left set
//! with nobody waiting (a waiter that timed out, or found what it wanted on its re-check)
//! costs one slow call that clears it.
//!
//! On more than one core, a `send` that finds the ring full and a `recv` that finds it empty
//! first look again a bounded number of times before they wait (`sync::look_again`). Without
//! it, a producer and a
//! consumer on two cores blocked and woke each other at every turn of the ring (under QEMU
//! MTTCG with 4 vCPUs on 2 busy host cores: 9,000 messages a second in `smp_stress_channel`).
//!
//! Disconnection: the last `SyncSender` dropped sets `TX_GONE`; the `Receiver` dropped closes
//! the ring (a bit in its `tail`, so later sends fail at once). Each then wakes the other side's
//! waiters under the lock — a waiter checks under the lock before it blocks, so it either sees
//! the change or is woken. The receiver, finding the ring empty and `TX_GONE` set (Acquire:
//! every message sent before the drops is visible), looks once more, then reports the
//! disconnection. The dropped receiver drops the queued messages in its own thread, IRQs
//! enabled. A message whose sender claimed its slot before the close but publishes it only
//! after the receiver's drain (possible only with senders on other cores) is dropped with the
//! ring, when the last handle goes.

use alloc::sync::Arc;

use sched_core::{QueueId, WaitResult};

use super::errors::{
    RecvError, RecvTimeoutError, SendError, SendTimeoutError, TryRecvError, TrySendError,
};
use super::ring::{Push, Ring};
use super::wake_flags::{WakeFlags, RX_WAITING, TX_WAITING};
use crate::kernel::wait::{self, Wait};
use crate::kernel::{self, Sched};
use crate::sync::look_again::look_again;

pub(super) struct Chan<T> {
    ring: Ring<T>,
    /// The waiting bits, the senders' count and `TX_GONE`.
    flags: WakeFlags,
    rx_q: QueueId,
    tx_q: QueueId,
}

impl<T> Chan<T> {
    pub fn new(cap: usize) -> Arc<Self> {
        let ring = Ring::new(cap);
        let (rx_q, tx_q) =
            kernel::room::create_objects(2, |s| (s.create_queue(), s.create_queue()));
        Arc::new(Self {
            ring,
            flags: WakeFlags::new(),
            rx_q,
            tx_q,
        })
    }

    /// Queues `t` if there is room now.
    #[inline(always)]
    pub fn try_send(&self, t: T) -> Result<(), TrySendError<T>> {
        match self.ring.push(t) {
            Push::Sent => {
                // A receiver waits (or is about to): wake it (module docs).
                if self.flags.published() {
                    self.wake_receiver();
                }
                Ok(())
            }
            Push::Full(t) => Err(TrySendError::Full(t)),
            Push::Closed(t) => Err(TrySendError::Disconnected(t)),
        }
    }

    /// A published message found the receiver waiting.
    #[inline(always)]
    fn wake_receiver(&self) {
        self.wake_waiters::<false>();
    }

    /// Clears a waiting flag and wakes every thread waiting on that side: the senders' queue
    /// for `SENDERS`, the receiver's otherwise. One copy per side (a const parameter rather
    /// than arguments: the flag and the queue stay constants in each, as on a hand-written
    /// pair).
    #[cold]
    #[inline(never)]
    fn wake_waiters<const SENDERS: bool>(&self) {
        let (bit, q) = if SENDERS {
            (TX_WAITING, self.tx_q)
        } else {
            (RX_WAITING, self.rx_q)
        };
        wait::notify(|s| {
            self.flags.clear(bit);
            let _ = s.wake_all(q);
        });
    }

    /// Sends `t`, blocking while the ring is full.
    #[inline(always)]
    pub fn send(&self, t: T) -> Result<(), SendError<T>> {
        wait::assert_may_block("SyncSender::send");
        match self.try_send(t) {
            Ok(()) => Ok(()),
            Err(TrySendError::Disconnected(t)) => Err(SendError(t)),
            Err(TrySendError::Full(t)) => self.send_slow(t),
        }
    }

    /// `send` once the ring was found full: look again a few times on several cores, then wait
    /// for room and try again.
    #[cold]
    #[inline(never)]
    fn send_slow(&self, mut t: T) -> Result<(), SendError<T>> {
        let mut held = Some(t);
        let early = look_again(|| match self.try_send(held.take()?) {
            Ok(()) => Some(Ok(())),
            Err(TrySendError::Disconnected(back)) => Some(Err(SendError(back))),
            Err(TrySendError::Full(back)) => {
                held = Some(back);
                None
            }
        });
        if let Some(sent) = early {
            return sent;
        }
        t = held.expect("a message not sent is kept");
        loop {
            self.wait_for_room(None);
            match self.try_send(t) {
                Ok(()) => return Ok(()),
                Err(TrySendError::Disconnected(t)) => return Err(SendError(t)),
                Err(TrySendError::Full(back)) => t = back,
            }
        }
    }

    /// `SyncSender::send_timeout`: like [`send`](Self::send), giving `t` back if the ring is
    /// still full at `deadline`.
    pub fn send_until(&self, t: T, deadline: u64) -> Result<(), SendTimeoutError<T>> {
        wait::assert_may_block("SyncSender::send_timeout");
        let mut t = match self.try_send(t) {
            Ok(()) => return Ok(()),
            Err(TrySendError::Disconnected(t)) => return Err(SendTimeoutError::Disconnected(t)),
            Err(TrySendError::Full(t)) => t,
        };
        loop {
            let in_time = self.wait_for_room(Some(deadline));
            match self.try_send(t) {
                Ok(()) => return Ok(()),
                Err(TrySendError::Disconnected(t)) => {
                    return Err(SendTimeoutError::Disconnected(t))
                }
                Err(TrySendError::Full(back)) if !in_time => {
                    return Err(SendTimeoutError::Timeout(back))
                }
                Err(TrySendError::Full(back)) => t = back,
            }
        }
    }

    /// Blocks until the ring may have room or the receiver is gone (`true`), or until
    /// `deadline` passes (`false`).
    fn wait_for_room(&self, deadline: Option<u64>) -> bool {
        wait::wait(
            |s, cpu| {
                // Pairs with the receiver freeing a slot (`WakeFlags::freed`).
                self.flags.announce(TX_WAITING);
                if self.ring.can_push() {
                    self.settle(s, self.tx_q, TX_WAITING);
                    Wait::Done(true)
                } else {
                    Wait::Block(s.wait_on(cpu, self.tx_q, deadline).expect("channel queue"))
                }
            },
            |s, _, res| {
                if res == WaitResult::TimedOut {
                    self.settle(s, self.tx_q, TX_WAITING);
                    false
                } else {
                    true
                }
            },
        )
    }

    /// Takes the next message if one is published now; wakes waiting senders after freeing its
    /// slot.
    ///
    /// # Safety
    /// Only the channel's `Receiver` calls this, from one thread at a time.
    #[inline(always)]
    pub unsafe fn try_recv(&self) -> Option<T> {
        // SAFETY: the caller is the one receiver (above).
        let t = unsafe { self.ring.pop() }?;
        // Senders wait (or are about to): wake them (module docs).
        if self.flags.freed() {
            self.wake_senders();
        }
        Some(t)
    }

    #[inline(always)]
    fn wake_senders(&self) {
        self.wake_waiters::<true>();
    }

    /// Every sender is gone. Acquire: the messages they sent are visible after this, so a
    /// ring found empty after it is empty for good.
    fn senders_gone(&self) -> bool {
        self.flags.senders_gone()
    }

    /// `Receiver::try_recv`.
    ///
    /// # Safety
    /// As for [`try_recv`](Self::try_recv).
    pub unsafe fn try_recv_or_gone(&self) -> Result<T, TryRecvError> {
        // SAFETY: the caller is the one receiver (above).
        if let Some(t) = unsafe { self.try_recv() } {
            return Ok(t);
        }
        if self.senders_gone() {
            // SAFETY: as above.
            return unsafe { self.try_recv() }.ok_or(TryRecvError::Disconnected);
        }
        Err(TryRecvError::Empty)
    }

    /// `Receiver::recv`: the fast path inline, the rest out of line.
    ///
    /// # Safety
    /// As for [`try_recv`](Self::try_recv).
    #[inline(always)]
    pub unsafe fn recv(&self) -> Result<T, RecvError> {
        wait::assert_may_block("Receiver::recv");
        // SAFETY: the caller is the one receiver (above).
        match unsafe { self.try_recv() } {
            Some(t) => Ok(t),
            // SAFETY: as above.
            None => unsafe { self.recv_until(None) }.map_err(|_| RecvError),
        }
    }

    /// Receives, blocking until a message comes, every sender is gone, or `deadline` passes.
    ///
    /// # Safety
    /// As for [`try_recv`](Self::try_recv).
    #[inline(never)]
    pub unsafe fn recv_until(&self, deadline: Option<u64>) -> Result<T, RecvTimeoutError> {
        wait::assert_may_block("Receiver::recv");
        // `Some(None)`: every sender is gone, the loop below reports it.
        let early = look_again(|| {
            // SAFETY: the caller is the one receiver (above).
            match unsafe { self.try_recv() } {
                Some(t) => Some(Some(t)),
                None => self.senders_gone().then_some(None),
            }
        });
        if let Some(Some(t)) = early {
            return Ok(t);
        }
        loop {
            // SAFETY: the caller is the one receiver (above).
            if let Some(t) = unsafe { self.try_recv() } {
                return Ok(t);
            }
            if self.senders_gone() {
                // SAFETY: as above.
                return unsafe { self.try_recv() }.ok_or(RecvTimeoutError::Disconnected);
            }
            self.wait_for_message(deadline)?;
        }
    }

    /// Blocks until a message may be there or every sender is gone; `Err` on timeout.
    fn wait_for_message(&self, deadline: Option<u64>) -> Result<(), RecvTimeoutError> {
        wait::wait(
            |s, cpu| {
                // Pairs with a sender that publishes (`WakeFlags::published`).
                self.flags.announce(RX_WAITING);
                if self.ring.can_pop() || self.flags.senders_gone_locked() {
                    self.settle(s, self.rx_q, RX_WAITING);
                    Wait::Done(Ok(()))
                } else {
                    Wait::Block(s.wait_on(cpu, self.rx_q, deadline).expect("channel queue"))
                }
            },
            |s, _, res| {
                if res == WaitResult::TimedOut {
                    self.settle(s, self.rx_q, RX_WAITING);
                    Err(RecvTimeoutError::Timeout)
                } else {
                    Ok(())
                }
            },
        )
    }

    /// Clears `bit` if nobody waits in `q` (a caller that will not block after all, or timed
    /// out). Under the scheduler lock.
    fn settle(&self, s: &mut Sched, q: QueueId, bit: usize) {
        if s.waiter_count(q) == Some(0) {
            self.flags.clear(bit);
        }
    }

    pub fn add_sender(&self) {
        self.flags.add_sender();
    }

    pub fn drop_sender(&self) {
        // The last sender has set `TX_GONE`.
        if self.flags.drop_sender() {
            // Under the lock, after the bit: the receiver checks it under the lock before it
            // blocks, so it either sees it or is woken here.
            wait::notify(|s| {
                let _ = s.wake_all(self.rx_q);
            });
        }
    }

    /// The receiver is dropped: close the ring to senders, wake blocked ones, drop the queued
    /// messages (in the caller's context, IRQs enabled).
    ///
    /// # Safety
    /// As for [`try_recv`](Self::try_recv).
    pub unsafe fn drop_receiver(&self) {
        self.ring.close();
        // Under the lock, after closing: a blocked sender checks under the lock before it
        // blocks, so it either sees the ring closed or is woken here.
        wait::notify(|s| {
            let _ = s.wake_all(self.tx_q);
        });
        // SAFETY: the caller is the one receiver (above).
        while let Some(t) = unsafe { self.ring.pop() } {
            drop(t);
        }
    }
}

impl<T> Drop for Chan<T> {
    fn drop(&mut self) {
        super::destroy_queues(self.rx_q, self.tx_q);
        // The ring (any messages left) is dropped after this, outside the lock.
    }
}
