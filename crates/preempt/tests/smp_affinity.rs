//! Four cores run threads, and affinity is respected: threads pinned one per core report four
//! distinct `cpu::current()` values and never leave their core under load; unpinned busy
//! threads spread over every core; a mask naming no running core is refused by
//! `Builder::spawn` and by `thread::set_affinity` (and bits of absent cores are ignored);
//! `set_affinity` moves the caller to an allowed core before it returns.
//! xtask: smp=4
//! xtask: timeout=120
#![no_std]
#![no_main]

extern crate alloc;

use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use preempt::thread::{self, Builder, SpawnError};
use preempt::time::{Duration, Instant};
use preempt::{check, check_eq, cpu, println};

preempt::entry!(main);

const CORES: usize = 4;

/// Threads pinned one per core, all busy at once: each sees only its own core, every time.
fn pinned_one_per_core() {
    static SEEN: [AtomicU32; CORES] = [const { AtomicU32::new(0) }; CORES];
    let mut handles = Vec::new();
    for core in 0..CORES {
        handles.push(
            Builder::new()
                .name("pinned")
                .priority(20)
                .affinity(1 << core)
                .spawn(move || {
                    // Busy for a while (main, below, gets no core meanwhile).
                    let until = Instant::now() + Duration::from_millis(20);
                    while Instant::now() < until {
                        SEEN[core].fetch_or(1 << cpu::current(), Ordering::Relaxed);
                    }
                })
                .expect("spawn pinned"),
        );
    }
    for h in handles {
        h.join().expect("pinned thread");
    }
    for (core, seen) in SEEN.iter().enumerate() {
        check!(
            seen.load(Ordering::Relaxed) == 1 << core,
            "pinned to core {} but seen on {:#b}",
            core,
            seen.load(Ordering::Relaxed)
        );
    }
}

/// Unpinned busy threads above `main` fill every core.
fn unpinned_spread() {
    static STOP: AtomicBool = AtomicBool::new(false);
    static SEEN: AtomicU32 = AtomicU32::new(0);
    // main (priority 10) gets no core back while the busy threads run, so a high-priority
    // thread, started first and asleep meanwhile, stops them.
    let stopper = Builder::new()
        .priority(200)
        .spawn(|| {
            thread::sleep(Duration::from_millis(30));
            STOP.store(true, Ordering::Relaxed);
        })
        .expect("spawn stopper");
    let mut handles = Vec::new();
    for _ in 0..CORES {
        handles.push(
            Builder::new()
                .priority(20)
                .spawn(|| {
                    while !STOP.load(Ordering::Relaxed) {
                        SEEN.fetch_or(1 << cpu::current(), Ordering::Relaxed);
                    }
                })
                .expect("spawn busy"),
        );
    }
    stopper.join().expect("stopper");
    preempt::testing::dump_sched();
    for h in handles {
        h.join().expect("busy thread");
    }
    let seen = SEEN.load(Ordering::Relaxed);
    if seen != 0b1111 {
        for core in 0..CORES {
            println!(
                "core {}: ipis {:?}",
                core,
                preempt::testing::ipi::counts(core)
            );
        }
        println!("online {:#b}", preempt::testing::ipi::online());
        preempt::testing::dump_sched();
    }
    check_eq!(seen, 0b1111);
}

/// Masks with no running core are refused; bits of absent cores are ignored.
fn bad_masks() {
    match Builder::new().affinity(0).spawn(|| ()) {
        Err(SpawnError::NoRunningCore { affinity, running }) => {
            check_eq!(affinity, 0);
            check_eq!(running, 0b1111);
        }
        other => check!(false, "mask 0 spawned: {:?}", other.map(|_| ())),
    }
    check!(matches!(
        Builder::new().affinity(0xF0).spawn(|| ()),
        Err(SpawnError::NoRunningCore { .. })
    ));
    // Core 2 and absent cores: runs on core 2.
    let h = Builder::new()
        .affinity(0xFFFF_FF04)
        .spawn(cpu::current)
        .expect("spawn on 2");
    check_eq!(h.join().expect("join"), 2);
    let e = thread::set_affinity(0x30).expect_err("mask of absent cores");
    check_eq!(e.mask(), 0x30);
    check_eq!(e.running(), 0b1111);
    println!("refused: {}", e);
}

/// `set_affinity` moves the caller before it returns, to each core in turn, and back.
fn migrate() {
    let h = Builder::new()
        .priority(30)
        .spawn(|| {
            let mut visited = Vec::new();
            for core in [3usize, 1, 2, 0, 3] {
                thread::set_affinity(1 << core).expect("set_affinity");
                // Busy for a while: still there.
                let until = Instant::now() + Duration::from_micros(300);
                let mut wrong = None;
                while Instant::now() < until {
                    let c = cpu::current();
                    if c != core {
                        wrong = Some(c);
                    }
                }
                visited.push((core, cpu::current(), wrong));
            }
            thread::set_affinity(u32::MAX).expect("all cores");
            visited
        })
        .expect("spawn migrant");
    for (want, got, wrong) in h.join().expect("migrant") {
        check!(
            got == want,
            "on core {} after set_affinity({:#b})",
            got,
            1u32 << want
        );
        check!(wrong.is_none(), "left core {} for {:?}", want, wrong);
    }
}

fn main() {
    check_eq!(cpu::count(), CORES);
    // main may run anywhere; it takes a lower priority than the test threads.
    thread::current().set_priority(10);
    pinned_one_per_core();
    println!("pinned ok");
    unpinned_spread();
    println!("spread ok");
    bad_masks();
    println!("masks ok");
    migrate();
    println!("migrate ok");
    println!("smp_affinity: all ok");
}
