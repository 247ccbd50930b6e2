//! Switches caused by a kernel object: a low-priority thread L acts, a higher-priority thread H
//! blocked on the object wakes and preempts L at once. Each sample runs from just before L's
//! call to just after H's blocking call returns (`preempt_bench::Window`).
//! - `sem_wake_switch`: H blocks in `Semaphore::acquire`, L calls `release`;
//! - `mutex_handoff`: H blocks in `Mutex::lock` while L holds the mutex (L inherits H's
//!   priority meanwhile), L drops its guard; the mutex passes to H;
//! - `channel_wake`: H blocks in `Receiver::recv` on an empty channel, L `send`s a four-word
//!   message;
//! - `unpark_switch`: H blocks in `thread::park`, L calls `Thread::unpark` on it (Thread-Metric's
//!   preemptive test is made of these and of the park that follows).
//!
//! xtask: timeout=60
#![no_std]
#![no_main]

extern crate alloc;

use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, Ordering::Relaxed};

use preempt::sync::{mpsc, Mutex, Semaphore};
use preempt::thread::{self, JoinHandle};
use preempt_bench::{init, report, Unit, Window, SAMPLES};

preempt::entry!(main);

const HIGH: u8 = 110;
const LOW: u8 = 100;
/// Wake-ups before timing starts.
const WARMUP: usize = 100;

static WINDOW: Window = Window::new();
static DONE: AtomicBool = AtomicBool::new(false);

fn main() {
    init("wake");
    let mut s = sem_wake();
    report("sem_wake_switch", Unit::Instructions, &mut s);
    let mut s = mutex_handoff();
    report("mutex_handoff", Unit::Instructions, &mut s);
    let mut s = channel_wake();
    report("channel_wake", Unit::Instructions, &mut s);
    let mut s = unpark_switch();
    report("unpark_switch", Unit::Instructions, &mut s);
}

fn spawn<T: Send + 'static>(priority: u8, f: impl FnOnce() -> T + Send + 'static) -> JoinHandle<T> {
    preempt_bench::builder()
        .priority(priority)
        .spawn(f)
        .expect("spawn")
}

/// H's loop: `wake` blocks until L acts and closes the window as soon as the blocking call
/// returns (before any clean-up, such as dropping a guard).
fn collect(mut wake: impl FnMut() -> Option<u64>) -> Vec<u64> {
    let mut kept = Vec::with_capacity(SAMPLES);
    let mut woken = 0;
    while kept.len() < SAMPLES {
        let sample = wake();
        woken += 1;
        if let Some(s) = sample.filter(|_| woken > WARMUP) {
            kept.push(s);
        }
    }
    DONE.store(true, Relaxed);
    kept
}

fn sem_wake() -> Vec<u64> {
    static SEM: Semaphore = Semaphore::new(0);
    DONE.store(false, Relaxed);
    let high = spawn(HIGH, || {
        collect(|| {
            SEM.acquire();
            WINDOW.close()
        })
    });
    let low = spawn(LOW, || {
        while !DONE.load(Relaxed) {
            WINDOW.open();
            SEM.release();
        }
    });
    let samples = high.join().expect("high");
    low.join().expect("low");
    samples
}

fn mutex_handoff() -> Vec<u64> {
    static MUTEX: Mutex<u64> = Mutex::new(0);
    DONE.store(false, Relaxed);
    // H parks until L holds the mutex, then blocks in `lock` until L lets go.
    let high = spawn(HIGH, || {
        collect(|| {
            thread::park();
            let mut guard = MUTEX.lock().expect("mutex");
            let sample = WINDOW.close();
            *guard += 1;
            sample
        })
    });
    let h = high.thread().clone();
    let low = spawn(LOW, move || {
        while !DONE.load(Relaxed) {
            let guard = MUTEX.lock().expect("mutex");
            h.unpark(); // H runs, blocks on the mutex, L continues with H's priority
            WINDOW.open();
            drop(guard); // hands the mutex to H, which preempts L here
        }
    });
    let samples = high.join().expect("high");
    low.join().expect("low");
    samples
}

fn channel_wake() -> Vec<u64> {
    DONE.store(false, Relaxed);
    let (tx, rx) = mpsc::sync_channel::<[u64; 4]>(16);
    let high = spawn(HIGH, move || {
        collect(|| {
            let message = rx.recv().expect("recv");
            let sample = WINDOW.close();
            core::hint::black_box(message);
            sample
        })
    });
    let low = spawn(LOW, move || {
        let mut n = 0u64;
        while !DONE.load(Relaxed) {
            WINDOW.open();
            if tx.send([n, n + 1, n + 2, n + 3]).is_err() {
                break; // H is gone
            }
            n += 1;
        }
    });
    let samples = high.join().expect("high");
    low.join().expect("low");
    samples
}

fn unpark_switch() -> Vec<u64> {
    DONE.store(false, Relaxed);
    let high = spawn(HIGH, || {
        collect(|| {
            thread::park();
            WINDOW.close()
        })
    });
    let h = high.thread().clone();
    let low = spawn(LOW, move || {
        while !DONE.load(Relaxed) {
            WINDOW.open();
            h.unpark();
        }
    });
    let samples = high.join().expect("high");
    low.join().expect("low");
    samples
}
