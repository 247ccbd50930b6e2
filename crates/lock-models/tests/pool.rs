//! The `BlockPool` free list (`crates/preempt/src/pool/free_list.rs`, run here as it is): pops
//! and pushes on two cores, the ABA case included.
//!
//! Two blocks, both free. One thread takes a block, writes it and returns it; the other takes
//! both, writes them and returns them one after the other. The ABA case: the first thread
//! reads the head (block 0) and its link (block 1) and is held up before its exchange; the
//! other takes 0 and 1 and returns 0, so the head names block 0 again, now with an empty list
//! behind it. The exchange must fail there (the tag moved), or the list's head would become
//! block 1, which the other thread holds. Not modelled: the waiters bit and the slow paths
//! under the scheduler lock (`alloc_timeout`, `free_slow`: the `fast = false` steps); the
//! semaphore model checks that pattern.
//!
//! Checked: no block handed out twice (a held flag per block, and each block is a loom cell
//! the holder writes: two holders race), and none lost or duplicated on the list (at the end
//! the list holds each block once). Planted bug: the same free list against a head word whose
//! exchange ignores the ABA tag.

// The shared state holds loom cells, which are not `Sync`: loom runs every thread on one OS
// thread and checks each access to them itself.
#![allow(clippy::arc_with_non_send_sync)]

use lock_models::kernel::free_list::{FreeList, ModelFreeList, TaglessFreeList};
use lock_models::model;
use loom::cell::UnsafeCell;
use loom::sync::atomic::{AtomicBool, Ordering};
use loom::thread;
// Not loom's `Arc` (see `tests/mutex.rs`).
use std::sync::Arc;

const BLOCKS: u32 = 2;

struct Pool<L> {
    list: L,
    held: [AtomicBool; BLOCKS as usize],
    blocks: [UnsafeCell<u32>; BLOCKS as usize],
}

impl<L: ModelFreeList> Pool<L> {
    fn alloc(&self, me: u32) -> Option<u32> {
        let i = self.list.pop()?;
        assert!(
            !self.held[i as usize].swap(true, Ordering::Relaxed),
            "block {i} handed out twice"
        );
        // SAFETY: the block is this thread's (loom checks that no other access overlaps).
        self.blocks[i as usize].with_mut(|b| unsafe { *b = me });
        Some(i)
    }

    fn free(&self, i: u32) {
        self.held[i as usize].store(false, Ordering::Relaxed);
        assert!(self.list.push(i), "nobody waits in this model");
    }
}

fn no_block_twice<L: ModelFreeList + 'static>() {
    model(|| {
        let pool = Arc::new(Pool {
            list: L::new(BLOCKS),
            held: [AtomicBool::new(false), AtomicBool::new(false)],
            blocks: [UnsafeCell::new(0), UnsafeCell::new(0)],
        });
        let other = {
            let pool = pool.clone();
            thread::spawn(move || {
                let a = pool.alloc(2);
                let b = pool.alloc(2);
                for i in [a, b].into_iter().flatten() {
                    pool.free(i);
                }
            })
        };
        if let Some(i) = pool.alloc(1) {
            pool.free(i);
        }
        other.join().unwrap();

        let mut free = pool.list.walk(2 * BLOCKS as usize);
        free.sort_unstable();
        assert_eq!(
            free,
            [0, 1],
            "free list corrupted (a block lost or listed twice)"
        );
    });
}

#[test]
fn free_list_hands_each_block_out_once() {
    no_block_twice::<FreeList>();
}

#[test]
#[should_panic(expected = "free list corrupted")]
fn model_catches_a_free_list_without_aba_tag() {
    no_block_twice::<TaglessFreeList>();
}
