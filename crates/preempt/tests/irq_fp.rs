//! The floating-point state of a thread survives interrupts whose handlers do and do not use
//! FP/SIMD, quiet ticks, and switches made on an interrupt's way out: q0–q31 (all 128 bits),
//! FPCR and FPSR, checked after each of 6,000 interrupts taken at a known instruction.
//!
//! Two equal-priority threads loop in an assembly routine: with IRQs masked it raises a
//! software-generated interrupt, fills every FP/SIMD register, FPCR and FPSR with a per-round
//! pattern, unmasks (the interrupt is taken right there), spins across a few 50 kHz ticks and
//! checks them all. The handler cycles through four kinds: no FP use; float math plus an
//! assembly block that overwrites all of v0–v31 and leaves FPCR changed (as a handler written
//! in assembly might) and FPSR's flags raised; the same plus a semaphore release that wakes a
//! higher-priority thread (a switch on the interrupt's way out, after the handler's FP use);
//! and a release without FP use (a switch with the FP state not yet saved). The woken thread
//! uses FP with its own FPCR before it waits again. The round-robin ticks between the two
//! checkers switch on the interrupt's way out too.
//!
//! Main, the checkers and the woken thread share one core on purpose: the switches on the
//! interrupt's way out (to the woken thread, and between the checkers) are that core's; on
//! other cores the woken thread would run beside the checkers and those paths would not be
//! taken.
//! xtask: timeout=240
#![no_std]
#![no_main]

extern crate alloc;

use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering::Relaxed};
use preempt::irq;
use preempt::sync::Semaphore;
use preempt::thread::Builder;
use preempt::{check, check_eq, cpu, println};

preempt::entry!(main);

extern "C" {
    /// `rounds` times: mask IRQs, raise the SGI, fill q0–q31/FPCR/FPSR from `seed` and the
    /// round, unmask, spin `spin` iterations, check. Returns the number of mismatches.
    fn fpcheck(seed: u64, rounds: u64, spin: u64) -> u64;
}

const SGI: u32 = 5;
const CHECKERS: u64 = 2;
const ROUNDS: u64 = 3_000;

static SEM: Semaphore = Semaphore::new(0);
static HANDLED: AtomicU32 = AtomicU32::new(0);
static WAKES: AtomicU32 = AtomicU32::new(0);
static SINK: AtomicU64 = AtomicU64::new(0);
static STOP: AtomicBool = AtomicBool::new(false);

/// Called by `fpcheck` with IRQs masked.
#[no_mangle]
extern "C" fn irq_fp_trigger() {
    irq::trigger_software(SGI).expect("trigger SGI");
}

/// Float math the compiler keeps in FP/SIMD registers, and an assembly block that overwrites
/// every one of them, sets FPCR to flush-to-zero with round-toward-minus and leaves it so.
#[inline(never)]
fn use_fp(n: u32) {
    let mut acc = [0f64; 8];
    for (i, a) in acc.iter_mut().enumerate() {
        *a = (f64::from(n) + i as f64) / 3.0 + 0.1;
    }
    let s: f64 = acc.iter().sum();
    SINK.store(s.to_bits(), Relaxed);
    // SAFETY: writes only the declared vector registers and FPCR (left changed on purpose:
    // the interrupted thread's FPCR must come back whatever the handler did).
    unsafe {
        core::arch::asm!(
            "mov x9, #0x1800000",
            "msr fpcr, x9",
            "movi v0.16b, #0xa5", "movi v1.16b, #0xa5", "movi v2.16b, #0xa5", "movi v3.16b, #0xa5",
            "movi v4.16b, #0xa5", "movi v5.16b, #0xa5", "movi v6.16b, #0xa5", "movi v7.16b, #0xa5",
            "movi v8.16b, #0xa5", "movi v9.16b, #0xa5", "movi v10.16b, #0xa5", "movi v11.16b, #0xa5",
            "movi v12.16b, #0xa5", "movi v13.16b, #0xa5", "movi v14.16b, #0xa5", "movi v15.16b, #0xa5",
            "movi v16.16b, #0xa5", "movi v17.16b, #0xa5", "movi v18.16b, #0xa5", "movi v19.16b, #0xa5",
            "movi v20.16b, #0xa5", "movi v21.16b, #0xa5", "movi v22.16b, #0xa5", "movi v23.16b, #0xa5",
            "movi v24.16b, #0xa5", "movi v25.16b, #0xa5", "movi v26.16b, #0xa5", "movi v27.16b, #0xa5",
            "movi v28.16b, #0xa5", "movi v29.16b, #0xa5", "movi v30.16b, #0xa5", "movi v31.16b, #0xa5",
            out("x9") _,
            out("v0") _, out("v1") _, out("v2") _, out("v3") _, out("v4") _, out("v5") _,
            out("v6") _, out("v7") _, out("v8") _, out("v9") _, out("v10") _, out("v11") _,
            out("v12") _, out("v13") _, out("v14") _, out("v15") _, out("v16") _, out("v17") _,
            out("v18") _, out("v19") _, out("v20") _, out("v21") _, out("v22") _, out("v23") _,
            out("v24") _, out("v25") _, out("v26") _, out("v27") _, out("v28") _, out("v29") _,
            out("v30") _, out("v31") _,
            options(nostack)
        );
    }
}

