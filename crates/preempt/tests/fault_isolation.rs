//! A CPU fault in a thread (invalid address, undefined instruction, `brk`, alignment) is
//! reported with the thread's name, the decoded exception class, FAR, ELR and the registers;
//! that thread ends with `join` → `Err`, and the rest keep running.
//! xtask: expect-output=fault in thread 'bad-address': data abort
//! xtask: expect-output=fault in thread 'undefined': unknown reason (undefined instruction)
//! xtask: expect-output=fault in thread 'breakpoint': BRK instruction
//! xtask: expect-output=fault in thread 'misaligned': data abort
//! xtask: expect-output=alignment fault
//! xtask: expect-output=  x0
#![no_std]
#![no_main]

use core::arch::asm;
use core::sync::atomic::{AtomicU64, Ordering};
use preempt::thread::{self, Builder};
use preempt::time::Duration;
use preempt::{check, check_eq, println};

preempt::entry!(main);

static HEARTBEAT: AtomicU64 = AtomicU64::new(0);

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

    fault_in("bad-address", || {
        // Beyond the physical address range: an address-size / external abort.
        let p = core::hint::black_box(0xffff_ffff_fff0usize) as *const u64;
        // SAFETY: not safe at all — this test wants the fault.
        let v = unsafe { p.read_volatile() };
        core::hint::black_box(v);
    });
    fault_in("undefined", || {
        // SAFETY: deliberately executes a permanently undefined instruction.
        unsafe { asm!("udf #0x42") }
    });
    fault_in("breakpoint", || {
        // SAFETY: deliberately executes a breakpoint with no debugger attached.
        unsafe { asm!("brk #0x7") }
    });
    fault_in("misaligned", || {
        let buf = [0u64; 4];
        let p = core::hint::black_box(buf.as_ptr() as usize + 3);
        let v: u64;
        // SAFETY: deliberately misaligned exclusive load, which faults whatever the memory type.
        unsafe { asm!("ldaxr {0}, [{1}]", out(reg) v, in(reg) p) };
        core::hint::black_box(v);
    });

    heart.join().expect("heart");
    check_eq!(HEARTBEAT.load(Ordering::Relaxed), 30);
    check_eq!(thread::spawn(|| 40 + 2).join().expect("after faults"), 42);
    println!("fault_isolation: ok");
}
