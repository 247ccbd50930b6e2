//! Multi-producer, single-consumer channels, shaped like `std::sync::mpsc`.
//!
//! Two implementations sit behind the same types:
//!
//! - `sync_channel(n)` with `n ≥ 1` (the private `bounded` and `ring` modules): a fixed ring of
//!   `n` slots. A `send` with room and a `recv` with a message queued never take the scheduler
//!   lock: a compare-and-swap of the tail claims a slot, the message is copied, a `Release`
//!   store of the slot's stamp publishes it; the receiver (one thread: `Receiver` is `!Sync`,
//!   as in `std`) reads the stamp with `Acquire`, moves the message out and frees the slot.
//!   Only a thread that has to wait (the receiver on an empty channel, a sender on a full one)
//!   goes to the scheduler, and only then does the other side take the lock to wake it; a
//!   flags word and a pair of fences make sure no wake-up is lost (see `bounded`). The buffer
//!   is allocated up front, so `try_send` never allocates and may be called from an interrupt
//!   handler.
//! - `channel()` and the rendezvous `sync_channel(0)` (the private `locked` module): the queue
//!   lives under the scheduler lock together with the two wait queues, so checking for a
//!   message and going to sleep is one atomic step. An unbounded channel's sender allocates a
//!   new block before taking the lock, when the queue needs one (the private `queue` module).
//!   `sync_channel(0)` is a rendezvous: `send` returns once the receiver has taken the message,
//!   and `try_send` succeeds only by handing the message to a receiver blocked in `recv`.
//!
//! Nothing allocates, frees or drops a message under the scheduler lock or with IRQs masked.
//! Dropping the `Receiver` drops the messages still queued, as `std` does.

use super::atomics;

mod bounded;
mod errors;
mod locked;
mod queue;
mod ring;
mod wake_flags;

use alloc::sync::Arc;
use core::cell::Cell;
use core::fmt;
use core::marker::PhantomData;
use core::time::Duration;

use crate::kernel::{self, wait};

pub use errors::*;

/// The shared state behind a [`SyncSender`] or [`Receiver`].
enum Flavor<T> {
    /// `sync_channel(n)`, `n ≥ 1`.
    Ring(Arc<bounded::Chan<T>>),
    /// `channel()` or `sync_channel(0)`.
    Locked(Arc<locked::Chan<T>>),
}

impl<T> Clone for Flavor<T> {
    fn clone(&self) -> Self {
        match self {
            Self::Ring(c) => Self::Ring(c.clone()),
            Self::Locked(c) => Self::Locked(c.clone()),
        }
    }
}

/// Creates an unbounded channel.
pub fn channel<T: Send>() -> (Sender<T>, Receiver<T>) {
    let c = locked::Chan::new(false);
    (
        Sender { chan: c.clone() },
        Receiver {
            chan: Flavor::Locked(c),
            _not_sync: PhantomData,
        },
    )
}

/// Creates a channel holding at most `bound` messages; `send` blocks while it is full.
/// `bound == 0` makes every `send` wait until its message is received.
pub fn sync_channel<T: Send>(bound: usize) -> (SyncSender<T>, Receiver<T>) {
    let chan = if bound == 0 {
        Flavor::Locked(locked::Chan::new(true))
    } else {
        Flavor::Ring(bounded::Chan::new(bound))
    };
    (
        SyncSender { chan: chan.clone() },
        Receiver {
            chan,
            _not_sync: PhantomData,
        },
    )
}

/// The sending half of [`channel`]; clone it for more producers.
pub struct Sender<T> {
    chan: Arc<locked::Chan<T>>,
}

/// The sending half of [`sync_channel`]; clone it for more producers.
pub struct SyncSender<T> {
    chan: Flavor<T>,
}

/// The receiving half. Like `std`'s, it may move to another thread (`Send`) but not be shared
/// between threads (`!Sync`): a `sync_channel`'s ring has one reader, which takes messages
/// without claiming them atomically.
pub struct Receiver<T> {
    chan: Flavor<T>,
    _not_sync: PhantomData<Cell<()>>,
}

impl<T: Send> Sender<T> {
    /// Sends `t`; fails only when the receiver is gone, giving `t` back.
    ///
    /// May allocate (a block of queue slots, before taking the scheduler lock), so it is for
    /// threads only: called from an interrupt handler it stops the system with a message (use
    /// a [`sync_channel`]'s `try_send` there). If the heap cannot supply that block, the
    /// calling thread panics ("Sender::send: out of memory…") and ends alone.
    pub fn send(&self, t: T) -> Result<(), SendError<T>> {
        self.chan.send_unbounded(t)
    }
}

impl<T: Send> SyncSender<T> {
    /// Sends `t`, blocking while the channel is full (on a rendezvous channel, until the
    /// receiver has taken it). Fails when the receiver is gone, giving `t` back.
    #[inline]
    pub fn send(&self, t: T) -> Result<(), SendError<T>> {
        match &self.chan {
            Flavor::Ring(c) => c.send(t),
            Flavor::Locked(c) => c.send_rendezvous(t),
        }
    }

    /// Like [`send`](Self::send), giving up after `timeout`: `Err(Timeout(t))` if there was no
    /// room in time (on a rendezvous channel, if no receiver took the message in time — it is
    /// then taken back, never delivered), `Err(Disconnected(t))` if the receiver is gone.
    pub fn send_timeout(&self, t: T, timeout: Duration) -> Result<(), SendTimeoutError<T>> {
        let deadline = wait::deadline_after(timeout);
        match &self.chan {
            Flavor::Ring(c) => c.send_until(t, deadline),
            Flavor::Locked(c) => c.send_rendezvous_until(t, Some(deadline)),
        }
    }

