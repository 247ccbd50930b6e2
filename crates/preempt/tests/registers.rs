//! Every register a thread can observe survives preemption and cooperative switches:
//! x0–x30, SP, NZCV, q0–q31, FPCR, FPSR and TPIDR_EL0, over at least 10,000 preemptions.
//!
//! Four equal-priority threads, on one core, run an assembly routine that fills every register
//! with a per-thread pattern, spins (being preempted every 10 µs: their time slice, one tick
//! at 100 kHz), then checks them all. Every
//! few rounds each thread also runs a routine that fills the callee-saved registers, FPCR,
//! FPSR and TPIDR_EL0 and calls `yield_now` from assembly, so contexts saved by yield are
//! resumed by the interrupt path and the other way round. A higher-priority thread that sleeps
//! in short steps adds wake-up preemptions in the middle of the spins.
//! xtask: timeout=240
#![no_std]
#![no_main]

extern crate alloc;

use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, Ordering};
use preempt::thread::{self, Builder};
use preempt::time::Duration;
use preempt::{check, check_eq, println};

preempt::entry!(main);

extern "C" {
    /// Fills all registers from `seed`, spins `iters` times, returns the number of mismatches.
    fn regcheck_preempt(seed: u64, iters: u64) -> u64;
    /// Fills callee-saved registers, FPCR, FPSR, TPIDR_EL0 from `seed`, yields, checks them.
    fn regcheck_yield(seed: u64) -> u64;
}

#[no_mangle]
extern "C" fn regtest_yield_now() {
    thread::yield_now();
}

const THREADS: u64 = 4;
const SPIN: u64 = 20_000;
const PREEMPTIONS: u64 = 10_000;
static STOP: AtomicBool = AtomicBool::new(false);

fn main() {
    preempt::config::set_tick_hz(100_000).expect("tick rate");
    // One core for all of them: with a core each, nobody would share a CPU and slices would
    // never end.
    let here = 1 << preempt::cpu::current();
    let start_ticks = preempt::testing::timer_interrupts();
    let mut workers = Vec::new();
    for t in 0..THREADS {
        workers.push(
            Builder::new()
                .name(alloc::format!("reg{t}"))
                .priority(60)
                .affinity(here)
                .spawn(move || {
                    let mut errors = 0u64;
                    let mut round = 0u64;
                    while !STOP.load(Ordering::Relaxed) {
                        let seed = (t << 40) ^ (round << 16) ^ 0x1234_5678_0000;
                        // SAFETY: plain AAPCS64 functions defined below.
                        errors += unsafe { regcheck_preempt(seed, SPIN) };
                        if round % 3 == t % 3 {
                            // SAFETY: as above.
                            errors += unsafe { regcheck_yield(seed ^ 0xabcd) };
                        }
                        round += 1;
                    }
                    (errors, round)
                })
                .expect("spawn"),
        );
    }
    let sleeper = Builder::new()
        .name("sleeper")
        .priority(90)
        .affinity(here)
        .spawn(|| {
            let mut errors = 0u64;
            let mut n = 0u64;
            while !STOP.load(Ordering::Relaxed) {
                thread::sleep(Duration::from_micros(330));
                // SAFETY: as above.
                errors += unsafe { regcheck_preempt(0x5eed_0000 + n, 500) };
                n += 1;
            }
            errors
        })
        .expect("spawn sleeper");
    while preempt::testing::timer_interrupts() - start_ticks < PREEMPTIONS {
        thread::sleep(Duration::from_millis(5));
    }
    STOP.store(true, Ordering::Relaxed);
    let mut total_rounds = 0;
    for w in workers {
        let (errors, rounds) = w.join().expect("worker");
        check_eq!(errors, 0);
        total_rounds += rounds;
    }
    check_eq!(sleeper.join().expect("sleeper"), 0);
    let ticks = preempt::testing::timer_interrupts() - start_ticks;
    check!(ticks >= PREEMPTIONS, "only {} timer interrupts", ticks);
    check!(total_rounds >= THREADS * 10, "only {} rounds", total_rounds);
    preempt::config::set_tick_hz(1000).expect("tick rate");
    println!(
        "registers: ok ({} timer interrupts, {} check rounds, no register corrupted)",
        ticks, total_rounds
    );
}

