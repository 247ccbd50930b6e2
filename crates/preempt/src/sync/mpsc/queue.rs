//! The message queue behind a channel, shaped so that nothing done under the scheduler lock
//! allocates or frees.
//!
//! Messages live in blocks: `VecDeque`s that are never pushed past the capacity they were
//! allocated with, so pushing into one never reallocates. A rendezvous channel
//! (`sync_channel(0)`; other bounded channels use the lock-free ring) has one block of one
//! slot. An unbounded channel links further blocks as it fills: the sender allocates a block in
//! its own context before taking the lock (when the last attempt found the tail full) and the
//! lock only links it, in constant time (`LinkedList::append`). The receiver, finding its block
//! empty with more behind it, unlinks it in constant time (`LinkedList::split_off(1)` walks one
//! node); one emptied block is kept as a spare for the next time the tail fills, and any other
//! is handed back to be freed after the lock is released. A queue that never holds more than a
//! block's worth of messages cycles inside its first block's ring and touches the heap not at
//! all.
//!
//! Safe code only: the standard collections do the slot bookkeeping.

use alloc::collections::{LinkedList, VecDeque};
use core::mem;

/// Blocks of messages, each allocated with its final capacity.
pub(super) type Blocks<T> = LinkedList<VecDeque<T>>;

/// A block [`Queue::pop`] unlinked and the spare could not take, to be freed after the lock.
pub(super) type Retired<T> = Option<Blocks<T>>;

/// Bytes of messages an unbounded channel's block aims at (slots: 8 to 32).
const BLOCK_BYTES: usize = 1024;

/// Slots in each block of an unbounded channel of `T`.
const fn block_slots<T>() -> usize {
    let size = mem::size_of::<T>();
    if size == 0 {
        return 32;
    }
    let slots = BLOCK_BYTES / size;
    if slots < 8 {
        8
    } else if slots > 32 {
        32
    } else {
        slots
    }
}

/// A channel's queued messages.
///
/// Invariant: every block in `rest` holds messages (`head` may be empty: it is replaced by the
/// next block on the next `pop`).
pub(super) struct Queue<T> {
    /// The oldest messages; the only block of a rendezvous channel.
    head: VecDeque<T>,
    /// Later blocks, oldest first (unbounded channels only).
    rest: Blocks<T>,
    /// At most one empty block kept for reuse (unbounded channels only).
    spare: Blocks<T>,
}

impl<T> Queue<T> {
    /// A queue whose first block holds `capacity` messages. Allocates: outside the lock.
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            head: VecDeque::with_capacity(capacity),
            rest: LinkedList::new(),
            spare: LinkedList::new(),
        }
    }

    /// An unbounded channel's queue, with its first block. Allocates: outside the lock.
    pub fn unbounded() -> Self {
        Self::with_capacity(block_slots::<T>())
    }

    /// Holds nothing and owns no memory (no allocation).
    pub const fn empty() -> Self {
        Self {
            head: VecDeque::new(),
            rest: LinkedList::new(),
            spare: LinkedList::new(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.head.is_empty() && self.rest.is_empty()
    }

    /// Messages queued in a rendezvous channel (its single block).
    pub fn bounded_len(&self) -> usize {
        self.head.len()
    }

    /// Queues `*item` at the back of a rendezvous channel's block, which must have room (the
    /// caller checked [`bounded_len`](Self::bounded_len)). Constant time, no allocation.
    pub fn push_bounded(&mut self, item: &mut Option<T>) {
        debug_assert!(self.head.len() < self.head.capacity());
        self.head.push_back(item.take().expect("message to queue"));
    }

    /// Queues `*item` at the back of an unbounded channel: into the tail block if it has room,
    /// else into the spare block or `fresh` (a block from [`new_block`]) linked behind it.
    /// Returns false, leaving `*item`, when the tail is full and no block is at hand. An unused
    /// `fresh` block becomes the spare if there is none. Constant time, no allocation, no free.
    pub fn push(&mut self, item: &mut Option<T>, fresh: &mut Blocks<T>) -> bool {
        let tail = self.rest.back_mut().unwrap_or(&mut self.head);
        if tail.len() < tail.capacity() {
            tail.push_back(item.take().expect("message to queue"));
            if self.spare.is_empty() {
                self.spare.append(fresh);
            }
            return true;
        }
        let block = if !self.spare.is_empty() {
            &mut self.spare
        } else if !fresh.is_empty() {
            &mut *fresh
        } else {
            return false;
        };
        self.rest.append(block);
        let tail = self.rest.back_mut().expect("a block was just linked");
        tail.push_back(item.take().expect("message to queue"));
        if self.spare.is_empty() {
            self.spare.append(fresh);
        }
        true
    }

    /// Takes the oldest message. When `head` is found empty with later blocks behind it, the
    /// next block becomes `head` and the emptied one the spare, or goes into `retired` for the
    /// caller to free after the lock is released. Constant time, no allocation, no free.
    #[inline]
    pub fn pop(&mut self, retired: &mut Retired<T>) -> Option<T> {
        match self.head.pop_front() {
            Some(v) => Some(v),
            None if self.rest.is_empty() => None,
            None => {
                self.next_block(retired);
                self.head.pop_front()
            }
        }
    }

    /// Moves the next block into `head`, the emptied one to the spare or to `retired`.
    #[cold]
    #[inline(never)]
    fn next_block(&mut self, retired: &mut Retired<T>) {
        let later = self.rest.split_off(1);
        let mut next = mem::replace(&mut self.rest, later);
        // `next` is one node: swap its block into `head`, leaving the emptied one in it.
        mem::swap(
            &mut self.head,
            next.front_mut().expect("a non-empty list has a front"),
        );
        if self.spare.is_empty() {
            self.spare = next;
        } else {
            *retired = Some(next);
        }
    }

    /// Takes the newest message (a rendezvous sender taking its message back).
    pub fn pop_back_bounded(&mut self) -> Option<T> {
        self.head.pop_back()
    }

    /// Detaches everything, leaving an empty queue that owns nothing: constant time, no free.
    /// The caller drops the result (messages and blocks) after the lock is released.
    pub fn take(&mut self) -> Self {
        mem::replace(self, Self::empty())
    }
}

/// A new block for an unbounded channel of `T`, allocated by a sender before it takes the
/// scheduler lock. Running out of memory here is a panic in the sending thread, which ends it
/// alone, with a message saying so.
#[cold]
#[inline(never)]
pub(super) fn new_block<T>() -> Blocks<T> {
    let mut block = VecDeque::new();
    if block.try_reserve_exact(block_slots::<T>()).is_err() {
        panic!("Sender::send: out of memory for the channel's queue");
    }
    let mut blocks = LinkedList::new();
    blocks.push_back(block);
    blocks
}
