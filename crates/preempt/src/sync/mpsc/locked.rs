//! The channels whose queue lives under the scheduler lock: unbounded `channel()` and the
//! rendezvous `sync_channel(0)`.
//!
//! The queue sits in a `SchedCell` together with the two wait queues (receiver, blocked
//! senders), so checking for a message and going to sleep is one atomic step: no wake-up can be
//! lost. Nothing under that lock allocates, frees or drops a message (the private `queue`
//! module explains the block queue that makes this so): an unbounded channel's sender allocates
//! a new block before taking the lock, when the queue needs one, and blocks and messages are
//! dropped after it is released. A rendezvous `send` returns once the receiver has taken the
//! message, and `try_send` succeeds only by handing the message to a receiver blocked in `recv`.

use alloc::sync::Arc;

use sched_core::{QueueId, WaitResult};

use super::errors::{RecvTimeoutError, SendError, SendTimeoutError, TryRecvError, TrySendError};
use super::queue::{self, Blocks, Queue};
use crate::kernel::wait::{self, SchedCell, Wait};
use crate::kernel::{self, percpu, Sched};

struct Inner<T> {
    queue: Queue<T>,
    senders: usize,
    receiver_alive: bool,
    /// Messages ever sent and ever received (rendezvous senders wait for `received`).
    sent: u64,
    received: u64,
}

pub(super) struct Chan<T> {
    inner: SchedCell<Inner<T>>,
    rx_q: QueueId,
    tx_q: QueueId,
    /// `sync_channel(0)`, not `channel()`.
    rendezvous: bool,
}

/// What an attempt to queue a message did.
enum Push {
    /// Queued, with this sequence number; the receiver was woken.
    Sent(u64),
    /// No room (rendezvous), or no block at hand (unbounded); the message is still the caller's.
    Full,
    /// The receiver is gone; the message is still the caller's.
    Gone,
}

impl<T> Chan<T> {
    pub fn new(rendezvous: bool) -> Arc<Self> {
        let queue = if rendezvous {
            // One slot: the message of the sender being received.
            Queue::with_capacity(1)
        } else {
            Queue::unbounded()
        };
        let (rx_q, tx_q) =
            kernel::room::create_objects(2, |s| (s.create_queue(), s.create_queue()));
        Arc::new(Chan {
            inner: SchedCell::new(Inner {
                queue,
                senders: 1,
                receiver_alive: true,
                sent: 0,
                received: 0,
            }),
            rx_q,
            tx_q,
            rendezvous,
        })
    }

    /// Queues `*item` if the rendezvous slot is free; wakes the receiver. Under the scheduler
    /// lock; no allocation.
    fn push_rendezvous(&self, s: &mut Sched, item: &mut Option<T>) -> Push {
        let inner = self.inner.get(s);
        if !inner.receiver_alive {
            return Push::Gone;
        }
        if inner.queue.bounded_len() >= 1 {
            return Push::Full;
        }
        inner.queue.push_bounded(item);
        let seq = inner.sent;
        inner.sent += 1;
        let _ = s.wake_one(self.rx_q);
        Push::Sent(seq)
    }

    /// Queues `*item` on an unbounded channel, linking `fresh` if the tail block is full and
    /// there is no spare; wakes the receiver. `Full` asks for a block. Under the scheduler
    /// lock; no allocation, no free.
    fn push_unbounded(&self, s: &mut Sched, item: &mut Option<T>, fresh: &mut Blocks<T>) -> Push {
        let inner = self.inner.get(s);
        if !inner.receiver_alive {
            return Push::Gone;
        }
        if !inner.queue.push(item, fresh) {
            return Push::Full;
        }
        let seq = inner.sent;
        inner.sent += 1;
        let _ = s.wake_one(self.rx_q);
        Push::Sent(seq)
    }

    /// `try_send`: like [`push_rendezvous`](Self::push_rendezvous), but only for a receiver
    /// blocked in `recv` right now, which this wakes and which takes the message when it runs.
    /// Under the scheduler lock; no allocation.
    fn try_push(&self, s: &mut Sched, item: &mut Option<T>) -> Push {
        let inner = self.inner.get(s);
        if !inner.receiver_alive {
            return Push::Gone;
        }
        if !inner.queue.is_empty() {
            return Push::Full;
        }
        if !matches!(s.wake_one(self.rx_q), Ok(Some(_))) {
            return Push::Full;
        }
        let inner = self.inner.get(s);
        inner.queue.push_bounded(item);
        let seq = inner.sent;
        inner.sent += 1;
        Push::Sent(seq)
    }

