//! The buffer of a `sync_channel(n)` with `n ≥ 1`: a fixed ring of `n` slots that senders and
//! receivers claim with atomics, without the scheduler lock.
//!
//! Every slot carries a *stamp* that says what it is waiting for, in terms of positions: a
//! position is `lap | index` (`index < n`, laps counted in units of `one_lap`, the power of two
//! above `n`), and `head` / `tail` are the next positions to receive from / send to.
//!
//! - stamp == `pos`: the slot is free for the sender of position `pos`;
//! - stamp == `pos + 1`: it holds the message of position `pos` (never carries into the lap bits,
//!   since `index + 1 ≤ n < one_lap`);
//! - the receiver of `pos` frees it for the next lap: stamp = `pos + one_lap`.
//!
//! A sender that finds the slot at `tail` free claims the position by a compare-and-swap of
//! `tail`, writes the message, and *then* publishes it with a `Release` store of the stamp; a
//! receiver claims `head` the same way once the slot's stamp (loaded with `Acquire`) says the
//! message is there, moves it out, and frees the slot with a `Release` store. So a message is
//! never visible before it is written, a slot is never rewritten before its message was moved
//! out, and several senders (and receivers) on several cores each get positions of their own:
//! per-sender order is position order.
//!
//! Nothing here spins or waits. A slot that is claimed but not yet published (its sender is
//! between the two steps) reads as "empty" to a receiver, and one claimed by a receiver but
//! not yet freed reads as "full" to a sender: the caller then blocks (`bounded.rs`), and the
//! thread finishing the step wakes it. Senders run their two steps with IRQs masked, so on its
//! own core nothing can preempt a sender between them (the window is a copy of one message),
//! and a stack overflow is caught by `irq_save`'s probe before the claim rather than between
//! claim and publication, where it would leave a slot that never fills.
//!
//! Positions wrap around `usize` consistently (laps are a power of two), so there is no limit
//! on the number of messages.

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::cell::UnsafeCell;
use core::mem::MaybeUninit;
use core::sync::atomic::{AtomicUsize, Ordering};

use preempt_arch::cpu;

struct Slot<T> {
    stamp: AtomicUsize,
    msg: UnsafeCell<MaybeUninit<T>>,
}

/// Keeps `head` and `tail` on separate cache lines (receivers and senders on different cores
/// do not invalidate each other's line on every operation).
#[repr(align(64))]
struct Line<T>(T);

pub(super) struct Ring<T> {
    head: Line<AtomicUsize>,
    tail: Line<AtomicUsize>,
    slots: Box<[Slot<T>]>,
    /// The power of two above the capacity: one lap of positions.
    one_lap: usize,
}

// SAFETY: a message is written only by the sender that claimed its position and read only by
// the receiver that claimed it, the two ordered by the slot's stamp (Release/Acquire); `T: Send`
// lets the message move between threads.
unsafe impl<T: Send> Sync for Ring<T> {}
// SAFETY: as above; the ring owns its messages.
unsafe impl<T: Send> Send for Ring<T> {}

impl<T> Ring<T> {
    /// A ring of `cap` slots (`cap ≥ 1`). Allocates: outside the scheduler lock.
    pub fn new(cap: usize) -> Self {
        assert!(cap >= 1, "a ring has at least one slot");
        let one_lap = (cap + 1).next_power_of_two();
        let slots: Vec<Slot<T>> = (0..cap)
            .map(|i| Slot {
                stamp: AtomicUsize::new(i),
                msg: UnsafeCell::new(MaybeUninit::uninit()),
            })
            .collect();
        Self {
            head: Line(AtomicUsize::new(0)),
            tail: Line(AtomicUsize::new(0)),
            slots: slots.into_boxed_slice(),
            one_lap,
        }
    }

    /// The slot of position `pos`.
    #[inline(always)]
    fn slot(&self, pos: usize) -> &Slot<T> {
        let index = pos & (self.one_lap - 1);
        debug_assert!(index < self.slots.len());
        // SAFETY: positions are only ever built by `next` (or are the initial 0), which keeps
        // the index part below the capacity.
        unsafe { self.slots.get_unchecked(index) }
    }

