//! A mutex whose holder died (no unwinding: its guard is never dropped) is poisoned at once, as
//! in std: `is_poisoned`, `try_lock`, `get_mut` and `into_inner` all report it before anyone
//! locks it again, both when the dead holder took it uncontended and after a waiter queued.
//! `clear_poison` on such a mutex frees it for good.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::boxed::Box;
use preempt::sync::{Arc, Mutex, Semaphore, TryLockError};
use preempt::thread::{self, Builder};
use preempt::time::Duration;
use preempt::{check, check_eq, println};

preempt::entry!(main);

fn die_holding(m: &'static Mutex<u32>) {
    let r = thread::spawn(move || {
        let _g = m.lock();
        panic!("dying with the lock held");
    })
    .join();
    check!(r.is_err());
}

fn main() {
    // Uncontended: the dead holder's id is all the lock word says.
    static A: Mutex<u32> = Mutex::new(1);
    die_holding(&A);
    check!(A.is_poisoned(), "a dead holder is not reported as poison");
    match A.try_lock() {
        Err(TryLockError::Poisoned(p)) => check_eq!(*p.into_inner(), 1),
        Err(TryLockError::WouldBlock) => {
            preempt::testing::_fail(file!(), line!(), format_args!("try_lock: WouldBlock"))
        }
        Ok(_) => preempt::testing::_fail(file!(), line!(), format_args!("try_lock: Ok")),
    }
    check!(A.is_poisoned(), "poison stays until cleared");
    A.clear_poison();
    check!(!A.is_poisoned());
    check!(A.lock().is_ok());

    // clear_poison without locking first releases the dead holder's hold.
    static B: Mutex<u32> = Mutex::new(2);
    die_holding(&B);
    B.clear_poison();
    check!(
        !B.is_poisoned(),
        "clear_poison kept the poison of a dead holder"
    );
    check!(
        B.try_lock().is_ok(),
        "clear_poison left the dead holder owning it"
    );

    // Contended: a waiter timed out (the scheduler records the owner), then the owner died.
    // The holder says when it holds the lock (with several cores it starts on another one
    // while `main` goes on, so `spawn` returning does not mean it has locked).
    static LOCKED: Semaphore = Semaphore::new(0);
    let c = Arc::new(Mutex::new(3u32));
    let c2 = c.clone();
    let holder = Builder::new()
        .priority(200)
        .spawn(move || {
            let _g = c2.lock();
            LOCKED.release();
            thread::park();
            panic!("dying with a contended lock held");
        })
        .expect("spawn");
    LOCKED.acquire();
    check!(matches!(
        c.lock_timeout(Duration::from_millis(1)),
        Err(TryLockError::WouldBlock)
    ));
    holder.thread().unpark();
    check!(holder.join().is_err());
    check!(
        c.is_poisoned(),
        "a dead holder of a contended lock is not reported as poison"
    );
    c.clear_poison();
    check!(!c.is_poisoned());
    check!(
        c.lock().is_ok(),
        "the dead holder's stale hint poisoned it again"
    );

    // get_mut and into_inner, which need the mutex itself: a thread borrows it through a raw
    // pointer and dies holding it.
    let mut boxed = Box::new(Mutex::new(4u32));
    let addr = &*boxed as *const Mutex<u32> as usize;
    let r = thread::spawn(move || {
        // SAFETY: the box outlives this thread, which `main` joins before touching it again.
        let m = unsafe { &*(addr as *const Mutex<u32>) };
        let _g = m.lock();
        panic!("dying with the lock held");
    })
    .join();
    check!(r.is_err());
    check!(
        boxed.get_mut().is_err(),
        "get_mut: a dead holder is not poison"
    );
    match boxed.into_inner() {
        Err(p) => check_eq!(p.into_inner(), 4),
        Ok(_) => preempt::testing::_fail(
            file!(),
            line!(),
            format_args!("into_inner: a dead holder is not poison"),
        ),
    }
    println!("mutex_dead_holder: ok");
}