fn handler(_line: u32) {
    let n = HANDLED.fetch_add(1, Relaxed);
    match n % 4 {
        0 => {}
        1 => use_fp(n),
        2 => {
            use_fp(n);
            SEM.release();
        }
        _ => SEM.release(),
    }
}

fn main() {
    preempt::config::set_tick_hz(50_000).expect("tick rate");
    let core = 1 << cpu::current();
    preempt::thread::set_affinity(core).expect("pin main");
    irq::register(irq::sgi_line(SGI), handler).expect("register");
    let waker = Builder::new()
        .name("woken")
        .priority(150)
        .affinity(core)
        .spawn(|| {
            let mut x = 1.0f64;
            while !STOP.load(Relaxed) {
                SEM.acquire();
                WAKES.fetch_add(1, Relaxed);
                // Its own FP use, with FPCR at round toward plus (kept as this thread's).
                // SAFETY: writes FPCR only; the thread's FPCR is part of its saved state.
                unsafe { core::arch::asm!("mov x9, #0x400000", "msr fpcr, x9", out("x9") _) };
                x = x * 1.000_1 + 0.5;
                SINK.store(x.to_bits(), Relaxed);
            }
        })
        .expect("spawn woken");
    let mut checkers = Vec::new();
    for t in 0..CHECKERS {
        checkers.push(
            Builder::new()
                .name(alloc::format!("fp{t}"))
                .priority(100)
                .affinity(core)
                .spawn(move || {
                    // SAFETY: an AAPCS64 function defined below.
                    unsafe { fpcheck(0x1234_5678_9abc_0000 ^ (t << 32), ROUNDS, 200) }
                })
                .expect("spawn checker"),
        );
    }
    let mut errors = 0;
    for c in checkers {
        errors += c.join().expect("checker");
    }
    STOP.store(true, Relaxed);
    SEM.release();
    waker.join().expect("woken");
    preempt::config::set_tick_hz(1000).expect("tick rate");
    let handled = HANDLED.load(Relaxed);
    check_eq!(errors, 0);
    check!(
        u64::from(handled) >= CHECKERS * ROUNDS,
        "only {} interrupts",
        handled
    );
    check!(
        WAKES.load(Relaxed) >= (handled / 2).saturating_sub(1),
        "only {} wake-ups",
        WAKES.load(Relaxed)
    );
    println!(
        "irq_fp: ok ({} interrupts, {} switches to the woken thread, FP state intact)",
        handled,
        WAKES.load(Relaxed)
    );
}

