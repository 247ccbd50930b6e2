//! Fixed-size block pools: exhaustion returns `None`, a freed block is reused, `alloc_timeout`
//! waits for a block another thread frees (and times out accurately), bad sizes are errors.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::vec::Vec;
use preempt::pool::{BlockPool, PoolError};
use preempt::sync::Arc;
use preempt::thread::{self, Builder};
use preempt::time::{Duration, Instant};
use preempt::{check, check_eq, println};

preempt::entry!(main);

fn main() {
    check_eq!(BlockPool::new(0, 4).err(), Some(PoolError::InvalidSize));
    check_eq!(BlockPool::new(128, 0).err(), Some(PoolError::InvalidSize));
    check_eq!(
        BlockPool::new(usize::MAX / 2, 4).err(),
        Some(PoolError::InvalidSize)
    );
    check_eq!(
        BlockPool::new(1 << 40, 1).err(),
        Some(PoolError::OutOfMemory)
    );

    let pool = Arc::new(BlockPool::new(100, 4).expect("pool"));
    check_eq!(pool.block_size(), 112);
    let mut blocks: Vec<_> = (0..4).map(|_| pool.alloc().expect("block")).collect();
    check!(pool.alloc().is_none(), "a fifth block from a pool of four");
    check_eq!(pool.free_blocks(), 0);
    // Distinct, writable blocks.
    for (i, b) in blocks.iter_mut().enumerate() {
        b.as_mut_slice().fill(i as u8);
    }
    for (i, b) in blocks.iter_mut().enumerate() {
        check!(
            b.as_mut_slice().iter().all(|&x| x == i as u8),
            "block {} was overwritten",
            i
        );
    }
    let addr = blocks[1].as_ptr();
    pool.free(blocks.remove(1));
    let again = pool.alloc().expect("reused block");
    check_eq!(again.as_ptr(), addr);

    // A timed allocation times out accurately when nothing is freed...
    let t = Instant::now();
    check!(pool.alloc_timeout(Duration::from_millis(3)).is_none());
    let took = t.elapsed();
    check!(
        took >= Duration::from_millis(3)
            && took <= Duration::from_millis(3) + Duration::from_micros(1100),
        "took {:?}",
        took
    );
    // ...and gets a block another thread frees.
    let p2 = pool.clone();
    let give_back = blocks.pop().expect("block");
    let freer = Builder::new()
        .priority(10)
        .spawn(move || {
            thread::sleep(Duration::from_millis(2));
            p2.free(give_back);
        })
        .expect("spawn");
    let start = Instant::now();
    check!(pool.alloc_timeout(Duration::from_millis(50)).is_some());
    let took = start.elapsed();
    // Woken by the free (about 2 ms in), not by the timeout re-checking the list.
    check!(
        took < Duration::from_millis(10),
        "waited {:?} for a freed block",
        took
    );
    freer.join().expect("freer");
    println!("pool: ok");
}
