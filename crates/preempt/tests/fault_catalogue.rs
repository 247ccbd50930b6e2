//! The fault catalogue: every kind of mistake a thread can make with memory, the stack pointer
//! or a lock ends that thread alone, while worker threads keep computing beside it.
//!
//! Each case runs in a named thread; its `join` is `Err` (`is_fault()` for CPU faults, not for
//! panics). Cases: null read, write to an unmapped address, to kernel text and to read-only
//! data, execution from the heap and from a stack, `udf`, `brk`, a misaligned exclusive, three
//! stack overflows (plain deep recursion; recursion that enters the kernel at every level, so
//! the overflow may happen in the kernel's own code; and a high-priority thread that never
//! calls the kernel, so only the timer interrupt lands on its stack), a stack pointer set to
//! garbage and then used, or set to garbage while the thread just spins (the tick is the first
//! thing to meet it), and panics while holding a `Mutex` guard, an `RwLock` write guard and a
//! `Semaphore` permit (poison, poison, and waiters that time out instead of hanging).
//!
//! At the end the workers' results are right, the heap is back to what it was before the first
//! case (the kernel's memory for every failed thread is freed once it is joined), and a new
//! thread still runs.
//! xtask: timeout=60
//! xtask: expect-output=fault in thread 'null-read': data abort
//! xtask: expect-output=translation fault
//! xtask: expect-output=fault in thread 'unmapped-write': data abort
//! xtask: expect-output=fault in thread 'write-text': data abort
//! xtask: expect-output=permission fault
//! xtask: expect-output=fault in thread 'exec-heap': instruction abort
//! xtask: expect-output=fault in thread 'exec-stack': instruction abort
//! xtask: expect-output=fault in thread 'udf': unknown reason (undefined instruction)
//! xtask: expect-output=fault in thread 'brk': BRK instruction
//! xtask: expect-output=alignment fault
//! xtask: expect-output=FAR 0x
//! xtask: expect-output=ELR 0x
//! xtask: expect-output=thread 'mutex-holder' panicked at
//! xtask: expect-output=fault in thread 'overflow-recurse': stack overflow
//! xtask: expect-output=fault in thread 'overflow-yield': stack overflow
//! xtask: expect-output=fault in thread 'overflow-hiprio': stack overflow
//! xtask: expect-output=fault in thread 'bad-sp-push':
//! xtask: expect-output=fault in thread 'bad-sp-spin':
//! xtask: expect-output=fault_catalogue: ok
#![no_std]
#![no_main]

extern crate alloc;

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::arch::asm;
use core::hint::black_box;
use core::sync::atomic::{AtomicBool, Ordering};
use preempt::sync::{Mutex, RwLock, Semaphore};
use preempt::thread::{self, Builder, JoinError};
use preempt::time::{Duration, Instant};
use preempt::{check, check_eq, heap, println};

preempt::entry!(main);

/// Stack of every case thread: small (overflows are quick) and a whole number of pages.
const CASE_STACK: usize = 16 * 1024;
/// Case threads run below `main` (128), so `main` waits in `join`, and above the workers.
const CASE_PRIORITY: u8 = 120;
const WORKER_PRIORITY: u8 = 110;
/// Unmapped on both boards (the 39-bit map covers RAM and devices far below it); 16-aligned,
/// so it is also a plausible stack pointer.
const UNMAPPED: usize = 0x20_0000_0000;
/// `ret`.
const RET: u32 = 0xd65f_03c0;

/// In `.rodata`: read-only.
static RODATA: [u8; 16] = *b"read-only bytes!";

static STOP: AtomicBool = AtomicBool::new(false);
static HELD: Semaphore = Semaphore::new(0);
static WARM: Semaphore = Semaphore::new(0);
static MUTEX: Mutex<u32> = Mutex::new(0);
static RWLOCK: RwLock<u32> = RwLock::new(0);
static PERMIT: Semaphore = Semaphore::new(1);