    /// Sends `t` only if there is room now — on a rendezvous channel, only if the receiver is
    /// blocked in `recv` and so takes it at once. Never allocates; callable from interrupt
    /// handlers.
    pub fn try_send(&self, t: T) -> Result<(), TrySendError<T>> {
        match &self.chan {
            Flavor::Ring(c) => c.try_send(t),
            Flavor::Locked(c) => c.try_send(t),
        }
    }
}

impl<T: Send> Receiver<T> {
    /// Blocks for the next message; `Err` once it is empty and every sender is gone.
    #[inline]
    pub fn recv(&self) -> Result<T, RecvError> {
        match &self.chan {
            // SAFETY: this `Receiver` is the channel's only one, and `!Sync`: one thread.
            Flavor::Ring(c) => unsafe { c.recv() },
            Flavor::Locked(c) => c.recv_until(None).map_err(|_| RecvError),
        }
    }

    /// Like [`recv`](Self::recv), giving up after `timeout`.
    pub fn recv_timeout(&self, timeout: Duration) -> Result<T, RecvTimeoutError> {
        let deadline = Some(wait::deadline_after(timeout));
        match &self.chan {
            // SAFETY: this `Receiver` is the channel's only one, and `!Sync`: one thread.
            Flavor::Ring(c) => unsafe { c.recv_until(deadline) },
            Flavor::Locked(c) => c.recv_until(deadline),
        }
    }

    /// The next message if one is queued now.
    pub fn try_recv(&self) -> Result<T, TryRecvError> {
        match &self.chan {
            // SAFETY: this `Receiver` is the channel's only one, and `!Sync`: one thread.
            Flavor::Ring(c) => unsafe { c.try_recv_or_gone() },
            Flavor::Locked(c) => c.try_recv(),
        }
    }

    /// An iterator that blocks for each message, as [`recv`](Self::recv) does, and ends once
    /// the channel is empty and every sender is gone.
    pub fn iter(&self) -> Iter<'_, T> {
        Iter { rx: self }
    }

    /// An iterator over the messages queued now; it never blocks, and ends at the first
    /// [`try_recv`](Self::try_recv) that finds nothing (a later `next` may find more).
    pub fn try_iter(&self) -> TryIter<'_, T> {
        TryIter { rx: self }
    }
}

/// The iterator of [`Receiver::iter`] (and of `for m in &rx`): blocks for each message; ends
/// once the channel is empty and every sender is gone.
pub struct Iter<'a, T: 'a> {
    rx: &'a Receiver<T>,
}

/// The iterator of [`Receiver::try_iter`]: the messages queued now, without blocking.
pub struct TryIter<'a, T: 'a> {
    rx: &'a Receiver<T>,
}

/// The iterator of `for m in rx` (by value): like [`Iter`], owning the [`Receiver`].
pub struct IntoIter<T> {
    rx: Receiver<T>,
}

impl<T: Send> Iterator for Iter<'_, T> {
    type Item = T;
    fn next(&mut self) -> Option<T> {
        self.rx.recv().ok()
    }
}

impl<T: Send> Iterator for TryIter<'_, T> {
    type Item = T;
    fn next(&mut self) -> Option<T> {
        self.rx.try_recv().ok()
    }
}

impl<T: Send> Iterator for IntoIter<T> {
    type Item = T;
    fn next(&mut self) -> Option<T> {
        self.rx.recv().ok()
    }
}

impl<'a, T: Send> IntoIterator for &'a Receiver<T> {
    type Item = T;
    type IntoIter = Iter<'a, T>;
    fn into_iter(self) -> Iter<'a, T> {
        self.iter()
    }
}

impl<T: Send> IntoIterator for Receiver<T> {
    type Item = T;
    type IntoIter = IntoIter<T>;
    fn into_iter(self) -> IntoIter<T> {
        IntoIter { rx: self }
    }
}

impl<T> fmt::Debug for Iter<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Iter { .. }")
    }
}
impl<T> fmt::Debug for TryIter<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TryIter { .. }")
    }
}
impl<T> fmt::Debug for IntoIter<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("IntoIter { .. }")
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
        match &self.chan {
            Flavor::Ring(c) => c.add_sender(),
            Flavor::Locked(c) => c.add_sender(),
        }
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
        match &self.chan {
            Flavor::Ring(c) => c.drop_sender(),
            Flavor::Locked(c) => c.drop_sender(),
        }
    }
}

impl<T> Drop for Receiver<T> {
    /// Disconnects, and drops the messages still queued (with IRQs enabled, outside the
    /// scheduler lock).
    fn drop(&mut self) {
        match &self.chan {
            // SAFETY: this `Receiver` is the channel's only one, and it is going.
            Flavor::Ring(c) => unsafe { c.drop_receiver() },
            Flavor::Locked(c) => c.drop_receiver(),
        }
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

/// Gives a channel's two wait queues (receiver's and senders') back to the scheduler; both
/// flavours' `Drop`. Only handles: the messages are dropped by the caller, outside the lock.
fn destroy_queues(rx: sched_core::QueueId, tx: sched_core::QueueId) {
    kernel::with_sched(|s, _| {
        let _ = s.destroy_queue(rx);
        let _ = s.destroy_queue(tx);
    });
}
