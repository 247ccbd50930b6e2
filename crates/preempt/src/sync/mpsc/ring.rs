//! The buffer of a `sync_channel(n)` with `n ≥ 1`: a fixed ring of `n` slots, filled by any
//! number of senders and emptied by one receiver, with atomics and without the scheduler lock.
//!
//! Positions: `head` and `tail` are the next positions to receive from and send to. A position
//! is `lap | closed | index`: `index < n` in the low bits (`mask`), then one bit that is set in
//! `tail` once the receiver is gone, then the lap count (`one_lap` = twice the power of two
//! above `n`). Every slot carries a *stamp* saying what it waits for:
//!
//! - stamp == `pos`: free for the sender of position `pos`;
//! - stamp == `pos + 1`: holds the message of position `pos` (`index + 1 ≤ n` never carries
//!   into the `closed` bit);
//! - after the receiver moved that message out: `pos + one_lap`, free for the next lap.
//!
//! A sender that finds the slot at `tail` free claims the position with a compare-and-swap of
//! `tail`, writes the message, and only then publishes it with a `Release` store of the stamp.
//! The receiver takes the message at `head` once the slot's stamp (loaded with `Acquire`) says
//! it is there, moves it out, frees the slot with a `Release` store and advances `head`, which
//! is its own (the `Receiver` is `!Sync`, so one thread at a time): no atomic claim needed. So a
//! message is never read before it is written, a slot is never rewritten before its message
//! was moved out, and senders on any number of cores each get positions of their own:
//! per-sender order is position order. A closed `tail` never equals a stamp, so the senders'
//! fast path needs no separate check for a gone receiver.
//!
//! Nothing here spins or waits. A slot that is claimed but not yet published (its sender is
//! between the two steps) reads as "empty" to the receiver, and one the receiver has not yet
//! freed reads as "full" to a sender: the caller then blocks (`bounded.rs`), and the thread
//! finishing its step wakes it. Senders run their two steps with IRQs masked: on its own core
//! nothing can preempt a sender between them, so a receiver never waits on a preempted,
//! lower-priority sender (on another core the window is one message copy), and a stack
//! overflow is caught by `irq_save`'s probe before the claim rather than between claim and
//! publication, where it would leave a slot that never fills.
//!
//! Positions wrap around `usize` consistently (a lap is a power of two): no limit on the
//! number of messages.
//!
//! This file names nothing of the kernel but [`atomics`](super::atomics) (the atomics, the
//! message cell, the IRQ mask): the host-side `loom` model (`crates/lock-models/tests/ring.rs`)
//! compiles it against loom's instead and checks it under the weak memory model.

use alloc::boxed::Box;
use alloc::vec::Vec;

use super::atomics::{cpu, AtomicUsize, Ordering, SlotCell};

/// A slot; the stamp first, so that its address is the slot's (one instruction less for each
/// `ldar`/`stlr`, which take no offset).
#[repr(C)]
struct Slot<T> {
    stamp: AtomicUsize,
    msg: SlotCell<T>,
}

/// Keeps `head` and `tail` on separate cache lines (the receiver and senders on different
/// cores do not invalidate each other's line on every operation).
#[repr(align(64))]
struct Line<T>(T);

/// What a sender found at the tail.
pub(super) enum Push<T> {
    Sent,
    /// No free slot now; the message comes back.
    Full(T),
    /// The ring was [closed](Ring::close); the message comes back.
    Closed(T),
}

pub(super) struct Ring<T> {
    /// The next position to receive from; written by the receiver alone.
    head: Line<AtomicUsize>,
    /// The next position to send to, and [`closed`](Self::closed) once the receiver is gone.
    tail: Line<AtomicUsize>,
    slots: Box<[Slot<T>]>,
    /// The index bits of a position. The bit above them (`mask + 1`) is set in `tail` once the
    /// ring is closed; the laps count above that.
    mask: usize,
    /// From the position of the last index to index 0 of the next lap.
    wrap: usize,
    /// The last index (capacity − 1).
    last: usize,
}

