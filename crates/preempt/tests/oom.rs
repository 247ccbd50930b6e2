//! Out of memory never takes the kernel down, and failed threads leak nothing of the kernel's.
//!
//! - `Builder::spawn` with the heap all but full returns `Err(OutOfMemory)` whichever of its
//!   allocations fails (the stack, the kernel's per-thread data, or the thread table growing):
//!   the heap is filled to the brim, then exactly one stack-sized block plus `extra` bytes is
//!   given back, for many `extra` sizes and with the thread table at every fill level from
//!   nearly empty to past several doublings. Before this was fixed the caller panicked (an
//!   infallible allocation after the stack) or the kernel did (the thread table grew under the
//!   scheduler lock).
//! - A thread that panics or faults gives back the kernel's allocations for it (closure box,
//!   result packet, control block, stack) once joined — or, detached, once it has ended.
//! xtask: timeout=120
#![no_std]
#![no_main]

extern crate alloc;

use alloc::alloc::{alloc, dealloc, Layout};
use alloc::vec::Vec;
use preempt::sync::Semaphore;
use preempt::thread::{self, Builder, JoinHandle, SpawnError, MIN_STACK_SIZE};
use preempt::time::Duration;
use preempt::{check, check_eq, heap, println};

preempt::entry!(main);

/// Blocks taken to fill the heap; the list's own storage is reserved beforehand.
struct Filler {
    blocks: Vec<(*mut u8, Layout)>,
}

impl Filler {
    fn new() -> Self {
        Self {
            blocks: Vec::with_capacity(8192),
        }
    }

    /// Takes every byte the heap will give, biggest blocks first.
    fn fill(&mut self) {
        let mut size = 1 << 30;
        while size >= 16 && self.blocks.len() < self.blocks.capacity() {
            let layout = Layout::from_size_align(size, 16).unwrap();
            // SAFETY: non-zero size.
            let p = unsafe { alloc(layout) };
            if p.is_null() {
                size /= 2;
            } else {
                self.blocks.push((p, layout));
            }
        }
    }

    fn empty(&mut self) {
        for (p, layout) in self.blocks.drain(..) {
            // SAFETY: allocated in `fill` with this layout.
            unsafe { dealloc(p, layout) };
        }
    }
}

static GATE: Semaphore = Semaphore::new(0);

fn spawn_with_heap_nearly_full(
    filler: &mut Filler,
    extra: usize,
) -> Result<JoinHandle<u32>, SpawnError> {
    // Two holes: one exactly a minimum stack (the stack's own layout, so it takes that one),
    // and `extra` bytes for whatever else spawning needs.
    let stack = Layout::from_size_align(MIN_STACK_SIZE, 4096).unwrap();
    let rest = Layout::from_size_align(extra.max(16), 16).unwrap();
    // SAFETY: non-zero sizes.
    let (p, q) = unsafe { (alloc(stack), alloc(rest)) };
    check!(!p.is_null() && !q.is_null());
    filler.fill();
    // SAFETY: allocated just above with these layouts.
    unsafe {
        dealloc(q, rest);
        dealloc(p, stack);
    }
    let r = Builder::new().stack_size(MIN_STACK_SIZE).spawn(|| 7u32);
    filler.empty();
    r
}

fn main() {
    let mut filler = Filler::new();
    let mut blockers = Vec::with_capacity(64);
    let (mut ok, mut oom) = (0u32, 0u32);
    for live in 0..40 {
        for extra in (0..1536).step_by(48).chain([2048, 4096, 8192, 16384]) {
            match spawn_with_heap_nearly_full(&mut filler, extra) {
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
    for _ in 0..20 {
        drop(thread::spawn(|| -> u64 { panic!("deliberate, detached") }));
    }
    thread::sleep(Duration::from_millis(5));
    thread::yield_now();
    check_eq!(heap::used(), before);
    println!("oom: failed threads leak nothing");
}
