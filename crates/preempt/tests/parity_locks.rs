//! std parity of the locks: `RwLock::{is_poisoned, clear_poison, get_mut, into_inner}`,
//! `OnceLock::{get_mut, take, into_inner}`, `LazyLock` (one initialization shared by racing
//! threads; a panicking initializer poisons it and every later access panics), and a `ThreadId`
//! whose `Option` costs nothing.
//! xtask: expect-output=LazyLock instance has previously been poisoned
//! xtask: expect-output=parity_locks: ok
//! xtask: timeout=60
#![no_std]
#![no_main]

extern crate alloc;

use alloc::boxed::Box;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::mem::size_of;
use core::sync::atomic::{AtomicU32, Ordering};
use preempt::sync::{Arc, LazyLock, Mutex, OnceLock, RwLock};
use preempt::thread::{self, ThreadId};
use preempt::time::Duration;
use preempt::{check, check_eq, println};

preempt::entry!(main);

static INITS: AtomicU32 = AtomicU32::new(0);
static LAZY: LazyLock<u32> = LazyLock::new(|| {
    INITS.fetch_add(1, Ordering::SeqCst);
    // Long enough that the other threads arrive while it runs.
    thread::sleep(Duration::from_millis(5));
    42
});
static BAD_RUNS: AtomicU32 = AtomicU32::new(0);
static BAD: LazyLock<u32> = LazyLock::new(|| {
    BAD_RUNS.fetch_add(1, Ordering::SeqCst);
    panic!("the lazy initializer fails")
});

fn rwlock() {
    // Healthy lock: no poison, exclusive access without locking.
    let mut lock = RwLock::new(1u32);
    check!(!lock.is_poisoned());
    *lock.get_mut().expect("get_mut on a healthy lock") += 1;
    check_eq!(*lock.read().expect("read"), 2);
    lock.clear_poison(); // harmless on a healthy lock
    check_eq!(lock.into_inner().expect("into_inner on a healthy lock"), 2);

    // A reader that dies does not poison (std: only a panicking writer does).
    let lock = Arc::new(RwLock::new(String::from("a")));
    let l = lock.clone();
    let r = thread::spawn(move || {
        let _g = l.read().expect("read");
        panic!("a reader dies");
    })
    .join();
    check!(r.is_err());
    check!(!lock.is_poisoned(), "a dead reader poisoned the lock");
    drop(lock.write().expect("write after a dead reader"));

    // A writer that dies poisons it, seen at once by is_poisoned.
    let l = lock.clone();
    let r = thread::spawn(move || {
        let mut g = l.write().expect("write");
        g.push('b');
        panic!("a writer dies");
    })
    .join();
    check!(r.is_err());
    check!(lock.is_poisoned(), "a dead writer did not poison the lock");
    check!(lock.is_poisoned(), "is_poisoned cleared the poison");
    match lock.read() {
        Ok(_) => check!(false, "read of a poisoned lock was Ok"),
        Err(p) => check_eq!(p.into_inner().as_str(), "ab"),
    }
    check!(lock.write().is_err());
    check!(lock.try_read().is_err());
    lock.clear_poison();
    check!(!lock.is_poisoned(), "clear_poison left it poisoned");
    check_eq!(lock.read().expect("read after clear_poison").as_str(), "ab");
    lock.write().expect("write after clear_poison").push('c');

    // The exclusive accessors report a dead writer (one nobody waited for, so nothing
    // noticed it before) and still give the data.
    let mut lock = with_dead_holder(RwLock::new(String::from("abc")), |l| {
        let _g = l.write().expect("write");
        panic!("another writer dies");
    });
    match lock.get_mut() {
        Ok(_) => check!(false, "get_mut of a poisoned lock was Ok"),
        Err(p) => p.into_inner().push('d'),
    }
    match lock.into_inner() {
        Ok(_) => check!(false, "into_inner of a poisoned lock was Ok"),
        Err(p) => check_eq!(p.into_inner().as_str(), "abcd"),
    }
}