// SAFETY: a message is written only by the sender that claimed its position and read only by
// the receiver, the two ordered by the slot's stamp (Release/Acquire); `head` is the
// receiver's alone (`pop`'s contract). `T: Send` lets messages move between threads.
unsafe impl<T: Send> Sync for Ring<T> {}
// SAFETY: as above; the ring owns its messages.
unsafe impl<T: Send> Send for Ring<T> {}

impl<T> Ring<T> {
    /// A ring of `cap` slots (`cap ≥ 1`). Allocates: outside the scheduler lock.
    pub fn new(cap: usize) -> Self {
        assert!(cap >= 1, "a ring has at least one slot");
        // Above every index and above `index + 1` (a published stamp); a lap (twice that) must
        // fit in a `usize`.
        let closed = cap
            .checked_add(1)
            .and_then(usize::checked_next_power_of_two)
            .filter(|c| c.checked_mul(2).is_some())
            .expect("sync_channel bound too large");
        let slots: Vec<Slot<T>> = (0..cap)
            .map(|i| Slot {
                stamp: AtomicUsize::new(i),
                msg: SlotCell::new(),
            })
            .collect();
        Self {
            head: Line(AtomicUsize::new(0)),
            tail: Line(AtomicUsize::new(0)),
            slots: slots.into_boxed_slice(),
            mask: closed - 1,
            wrap: 2 * closed - (cap - 1),
            last: cap - 1,
        }
    }

    /// The bit set in `tail` once the ring is closed.
    #[inline(always)]
    fn closed(&self) -> usize {
        self.mask + 1
    }

    /// One lap of positions: the index bits and the `closed` bit.
    #[inline(always)]
    fn one_lap(&self) -> usize {
        2 * (self.mask + 1)
    }

    /// The index of position `pos`.
    #[inline(always)]
    fn index(&self, pos: usize) -> usize {
        pos & self.mask
    }

    /// The slot of index `index`.
    #[inline(always)]
    fn slot(&self, index: usize) -> &Slot<T> {
        debug_assert!(index < self.slots.len());
        // SAFETY: positions are only ever built by `next` (or are the initial 0), which keeps
        // the index part below the capacity.
        unsafe { self.slots.get_unchecked(index) }
    }

    /// The position after `pos`, whose index is `index`: the next index, or index 0 of the
    /// next lap.
    #[inline(always)]
    fn next(&self, pos: usize, index: usize) -> usize {
        let step = if index == self.last { self.wrap } else { 1 };
        pos.wrapping_add(step)
    }

    /// Queues `t` if the slot at the tail is free now; gives it back if not (the channel is
    /// full, or its oldest message is being moved out right now) or if the ring is closed.
    #[inline(always)]
    pub fn push(&self, t: T) -> Push<T> {
        // Claim and publication with IRQs masked (see the module docs); the probe checks the
        // stack first.
        let irq = cpu::irq_save();
        let r = match self.claim_tail() {
            Ok((slot, tail)) => {
                // SAFETY: `claim_tail` claimed `tail`, whose slot this is.
                unsafe { Self::publish(slot, tail, t) };
                Push::Sent
            }
            Err(true) => Push::Closed(t),
            Err(false) => Push::Full(t),
        };
        cpu::irq_restore(irq);
        r
    }

    /// Claims the position at the tail if its slot is free (`Err(closed)` if not): one attempt
    /// inline (the usual case), the loop out of line (another sender came first, the ring is
    /// full or closed: a closed tail never equals a stamp).
    #[inline(always)]
    fn claim_tail(&self) -> Result<(&Slot<T>, usize), bool> {
        let tail = self.tail.0.load(Ordering::Relaxed);
        let index = self.index(tail);
        let slot = self.slot(index);
        // Acquire: the receiver that freed the slot has moved its last message out.
        if slot.stamp.load(Ordering::Acquire) == tail
            && self
                .tail
                .0
                .compare_exchange(
                    tail,
                    self.next(tail, index),
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                )
                .is_ok()
        {
            return Ok((slot, tail));
        }
        self.claim_tail_contended()
    }

