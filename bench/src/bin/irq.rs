//! Interrupt paths, driven by a software-generated interrupt (SGI) on this core:
//! - `irq_latency`: from the instruction that unmasks IRQs with the SGI pending to the first
//!   instruction of the registered handler (`preempt::irq::register`): exception entry, the
//!   kernel's dispatch and the call;
//! - `irq_to_thread`: from that same unmask to the return from `Semaphore::acquire` in a
//!   thread of higher priority than the interrupted one, woken by the handler's `release`:
//!   entry, handler, the release, and the exit path that switches to the woken thread.
//!
//! The SGI is raised with IRQs masked (`preempt::irq::trigger_software`), so the window starts
//! at a known instruction rather than somewhere inside the trigger call.
//!
//! xtask: timeout=60
#![no_std]
#![no_main]

extern crate alloc;

use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicU32, Ordering::Relaxed};

use preempt::irq;
use preempt::sync::Semaphore;
use preempt_arch::cpu;
use preempt_bench::{init, report, Unit, Window, SAMPLES};

preempt::entry!(main);

/// The software interrupt used (SGI 1; the kernel uses none).
const SGI: u32 = 1;
const WARMUP: usize = 100;

static WINDOW: Window = Window::new();
/// What the handler does: close the window (`irq_latency`) or release `SEM` (`irq_to_thread`).
static WAKE_THREAD: AtomicBool = AtomicBool::new(false);
static SEM: Semaphore = Semaphore::new(0);
static SAMPLE: AtomicU32 = AtomicU32::new(u32::MAX);

fn handler(_line: u32) {
    if WAKE_THREAD.load(Relaxed) {
        SEM.release();
    } else {
        let sample = WINDOW.close();
        SAMPLE.store(sample.map_or(u32::MAX, |s| s as u32), Relaxed);
    }
}

/// Raises the SGI with IRQs masked, opens the window and unmasks: the interrupt is taken
/// right after the unmasking instruction.
fn interrupt() {
    let irqs = cpu::irq_save();
    irq::trigger_software(SGI).expect("trigger SGI");
    WINDOW.open();
    cpu::irq_restore(irqs);
}

fn main() {
    init("irq");
    irq::register(irq::sgi_line(SGI), handler).expect("register the SGI handler");

    let mut samples = Vec::with_capacity(SAMPLES);
    let mut taken = 0;
    while samples.len() < SAMPLES {
        interrupt();
        taken += 1;
        let s = SAMPLE.swap(u32::MAX, Relaxed);
        if taken > WARMUP && s != u32::MAX {
            samples.push(u64::from(s));
        }
    }
    report("irq_latency", Unit::Instructions, &mut samples);

    WAKE_THREAD.store(true, Relaxed);
    static DONE: AtomicBool = AtomicBool::new(false);
    // Above main: it waits in `acquire` whenever main runs.
    let waiter = preempt_bench::builder()
        .priority(200)
        .spawn(|| {
            let mut kept = Vec::with_capacity(SAMPLES);
            let mut woken = 0;
            while kept.len() < SAMPLES {
                SEM.acquire();
                let sample = WINDOW.close();
                woken += 1;
                if let Some(s) = sample.filter(|_| woken > WARMUP) {
                    kept.push(s);
                }
            }
            DONE.store(true, Relaxed);
            kept
        })
        .expect("spawn");
    while !DONE.load(Relaxed) {
        interrupt();
    }
    let mut samples = waiter.join().expect("waiter");
    report("irq_to_thread", Unit::Instructions, &mut samples);
}
