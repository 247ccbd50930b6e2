//! Multi-producer, single-consumer channels, shaped like `std::sync::mpsc`.
//!
//! The queue lives under the scheduler lock together with the two wait queues (receiver,
//! blocked senders), so checking for a message and going to sleep is one atomic step: no
//! wake-up can be lost. A `sync_channel`'s buffer is allocated up front, so `try_send` never
//! allocates and may be called from an interrupt handler. `sync_channel(0)` is a rendezvous:
//! `send` returns once the receiver has taken the message.

use alloc::collections::VecDeque;
use alloc::sync::Arc;
use core::fmt;
use core::time::Duration;

use sched_core::{QueueId, WaitResult};

use crate::kernel::wait::{self, SchedCell, Wait};
use crate::kernel::{self, Sched};

pub use errors::*;

struct Inner<T> {
    buf: VecDeque<T>,
    senders: usize,
    receiver_alive: bool,
    /// Messages ever sent and ever received (rendezvous senders wait for `received`).
    sent: u64,
    received: u64,
}

struct Chan<T> {
    inner: SchedCell<Inner<T>>,
    rx_q: QueueId,
    tx_q: QueueId,
    /// `None` for `channel`; `Some(n)` for `sync_channel(n)`.
    bound: Option<usize>,
}

impl<T> Chan<T> {
    fn new(bound: Option<usize>) -> Arc<Self> {
        let (rx_q, tx_q) = kernel::with_sched(|s, _| (s.create_queue(), s.create_queue()));
        let cap = bound.map_or(0, |b| b.max(1));
        Arc::new(Chan {
            inner: SchedCell::new(Inner {
                buf: VecDeque::with_capacity(cap),
                senders: 1,
                receiver_alive: true,
                sent: 0,
                received: 0,
            }),
            rx_q,
            tx_q,
            bound,
        })
    }

    /// Pushes if there is room; wakes the receiver. Under the scheduler lock.
    fn push(&self, s: &mut Sched, item: &mut Option<T>) -> Result<Option<u64>, ()> {
        let inner = self.inner.get(s);
        if !inner.receiver_alive {
            return Err(());
        }
        if let Some(b) = self.bound {
            if inner.buf.len() >= b.max(1) {
                return Ok(None);
            }
        }
        inner.buf.push_back(item.take().expect("item"));
        let seq = inner.sent;
        inner.sent += 1;
        let _ = s.wake_one(self.rx_q);
        Ok(Some(seq))
    }

    fn add_sender(&self) {
        kernel::with_sched(|s, _| self.inner.get(s).senders += 1);
    }

    fn drop_sender(&self) {
        wait::notify(|s| {
            let inner = self.inner.get(s);
            inner.senders -= 1;
            if inner.senders == 0 {
                let _ = s.wake_all(self.rx_q);
            }
        });
    }

    fn send_blocking(&self, t: T) -> Result<(), SendError<T>> {
        wait::assert_may_block("SyncSender::send");
        let mut item = Some(t);
        // Phase 1: wait for room, then push.
        let seq = loop {
            let r = wait::wait(
                |s, cpu| match self.push(s, &mut item) {
                    Err(()) => Wait::Done(Some(None)),
                    Ok(Some(seq)) => Wait::Done(Some(Some(seq))),
                    Ok(None) => {
                        Wait::Block(s.wait_on(cpu, self.tx_q, None).expect("channel queue"))
                    }
                },
                |_, _, _| None,
            );
            match r {
                Some(Some(seq)) => break seq,
                Some(None) => return Err(SendError(item.take().expect("unsent item"))),
                None => continue,
            }
        };
        // Phase 2 (rendezvous only): wait until the receiver has taken it; if the receiver goes
        // away first, take the message back (it is the only one a rendezvous buffer holds).
        if self.bound == Some(0) {
            loop {
                let done = wait::wait(
                    |s, cpu| {
                        let inner = self.inner.get(s);
                        if inner.received > seq {
                            Wait::Done(Some(Ok(())))
                        } else if !inner.receiver_alive {
                            Wait::Done(Some(
                                inner.buf.pop_back().map_or(Ok(()), |t| Err(SendError(t))),
                            ))
                        } else {
                            match s.wait_on(cpu, self.tx_q, None) {
                                Ok(next) => Wait::Block(next),
                                Err(_) => Wait::Done(Some(Ok(()))),
                            }
                        }
                    },
                    |_, _, _| None,
                );
                if let Some(r) = done {
                    return r;
                }
            }
        }
        Ok(())
    }