// Frame (bytes from sp): 0..96 x19–x30 | 96..160 d8–d15 | 160..672 q0–q31 as found.
// x19 = seed, x20 = rounds left, x21 = spin, x22 = mismatches, x23 = this round's pattern.
// FPCR pattern: (p & 0xf) << 22 (rounding mode, FZ, DN); FPSR: QC = p & 1, IOC/DZC = p >> 1.
#[rustfmt::skip]
core::arch::global_asm!(
    ".section .text.fpcheck, \"ax\"",
    ".global fpcheck",
    "fpcheck:",
    "sub sp, sp, #672",
    "stp x19, x20, [sp, #0]", "stp x21, x22, [sp, #16]", "stp x23, x24, [sp, #32]",
    "stp x25, x26, [sp, #48]", "stp x27, x28, [sp, #64]", "stp x29, x30, [sp, #80]",
    "stp d8, d9, [sp, #96]", "stp d10, d11, [sp, #112]", "stp d12, d13, [sp, #128]", "stp d14, d15, [sp, #144]",
    "mov x19, x0", "mov x20, x1", "mov x21, x2", "mov x22, #0",
    "1:",
    "add x23, x19, x20",
    "msr daifset, #2",
    "bl irq_fp_trigger",
    "mov x0, x23",
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
    "and x2, x0, #0xf", "lsl x2, x2, #22", "msr fpcr, x2",
    "and x2, x0, #1", "lsl x2, x2, #27", "ubfx x3, x0, #1, #2", "orr x2, x2, x3", "msr fpsr, x2",
    "msr daifclr, #2",
    "mov x1, x21",
    "2: subs x1, x1, #1",
    "b.ne 2b",
    "add x8, sp, #160",
    "stp q0, q1, [x8, #0]",
    "stp q2, q3, [x8, #32]",
    "stp q4, q5, [x8, #64]",
    "stp q6, q7, [x8, #96]",
    "stp q8, q9, [x8, #128]",
    "stp q10, q11, [x8, #160]",
    "stp q12, q13, [x8, #192]",
    "stp q14, q15, [x8, #224]",
    "stp q16, q17, [x8, #256]",
    "stp q18, q19, [x8, #288]",
    "stp q20, q21, [x8, #320]",
    "stp q22, q23, [x8, #352]",
    "stp q24, q25, [x8, #384]",
    "stp q26, q27, [x8, #416]",
    "stp q28, q29, [x8, #448]",
    "stp q30, q31, [x8, #480]",
    "mrs x4, fpcr", "mrs x5, fpsr",
    "mov x0, x23",
    "ldp x2, x3, [x8, #0]", "add x6, x0, #0", "mvn x7, x6", "cmp x2, x6", "cinc x22, x22, ne", "cmp x3, x7", "cinc x22, x22, ne",
    "ldp x2, x3, [x8, #16]", "add x6, x0, #1", "mvn x7, x6", "cmp x2, x6", "cinc x22, x22, ne", "cmp x3, x7", "cinc x22, x22, ne",
    "ldp x2, x3, [x8, #32]", "add x6, x0, #2", "mvn x7, x6", "cmp x2, x6", "cinc x22, x22, ne", "cmp x3, x7", "cinc x22, x22, ne",
    "ldp x2, x3, [x8, #48]", "add x6, x0, #3", "mvn x7, x6", "cmp x2, x6", "cinc x22, x22, ne", "cmp x3, x7", "cinc x22, x22, ne",
    "ldp x2, x3, [x8, #64]", "add x6, x0, #4", "mvn x7, x6", "cmp x2, x6", "cinc x22, x22, ne", "cmp x3, x7", "cinc x22, x22, ne",
    "ldp x2, x3, [x8, #80]", "add x6, x0, #5", "mvn x7, x6", "cmp x2, x6", "cinc x22, x22, ne", "cmp x3, x7", "cinc x22, x22, ne",
    "ldp x2, x3, [x8, #96]", "add x6, x0, #6", "mvn x7, x6", "cmp x2, x6", "cinc x22, x22, ne", "cmp x3, x7", "cinc x22, x22, ne",
    "ldp x2, x3, [x8, #112]", "add x6, x0, #7", "mvn x7, x6", "cmp x2, x6", "cinc x22, x22, ne", "cmp x3, x7", "cinc x22, x22, ne",
    "ldp x2, x3, [x8, #128]", "add x6, x0, #8", "mvn x7, x6", "cmp x2, x6", "cinc x22, x22, ne", "cmp x3, x7", "cinc x22, x22, ne",
    "ldp x2, x3, [x8, #144]", "add x6, x0, #9", "mvn x7, x6", "cmp x2, x6", "cinc x22, x22, ne", "cmp x3, x7", "cinc x22, x22, ne",
    "ldp x2, x3, [x8, #160]", "add x6, x0, #10", "mvn x7, x6", "cmp x2, x6", "cinc x22, x22, ne", "cmp x3, x7", "cinc x22, x22, ne",
    "ldp x2, x3, [x8, #176]", "add x6, x0, #11", "mvn x7, x6", "cmp x2, x6", "cinc x22, x22, ne", "cmp x3, x7", "cinc x22, x22, ne",
    "ldp x2, x3, [x8, #192]", "add x6, x0, #12", "mvn x7, x6", "cmp x2, x6", "cinc x22, x22, ne", "cmp x3, x7", "cinc x22, x22, ne",
    "ldp x2, x3, [x8, #208]", "add x6, x0, #13", "mvn x7, x6", "cmp x2, x6", "cinc x22, x22, ne", "cmp x3, x7", "cinc x22, x22, ne",
    "ldp x2, x3, [x8, #224]", "add x6, x0, #14", "mvn x7, x6", "cmp x2, x6", "cinc x22, x22, ne", "cmp x3, x7", "cinc x22, x22, ne",
    "ldp x2, x3, [x8, #240]", "add x6, x0, #15", "mvn x7, x6", "cmp x2, x6", "cinc x22, x22, ne", "cmp x3, x7", "cinc x22, x22, ne",
    "ldp x2, x3, [x8, #256]", "add x6, x0, #16", "mvn x7, x6", "cmp x2, x6", "cinc x22, x22, ne", "cmp x3, x7", "cinc x22, x22, ne",
    "ldp x2, x3, [x8, #272]", "add x6, x0, #17", "mvn x7, x6", "cmp x2, x6", "cinc x22, x22, ne", "cmp x3, x7", "cinc x22, x22, ne",
    "ldp x2, x3, [x8, #288]", "add x6, x0, #18", "mvn x7, x6", "cmp x2, x6", "cinc x22, x22, ne", "cmp x3, x7", "cinc x22, x22, ne",
    "ldp x2, x3, [x8, #304]", "add x6, x0, #19", "mvn x7, x6", "cmp x2, x6", "cinc x22, x22, ne", "cmp x3, x7", "cinc x22, x22, ne",
    "ldp x2, x3, [x8, #320]", "add x6, x0, #20", "mvn x7, x6", "cmp x2, x6", "cinc x22, x22, ne", "cmp x3, x7", "cinc x22, x22, ne",
    "ldp x2, x3, [x8, #336]", "add x6, x0, #21", "mvn x7, x6", "cmp x2, x6", "cinc x22, x22, ne", "cmp x3, x7", "cinc x22, x22, ne",
    "ldp x2, x3, [x8, #352]", "add x6, x0, #22", "mvn x7, x6", "cmp x2, x6", "cinc x22, x22, ne", "cmp x3, x7", "cinc x22, x22, ne",
    "ldp x2, x3, [x8, #368]", "add x6, x0, #23", "mvn x7, x6", "cmp x2, x6", "cinc x22, x22, ne", "cmp x3, x7", "cinc x22, x22, ne",
    "ldp x2, x3, [x8, #384]", "add x6, x0, #24", "mvn x7, x6", "cmp x2, x6", "cinc x22, x22, ne", "cmp x3, x7", "cinc x22, x22, ne",
    "ldp x2, x3, [x8, #400]", "add x6, x0, #25", "mvn x7, x6", "cmp x2, x6", "cinc x22, x22, ne", "cmp x3, x7", "cinc x22, x22, ne",
    "ldp x2, x3, [x8, #416]", "add x6, x0, #26", "mvn x7, x6", "cmp x2, x6", "cinc x22, x22, ne", "cmp x3, x7", "cinc x22, x22, ne",
    "ldp x2, x3, [x8, #432]", "add x6, x0, #27", "mvn x7, x6", "cmp x2, x6", "cinc x22, x22, ne", "cmp x3, x7", "cinc x22, x22, ne",
    "ldp x2, x3, [x8, #448]", "add x6, x0, #28", "mvn x7, x6", "cmp x2, x6", "cinc x22, x22, ne", "cmp x3, x7", "cinc x22, x22, ne",
    "ldp x2, x3, [x8, #464]", "add x6, x0, #29", "mvn x7, x6", "cmp x2, x6", "cinc x22, x22, ne", "cmp x3, x7", "cinc x22, x22, ne",
    "ldp x2, x3, [x8, #480]", "add x6, x0, #30", "mvn x7, x6", "cmp x2, x6", "cinc x22, x22, ne", "cmp x3, x7", "cinc x22, x22, ne",
    "ldp x2, x3, [x8, #496]", "add x6, x0, #31", "mvn x7, x6", "cmp x2, x6", "cinc x22, x22, ne", "cmp x3, x7", "cinc x22, x22, ne",
    "and x2, x0, #0xf", "lsl x2, x2, #22", "cmp x4, x2", "cinc x22, x22, ne",
    "and x2, x0, #1", "lsl x2, x2, #27", "ubfx x3, x0, #1, #2", "orr x2, x2, x3", "cmp x5, x2", "cinc x22, x22, ne",
    "subs x20, x20, #1",
    "b.ne 1b",
    "msr fpcr, xzr", "msr fpsr, xzr",
    "mov x0, x22",
    "ldp x19, x20, [sp, #0]", "ldp x21, x22, [sp, #16]", "ldp x23, x24, [sp, #32]",
    "ldp x25, x26, [sp, #48]", "ldp x27, x28, [sp, #64]", "ldp x29, x30, [sp, #80]",
    "ldp d8, d9, [sp, #96]", "ldp d10, d11, [sp, #112]", "ldp d12, d13, [sp, #128]", "ldp d14, d15, [sp, #144]",
    "add sp, sp, #672",
    "ret",
);