    /// Takes the oldest message, waking blocked senders of a rendezvous channel. A block the
    /// queue no longer needs goes into `retired`, for the caller to free after the lock.
    fn pop(&self, s: &mut Sched, retired: &mut queue::Retired<T>) -> Option<T> {
        let inner = self.inner.get(s);
        let v = inner.queue.pop(retired)?;
        inner.received += 1;
        if self.rendezvous {
            let _ = s.wake_all(self.tx_q);
        }
        Some(v)
    }

    pub fn add_sender(&self) {
        kernel::with_sched(|s, _| self.inner.get(s).senders += 1);
    }

    pub fn drop_sender(&self) {
        wait::notify(|s| {
            let inner = self.inner.get(s);
            inner.senders -= 1;
            if inner.senders == 0 {
                let _ = s.wake_all(self.rx_q);
            }
        });
    }

    /// A rendezvous `SyncSender::send`.
    pub fn send_rendezvous(&self, t: T) -> Result<(), SendError<T>> {
        wait::assert_may_block("SyncSender::send");
        self.send_rendezvous_until(t, None).map_err(|e| match e {
            // No deadline: never `Timeout`.
            SendTimeoutError::Disconnected(t) | SendTimeoutError::Timeout(t) => SendError(t),
        })
    }

    /// A rendezvous `SyncSender::send_timeout` (and `send`, with no deadline). Returns once
    /// the receiver has taken the message; at `deadline`, takes it back unless it was taken.
    pub fn send_rendezvous_until(
        &self,
        t: T,
        deadline: Option<u64>,
    ) -> Result<(), SendTimeoutError<T>> {
        wait::assert_may_block("SyncSender::send_timeout");
        /// How phase 1 ended.
        enum Slot {
            Pushed(u64),
            Gone,
            TimedOut,
        }
        let mut item = Some(t);
        // Phase 1: wait for the slot, then push.
        let seq = loop {
            let r = wait::wait(
                |s, cpu| match self.push_rendezvous(s, &mut item) {
                    Push::Gone => Wait::Done(Some(Slot::Gone)),
                    Push::Sent(seq) => Wait::Done(Some(Slot::Pushed(seq))),
                    Push::Full => {
                        Wait::Block(s.wait_on(cpu, self.tx_q, deadline).expect("channel queue"))
                    }
                },
                |_, _, res| (res == WaitResult::TimedOut).then_some(Slot::TimedOut),
            );
            let mut unsent = || item.take().expect("unsent item");
            match r {
                Some(Slot::Pushed(seq)) => break seq,
                Some(Slot::Gone) => return Err(SendTimeoutError::Disconnected(unsent())),
                Some(Slot::TimedOut) => return Err(SendTimeoutError::Timeout(unsent())),
                None => continue,
            }
        };
        // Phase 2: wait until the receiver has taken it; if the receiver goes away first, or
        // the deadline passes, take the message back (it is the only one a rendezvous buffer
        // holds, and a dropped receiver leaves it there for this). Moved out under the lock,
        // not dropped there.
        loop {
            let done = wait::wait(
                |s, cpu| {
                    let inner = self.inner.get(s);
                    if inner.received > seq {
                        Wait::Done(Some(Some(Ok(()))))
                    } else if !inner.receiver_alive {
                        Wait::Done(Some(Some(
                            inner
                                .queue
                                .pop_back_bounded()
                                .map_or(Ok(()), |t| Err(SendTimeoutError::Disconnected(t))),
                        )))
                    } else {
                        match s.wait_on(cpu, self.tx_q, deadline) {
                            Ok(next) => Wait::Block(next),
                            Err(_) => Wait::Done(Some(Some(Ok(())))),
                        }
                    }
                },
                |_, _, res| (res == WaitResult::TimedOut).then_some(None),
            );
            match done {
                Some(Some(r)) => return r,
                Some(None) => return self.take_back(seq),
                None => {}
            }
        }
    }

