//! Interrupt handlers wake threads: a software-generated interrupt's handler releases a
//! semaphore, unparks a thread, sets event flags and `try_send`s on a channel; each woken
//! thread outranks main and must run before `trigger_software` returns to main.
//!
//! Main and the woken threads share one core on purpose: the point is the switch on the
//! interrupt's way out to a thread that outranks the interrupted one (on another core the
//! woken thread would run beside main, and the check would measure a race).
#![no_std]
#![no_main]

use core::sync::atomic::{AtomicU32, Ordering};
use preempt::irq;
use preempt::sync::mpsc::{self, SyncSender};
use preempt::sync::{EventFlags, OnceLock, Semaphore, WaitMode};
use preempt::thread::{self, Builder, Thread};
use preempt::{check, check_eq, cpu, println};

preempt::entry!(main);

static SEM: Semaphore = Semaphore::new(0);
static EVENTS: EventFlags = EventFlags::new();
static PARKED: OnceLock<Thread> = OnceLock::new();
static TX: OnceLock<SyncSender<u32>> = OnceLock::new();
static MODE: AtomicU32 = AtomicU32::new(0);
static HANDLED: AtomicU32 = AtomicU32::new(0);
static WOKEN: AtomicU32 = AtomicU32::new(0);

fn handler(_line: u32) {
    HANDLED.fetch_add(1, Ordering::Relaxed);
    match MODE.load(Ordering::Relaxed) {
        0 => SEM.release(),
        1 => PARKED.get().expect("parked thread").unpark(),
        2 => EVENTS.set(1),
        _ => TX
            .get()
            .expect("sender")
            .try_send(99)
            .expect("try_send from a handler"),
    }
}

fn main() {
    let core = 1 << cpu::current();
    thread::set_affinity(core).expect("pin main");
    let sgi = 3;
    let line = irq::sgi_line(sgi);
    irq::register(line, handler).expect("register");
    check!(irq::register(100_000, handler).is_err());

    // 0: semaphore.
    let waiter = Builder::new()
        .priority(200)
        .affinity(core)
        .spawn(|| {
            for _ in 0..5 {
                SEM.acquire();
                WOKEN.fetch_add(1, Ordering::Relaxed);
            }
        })
        .expect("spawn");
    for i in 1..=5 {
        irq::trigger_software(sgi).expect("sgi");
        check_eq!(WOKEN.load(Ordering::Relaxed), i);
    }
    waiter.join().expect("waiter");

    // 1: unpark.
    MODE.store(1, Ordering::Relaxed);
    let parked = Builder::new()
        .priority(200)
        .affinity(core)
        .spawn(|| {
            thread::park();
            WOKEN.fetch_add(1, Ordering::Relaxed);
        })
        .expect("spawn");
    let _ = PARKED.set(parked.thread().clone());
    irq::trigger_software(sgi).expect("sgi");
    check_eq!(WOKEN.load(Ordering::Relaxed), 6);
    parked.join().expect("parked");

    // 2: event flags.
    MODE.store(2, Ordering::Relaxed);
    let ev = Builder::new()
        .priority(200)
        .affinity(core)
        .spawn(|| {
            EVENTS.wait(1, WaitMode::Any, true);
            WOKEN.fetch_add(1, Ordering::Relaxed);
        })
        .expect("spawn");
    irq::trigger_software(sgi).expect("sgi");
    check_eq!(WOKEN.load(Ordering::Relaxed), 7);
    ev.join().expect("events");

    // 3: channel.
    MODE.store(3, Ordering::Relaxed);
    let (tx, rx) = mpsc::sync_channel(2);
    let _ = TX.set(tx);
    let rxt = Builder::new()
        .priority(200)
        .affinity(core)
        .spawn(move || {
            let v = rx.recv().expect("recv");
            WOKEN.fetch_add(1, Ordering::Relaxed);
            v
        })
        .expect("spawn");
    irq::trigger_software(sgi).expect("sgi");
    check_eq!(WOKEN.load(Ordering::Relaxed), 8);
    check_eq!(rxt.join().expect("receiver"), 99);

    check_eq!(HANDLED.load(Ordering::Relaxed), 8);
    irq::unregister(line).expect("unregister");
    println!(
        "irq_wake: ok ({} interrupts handled)",
        HANDLED.load(Ordering::Relaxed)
    );
}