    fn recv_until(&self, deadline: Option<u64>) -> Result<T, RecvTimeoutError> {
        wait::assert_may_block("Receiver::recv");
        loop {
            let r = wait::wait(
                |s, cpu| {
                    let inner = self.inner.get(s);
                    if let Some(v) = inner.buf.pop_front() {
                        inner.received += 1;
                        if self.bound.is_some() {
                            let _ = s.wake_all(self.tx_q);
                        }
                        Wait::Done(Some(Ok(v)))
                    } else if inner.senders == 0 {
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
}

impl<T> Drop for Chan<T> {
    fn drop(&mut self) {
        let (rx, tx) = (self.rx_q, self.tx_q);
        kernel::with_sched(|s, _| {
            let _ = s.destroy_queue(rx);
            let _ = s.destroy_queue(tx);
        });
    }
}

/// Creates an unbounded channel.
pub fn channel<T: Send>() -> (Sender<T>, Receiver<T>) {
    let c = Chan::new(None);
    (Sender { chan: c.clone() }, Receiver { chan: c })
}

/// Creates a channel holding at most `bound` messages; `send` blocks while it is full.
/// `bound == 0` makes every `send` wait until its message is received.
pub fn sync_channel<T: Send>(bound: usize) -> (SyncSender<T>, Receiver<T>) {
    let c = Chan::new(Some(bound));
    (SyncSender { chan: c.clone() }, Receiver { chan: c })
}

/// The sending half of [`channel`]; clone it for more producers.
pub struct Sender<T> {
    chan: Arc<Chan<T>>,
}

/// The sending half of [`sync_channel`]; clone it for more producers.
pub struct SyncSender<T> {
    chan: Arc<Chan<T>>,
}

/// The receiving half.
pub struct Receiver<T> {
    chan: Arc<Chan<T>>,
}

impl<T: Send> Sender<T> {
    /// Sends `t`; fails only when the receiver is gone.
    pub fn send(&self, t: T) -> Result<(), SendError<T>> {
        let mut item = Some(t);
        let r = wait::notify(|s| self.chan.push(s, &mut item));
        match r {
            Ok(_) => Ok(()),
            Err(()) => Err(SendError(item.take().expect("unsent item"))),
        }
    }
}

impl<T: Send> SyncSender<T> {
    /// Sends `t`, blocking while the channel is full.
    pub fn send(&self, t: T) -> Result<(), SendError<T>> {
        self.chan.send_blocking(t)
    }

    /// Sends `t` only if there is room now. Callable from interrupt handlers.
    pub fn try_send(&self, t: T) -> Result<(), TrySendError<T>> {
        let mut item = Some(t);
        let r = wait::notify(|s| self.chan.push(s, &mut item));
        match r {
            Ok(Some(_)) => Ok(()),
            Ok(None) => Err(TrySendError::Full(item.take().expect("unsent item"))),
            Err(()) => Err(TrySendError::Disconnected(
                item.take().expect("unsent item"),
            )),
        }
    }
}

impl<T: Send> Receiver<T> {
    /// Blocks for the next message; `Err` once it is empty and every sender is gone.
    pub fn recv(&self) -> Result<T, RecvError> {
        self.chan.recv_until(None).map_err(|_| RecvError)
    }

    /// Like [`recv`](Self::recv), giving up after `timeout`.
    pub fn recv_timeout(&self, timeout: Duration) -> Result<T, RecvTimeoutError> {
        self.chan.recv_until(Some(wait::deadline_after(timeout)))
    }

    /// The next message if one is queued now.
    pub fn try_recv(&self) -> Result<T, TryRecvError> {
        wait::notify(|s| {
            let inner = self.chan.inner.get(s);
            match inner.buf.pop_front() {
                Some(v) => {
                    inner.received += 1;
                    if self.chan.bound.is_some() {
                        let _ = s.wake_all(self.chan.tx_q);
                    }
                    Ok(v)
                }
                None if inner.senders == 0 => Err(TryRecvError::Disconnected),
                None => Err(TryRecvError::Empty),
            }
        })
    }

    /// An iterator over messages until every sender is gone.
    pub fn iter(&self) -> impl Iterator<Item = T> + '_ {
        core::iter::from_fn(move || self.recv().ok())
    }

    /// An iterator over the messages queued now.
    pub fn try_iter(&self) -> impl Iterator<Item = T> + '_ {
        core::iter::from_fn(move || self.try_recv().ok())
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        self.chan.add_sender();
        Self {
            chan: self.chan.clone(),
        }
    }
}

impl<T> Clone for SyncSender<T> {
    fn clone(&self) -> Self {
        self.chan.add_sender();
        Self {
            chan: self.chan.clone(),
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        self.chan.drop_sender();
    }
}

impl<T> Drop for SyncSender<T> {
    fn drop(&mut self) {
        self.chan.drop_sender();
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        wait::notify(|s| {
            self.chan.inner.get(s).receiver_alive = false;
            let _ = s.wake_all(self.chan.tx_q);
        });
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Sender { .. }")
    }
}
impl<T> fmt::Debug for SyncSender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SyncSender { .. }")
    }
}
impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Receiver { .. }")
    }
}

