//! The memory map protects the kernel: text and read-only data cannot be written, nothing
//! outside text can be executed (here: code copied into the heap) and the null page is not
//! mapped. Each mistake is a fault of the thread that made it (`join` → `Err`, `is_fault`),
//! and the other threads keep running.
//! xtask: expect-output=fault in thread 'write-text': data abort
//! xtask: expect-output=fault in thread 'write-rodata': data abort
//! xtask: expect-output=permission fault
//! xtask: expect-output=fault in thread 'null-read': data abort
//! xtask: expect-output=translation fault
//! xtask: expect-output=fault in thread 'exec-heap': instruction abort
//! xtask: expect-output=wx: ok
#![no_std]
#![no_main]

extern crate alloc;

use alloc::vec;
use core::arch::asm;
use core::hint::black_box;
use core::sync::atomic::{AtomicU64, Ordering};
use preempt::thread::{self, Builder};
use preempt::time::Duration;
use preempt::{check, check_eq, println};

preempt::entry!(main);

static HEARTBEAT: AtomicU64 = AtomicU64::new(0);

/// In `.rodata`: read-only.
static CONSTANT: u64 = 0x5eed_5eed_5eed_5eed;

fn fault_in(name: &str, f: fn()) {
    let h = Builder::new()
        .name(name)
        .priority(120)
        .spawn(move || {
            f();
            0u32
        })
        .expect("spawn");
    let err = h.join().expect_err("a faulting thread must not join Ok");
    check!(err.is_fault(), "{} should be reported as a fault", name);
}

fn main() {
    let heart = Builder::new()
        .name("heart")
        .priority(110)
        .spawn(|| {
            for _ in 0..30 {
                HEARTBEAT.fetch_add(1, Ordering::Relaxed);
                thread::sleep(Duration::from_micros(300));
            }
        })
        .expect("spawn");

    fault_in("write-text", || {
        let p = black_box(main as fn() as usize) as *mut u32;
        // SAFETY: not safe at all — this test wants the fault. Text is readable; the write
        // puts back the word just read, so on a map without protection nothing changes.
        unsafe { p.write_volatile(p.read_volatile()) };
    });
    fault_in("write-rodata", || {
        let p = black_box(&raw const CONSTANT as usize) as *mut u64;
        // SAFETY: as above, for read-only data.
        unsafe { p.write_volatile(p.read_volatile()) };
    });
    fault_in("null-read", || {
        let p = black_box(0usize) as *const u64;
        // SAFETY: as above: a null dereference.
        let v = unsafe { p.read_volatile() };
        black_box(v);
    });
    fault_in("exec-heap", || {
        // `ret`, in a heap buffer, made visible to instruction fetch, then called.
        let code = black_box(vec![0xd65f_03c0u32; 4]);
        let addr = code.as_ptr() as usize;
        // SAFETY: cache maintenance by address on the buffer just written: no memory changes.
        unsafe {
            asm!("dc cvau, {0}", "dsb ish", "ic ivau, {0}", "dsb ish", "isb", in(reg) addr,
                 options(nostack, preserves_flags))
        };
        // SAFETY: not safe at all — the buffer holds a valid `ret`, but the heap must not be
        // executable, so the call must fault.
        let f: extern "C" fn() = unsafe { core::mem::transmute::<usize, extern "C" fn()>(addr) };
        black_box(f)();
        black_box(code);
    });

    heart.join().expect("heart");
    check_eq!(HEARTBEAT.load(Ordering::Relaxed), 30);
    check_eq!(CONSTANT, 0x5eed_5eed_5eed_5eed);
    check_eq!(thread::spawn(|| 40 + 2).join().expect("after faults"), 42);
    println!("wx: ok");
}