/// A worker: until `STOP`, rounds of filling a buffer on its own stack, letting others run
/// (sleep or yield) and summing the buffer back. Returns the rounds and the sum of the sums.
fn worker(seed: u64, sleep: bool) -> (u64, u64) {
    let (mut rounds, mut total) = (0u64, 0u64);
    while !STOP.load(Ordering::Relaxed) {
        let mut buf = [0u64; 64];
        for (i, w) in buf.iter_mut().enumerate() {
            *w = mix(seed, i as u64);
        }
        let buf = black_box(&mut buf);
        if sleep {
            thread::sleep(Duration::from_micros(200));
        } else {
            thread::yield_now();
        }
        total = total.wrapping_add(buf.iter().fold(0u64, |a, &w| a.wrapping_add(w)));
        rounds += 1;
    }
    (rounds, total)
}

fn mix(seed: u64, i: u64) -> u64 {
    (seed ^ i.wrapping_mul(0x9e37_79b9_7f4a_7c15)).rotate_left((i % 61) as u32)
}

/// What a worker's `total` must be after `rounds` rounds.
fn expected_total(seed: u64, rounds: u64) -> u64 {
    let round = (0..64).fold(0u64, |a, i| a.wrapping_add(mix(seed, i)));
    round.wrapping_mul(rounds)
}

/// Recursion with `FRAME`-byte frames, each written whole, until something stops it.
/// `yield_each`: call the kernel at every level; `spin`: busy-wait at every level.
#[inline(never)]
fn deep<const FRAME: usize>(depth: usize, yield_each: bool, spin: u32) -> u64 {
    let mut frame = [0u8; FRAME];
    frame[depth % FRAME] = depth as u8;
    let frame = black_box(&mut frame);
    if yield_each {
        thread::yield_now();
    }
    for i in 0..spin {
        black_box(i);
    }
    let below = if depth < black_box(usize::MAX) {
        deep::<FRAME>(depth + 1, yield_each, spin)
    } else {
        0
    };
    below + u64::from(frame[FRAME - 1])
}

/// Runs `f` in a thread named `name`; returns how its `join` failed.
fn run_case(name: &str, priority: u8, f: impl FnOnce() + Send + 'static) -> JoinError {
    run_case_on(name, priority, u32::MAX, f)
}

/// [`run_case`] on the cores of `affinity`.
fn run_case_on(
    name: &str,
    priority: u8,
    affinity: u32,
    f: impl FnOnce() + Send + 'static,
) -> JoinError {
    let h = Builder::new()
        .name(name)
        .priority(priority)
        .stack_size(CASE_STACK)
        .affinity(affinity)
        .spawn(f)
        .expect("spawn");
    match h.join() {
        Ok(()) => {
            preempt::testing::_fail(file!(), line!(), format_args!("case '{name}' joined Ok"))
        }
        Err(e) => e,
    }
}

fn fault(name: &str, f: impl FnOnce() + Send + 'static) {
    fault_at(name, CASE_PRIORITY, f);
}

fn fault_at(name: &str, priority: u8, f: impl FnOnce() + Send + 'static) {
    let e = run_case(name, priority, f);
    check!(e.is_fault(), "case '{}' should be a fault: {}", name, e);
    println!("fault_catalogue: {name} ended alone");
}

/// A fault only an interrupt can bring to light (the case spins touching no memory): a
/// top-priority thread on the case's core sleeps in short steps meanwhile, so that timer
/// interrupts meet it there. (With no periodic tick nothing else would interrupt a thread
/// running alone.)
fn fault_interrupted(name: &str, f: impl FnOnce() + Send + 'static) {
    static DONE: AtomicBool = AtomicBool::new(false);
    let here = 1 << preempt::cpu::current();
    DONE.store(false, Ordering::Relaxed);
    let ticker = Builder::new()
        .name("ticker")
        .priority(250)
        .affinity(here)
        .spawn(|| {
            while !DONE.load(Ordering::Relaxed) {
                thread::sleep(Duration::from_micros(200));
            }
        })
        .expect("spawn ticker");
    let e = run_case_on(name, CASE_PRIORITY, here, f);
    DONE.store(true, Ordering::Relaxed);
    ticker.join().expect("ticker");
    check!(e.is_fault(), "case '{}' should be a fault: {}", name, e);
    println!("fault_catalogue: {name} ended alone");
}