    /// The position after `pos`: the next index, or index 0 of the next lap.
    #[inline(always)]
    fn next(&self, pos: usize) -> usize {
        let index = pos & (self.one_lap - 1);
        if index + 1 < self.slots.len() {
            pos + 1
        } else {
            (pos & !(self.one_lap - 1)).wrapping_add(self.one_lap)
        }
    }

    /// Queues `t` if the slot at the tail is free now; gives it back if not (the channel is
    /// full, or its oldest message is being moved out right now).
    #[inline]
    pub fn try_push(&self, t: T) -> Result<(), T> {
        // Claim and publication with IRQs masked (see the module docs); the probe checks the
        // stack first.
        let irq = cpu::irq_save();
        let mut tail = self.tail.0.load(Ordering::Relaxed);
        let r = loop {
            let slot = self.slot(tail);
            // Acquire: the receiver that freed the slot has moved its last message out.
            let stamp = slot.stamp.load(Ordering::Acquire);
            if stamp == tail {
                match self.tail.0.compare_exchange_weak(
                    tail,
                    self.next(tail),
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                ) {
                    Ok(_) => {
                        // SAFETY: the claim made this position ours: no other sender writes
                        // this slot until a receiver has moved the message out and freed it
                        // for the next lap, and no receiver reads it before the stamp below.
                        unsafe { (*slot.msg.get()).write(t) };
                        slot.stamp.store(tail.wrapping_add(1), Ordering::Release);
                        break Ok(());
                    }
                    Err(now) => tail = now,
                }
            } else {
                // Another sender moved `tail` on (retry there), or the slot still holds a
                // message: full.
                let now = self.tail.0.load(Ordering::Relaxed);
                if now == tail {
                    break Err(t);
                }
                tail = now;
            }
        };
        cpu::irq_restore(irq);
        r
    }

    /// Takes the message at the head if it is published now.
    #[inline]
    pub fn try_pop(&self) -> Option<T> {
        let mut head = self.head.0.load(Ordering::Relaxed);
        loop {
            let slot = self.slot(head);
            // Acquire: pairs with the sender's publication, so the message is all there.
            let stamp = slot.stamp.load(Ordering::Acquire);
            if stamp == head.wrapping_add(1) {
                match self.head.0.compare_exchange_weak(
                    head,
                    self.next(head),
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                ) {
                    Ok(_) => {
                        // SAFETY: the stamp says the message of `head` is written, and the
                        // claim made this position ours alone; the slot is not rewritten
                        // before the stamp below frees it.
                        let t = unsafe { (*slot.msg.get()).assume_init_read() };
                        slot.stamp
                            .store(head.wrapping_add(self.one_lap), Ordering::Release);
                        return Some(t);
                    }
                    Err(now) => head = now,
                }
            } else {
                // Another receiver moved `head` on (retry there), or nothing is published at
                // the head: empty (or its sender is between claim and publication).
                let now = self.head.0.load(Ordering::Relaxed);
                if now == head {
                    return None;
                }
                head = now;
            }
        }
    }

    /// Whether the slot at the tail is free now (a `try_push` would not find it full).
    pub fn can_push(&self) -> bool {
        let tail = self.tail.0.load(Ordering::Relaxed);
        self.slot(tail).stamp.load(Ordering::Acquire) == tail
    }

    /// Whether the message at the head is published now.
    pub fn can_pop(&self) -> bool {
        let head = self.head.0.load(Ordering::Relaxed);
        self.slot(head).stamp.load(Ordering::Acquire) == head.wrapping_add(1)
    }
}

impl<T> Drop for Ring<T> {
    /// Drops the messages still queued. Nobody else holds the ring now, so every claimed
    /// position is published.
    fn drop(&mut self) {
        let tail = *self.tail.0.get_mut();
        let mut pos = *self.head.0.get_mut();
        while pos != tail {
            let index = pos & (self.one_lap - 1);
            let slot = &mut self.slots[index];
            if *slot.stamp.get_mut() == pos.wrapping_add(1) {
                // SAFETY: the stamp says the slot holds the message of `pos`, not moved out.
                unsafe { slot.msg.get_mut().assume_init_drop() };
            }
            pos = self.next(pos);
        }
    }
}
