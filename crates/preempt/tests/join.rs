//! `join` returns the closure's value and blocks without spinning; thread names, ids and
//! priorities; detached threads; spawn errors are `Err`, not panics; a thread joining itself
//! fails alone, with a message.
//! xtask: expect-output=join failed: a thread cannot join itself
#![no_std]
#![no_main]

extern crate alloc;

use alloc::string::String;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, Ordering};
use preempt::thread::{self, Builder, SpawnError};
use preempt::time::Duration;
use preempt::{check, check_eq, println};

preempt::entry!(main);

static DETACHED_RAN: AtomicU64 = AtomicU64::new(0);

fn main() {
    check_eq!(thread::current().name(), Some("main"));
    check_eq!(
        thread::current().priority(),
        preempt::thread::DEFAULT_PRIORITY
    );

    // Values of several types come back.
    let h = thread::spawn(|| 6u64 * 7);
    check_eq!(h.join().expect("join"), 42);
    let v = thread::spawn(|| (0..100u32).collect::<Vec<_>>())
        .join()
        .expect("vec");
    check_eq!(v.iter().sum::<u32>(), 4950);
    let s = Builder::new()
        .name("namer")
        .priority(77)
        .spawn(|| {
            let me = thread::current();
            (
                String::from(me.name().unwrap_or("?")),
                me.priority(),
                me.id(),
            )
        })
        .expect("spawn");
    let id = s.thread().id();
    let (name, prio, seen_id) = s.join().expect("join");
    check_eq!(name.as_str(), "namer");
    check_eq!(prio, 77);
    check_eq!(seen_id, id);

    // Joining a thread that sleeps: the joiner blocks, and the thread it waits for can run
    // at a lower priority only because the joiner does not spin.
    let low = Builder::new()
        .priority(5)
        .spawn(|| {
            thread::sleep(Duration::from_millis(3));
            "late value"
        })
        .expect("spawn");
    check_eq!(low.join().expect("join"), "late value");

    // Joining a thread that already finished. It outranks main, so on main's core it would
    // finish before spawn returns; on another core it runs beside main: wait (bounded) until
    // it has finished.
    let quick = Builder::new().priority(200).spawn(|| 1u8).expect("spawn");
    for _ in 0..100 {
        if quick.is_finished() {
            break;
        }
        thread::sleep(Duration::from_micros(100));
    }
    check!(
        quick.is_finished(),
        "a one-line thread not finished 10 ms on"
    );
    check_eq!(quick.join().expect("join"), 1);

    // Nested spawns.
    let outer = thread::spawn(|| thread::spawn(|| 5u32).join().expect("inner") + 1);
    check_eq!(outer.join().expect("outer"), 6);

    // Ids are unique.
    let a = thread::spawn(|| ());
    let b = thread::spawn(|| ());
    check!(a.thread().id() != b.thread().id());
    a.join().expect("a");
    b.join().expect("b");

    // Detached threads run and are freed.
    for _ in 0..10 {
        drop(thread::spawn(|| {
            DETACHED_RAN.fetch_add(1, Ordering::Relaxed)
        }));
    }
    thread::sleep(Duration::from_millis(2));
    check_eq!(DETACHED_RAN.load(Ordering::Relaxed), 10);

    // Bad arguments are errors.
    match Builder::new().stack_size(0).spawn(|| ()) {
        Err(SpawnError::StackTooSmall { requested: 0, .. }) => {}
        other => preempt::testing::_fail(
            file!(),
            line!(),
            format_args!("stack 0: {:?}", other.map(|_| ())),
        ),
    }
    match Builder::new().stack_size(usize::MAX / 2).spawn(|| ()) {
        Err(SpawnError::OutOfMemory { .. }) => {}
        other => preempt::testing::_fail(
            file!(),
            line!(),
            format_args!("huge stack: {:?}", other.map(|_| ())),
        ),
    }
    check!(
        Builder::new()
            .stack_size(preempt::thread::MIN_STACK_SIZE)
            .spawn(|| 3)
            .expect("min")
            .join()
            == Ok(3)
    );

    // A thread handed its own handle and joining it panics (alone); the system carries on.
    static SELF_HANDLE: preempt::sync::Mutex<Option<preempt::thread::JoinHandle<()>>> =
        preempt::sync::Mutex::new(None);
    static SELF_JOIN_DONE: AtomicU64 = AtomicU64::new(0);
    // Main holds the slot while it spawns, so the thread (on another core it starts at once)
    // finds its handle there.
    let mut slot = SELF_HANDLE.lock().expect("slot");
    let h = Builder::new()
        .priority(50)
        .spawn(|| {
            let me = SELF_HANDLE
                .lock()
                .expect("slot")
                .take()
                .expect("own handle");
            SELF_JOIN_DONE.store(1, Ordering::Relaxed);
            let _ = me.join();
            SELF_JOIN_DONE.store(2, Ordering::Relaxed);
        })
        .expect("spawn");
    *slot = Some(h);
    drop(slot);
    thread::sleep(Duration::from_millis(2));
    check_eq!(SELF_JOIN_DONE.load(Ordering::Relaxed), 1);
    println!("join: ok");
}