    /// A rendezvous `send_timeout` whose deadline passed after its message `seq` went into the
    /// slot: `Ok` if the receiver took it meanwhile, else the message back, the slot freed and
    /// the senders waiting for it woken. Moved out under the lock, not dropped there.
    fn take_back(&self, seq: u64) -> Result<(), SendTimeoutError<T>> {
        wait::notify(|s| {
            let inner = self.inner.get(s);
            if inner.received > seq {
                return Ok(());
            }
            let gone = !inner.receiver_alive;
            let back = inner.queue.pop_back_bounded();
            if back.is_some() {
                // Never sent after all: the next message's sequence number is this one's, so
                // that its sender sees `received` pass it.
                inner.sent -= 1;
            }
            let _ = s.wake_all(self.tx_q);
            back.map_or(Ok(()), |t| {
                Err(if gone {
                    SendTimeoutError::Disconnected(t)
                } else {
                    SendTimeoutError::Timeout(t)
                })
            })
        })
    }

    pub fn recv_until(&self, deadline: Option<u64>) -> Result<T, RecvTimeoutError> {
        wait::assert_may_block("Receiver::recv");
        // Freed on return, after the lock.
        let mut retired = None;
        loop {
            let r = wait::wait(
                |s, cpu| {
                    if let Some(v) = self.pop(s, &mut retired) {
                        Wait::Done(Some(Ok(v)))
                    } else if self.inner.get(s).senders == 0 {
                        Wait::Done(Some(Err(RecvTimeoutError::Disconnected)))
                    } else {
                        Wait::Block(s.wait_on(cpu, self.rx_q, deadline).expect("channel queue"))
                    }
                },
                |_, _, res| (res == WaitResult::TimedOut).then_some(Err(RecvTimeoutError::Timeout)),
            );
            if let Some(r) = r {
                return r;
            }
        }
    }

    /// `Sender::send` on an unbounded channel (see there).
    pub fn send_unbounded(&self, t: T) -> Result<(), SendError<T>> {
        if percpu::this().in_irq() {
            kernel::fault::kernel_halt(format_args!(
                "Sender::send may allocate, inside an interrupt handler"
            ));
        }
        let mut item = Some(t);
        // A block allocated here, outside the lock, when the last attempt found none at hand.
        // Linked or kept as the spare under the lock; otherwise freed on return, after it.
        let mut fresh = Blocks::new();
        loop {
            match wait::notify(|s| self.push_unbounded(s, &mut item, &mut fresh)) {
                Push::Sent(_) => return Ok(()),
                Push::Gone => return Err(SendError(item.take().expect("unsent item"))),
                Push::Full => fresh = queue::new_block(),
            }
        }
    }

    /// `SyncSender::try_send` on a rendezvous channel.
    pub fn try_send(&self, t: T) -> Result<(), TrySendError<T>> {
        let mut item = Some(t);
        match wait::notify(|s| self.try_push(s, &mut item)) {
            Push::Sent(_) => Ok(()),
            Push::Full => Err(TrySendError::Full(item.take().expect("unsent item"))),
            Push::Gone => Err(TrySendError::Disconnected(
                item.take().expect("unsent item"),
            )),
        }
    }

    /// `Receiver::try_recv`.
    pub fn try_recv(&self) -> Result<T, TryRecvError> {
        // Freed on return, after the lock.
        let mut retired = None;
        wait::notify(|s| match self.pop(s, &mut retired) {
            Some(v) => Ok(v),
            None if self.inner.get(s).senders == 0 => Err(TryRecvError::Disconnected),
            None => Err(TryRecvError::Empty),
        })
    }

    /// The receiver is dropped: disconnect, and drop the messages still queued (after the
    /// lock). A rendezvous slot is left alone: it holds the message of a sender blocked in
    /// `send`, which takes it back.
    pub fn drop_receiver(&self) {
        let rendezvous = self.rendezvous;
        let queued = wait::notify(|s| {
            let inner = self.inner.get(s);
            inner.receiver_alive = false;
            let queued = (!rendezvous).then(|| inner.queue.take());
            let _ = s.wake_all(self.tx_q);
            queued
        });
        drop(queued);
    }
}

impl<T> Drop for Chan<T> {
    fn drop(&mut self) {
        super::destroy_queues(self.rx_q, self.tx_q);
        // `inner` (any messages left, the blocks) is dropped after this, outside the lock.
    }
}