// Frame of both routines (bytes from sp):
//   0..96 x19–x30 | 96..160 d8–d15 | 160 seed | 168 sp | 176..424 x0–x30 | 432..944 q0–q31
//   944 nzcv | 952 fpcr | 960 fpsr | 968 tpidr_el0          (976 in all)
#[rustfmt::skip]
core::arch::global_asm!(
    ".macro PROLOGUE",
    "sub sp, sp, #976",
    "stp x19, x20, [sp, #0]", "stp x21, x22, [sp, #16]", "stp x23, x24, [sp, #32]",
    "stp x25, x26, [sp, #48]", "stp x27, x28, [sp, #64]", "stp x29, x30, [sp, #80]",
    "stp d8, d9, [sp, #96]", "stp d10, d11, [sp, #112]", "stp d12, d13, [sp, #128]", "stp d14, d15, [sp, #144]",
    "str x0, [sp, #160]",
    "mov x2, sp", "str x2, [sp, #168]",
    ".endm",
    ".macro EPILOGUE",
    "msr fpcr, xzr", "msr fpsr, xzr",
    "mov x0, x9",
    "ldp x19, x20, [sp, #0]", "ldp x21, x22, [sp, #16]", "ldp x23, x24, [sp, #32]",
    "ldp x25, x26, [sp, #48]", "ldp x27, x28, [sp, #64]", "ldp x29, x30, [sp, #80]",
    "ldp d8, d9, [sp, #96]", "ldp d10, d11, [sp, #112]", "ldp d12, d13, [sp, #128]", "ldp d14, d15, [sp, #144]",
    "add sp, sp, #976",
    "ret",
    ".endm",
    // Special registers: NZCV = 0xa0000000 or 0x50000000 by seed parity, FPCR = round toward
    // zero, FPSR = QC | IOC, TPIDR_EL0 = seed ^ 0xff.
    ".macro SET_SPECIAL",
    "mov x2, #0x50000000", "mov x3, #0xa0000000", "tst x0, #1", "csel x2, x3, x2, ne", "msr nzcv, x2",
    "mov x2, #0xc00000", "msr fpcr, x2",
    "mov x2, #0x8000000", "orr x2, x2, #1", "msr fpsr, x2",
    "eor x2, x0, #0xff", "msr tpidr_el0, x2",
    ".endm",
    "",
    ".section .text.regcheck_preempt, \"ax\"",
    ".global regcheck_preempt",
    "regcheck_preempt:",
    "PROLOGUE",
    "add x2, x0, #0", "mvn x3, x2", "fmov d0, x2", "mov v0.d[1], x3",
    "add x2, x0, #1", "mvn x3, x2", "fmov d1, x2", "mov v1.d[1], x3",
    "add x2, x0, #2", "mvn x3, x2", "fmov d2, x2", "mov v2.d[1], x3",
    "add x2, x0, #3", "mvn x3, x2", "fmov d3, x2", "mov v3.d[1], x3",
    "add x2, x0, #4", "mvn x3, x2", "fmov d4, x2", "mov v4.d[1], x3",
    "add x2, x0, #5", "mvn x3, x2", "fmov d5, x2", "mov v5.d[1], x3",
    "add x2, x0, #6", "mvn x3, x2", "fmov d6, x2", "mov v6.d[1], x3",
    "add x2, x0, #7", "mvn x3, x2", "fmov d7, x2", "mov v7.d[1], x3",
    "add x2, x0, #8", "mvn x3, x2", "fmov d8, x2", "mov v8.d[1], x3",
    "add x2, x0, #9", "mvn x3, x2", "fmov d9, x2", "mov v9.d[1], x3",
    "add x2, x0, #10", "mvn x3, x2", "fmov d10, x2", "mov v10.d[1], x3",
    "add x2, x0, #11", "mvn x3, x2", "fmov d11, x2", "mov v11.d[1], x3",
    "add x2, x0, #12", "mvn x3, x2", "fmov d12, x2", "mov v12.d[1], x3",
    "add x2, x0, #13", "mvn x3, x2", "fmov d13, x2", "mov v13.d[1], x3",
    "add x2, x0, #14", "mvn x3, x2", "fmov d14, x2", "mov v14.d[1], x3",
    "add x2, x0, #15", "mvn x3, x2", "fmov d15, x2", "mov v15.d[1], x3",
    "add x2, x0, #16", "mvn x3, x2", "fmov d16, x2", "mov v16.d[1], x3",
    "add x2, x0, #17", "mvn x3, x2", "fmov d17, x2", "mov v17.d[1], x3",
    "add x2, x0, #18", "mvn x3, x2", "fmov d18, x2", "mov v18.d[1], x3",
    "add x2, x0, #19", "mvn x3, x2", "fmov d19, x2", "mov v19.d[1], x3",
    "add x2, x0, #20", "mvn x3, x2", "fmov d20, x2", "mov v20.d[1], x3",
    "add x2, x0, #21", "mvn x3, x2", "fmov d21, x2", "mov v21.d[1], x3",
    "add x2, x0, #22", "mvn x3, x2", "fmov d22, x2", "mov v22.d[1], x3",
    "add x2, x0, #23", "mvn x3, x2", "fmov d23, x2", "mov v23.d[1], x3",
    "add x2, x0, #24", "mvn x3, x2", "fmov d24, x2", "mov v24.d[1], x3",
    "add x2, x0, #25", "mvn x3, x2", "fmov d25, x2", "mov v25.d[1], x3",
    "add x2, x0, #26", "mvn x3, x2", "fmov d26, x2", "mov v26.d[1], x3",
    "add x2, x0, #27", "mvn x3, x2", "fmov d27, x2", "mov v27.d[1], x3",
    "add x2, x0, #28", "mvn x3, x2", "fmov d28, x2", "mov v28.d[1], x3",
    "add x2, x0, #29", "mvn x3, x2", "fmov d29, x2", "mov v29.d[1], x3",
    "add x2, x0, #30", "mvn x3, x2", "fmov d30, x2", "mov v30.d[1], x3",
    "add x2, x0, #31", "mvn x3, x2", "fmov d31, x2", "mov v31.d[1], x3",
    "SET_SPECIAL",
    "add x2, x0, #32",
    "add x3, x0, #48",
    "add x4, x0, #64",
    "add x5, x0, #80",
    "add x6, x0, #96",
    "add x7, x0, #112",
    "add x8, x0, #128",
    "add x9, x0, #144",
    "add x10, x0, #160",
    "add x11, x0, #176",
    "add x12, x0, #192",
    "add x13, x0, #208",
    "add x14, x0, #224",
    "add x15, x0, #240",
    "add x16, x0, #256",
    "add x17, x0, #272",
    "add x18, x0, #288",
    "add x19, x0, #304",
    "add x20, x0, #320",
    "add x21, x0, #336",
    "add x22, x0, #352",
    "add x23, x0, #368",
    "add x24, x0, #384",
    "add x25, x0, #400",
    "add x26, x0, #416",
    "add x27, x0, #432",
    "add x28, x0, #448",
    "add x29, x0, #464",
    "add x30, x0, #480",
    "1: sub x1, x1, #1",
    "cbnz x1, 1b",
    "stp x0, x1, [sp, #176]",
    "stp x2, x3, [sp, #192]",
    "stp x4, x5, [sp, #208]",
    "stp x6, x7, [sp, #224]",
    "stp x8, x9, [sp, #240]",
    "stp x10, x11, [sp, #256]",
    "stp x12, x13, [sp, #272]",
    "stp x14, x15, [sp, #288]",
    "stp x16, x17, [sp, #304]",
    "stp x18, x19, [sp, #320]",
    "stp x20, x21, [sp, #336]",
    "stp x22, x23, [sp, #352]",
    "stp x24, x25, [sp, #368]",
    "stp x26, x27, [sp, #384]",
    "stp x28, x29, [sp, #400]",
    "str x30, [sp, #416]",
    "stp q0, q1, [sp, #432]",
    "stp q2, q3, [sp, #464]",
    "stp q4, q5, [sp, #496]",
    "stp q6, q7, [sp, #528]",
    "stp q8, q9, [sp, #560]",
    "stp q10, q11, [sp, #592]",
    "stp q12, q13, [sp, #624]",
    "stp q14, q15, [sp, #656]",
    "stp q16, q17, [sp, #688]",
    "stp q18, q19, [sp, #720]",
    "stp q20, q21, [sp, #752]",
    "stp q22, q23, [sp, #784]",
    "stp q24, q25, [sp, #816]",
    "stp q26, q27, [sp, #848]",
    "stp q28, q29, [sp, #880]",
    "stp q30, q31, [sp, #912]",
    "mrs x2, nzcv", "str x2, [sp, #944]",
    "mrs x2, fpcr", "str x2, [sp, #952]",
    "mrs x2, fpsr", "str x2, [sp, #960]",
    "mrs x2, tpidr_el0", "str x2, [sp, #968]",
    "ldr x0, [sp, #160]",
    "mov x9, #0",
    "ldr x2, [sp, #176]", "cmp x2, x0", "cinc x9, x9, ne",
    "ldr x2, [sp, #184]", "cmp x2, #0", "cinc x9, x9, ne",
    "ldr x2, [sp, #192]", "add x3, x0, #32", "cmp x2, x3", "cinc x9, x9, ne",
    "ldr x2, [sp, #200]", "add x3, x0, #48", "cmp x2, x3", "cinc x9, x9, ne",
    "ldr x2, [sp, #208]", "add x3, x0, #64", "cmp x2, x3", "cinc x9, x9, ne",
    "ldr x2, [sp, #216]", "add x3, x0, #80", "cmp x2, x3", "cinc x9, x9, ne",
    "ldr x2, [sp, #224]", "add x3, x0, #96", "cmp x2, x3", "cinc x9, x9, ne",
    "ldr x2, [sp, #232]", "add x3, x0, #112", "cmp x2, x3", "cinc x9, x9, ne",
    "ldr x2, [sp, #240]", "add x3, x0, #128", "cmp x2, x3", "cinc x9, x9, ne",
    "ldr x2, [sp, #248]", "add x3, x0, #144", "cmp x2, x3", "cinc x9, x9, ne",
    "ldr x2, [sp, #256]", "add x3, x0, #160", "cmp x2, x3", "cinc x9, x9, ne",
    "ldr x2, [sp, #264]", "add x3, x0, #176", "cmp x2, x3", "cinc x9, x9, ne",
    "ldr x2, [sp, #272]", "add x3, x0, #192", "cmp x2, x3", "cinc x9, x9, ne",
    "ldr x2, [sp, #280]", "add x3, x0, #208", "cmp x2, x3", "cinc x9, x9, ne",
    "ldr x2, [sp, #288]", "add x3, x0, #224", "cmp x2, x3", "cinc x9, x9, ne",
    "ldr x2, [sp, #296]", "add x3, x0, #240", "cmp x2, x3", "cinc x9, x9, ne",
    "ldr x2, [sp, #304]", "add x3, x0, #256", "cmp x2, x3", "cinc x9, x9, ne",
    "ldr x2, [sp, #312]", "add x3, x0, #272", "cmp x2, x3", "cinc x9, x9, ne",
    "ldr x2, [sp, #320]", "add x3, x0, #288", "cmp x2, x3", "cinc x9, x9, ne",
    "ldr x2, [sp, #328]", "add x3, x0, #304", "cmp x2, x3", "cinc x9, x9, ne",
    "ldr x2, [sp, #336]", "add x3, x0, #320", "cmp x2, x3", "cinc x9, x9, ne",
    "ldr x2, [sp, #344]", "add x3, x0, #336", "cmp x2, x3", "cinc x9, x9, ne",
    "ldr x2, [sp, #352]", "add x3, x0, #352", "cmp x2, x3", "cinc x9, x9, ne",
    "ldr x2, [sp, #360]", "add x3, x0, #368", "cmp x2, x3", "cinc x9, x9, ne",
    "ldr x2, [sp, #368]", "add x3, x0, #384", "cmp x2, x3", "cinc x9, x9, ne",
    "ldr x2, [sp, #376]", "add x3, x0, #400", "cmp x2, x3", "cinc x9, x9, ne",
    "ldr x2, [sp, #384]", "add x3, x0, #416", "cmp x2, x3", "cinc x9, x9, ne",
    "ldr x2, [sp, #392]", "add x3, x0, #432", "cmp x2, x3", "cinc x9, x9, ne",
    "ldr x2, [sp, #400]", "add x3, x0, #448", "cmp x2, x3", "cinc x9, x9, ne",
    "ldr x2, [sp, #408]", "add x3, x0, #464", "cmp x2, x3", "cinc x9, x9, ne",
    "ldr x2, [sp, #416]", "add x3, x0, #480", "cmp x2, x3", "cinc x9, x9, ne",
    "ldr x2, [sp, #432]", "ldr x3, [sp, #440]", "add x4, x0, #0", "mvn x5, x4", "cmp x2, x4", "cinc x9, x9, ne", "cmp x3, x5", "cinc x9, x9, ne",
    "ldr x2, [sp, #448]", "ldr x3, [sp, #456]", "add x4, x0, #1", "mvn x5, x4", "cmp x2, x4", "cinc x9, x9, ne", "cmp x3, x5", "cinc x9, x9, ne",
    "ldr x2, [sp, #464]", "ldr x3, [sp, #472]", "add x4, x0, #2", "mvn x5, x4", "cmp x2, x4", "cinc x9, x9, ne", "cmp x3, x5", "cinc x9, x9, ne",
    "ldr x2, [sp, #480]", "ldr x3, [sp, #488]", "add x4, x0, #3", "mvn x5, x4", "cmp x2, x4", "cinc x9, x9, ne", "cmp x3, x5", "cinc x9, x9, ne",
    "ldr x2, [sp, #496]", "ldr x3, [sp, #504]", "add x4, x0, #4", "mvn x5, x4", "cmp x2, x4", "cinc x9, x9, ne", "cmp x3, x5", "cinc x9, x9, ne",
    "ldr x2, [sp, #512]", "ldr x3, [sp, #520]", "add x4, x0, #5", "mvn x5, x4", "cmp x2, x4", "cinc x9, x9, ne", "cmp x3, x5", "cinc x9, x9, ne",
    "ldr x2, [sp, #528]", "ldr x3, [sp, #536]", "add x4, x0, #6", "mvn x5, x4", "cmp x2, x4", "cinc x9, x9, ne", "cmp x3, x5", "cinc x9, x9, ne",
    "ldr x2, [sp, #544]", "ldr x3, [sp, #552]", "add x4, x0, #7", "mvn x5, x4", "cmp x2, x4", "cinc x9, x9, ne", "cmp x3, x5", "cinc x9, x9, ne",
    "ldr x2, [sp, #560]", "ldr x3, [sp, #568]", "add x4, x0, #8", "mvn x5, x4", "cmp x2, x4", "cinc x9, x9, ne", "cmp x3, x5", "cinc x9, x9, ne",
    "ldr x2, [sp, #576]", "ldr x3, [sp, #584]", "add x4, x0, #9", "mvn x5, x4", "cmp x2, x4", "cinc x9, x9, ne", "cmp x3, x5", "cinc x9, x9, ne",
    "ldr x2, [sp, #592]", "ldr x3, [sp, #600]", "add x4, x0, #10", "mvn x5, x4", "cmp x2, x4", "cinc x9, x9, ne", "cmp x3, x5", "cinc x9, x9, ne",
    "ldr x2, [sp, #608]", "ldr x3, [sp, #616]", "add x4, x0, #11", "mvn x5, x4", "cmp x2, x4", "cinc x9, x9, ne", "cmp x3, x5", "cinc x9, x9, ne",
    "ldr x2, [sp, #624]", "ldr x3, [sp, #632]", "add x4, x0, #12", "mvn x5, x4", "cmp x2, x4", "cinc x9, x9, ne", "cmp x3, x5", "cinc x9, x9, ne",
    "ldr x2, [sp, #640]", "ldr x3, [sp, #648]", "add x4, x0, #13", "mvn x5, x4", "cmp x2, x4", "cinc x9, x9, ne", "cmp x3, x5", "cinc x9, x9, ne",
    "ldr x2, [sp, #656]", "ldr x3, [sp, #664]", "add x4, x0, #14", "mvn x5, x4", "cmp x2, x4", "cinc x9, x9, ne", "cmp x3, x5", "cinc x9, x9, ne",
    "ldr x2, [sp, #672]", "ldr x3, [sp, #680]", "add x4, x0, #15", "mvn x5, x4", "cmp x2, x4", "cinc x9, x9, ne", "cmp x3, x5", "cinc x9, x9, ne",
    "ldr x2, [sp, #688]", "ldr x3, [sp, #696]", "add x4, x0, #16", "mvn x5, x4", "cmp x2, x4", "cinc x9, x9, ne", "cmp x3, x5", "cinc x9, x9, ne",
    "ldr x2, [sp, #704]", "ldr x3, [sp, #712]", "add x4, x0, #17", "mvn x5, x4", "cmp x2, x4", "cinc x9, x9, ne", "cmp x3, x5", "cinc x9, x9, ne",
    "ldr x2, [sp, #720]", "ldr x3, [sp, #728]", "add x4, x0, #18", "mvn x5, x4", "cmp x2, x4", "cinc x9, x9, ne", "cmp x3, x5", "cinc x9, x9, ne",
    "ldr x2, [sp, #736]", "ldr x3, [sp, #744]", "add x4, x0, #19", "mvn x5, x4", "cmp x2, x4", "cinc x9, x9, ne", "cmp x3, x5", "cinc x9, x9, ne",
    "ldr x2, [sp, #752]", "ldr x3, [sp, #760]", "add x4, x0, #20", "mvn x5, x4", "cmp x2, x4", "cinc x9, x9, ne", "cmp x3, x5", "cinc x9, x9, ne",
    "ldr x2, [sp, #768]", "ldr x3, [sp, #776]", "add x4, x0, #21", "mvn x5, x4", "cmp x2, x4", "cinc x9, x9, ne", "cmp x3, x5", "cinc x9, x9, ne",
    "ldr x2, [sp, #784]", "ldr x3, [sp, #792]", "add x4, x0, #22", "mvn x5, x4", "cmp x2, x4", "cinc x9, x9, ne", "cmp x3, x5", "cinc x9, x9, ne",
    "ldr x2, [sp, #800]", "ldr x3, [sp, #808]", "add x4, x0, #23", "mvn x5, x4", "cmp x2, x4", "cinc x9, x9, ne", "cmp x3, x5", "cinc x9, x9, ne",
    "ldr x2, [sp, #816]", "ldr x3, [sp, #824]", "add x4, x0, #24", "mvn x5, x4", "cmp x2, x4", "cinc x9, x9, ne", "cmp x3, x5", "cinc x9, x9, ne",
    "ldr x2, [sp, #832]", "ldr x3, [sp, #840]", "add x4, x0, #25", "mvn x5, x4", "cmp x2, x4", "cinc x9, x9, ne", "cmp x3, x5", "cinc x9, x9, ne",
    "ldr x2, [sp, #848]", "ldr x3, [sp, #856]", "add x4, x0, #26", "mvn x5, x4", "cmp x2, x4", "cinc x9, x9, ne", "cmp x3, x5", "cinc x9, x9, ne",
    "ldr x2, [sp, #864]", "ldr x3, [sp, #872]", "add x4, x0, #27", "mvn x5, x4", "cmp x2, x4", "cinc x9, x9, ne", "cmp x3, x5", "cinc x9, x9, ne",
    "ldr x2, [sp, #880]", "ldr x3, [sp, #888]", "add x4, x0, #28", "mvn x5, x4", "cmp x2, x4", "cinc x9, x9, ne", "cmp x3, x5", "cinc x9, x9, ne",
    "ldr x2, [sp, #896]", "ldr x3, [sp, #904]", "add x4, x0, #29", "mvn x5, x4", "cmp x2, x4", "cinc x9, x9, ne", "cmp x3, x5", "cinc x9, x9, ne",
    "ldr x2, [sp, #912]", "ldr x3, [sp, #920]", "add x4, x0, #30", "mvn x5, x4", "cmp x2, x4", "cinc x9, x9, ne", "cmp x3, x5", "cinc x9, x9, ne",
    "ldr x2, [sp, #928]", "ldr x3, [sp, #936]", "add x4, x0, #31", "mvn x5, x4", "cmp x2, x4", "cinc x9, x9, ne", "cmp x3, x5", "cinc x9, x9, ne",
    "mov x2, #0x50000000", "mov x3, #0xa0000000", "tst x0, #1", "csel x4, x3, x2, ne",
    "ldr x2, [sp, #944]", "cmp x2, x4", "cinc x9, x9, ne",
    "ldr x2, [sp, #952]", "mov x4, #0xc00000", "cmp x2, x4", "cinc x9, x9, ne",
    "ldr x2, [sp, #960]", "mov x4, #0x8000000", "orr x4, x4, #1", "cmp x2, x4", "cinc x9, x9, ne",
    "ldr x2, [sp, #968]", "eor x4, x0, #0xff", "cmp x2, x4", "cinc x9, x9, ne",
    "mov x2, sp", "ldr x3, [sp, #168]", "cmp x2, x3", "cinc x9, x9, ne",
    "EPILOGUE",
    "",
    ".global regcheck_yield",
    "regcheck_yield:",
    "PROLOGUE",
    "add x19, x0, #304",
    "add x20, x0, #320",
    "add x21, x0, #336",
    "add x22, x0, #352",
    "add x23, x0, #368",
    "add x24, x0, #384",
    "add x25, x0, #400",
    "add x26, x0, #416",
    "add x27, x0, #432",
    "add x28, x0, #448",
    "add x2, x0, #8", "fmov d8, x2",
    "add x2, x0, #9", "fmov d9, x2",
    "add x2, x0, #10", "fmov d10, x2",
    "add x2, x0, #11", "fmov d11, x2",
    "add x2, x0, #12", "fmov d12, x2",
    "add x2, x0, #13", "fmov d13, x2",
    "add x2, x0, #14", "fmov d14, x2",
    "add x2, x0, #15", "fmov d15, x2",
    "SET_SPECIAL",
    "bl regtest_yield_now",
    "ldr x0, [sp, #160]",
    "mov x9, #0",
    "add x3, x0, #304", "cmp x19, x3", "cinc x9, x9, ne",
    "add x3, x0, #320", "cmp x20, x3", "cinc x9, x9, ne",
    "add x3, x0, #336", "cmp x21, x3", "cinc x9, x9, ne",
    "add x3, x0, #352", "cmp x22, x3", "cinc x9, x9, ne",
    "add x3, x0, #368", "cmp x23, x3", "cinc x9, x9, ne",
    "add x3, x0, #384", "cmp x24, x3", "cinc x9, x9, ne",
    "add x3, x0, #400", "cmp x25, x3", "cinc x9, x9, ne",
    "add x3, x0, #416", "cmp x26, x3", "cinc x9, x9, ne",
    "add x3, x0, #432", "cmp x27, x3", "cinc x9, x9, ne",
    "add x3, x0, #448", "cmp x28, x3", "cinc x9, x9, ne",
    "fmov x2, d8", "add x3, x0, #8", "cmp x2, x3", "cinc x9, x9, ne",
    "fmov x2, d9", "add x3, x0, #9", "cmp x2, x3", "cinc x9, x9, ne",
    "fmov x2, d10", "add x3, x0, #10", "cmp x2, x3", "cinc x9, x9, ne",
    "fmov x2, d11", "add x3, x0, #11", "cmp x2, x3", "cinc x9, x9, ne",
    "fmov x2, d12", "add x3, x0, #12", "cmp x2, x3", "cinc x9, x9, ne",
    "fmov x2, d13", "add x3, x0, #13", "cmp x2, x3", "cinc x9, x9, ne",
    "fmov x2, d14", "add x3, x0, #14", "cmp x2, x3", "cinc x9, x9, ne",
    "fmov x2, d15", "add x3, x0, #15", "cmp x2, x3", "cinc x9, x9, ne",
    "mrs x2, fpcr", "mov x4, #0xc00000", "cmp x2, x4", "cinc x9, x9, ne",
    "mrs x2, fpsr", "mov x4, #0x8000000", "orr x4, x4, #1", "cmp x2, x4", "cinc x9, x9, ne",
    "mrs x2, tpidr_el0", "eor x4, x0, #0xff", "cmp x2, x4", "cinc x9, x9, ne",
    "mov x2, sp", "ldr x3, [sp, #168]", "cmp x2, x3", "cinc x9, x9, ne",
    "EPILOGUE",
);
