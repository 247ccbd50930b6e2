//! A stack overflow damages nothing but the overflowing thread: its neighbours — the threads
//! spawned just before and just after it, and the heap blocks allocated around its spawn —
//! keep every byte.
//!
//! Threads A, B and C are spawned in that order, so their stacks and control blocks are
//! allocated next to each other, with one heap buffer of `main`'s allocated just before B's
//! spawn and one just after. A and C fill a large array on their stacks and a heap buffer
//! with known patterns and block; B then recurses until its stack overflows. After B has been
//! reported and joined, A and C check every byte of theirs and `main` checks its two buffers.
//! xtask: timeout=30
//! xtask: expect-output=fault in thread 'overflow-b': stack overflow
//! xtask: expect-output=stack_neighbour: ok
#![no_std]
#![no_main]

extern crate alloc;

use alloc::vec;
use core::hint::black_box;
use preempt::sync::Semaphore;
use preempt::thread::Builder;
use preempt::{check, check_eq, println};

preempt::entry!(main);

const STACK: usize = 16 * 1024;
/// Half of a neighbour's stack, filled with a pattern.
const ARRAY: usize = 8 * 1024;
const BUFFER: usize = 4 * 1024;
/// Below `main` (128): on one core spawning does not run them and `main` lets them run by
/// blocking; with several they start at once on other cores. The semaphores order the steps
/// either way.
const PRIORITY: u8 = 120;

/// A neighbour has filled its memory and is about to block.
static READY: Semaphore = Semaphore::new(0);
/// The neighbours may check their memory.
static CHECK: Semaphore = Semaphore::new(0);
/// B may overflow.
static OVERFLOW: Semaphore = Semaphore::new(0);

fn pattern(seed: u8, i: usize) -> u8 {
    (i as u8).wrapping_mul(31).wrapping_add(seed) ^ (i >> 8) as u8
}

fn fill(buf: &mut [u8], seed: u8) {
    for (i, b) in buf.iter_mut().enumerate() {
        *b = pattern(seed, i);
    }
}

/// How many bytes of `buf` differ from the pattern.
fn damaged(buf: &[u8], seed: u8) -> usize {
    buf.iter()
        .enumerate()
        .filter(|&(i, &b)| b != pattern(seed, i))
        .count()
}

/// A neighbour: fills a stack array and a heap buffer, waits while B overflows, checks them.
/// Returns the number of damaged bytes.
fn neighbour(seed: u8) -> usize {
    let mut array = [0u8; ARRAY];
    fill(&mut array, seed);
    let array = black_box(&mut array);
    let mut buffer = vec![0u8; BUFFER];
    fill(&mut buffer, seed.wrapping_add(1));
    let buffer = black_box(buffer);
    READY.release();
    CHECK.acquire();
    damaged(black_box(&array[..]), seed) + damaged(black_box(&buffer[..]), seed.wrapping_add(1))
}

/// Recursion with 1 KiB frames, each written whole, until the stack runs out.
#[inline(never)]
fn deep(depth: usize) -> u64 {
    let mut frame = [0u8; 1024];
    frame[depth % 1024] = depth as u8;
    let frame = black_box(&mut frame);
    let below = if depth < black_box(usize::MAX) {
        deep(depth + 1)
    } else {
        0
    };
    below + u64::from(frame[1023])
}

fn spawn_neighbour(name: &str, seed: u8) -> preempt::thread::JoinHandle<usize> {
    Builder::new()
        .name(name)
        .priority(PRIORITY)
        .stack_size(STACK)
        .spawn(move || neighbour(seed))
        .expect("spawn")
}

fn main() {
    let a = spawn_neighbour("neighbour-a", 0x11);
    let mut before = vec![0u8; BUFFER];
    fill(&mut before, 0x33);
    let b = Builder::new()
        .name("overflow-b")
        .priority(PRIORITY)
        .stack_size(STACK)
        .spawn(|| {
            OVERFLOW.acquire();
            black_box(deep(0));
        })
        .expect("spawn");
    let mut after = vec![0u8; BUFFER];
    fill(&mut after, 0x44);
    let c = spawn_neighbour("neighbour-c", 0x22);

    READY.acquire();
    READY.acquire();
    OVERFLOW.release();
    let e = b
        .join()
        .expect_err("an overflowing thread must not join Ok");
    check!(e.is_fault(), "the overflow should be reported as a fault");
    CHECK.release();
    CHECK.release();
    check_eq!(a.join().expect("neighbour-a"), 0);
    check_eq!(c.join().expect("neighbour-c"), 0);
    check_eq!(damaged(black_box(&before[..]), 0x33), 0);
    check_eq!(damaged(black_box(&after[..]), 0x44), 0);
    println!("stack_neighbour: ok");
}