fn panic_case(name: &str, f: impl FnOnce() + Send + 'static) {
    let e = run_case(name, CASE_PRIORITY, f);
    check!(!e.is_fault(), "case '{}' should be a panic: {}", name, e);
}

/// Makes `len` bytes at `addr`, just written, visible to instruction fetch.
fn sync_icache(addr: usize, len: usize) {
    let mut a = addr & !63;
    while a < addr + len {
        // SAFETY: cache maintenance by address on memory the caller owns: no memory changes.
        unsafe {
            asm!("dc cvau, {0}", "dsb ish", "ic ivau, {0}", "dsb ish", "isb", in(reg) a,
                 options(nostack, preserves_flags))
        };
        a += 64;
    }
}

fn call(addr: usize) {
    // SAFETY: not safe at all — `addr` holds a valid `ret`, but in memory that must not be
    // executable, so the call must fault.
    let f = unsafe { core::mem::transmute::<usize, extern "C" fn()>(addr) };
    black_box(f)();
}

/// Before the baseline: the thread table grows to hold more threads than the cases ever have
/// alive at once, and the object table gets its first object (and so its reserve), so that
/// nothing the kernel keeps for good is allocated inside the measured window.
fn warm_up() {
    let blocked: Vec<_> = (0..8).map(|_| thread::spawn(|| WARM.acquire())).collect();
    thread::sleep(Duration::from_millis(1));
    for _ in 0..blocked.len() {
        WARM.release();
    }
    for h in blocked {
        h.join().expect("warm-up thread");
    }
}