mod errors {
    use core::fmt;

    /// The receiver is gone; the message comes back.
    #[derive(PartialEq, Eq, Clone, Copy)]
    pub struct SendError<T>(pub T);

    /// Every sender is gone and the channel is empty.
    #[derive(PartialEq, Eq, Clone, Copy, Debug)]
    pub struct RecvError;

    /// Why `try_send` failed; the message comes back.
    #[derive(PartialEq, Eq, Clone, Copy)]
    pub enum TrySendError<T> {
        /// The channel is full.
        Full(T),
        /// The receiver is gone.
        Disconnected(T),
    }

    /// Why `try_recv` failed.
    #[derive(PartialEq, Eq, Clone, Copy, Debug)]
    pub enum TryRecvError {
        /// Nothing queued.
        Empty,
        /// Empty and every sender is gone.
        Disconnected,
    }

    /// Why `recv_timeout` failed.
    #[derive(PartialEq, Eq, Clone, Copy, Debug)]
    pub enum RecvTimeoutError {
        /// Nothing arrived in time.
        Timeout,
        /// Empty and every sender is gone.
        Disconnected,
    }

    impl<T> fmt::Debug for SendError<T> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("SendError { .. }")
        }
    }
    impl<T> fmt::Display for SendError<T> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("sending on a channel whose receiver is gone")
        }
    }
    impl<T> fmt::Debug for TrySendError<T> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            match self {
                Self::Full(_) => f.write_str("Full(..)"),
                Self::Disconnected(_) => f.write_str("Disconnected(..)"),
            }
        }
    }
    impl<T> fmt::Display for TrySendError<T> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            match self {
                Self::Full(_) => f.write_str("sending on a full channel"),
                Self::Disconnected(_) => f.write_str("sending on a channel whose receiver is gone"),
            }
        }
    }
    impl fmt::Display for RecvError {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("receiving on an empty channel whose senders are gone")
        }
    }
    impl fmt::Display for TryRecvError {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            match self {
                Self::Empty => f.write_str("receiving on an empty channel"),
                Self::Disconnected => {
                    f.write_str("receiving on an empty channel whose senders are gone")
                }
            }
        }
    }
    impl fmt::Display for RecvTimeoutError {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            match self {
                Self::Timeout => f.write_str("timed out waiting on a channel"),
                Self::Disconnected => f.write_str("channel is empty and its senders are gone"),
            }
        }
    }
}
