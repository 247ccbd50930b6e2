//! Out of memory never takes the kernel down, and failed threads leak nothing of the kernel's.
//!
//! - `Builder::spawn` returns `Err(OutOfMemory)` whichever of its allocations fails — the
//!   stack, the kernel's per-thread data, or the thread table growing — and leaks nothing then.
//!   Each allocation is made to fail in turn (`testing::fail_allocations_after`), with the thread
//!   table at every fill level from nearly empty to past several doublings. Before this was
//!   fixed, the caller panicked (an infallible allocation after the stack) and the kernel
//!   panicked when the table could not grow under the scheduler lock.
//! - A thread that panics or faults gives back the kernel's allocations for it (closure box,
//!   result packet, control block, stack) once joined — or, detached, once it has ended.
//! xtask: timeout=120
#![no_std]
#![no_main]

extern crate alloc;

use alloc::vec::Vec;
use preempt::sync::Semaphore;
use preempt::thread::{self, Builder, JoinHandle, SpawnError, MIN_STACK_SIZE};
use preempt::time::Duration;
use preempt::{check, check_eq, heap, println, testing};

preempt::entry!(main);

static GATE: Semaphore = Semaphore::new(0);

/// Spawns with the heap failing after `n` allocations; checks nothing leaked on failure.
fn spawn_failing_after(n: usize) -> Result<JoinHandle<u32>, SpawnError> {
    let before = heap::used();
    testing::fail_allocations_after(Some(n));
    let r = Builder::new().stack_size(MIN_STACK_SIZE).spawn(|| 7u32);
    testing::fail_allocations_after(None);
    if r.is_err() {
        check_eq!(heap::used(), before);
    }
    r
}

fn main() {
    // Failed threads give back the kernel's part. Warm up first (reserves, first uses).
    let _ = thread::spawn(|| panic!("warm-up")).join();
    thread::sleep(Duration::from_millis(2));
    let before = heap::used();
    for _ in 0..20 {
        check!(thread::spawn(|| -> u64 { panic!("deliberate") })
            .join()
            .is_err());
        let faulted = thread::spawn(|| {
            let p = core::hint::black_box(0xffff_ffff_fff0usize) as *const u64;
            // SAFETY: deliberately faulting: reads an unmapped address.
            unsafe { p.read_volatile() }
        });
        check!(faulted.join().is_err_and(|e| e.is_fault()));
    }
    check_eq!(heap::used(), before);
    // Detached: twice the same burst, the first to let the thread table grow to hold it.
    let mut detached_used = [0; 2];
    for used in &mut detached_used {
        for _ in 0..20 {
            drop(thread::spawn(|| -> u64 { panic!("deliberate, detached") }));
        }
        thread::sleep(Duration::from_millis(5));
        thread::yield_now();
        *used = heap::used();
    }
    check_eq!(detached_used[1], detached_used[0]);
    println!("oom: failed threads leak nothing");

    let mut blockers = Vec::with_capacity(64);
    let (mut ok, mut oom) = (0u32, 0u32);
    for live in 0..40 {
        for n in 0..12 {
            match spawn_failing_after(n) {
                Ok(h) => {
                    check_eq!(h.join(), Ok(7));
                    ok += 1;
                }
                Err(SpawnError::OutOfMemory { .. }) => oom += 1,
                Err(e) => preempt::testing::_fail(file!(), line!(), format_args!("{e}")),
            }
        }
        // One more live thread, so the table fills up and must grow at some `live`.
        blockers.push(thread::spawn(|| GATE.acquire()));
        thread::yield_now();
        if live % 10 == 0 {
            println!("oom: {live} live threads, {ok} spawned, {oom} refused so far");
        }
    }
    check!(oom > 0 && ok > 0);
    for _ in 0..blockers.len() {
        GATE.release();
    }
    for h in blockers {
        check!(h.join().is_ok());
    }
    println!("oom: spawn with a full heap: {ok} ok, {oom} Err(OutOfMemory), no panic");
}
