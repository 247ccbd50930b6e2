//! A block outlives its pool: dropping a `BlockPool` while a block is out must not free the
//! memory under the block. The block stays writable without touching anything else, and once it
//! is dropped too the heap is back where it started. When that last block is dropped in an
//! interrupt handler (where the heap may not be used) the pool is freed later, by the next pool
//! operation in a thread.
//! xtask: timeout=60
#![no_std]
#![no_main]

extern crate alloc;

use alloc::vec;
use alloc::vec::Vec;
use preempt::pool::{Block, BlockPool};
use preempt::sync::Mutex;
use preempt::{check, check_eq, heap, irq, println};

preempt::entry!(main);

static SLOT: Mutex<Option<Block>> = Mutex::new(None);

fn handler(_line: u32) {
    if let Ok(mut slot) = SLOT.try_lock() {
        drop(slot.take());
    }
}

fn main() {
    let base = heap::used();
    let pool = BlockPool::new(256, 4).expect("pool");
    let mut block = pool.alloc().expect("block");
    let kept = pool.alloc().expect("second block");
    drop(pool);

    // Fresh allocations of every size around the pool's: if the pool's memory had gone back to
    // the heap, one of them would now lie under `block`.
    let victims: Vec<Vec<u8>> = (1..=16).map(|i| vec![0x11u8; i * 64]).collect();
    block.as_mut_slice().fill(0xEE);
    for (i, v) in victims.iter().enumerate() {
        check!(
            v.iter().all(|&x| x == 0x11),
            "allocation {} was overwritten through a block of a dropped pool",
            i
        );
    }
    check!(block.as_mut_slice().iter().all(|&x| x == 0xEE));
    drop(victims);
    drop(block);
    drop(kept);
    check_eq!(heap::used(), base);

    // The last reference dropped inside an interrupt handler.
    irq::register(irq::sgi_line(4), handler).expect("register");
    drop(SLOT.lock().expect("slot")); // the mutex's kernel record exists before the baseline
    let base = heap::used();
    let pool = BlockPool::new(64, 2).expect("pool");
    *SLOT.lock().expect("slot") = Some(pool.alloc().expect("block"));
    drop(pool);
    irq::trigger_software(4).expect("sgi");
    check!(
        SLOT.lock().expect("slot").is_none(),
        "the handler did not run"
    );
    check!(heap::used() > base, "the pool was freed inside the handler");
    drop(BlockPool::new(16, 1).expect("another pool"));
    check_eq!(heap::used(), base);
    println!("pool_orphan: ok");
}
