//! `Thread::set_priority`, `base_priority` and `preempt::cpu`: a priority change takes effect
//! before the call returns (lowering yourself below a ready thread, raising a ready thread
//! above yourself, from a thread or an interrupt handler), changes the base and keeps an
//! inherited boost, re-boosts a mutex holder when one of its waiters is raised, re-sorts wait
//! lists, and leaves an ended thread alone; `cpu::current()` names the caller's core, in a
//! thread and in a handler, below `cpu::count()`.
//!
//! All of it is per-core policy: `main` and every thread it spawns share one core on purpose
//! (with several cores a thread made ready would start on an idle core at once, whatever the
//! priorities).
//! xtask: timeout=60
#![no_std]
#![no_main]

use core::sync::atomic::{AtomicU32, AtomicU8, AtomicUsize, Ordering};
use preempt::sync::{Mutex, OnceLock, Semaphore};
use preempt::thread::{self, Builder, Thread, DEFAULT_PRIORITY};
use preempt::time::Duration;
use preempt::{check, check_eq, cpu, irq, println};

preempt::entry!(main);

static RAN: AtomicU32 = AtomicU32::new(0);
/// The affinity mask of the one core `main` and its threads share.
static ONE: AtomicU32 = AtomicU32::new(0);

fn one() -> u32 {
    ONE.load(Ordering::Relaxed)
}

/// 1: the caller lowers itself below a ready thread, which runs before `set_priority`
/// returns; raising itself back switches nothing.
fn lower_self() {
    RAN.store(0, Ordering::Relaxed);
    let other = Builder::new()
        .priority(100)
        .affinity(one())
        .spawn(|| RAN.store(1, Ordering::Relaxed))
        .expect("spawn");
    check_eq!(RAN.load(Ordering::Relaxed), 0); // ready, below main
    let me = thread::current();
    me.set_priority(50);
    check_eq!(RAN.load(Ordering::Relaxed), 1);
    check_eq!(me.priority(), 50);
    check_eq!(me.base_priority(), 50);
    me.set_priority(DEFAULT_PRIORITY);
    check_eq!(me.priority(), DEFAULT_PRIORITY);
    check_eq!(me.base_priority(), DEFAULT_PRIORITY);
    other.join().expect("other");
}

/// 2: raising a ready lower thread above the caller preempts the caller at once.
fn raise_other() {
    RAN.store(0, Ordering::Relaxed);
    let other = Builder::new()
        .priority(100)
        .affinity(one())
        .spawn(|| RAN.store(2, Ordering::Relaxed))
        .expect("spawn");
    check_eq!(RAN.load(Ordering::Relaxed), 0);
    other.thread().set_priority(200);
    check_eq!(RAN.load(Ordering::Relaxed), 2);
    check_eq!(other.thread().base_priority(), 200);
    check_eq!(other.thread().priority(), 200);
    other.join().expect("other");
}

static M3: Mutex<()> = Mutex::new(());
static READY3: Semaphore = Semaphore::new(0);
static GO3: Semaphore = Semaphore::new(0);
static L3_BEFORE_UNLOCK: AtomicU8 = AtomicU8::new(0);
static L3_AFTER_UNLOCK: AtomicU8 = AtomicU8::new(0);
static L3_BASE_AFTER: AtomicU8 = AtomicU8::new(0);

/// 3 and 6: lowering a boosted mutex holder changes its base and keeps the boost; once it
/// unlocks it runs at the new base, which is also what its handle reports after it ended.
fn lower_boosted_holder() {
    let low = Builder::new()
        .name("low")
        .priority(10)
        .affinity(one())
        .spawn(|| {
            let g = M3.lock().expect("M3");
            READY3.release();
            GO3.acquire();
            L3_BEFORE_UNLOCK.store(thread::current().priority(), Ordering::Relaxed);
            drop(g);
            L3_AFTER_UNLOCK.store(thread::current().priority(), Ordering::Relaxed);
            L3_BASE_AFTER.store(thread::current().base_priority(), Ordering::Relaxed);
        })
        .expect("low");
    READY3.acquire(); // low holds M3
    let l = low.thread().clone();
    check_eq!(l.priority(), 10);
    let high = Builder::new()
        .name("high")
        .priority(200)
        .affinity(one())
        .spawn(|| drop(M3.lock().expect("M3")))
        .expect("high"); // runs at once and waits for M3: low inherits 200
    check_eq!(l.priority(), 200);
    check_eq!(l.base_priority(), 10);
    l.set_priority(5);
    check_eq!(l.priority(), 200);
    check_eq!(l.base_priority(), 5);
    GO3.release(); // low runs at 200, unlocks (high takes M3 and ends), then drops to 5
    high.join().expect("high");
    low.join().expect("low");
    check_eq!(L3_BEFORE_UNLOCK.load(Ordering::Relaxed), 200);
    check_eq!(L3_AFTER_UNLOCK.load(Ordering::Relaxed), 5);
    check_eq!(L3_BASE_AFTER.load(Ordering::Relaxed), 5);
    // Ended and reaped: the handle reports the last base, not the spawn priority.
    check_eq!(l.priority(), 5);
    check_eq!(l.base_priority(), 5);
}

static M4: Mutex<()> = Mutex::new(());
static READY4: Semaphore = Semaphore::new(0);
static GO4: Semaphore = Semaphore::new(0);