    #[cold]
    #[inline(never)]
    fn claim_tail_contended(&self) -> Result<(&Slot<T>, usize), bool> {
        let mut tail = self.tail.0.load(Ordering::Relaxed);
        loop {
            if tail & self.closed() != 0 {
                return Err(true);
            }
            let index = self.index(tail);
            let slot = self.slot(index);
            if slot.stamp.load(Ordering::Acquire) == tail {
                match self.tail.0.compare_exchange(
                    tail,
                    self.next(tail, index),
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                ) {
                    Ok(_) => return Ok((slot, tail)),
                    Err(now) => tail = now,
                }
            } else {
                // Another sender moved `tail` on or closed the ring (look again), or the slot
                // still holds a message: full.
                let now = self.tail.0.load(Ordering::Relaxed);
                if now == tail {
                    return Err(false);
                }
                tail = now;
            }
        }
    }

    /// Writes `t` into `slot` and publishes it as the message of position `tail`.
    ///
    /// # Safety
    /// The caller claimed position `tail` (whose slot is `slot`) by moving `tail` past it: no
    /// other sender writes this slot until the receiver has moved the message out and freed it
    /// for the next lap, and the receiver does not read it before the stamp stored here.
    #[inline(always)]
    unsafe fn publish(slot: &Slot<T>, tail: usize, t: T) {
        // SAFETY: the slot is ours to write (above); nothing reads it until the stamp says so.
        unsafe { slot.msg.write(t) };
        // Release: the message is written before the stamp says so.
        slot.stamp.store(tail.wrapping_add(1), Ordering::Release);
    }

    /// Takes the message at the head if it is published now.
    ///
    /// # Safety
    /// Only the receiver calls this, from one thread at a time (`head` is its alone).
    #[inline(always)]
    pub unsafe fn pop(&self) -> Option<T> {
        let head = self.head.0.load(Ordering::Relaxed);
        let index = self.index(head);
        let slot = self.slot(index);
        // Acquire: pairs with the sender's publication, so the message is all there.
        if slot.stamp.load(Ordering::Acquire) != head.wrapping_add(1) {
            return None;
        }
        // SAFETY: the stamp says the message of `head` is written; only this receiver takes
        // it, and no sender rewrites the slot before the stamp below frees it.
        let t = unsafe { slot.msg.read() };
        // Release: the message is moved out before a sender may rewrite the slot.
        slot.stamp
            .store(head.wrapping_add(self.one_lap()), Ordering::Release);
        self.head.0.store(self.next(head, index), Ordering::Relaxed);
        Some(t)
    }

    /// Whether a `push` now would not find the ring full (the slot at the tail is free, or the
    /// ring is closed).
    pub fn can_push(&self) -> bool {
        let tail = self.tail.0.load(Ordering::Relaxed);
        tail & self.closed() != 0
            || self.slot(self.index(tail)).stamp.load(Ordering::Acquire) == tail
    }

    /// Whether the message at the head is published now.
    pub fn can_pop(&self) -> bool {
        let head = self.head.0.load(Ordering::Relaxed);
        self.slot(self.index(head)).stamp.load(Ordering::Acquire) == head.wrapping_add(1)
    }

    /// Closes the ring to senders (the receiver is gone): every later `push` is `Closed`.
    /// Positions claimed before are still published.
    pub fn close(&self) {
        self.tail.0.fetch_or(self.closed(), Ordering::SeqCst);
    }
}

impl<T> Drop for Ring<T> {
    /// Drops the messages still queued. Nobody else holds the ring now, so every claimed
    /// position is published.
    fn drop(&mut self) {
        // Plain loads (`&mut self`), written as atomic ones for loom's atomics.
        let tail = self.tail.0.load(Ordering::Relaxed) & !self.closed();
        let mut pos = self.head.0.load(Ordering::Relaxed);
        while pos != tail {
            let index = self.index(pos);
            let slot = &mut self.slots[index];
            if slot.stamp.load(Ordering::Relaxed) == pos.wrapping_add(1) {
                // SAFETY: the stamp says the slot holds the message of `pos`, not moved out.
                unsafe { slot.msg.drop_value() };
            }
            pos = self.next(pos, index);
        }
    }
}