/// Runs `f` on `value` in a thread that dies (a panicking thread does not unwind, so an `Arc`
/// clone it held would never be dropped), and gives `value` back afterwards.
fn with_dead_holder<L: Sync + 'static>(value: L, f: fn(&L)) -> L {
    let raw = Box::into_raw(Box::new(value)) as usize;
    // SAFETY: `raw` stays allocated until the thread has ended; it only shares it.
    let r = thread::spawn(move || f(unsafe { &*(raw as *const L) })).join();
    check!(r.is_err(), "the holder was expected to die");
    // SAFETY: the one thread that borrowed it has ended; this takes the box back once.
    *unsafe { Box::from_raw(raw as *mut L) }
}

fn mutex() {
    let m = with_dead_holder(Mutex::new(5u32), |m| {
        let _g = m.lock().expect("lock");
        panic!("a holder dies");
    });
    check!(m.is_poisoned());
    m.clear_poison();
    check!(!m.is_poisoned());
    let mut m = m;
    *m.get_mut().expect("get_mut after clear_poison") += 1;
    check_eq!(m.into_inner().expect("into_inner"), 6);
}

fn once_lock() {
    let mut cell: OnceLock<String> = OnceLock::new();
    check!(cell.get_mut().is_none());
    check!(cell.take().is_none());
    cell.set(String::from("x")).expect("set");
    cell.get_mut().expect("get_mut").push('y');
    check_eq!(cell.get().map(String::as_str), Some("xy"));
    check_eq!(cell.take().as_deref(), Some("xy"));
    check!(cell.get().is_none(), "take left a value");
    check!(cell.take().is_none());
    check_eq!(cell.get_or_init(|| String::from("z")).as_str(), "z");
    check_eq!(cell.into_inner().as_deref(), Some("z"));
    let empty: OnceLock<u32> = OnceLock::new();
    check_eq!(empty.into_inner(), None);
    // Values are dropped exactly once through take and drop.
    let counted = Arc::new(());
    let mut cell = OnceLock::new();
    check!(cell.set(counted.clone()).is_ok());
    check_eq!(Arc::strong_count(&counted), 2);
    drop(cell.take());
    check_eq!(Arc::strong_count(&counted), 1);
    check!(cell.set(counted.clone()).is_ok());
    drop(cell);
    check_eq!(Arc::strong_count(&counted), 1);
}

fn lazy_lock() {
    check!(LazyLock::get(&LAZY).is_none());
    check_eq!(format!("{:?}", LAZY), "LazyLock(<uninit>)");
    let racers: Vec<_> = (0..4).map(|_| thread::spawn(|| *LAZY + 0)).collect();
    for r in racers {
        check_eq!(r.join().expect("racer"), 42);
    }
    check_eq!(*LazyLock::force(&LAZY), 42);
    check!(
        INITS.load(Ordering::SeqCst) == 1,
        "initializer ran more than once"
    );
    check_eq!(LazyLock::get(&LAZY), Some(&42));
    check_eq!(format!("{:?}", LAZY), "LazyLock(42)");

    // Owned: force_mut, DerefMut, get_mut, Default, a capturing closure.
    let base = String::from("v");
    let mut lazy = LazyLock::new(move || base + "1");
    check!(LazyLock::get_mut(&mut lazy).is_none());
    LazyLock::force_mut(&mut lazy).push('2');
    lazy.push('3');
    check_eq!(
        LazyLock::get_mut(&mut lazy).map(|s| s.as_str()),
        Some("v123")
    );
    check_eq!(lazy.as_str(), "v123");
    let d: LazyLock<u32> = LazyLock::default();
    check_eq!(*d, 0);

    // A panicking initializer poisons it: every later access panics, the initializer is not
    // run again, and get says None.
    check!(thread::spawn(|| *BAD + 0).join().is_err());
    check!(thread::spawn(|| *LazyLock::force(&BAD)).join().is_err());
    check!(thread::spawn(|| *BAD + 1).join().is_err());
    check!(
        BAD_RUNS.load(Ordering::SeqCst) == 1,
        "poisoned initializer ran again"
    );
    check!(LazyLock::get(&BAD).is_none());
}

fn thread_id() {
    check_eq!(size_of::<Option<ThreadId>>(), size_of::<ThreadId>());
    let a = thread::current().id();
    let b = thread::spawn(|| thread::current().id())
        .join()
        .expect("join");
    check!(a != b);
    check_eq!(Some(a), Some(thread::current().id()));
}

fn main() {
    rwlock();
    mutex();
    once_lock();
    lazy_lock();
    thread_id();
    println!("parity_locks: ok");
}
