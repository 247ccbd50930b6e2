//! `Mutex::try_lock` works inside an interrupt handler: it takes a free mutex, reports a held
//! one as `WouldBlock`, and hands over one whose holder died as poisoned. So do
//! `RwLock::try_read`/`try_write`. Unlocking there
//! through the scheduler (a dead holder had left the lock word in its contended form) must not
//! switch threads inside the handler: a thread the handler woke runs after it returns.
//!
//! Main and the threads it spawns share one core on purpose: the dying holder must hold the
//! lock before main's `lock_timeout` (it outranks main, so it runs at spawn), and the woken
//! thread must be one the handler's core would switch to.
#![no_std]
#![no_main]

use core::sync::atomic::{AtomicU32, Ordering};
use preempt::sync::{Mutex, RwLock, Semaphore, TryLockError};
use preempt::thread::{self, Builder};
use preempt::time::Duration;
use preempt::{check, check_eq, cpu, irq, println};

preempt::entry!(main);

static M: Mutex<u32> = Mutex::new(0);
static RW: RwLock<u32> = RwLock::new(0);
static RW_SEEN: AtomicU32 = AtomicU32::new(0);
static DEAD: Mutex<u32> = Mutex::new(0);
static SEM: Semaphore = Semaphore::new(0);
static MODE: AtomicU32 = AtomicU32::new(0);
static OUTCOME: AtomicU32 = AtomicU32::new(0);
static WOKEN: AtomicU32 = AtomicU32::new(0);

const GOT: u32 = 1;
const BUSY: u32 = 2;
const POISONED: u32 = 3;

fn handler(_line: u32) {
    let read = RW.try_read().map(|g| *g).unwrap_or(BUSY);
    let wrote = match RW.try_write() {
        Ok(mut g) => {
            *g += 1;
            GOT
        }
        Err(_) => BUSY,
    };
    RW_SEEN.store(read << 8 | wrote, Ordering::Relaxed);
    let m = if MODE.load(Ordering::Relaxed) == 0 {
        &M
    } else {
        SEM.release(); // wakes a thread that outranks main: it must wait for the handler's end
        &DEAD
    };
    let r = match m.try_lock() {
        Ok(mut g) => {
            *g += 1;
            GOT
        }
        Err(TryLockError::WouldBlock) => BUSY,
        Err(TryLockError::Poisoned(p)) => {
            *p.into_inner() += 1;
            POISONED
        }
    };
    OUTCOME.store(r, Ordering::Relaxed);
}

fn main() {
    let core = 1 << cpu::current();
    thread::set_affinity(core).expect("pin main");
    let sgi = 7;
    irq::register(irq::sgi_line(sgi), handler).expect("register");

    irq::trigger_software(sgi).expect("sgi");
    check_eq!(OUTCOME.load(Ordering::Relaxed), GOT);
    check_eq!(RW_SEEN.load(Ordering::Relaxed), GOT); // read 0, then wrote
    {
        let _g = M.lock().expect("lock");
        let _w = RW.write().expect("write");
        irq::trigger_software(sgi).expect("sgi");
        check_eq!(OUTCOME.load(Ordering::Relaxed), BUSY);
        check_eq!(RW_SEEN.load(Ordering::Relaxed), BUSY << 8 | BUSY);
    }
    {
        let _r = RW.read().expect("read");
        irq::trigger_software(sgi).expect("sgi");
        // The handler acts as main, which reads: a second read is fine, a write is not.
        check_eq!(RW_SEEN.load(Ordering::Relaxed), 1 << 8 | BUSY);
    }
    check_eq!(*M.lock().expect("lock"), 2);

    // DEAD: a holder that a waiter timed out on (the lock word now says "ask the scheduler"),
    // then died holding it.
    let holder = Builder::new()
        .priority(200)
        .affinity(core)
        .spawn(|| {
            let _g = DEAD.lock();
            thread::park();
            panic!("dying with the lock held");
        })
        .expect("spawn");
    check!(DEAD.lock_timeout(Duration::from_millis(1)).is_err());
    holder.thread().unpark();
    check!(holder.join().is_err());

    let woken = Builder::new()
        .priority(200)
        .affinity(core)
        .spawn(|| {
            SEM.acquire();
            // Blocking here proves this runs as a thread again, not inside the handler.
            thread::sleep(Duration::from_millis(1));
            WOKEN.store(1, Ordering::Relaxed);
        })
        .expect("spawn");
    MODE.store(1, Ordering::Relaxed);
    irq::trigger_software(sgi).expect("sgi");
    check_eq!(OUTCOME.load(Ordering::Relaxed), POISONED);
    woken.join().expect("woken thread");
    check_eq!(WOKEN.load(Ordering::Relaxed), 1);
    check!(DEAD.is_poisoned());
    check_eq!(*DEAD.lock().unwrap_or_else(|p| p.into_inner()), 1);
    println!("irq_try_lock: ok");
}
