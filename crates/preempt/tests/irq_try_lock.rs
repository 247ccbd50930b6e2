//! `Mutex::try_lock` works inside an interrupt handler: it takes a free mutex, reports a held
//! one as `WouldBlock`, and hands over one whose holder died as poisoned. Unlocking there
//! through the scheduler (a dead holder had left the lock word in its contended form) must not
//! switch threads inside the handler: a thread the handler woke runs after it returns.
#![no_std]
#![no_main]

use core::sync::atomic::{AtomicU32, Ordering};
use preempt::sync::{Arc, Mutex, Semaphore, TryLockError};
use preempt::thread::{self, Builder};
use preempt::time::Duration;
use preempt::{check, check_eq, irq, println};

preempt::entry!(main);

static M: Mutex<u32> = Mutex::new(0);
static DEAD: Mutex<u32> = Mutex::new(0);
static SEM: Semaphore = Semaphore::new(0);
static MODE: AtomicU32 = AtomicU32::new(0);
static OUTCOME: AtomicU32 = AtomicU32::new(0);
static WOKEN: AtomicU32 = AtomicU32::new(0);

const GOT: u32 = 1;
const BUSY: u32 = 2;
const POISONED: u32 = 3;

fn handler(_line: u32) {
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
    let sgi = 7;
    irq::register(irq::sgi_line(sgi), handler).expect("register");

    irq::trigger_software(sgi).expect("sgi");
    check_eq!(OUTCOME.load(Ordering::Relaxed), GOT);
    {
        let _g = M.lock().expect("lock");
        irq::trigger_software(sgi).expect("sgi");
        check_eq!(OUTCOME.load(Ordering::Relaxed), BUSY);
    }
    check_eq!(*M.lock().expect("lock"), 1);

    // DEAD: a holder that a waiter timed out on (the lock word now says "ask the scheduler"),
    // then died holding it.
    let holder = Builder::new()
        .priority(200)
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