/// 4: raising (and lowering) a mutex waiter re-evaluates the holder's inherited priority.
fn raise_waiter() {
    let low = Builder::new()
        .priority(10)
        .affinity(one())
        .spawn(|| {
            let _g = M4.lock().expect("M4");
            READY4.release();
            GO4.acquire();
        })
        .expect("low");
    READY4.acquire();
    let waiter = Builder::new()
        .priority(50)
        .affinity(one())
        .spawn(|| drop(M4.lock().expect("M4")))
        .expect("waiter");
    thread::sleep(Duration::from_millis(1)); // the waiter queues on M4
    let (l, w) = (low.thread(), waiter.thread());
    check_eq!(l.priority(), 50);
    w.set_priority(150);
    check_eq!(w.priority(), 150);
    check_eq!(l.priority(), 150);
    check_eq!(l.base_priority(), 10);
    w.set_priority(60);
    check_eq!(l.priority(), 60);
    GO4.release();
    low.join().expect("low");
    waiter.join().expect("waiter");
}

static SEM5: Semaphore = Semaphore::new(0);
static M5: Mutex<()> = Mutex::new(());
static FIRST: AtomicU32 = AtomicU32::new(0);

/// 5: a waiter raised after it queued is woken before one that was ahead of it.
fn resort_waiters() {
    FIRST.store(0, Ordering::Relaxed);
    let waiter = |tag: u32, prio: u8| {
        Builder::new()
            .priority(prio)
            .affinity(one())
            .spawn(move || {
                SEM5.acquire();
                let _ = FIRST.compare_exchange(0, tag, Ordering::Relaxed, Ordering::Relaxed);
            })
            .expect("waiter")
    };
    let a = waiter(1, 150); // both run at once and wait on SEM5: b first (higher)
    let b = waiter(2, 160);
    a.thread().set_priority(170);
    SEM5.release();
    check_eq!(FIRST.load(Ordering::Relaxed), 1);
    SEM5.release();
    a.join().expect("a");
    b.join().expect("b");

    // The same on a mutex main holds (main inherits from both meanwhile).
    FIRST.store(0, Ordering::Relaxed);
    let g = M5.lock().expect("M5");
    let locker = |tag: u32, prio: u8| {
        Builder::new()
            .priority(prio)
            .affinity(one())
            .spawn(move || {
                let _g = M5.lock().expect("M5");
                let _ = FIRST.compare_exchange(0, tag, Ordering::Relaxed, Ordering::Relaxed);
            })
            .expect("locker")
    };
    let a = locker(1, 150);
    let b = locker(2, 160);
    check_eq!(thread::current().priority(), 160);
    a.thread().set_priority(170);
    check_eq!(thread::current().priority(), 170);
    drop(g);
    check_eq!(FIRST.load(Ordering::Relaxed), 1);
    check_eq!(thread::current().priority(), DEFAULT_PRIORITY);
    a.join().expect("a");
    b.join().expect("b");
}

/// 6: an ended thread — zombie or reaped — is left alone.
fn ended_thread() {
    let z = Builder::new()
        .priority(200)
        .affinity(one())
        .spawn(|| ())
        .expect("spawn"); // runs and ends
    let t = z.thread().clone();
    check!(z.is_finished());
    t.set_priority(7); // a zombie awaiting its join
    check_eq!(t.priority(), 200);
    check_eq!(t.base_priority(), 200);
    z.join().expect("z");
    t.set_priority(9); // reaped
    check_eq!(t.priority(), 200);
    check_eq!(t.base_priority(), 200);
}

static MODE: AtomicU32 = AtomicU32::new(0);
static IRQ_CPU: AtomicUsize = AtomicUsize::new(usize::MAX);
static TARGET: OnceLock<Thread> = OnceLock::new();

fn handler(_line: u32) {
    match MODE.load(Ordering::Relaxed) {
        0 => IRQ_CPU.store(cpu::current(), Ordering::Relaxed),
        _ => TARGET.get().expect("target").set_priority(200),
    }
}

/// 7 and 8: `cpu::current()`/`count()` from a thread and a handler; a handler raising a
/// ready thread above the interrupted one switches to it on the way out.
fn cpus_and_irq() {
    let here = cpu::current();
    check_eq!(1 << here, one());
    check!((1..=4).contains(&cpu::count()), "{} cores", cpu::count());
    check!(here < cpu::count());
    let sgi = 5;
    let line = irq::sgi_line(sgi);
    irq::register(line, handler).expect("register");
    irq::trigger_software(sgi).expect("sgi");
    check_eq!(IRQ_CPU.load(Ordering::Relaxed), here);

    RAN.store(0, Ordering::Relaxed);
    let other = Builder::new()
        .priority(100)
        .affinity(one())
        .spawn(|| RAN.store(8, Ordering::Relaxed))
        .expect("spawn");
    let _ = TARGET.set(other.thread().clone());
    MODE.store(1, Ordering::Relaxed);
    check_eq!(RAN.load(Ordering::Relaxed), 0);
    irq::trigger_software(sgi).expect("sgi");
    check_eq!(RAN.load(Ordering::Relaxed), 8);
    check_eq!(other.thread().base_priority(), 200);
    other.join().expect("other");
    irq::unregister(line).expect("unregister");
}

fn main() {
    ONE.store(1 << cpu::current(), Ordering::Relaxed);
    check!(thread::set_affinity(one()).is_ok(), "pinning main");
    check_eq!(thread::current().base_priority(), DEFAULT_PRIORITY);
    lower_self();
    raise_other();
    lower_boosted_holder();
    raise_waiter();
    resort_waiters();
    ended_thread();
    cpus_and_irq();
    println!("priority_change: ok");
}
