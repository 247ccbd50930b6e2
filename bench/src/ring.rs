//! A ring of equal-priority threads handing the CPU to each other with `yield_now`, timing
//! every switch (used by `yield_switch` and `select`).
//!
//! Every thread loops: publish "I am about to yield" (its id, the tick count and, last, the
//! instruction counter), call [`thread::yield_now`], read the counter as soon as the call
//! returns. The thread that returns from its yield is resumed by the switch *from* whichever
//! thread published last, so `end − start` is one switch: from just before `yield_now` in the
//! yielding thread to just after `yield_now` returns in the next one.
//!
//! The ring's order never changes (a yield and an expired time slice both send the thread to
//! the back of its level), so thread `k` is always resumed by thread `k − 1`. A sample is kept
//! only if (1) the last publisher is that predecessor and (2) no tick was taken between the
//! resumed thread's *own* publication and its read. Together they guarantee the window holds
//! exactly one yield-to-yield switch: no tick fell in it, the resumed thread left the CPU
//! through its own yield (a thread a tick preempted inside `yield_now`, just before it masks
//! IRQs or right after it unmasks them, comes back through the interrupt return path, a
//! different and longer switch), and the predecessor switched to it directly rather than to a
//! thread that, having been preempted after publishing, yields again without publishing. At
//! the end a thread leaving the ring clears the publisher, so exits are never counted.
//!
//! With N threads ready at one priority, every switch makes the scheduler pick the next of N;
//! an O(1) ready queue makes the cost independent of N.

use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};

use preempt::thread;

use crate::{read, since, ticks};

/// Published by the thread about to yield: the counter value.
static START: AtomicU64 = AtomicU64::new(0);
/// Published by the thread about to yield: its index in the ring.
static OWNER: AtomicUsize = AtomicUsize::new(NOBODY);
/// Published by the thread about to yield: the tick count.
static TICK: AtomicU64 = AtomicU64::new(0);
/// Samples kept so far by all threads; the ring stops at the target.
static KEPT: AtomicUsize = AtomicUsize::new(0);
const NOBODY: usize = usize::MAX;

/// Priority of the ring's threads: below `main` (128), so that `main` spawns all of them
/// before any runs, and then waits in `join` while they take turns.
pub const RING_PRIORITY: u8 = 100;

/// Runs a ring of `n` threads with `stack` bytes of stack each until `samples` switches
/// were timed; returns the per-switch instruction counts.
pub fn run(n: usize, samples: usize, stack: usize) -> Vec<u64> {
    assert!(n >= 2, "a ring needs two threads");
    OWNER.store(NOBODY, Relaxed);
    KEPT.store(0, Relaxed);
    let handles: Vec<_> = (0..n)
        .map(|me| {
            crate::builder()
                .priority(RING_PRIORITY)
                .stack_size(stack)
                .spawn(move || member(me, n, samples))
                .expect("spawn a ring thread")
        })
        .collect();
    let mut all = Vec::with_capacity(samples + n);
    for h in handles {
        all.extend(h.join().expect("a ring thread failed"));
    }
    all.truncate(samples);
    all
}

fn member(me: usize, n: usize, target: usize) -> Vec<u64> {
    let predecessor = (me + n - 1) % n;
    let mut kept = Vec::with_capacity(target / n * 2 + 16);
    while KEPT.load(Relaxed) < target {
        let mine = ticks();
        TICK.store(mine, Relaxed);
        OWNER.store(me, Relaxed);
        START.store(read(), Relaxed);
        thread::yield_now();
        let end = read();
        // Everything the check needs is read at once: should a tick preempt this thread from
        // here on, the values published meanwhile cannot carry this tick count.
        let tick = ticks();
        let (start, owner, published) =
            (START.load(Relaxed), OWNER.load(Relaxed), TICK.load(Relaxed));
        if owner == predecessor && published == tick && mine == tick {
            kept.push(since(start, end));
            KEPT.store(KEPT.load(Relaxed) + 1, Relaxed);
        }
    }
    // The next thread to run resumes from its yield after this one's exit, not its yield.
    OWNER.store(NOBODY, Relaxed);
    kept
}