fn main() {
    let workers: Vec<_> = [(0x1111u64, true), (0x2222, false), (0x3333, false)]
        .into_iter()
        .map(|(seed, sleep)| {
            let h = Builder::new()
                .name("worker")
                .priority(WORKER_PRIORITY)
                .stack_size(CASE_STACK)
                .spawn(move || worker(seed, sleep))
                .expect("spawn worker");
            (seed, h)
        })
        .collect();
    warm_up();
    let baseline = heap::used();

    fault("null-read", || {
        let p = black_box(0usize) as *const u64;
        // SAFETY: not safe at all — this test wants the fault (page 0 is unmapped).
        black_box(unsafe { p.read_volatile() });
    });
    fault("unmapped-write", || {
        let p = black_box(UNMAPPED) as *mut u64;
        // SAFETY: as above: nothing is mapped there.
        unsafe { p.write_volatile(1) };
    });
    fault("write-text", || {
        let p = black_box(main as fn() as usize) as *mut u32;
        // SAFETY: as above. The word written back is the one read, so on a map without
        // protection nothing would change.
        unsafe { p.write_volatile(p.read_volatile()) };
    });
    fault("write-rodata", || {
        let p = black_box(RODATA.as_ptr() as usize) as *mut u8;
        // SAFETY: as above, for read-only data; the byte written back is the one read.
        unsafe { p.write_volatile(p.read_volatile() ^ 0xff) };
    });
    // The code buffer belongs to `main` (a failed thread's own allocations are never freed).
    let code = Box::new([RET; 4]);
    let code_addr = black_box(code.as_ptr() as usize);
    sync_icache(code_addr, 16);
    fault("exec-heap", move || call(code_addr));
    drop(code);
    fault("exec-stack", || {
        let code = black_box([RET; 4]);
        let addr = code.as_ptr() as usize;
        sync_icache(addr, 16);
        call(addr);
        black_box(code);
    });
    fault("udf", || {
        // SAFETY: deliberately executes a permanently undefined instruction.
        unsafe { asm!("udf #0x42") }
    });
    fault("brk", || {
        // SAFETY: deliberately executes a breakpoint with no debugger attached.
        unsafe { asm!("brk #0x7") }
    });
    fault("misaligned-exclusive", || {
        let buf = [0u64; 4];
        let p = black_box(buf.as_ptr() as usize + 3);
        let v: u64;
        // SAFETY: deliberately misaligned exclusive load, which faults whatever the memory type.
        unsafe { asm!("ldaxr {0}, [{1}]", out(reg) v, in(reg) p) };
        black_box(v);
    });

    // A panic with a Mutex guard held: a thread already waiting, and the next locker, get
    // `Err` (poison).
    let holder = Builder::new()
        .name("mutex-holder")
        .priority(CASE_PRIORITY)
        .stack_size(CASE_STACK)
        .spawn(|| -> u32 {
            let mut g = MUTEX.lock().expect("first lock");
            *g += 1;
            HELD.release();
            thread::sleep(Duration::from_millis(1));
            panic!("deliberate, holding a Mutex guard");
        })
        .expect("spawn");
    HELD.acquire();
    let waiter = Builder::new()
        .name("mutex-waiter")
        .priority(CASE_PRIORITY)
        .stack_size(CASE_STACK)
        .spawn(|| MUTEX.lock().is_err())
        .expect("spawn");
    check!(holder.join().is_err_and(|e| !e.is_fault()));
    check_eq!(waiter.join().expect("mutex-waiter"), true);
    check!(MUTEX.lock().is_err(), "the mutex is not poisoned");

    panic_case("rwlock-writer", || {
        let mut g = RWLOCK.write().expect("first write");
        *g += 1;
        panic!("deliberate, holding an RwLock write guard");
    });
    check!(RWLOCK.write().is_err(), "the rwlock is not poisoned");

    // A permit taken and never given back: waiters with a timeout still return, empty-handed.
    panic_case("permit-holder", || {
        PERMIT.acquire();
        panic!("deliberate, holding a Semaphore permit");
    });
    let waiter = Builder::new()
        .name("permit-waiter")
        .priority(CASE_PRIORITY)
        .stack_size(CASE_STACK)
        .spawn(|| PERMIT.acquire_timeout(Duration::from_millis(2)))
        .expect("spawn");
    let t0 = Instant::now();
    check!(!PERMIT.acquire_timeout(Duration::from_millis(3)));
    check!(t0.elapsed() >= Duration::from_millis(3));
    check_eq!(waiter.join().expect("permit-waiter"), false);
    println!("fault_catalogue: lock holders ended alone");

    // Stack overflows, and stack pointers that point nowhere.
    fault("overflow-recurse", || {
        black_box(deep::<1024>(0, false, 0));
    });
    // At the workers' priority, so that every yield switches: the kernel's deepest path runs
    // on this stack at every level.
    fault_at("overflow-yield", WORKER_PRIORITY, || {
        black_box(deep::<256>(0, true, 0));
    });
    // Above `main` and the workers, and never calling the kernel: about 100,000 instructions per
    // level, so timer interrupts arrive while the stack is nearly full.
    fault_at("overflow-hiprio", 200, || {
        black_box(deep::<1024>(0, false, 30_000));
    });
    fault("bad-sp-push", || {
        // SAFETY: not safe at all — the push through a stack pointer that points nowhere must
        // fault; `udf` ends the thread should it not.
        unsafe {
            asm!("mov sp, {0}", "str x0, [sp, #-16]!", "udf #1", in(reg) black_box(UNMAPPED),
                 options(noreturn))
        }
    });
    fault_interrupted("bad-sp-spin", || {
        // SAFETY: not safe at all — the thread spins, touching no memory, with a stack pointer
        // that points nowhere: the next interrupt meets it and must end this thread alone.
        unsafe { asm!("mov sp, {0}", "1: b 1b", in(reg) black_box(UNMAPPED), options(noreturn)) }
    });

    check_eq!(heap::used(), baseline);
    STOP.store(true, Ordering::Relaxed);
    for (seed, h) in workers {
        let (rounds, total) = h.join().expect("worker");
        check!(rounds > 0, "worker {:#x} never ran", seed);
        check_eq!(total, expected_total(seed, rounds));
    }
    // SAFETY: a plain read of a static (volatile: the compiler may not assume it unchanged).
    let rodata = unsafe { (&raw const RODATA).read_volatile() };
    check_eq!(rodata, *b"read-only bytes!");
    check_eq!(thread::spawn(|| 40 + 2).join().expect("after faults"), 42);
    println!("fault_catalogue: ok");
}
