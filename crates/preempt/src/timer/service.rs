//! The timer service: one thread that runs every timer's callback, in deadline order, and a
//! supervisor that restarts it when a callback panics.
//!
//! Callbacks are user code, so they run in a thread (never in an interrupt handler or under
//! the scheduler lock), and one thread for all of them keeps the cost of a timer to a queue
//! node rather than a stack. The queue is a binary heap behind the kernel's [`Mutex`]; the
//! service sleeps on a [`Condvar`] until the earliest deadline (in counter ticks, so no
//! conversion can wake it early) or until a new timer goes to the front.
//!
//! Memory: the heap's capacity is reserved when a timer is created (room for every live
//! timer's node), so putting a periodic timer back after a firing never allocates and cannot
//! fail. Cancelling removes the node at once (O(n) in the live timers), so a program that
//! creates and cancels timers in a loop does not grow the queue.
//!
//! A panicking callback ends the service thread like any thread (no unwinding). A second,
//! otherwise idle thread, the supervisor, is blocked in `join` on the service thread: when
//! the join reports a panic it stops the timer whose callback was running (its closure is
//! dropped by the next service thread) and starts a new service thread, which carries on
//! with every other timer.

use alloc::collections::BinaryHeap;
use alloc::string::String;
use core::sync::atomic::{AtomicBool, Ordering};
use core::time::Duration;

use sched_core::periodic::{last_due, nth_deadline};

use super::entry::{Callback, Entry, Node};
use super::TimerError;
use crate::kernel::shared::Shared;
use crate::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use crate::thread::{self, Builder, JoinHandle, Thread};
use crate::time::Instant;

/// The service thread's name (panic reports of callbacks name it).
pub(super) const SERVICE_NAME: &str = "timer-service";
const SUPERVISOR_NAME: &str = "timer-supervisor";
/// The supervisor only spawns and joins: a small stack does.
const SUPERVISOR_STACK: usize = 16 * 1024;
/// How long the supervisor waits before trying again to start a service thread the heap has
/// no room for.
const RETRY: Duration = Duration::from_millis(10);

struct State {
    queue: BinaryHeap<Node>,
    /// Timers active (queued, or running and to be queued again).
    live: usize,
    /// Next queue sequence number (ties between equal deadlines go to the first queued).
    seq: u64,
    /// The timer whose callback is running.
    running: Option<Shared<Entry>>,
    /// A timer whose callback panicked: the next service thread drops its closure.
    crashed: Option<Shared<Entry>>,
    /// The service thread, once started.
    service: Option<Thread>,
    /// Its join handle, until the supervisor takes it.
    service_join: Option<JoinHandle<()>>,
    /// The supervisor, once started.
    supervisor: Option<Thread>,
}

static STATE: Mutex<State> = Mutex::new(State {
    queue: BinaryHeap::new(),
    live: 0,
    seq: 0,
    running: None,
    crashed: None,
    service: None,
    service_join: None,
    supervisor: None,
});
/// Signalled when a timer goes to the front of the queue.
static WAKE: Condvar = Condvar::new();
/// Set once threads of the service exist (so a priority change before that takes no lock).
static STARTED: AtomicBool = AtomicBool::new(false);

/// The service state. The lock is never held while user code runs, so a poisoning can only
/// come from a service thread that died in the service's own code: the state is still whole.
fn state() -> MutexGuard<'static, State> {
    STATE.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Schedules a new timer: reserves its queue room, starts the service if need be, queues its
/// first deadline. On `Err` nothing is queued (the caller drops the entry and callback).
pub(super) fn add(entry: &Shared<Entry>) -> Result<(), TimerError> {
    let mut st = state();
    let need = (st.live + 1).saturating_sub(st.queue.len());
    st.queue
        .try_reserve(need)
        .map_err(|_| TimerError::OutOfMemory)?;
    start(&mut st)?;
    let deadline = nth_deadline(entry.start, entry.interval_ns, 1, Instant::frequency());
    entry.active.store(true, Ordering::Release);
    st.live += 1;
    push(&mut st, entry.clone(), 1, deadline);
    let first = st.queue.peek().is_some_and(|n| n.is_for(entry));
    drop(st);
    if first {
        WAKE.notify_one();
    }
    Ok(())
}

/// Stops a timer: it is never queued again. Unless called from its own callback, also waits
/// for a running callback to finish and drops the closure (here, in the caller's thread).
pub(super) fn cancel(entry: &Shared<Entry>) {
    let mut st = state();
    if entry.active.swap(false, Ordering::AcqRel) {
        st.live -= 1;
        st.queue.retain(|n| !n.is_for(entry));
    }
    let inside = st
        .running
        .as_ref()
        .is_some_and(|r| core::ptr::eq(&**r, &**entry))
        && st
            .service
            .as_ref()
            .is_some_and(|s| s.id() == thread::current().id());
    drop(st);
    if !inside {
        // Waits for a running callback (the service holds the mutex while it runs).
        drop(entry.take_callback());
    }
    // From inside, the service drops the closure once the callback returns.
}

/// Gives the service's threads the priority last set (`config::set_timer_priority` stores
/// it first), if they exist.
pub(crate) fn apply_priority() {
    // SeqCst with the setter's store and `start`: either this sees the service started, or
    // `start` sees the new priority.
    if !STARTED.load(Ordering::SeqCst) {
        return;
    }
    let st = state();
    // Read under the state's lock, not passed in: of two calls at once, the one that takes
    // the lock last reads the value stored last, so the threads end at the setting's value
    // (with the value passed in, the first store could be applied last).
    let priority = crate::config::timer_priority();
    for t in st.service.iter().chain(st.supervisor.iter()) {
        t.set_priority(priority);
    }
}

fn push(st: &mut State, entry: Shared<Entry>, index: u64, deadline: u64) {
    let seq = st.seq;
    st.seq = seq.wrapping_add(1);
    // Never allocates: `add` reserved room for every live timer.
    st.queue.push(Node {
        deadline,
        seq,
        index,
        entry,
    });
}

/// Starts the service thread and its supervisor if they are not running yet.
fn start(st: &mut State) -> Result<(), TimerError> {
    if st.service.is_none() {
        let handle = spawn_service()?;
        st.service = Some(handle.thread().clone());
        st.service_join = Some(handle);
    }
    if st.supervisor.is_none() {
        let handle = Builder::new()
            .name(try_name(SUPERVISOR_NAME)?)
            .priority(crate::config::timer_priority())
            .stack_size(SUPERVISOR_STACK)
            .spawn(supervise)
            .map_err(|_| TimerError::OutOfMemory)?;
        st.supervisor = Some(handle.thread().clone());
        // Detached: it never ends.
        STARTED.store(true, Ordering::SeqCst);
        // A priority set while these were spawned (see `set_priority`).
        let priority = crate::config::timer_priority();
        for t in st.service.iter().chain(st.supervisor.iter()) {
            t.set_priority(priority);
        }
    }
    Ok(())
}

fn spawn_service() -> Result<JoinHandle<()>, TimerError> {
    Builder::new()
        .name(try_name(SERVICE_NAME)?)
        .priority(crate::config::timer_priority())
        .spawn(serve)
        .map_err(|_| TimerError::OutOfMemory)
}

/// A thread name, allocated fallibly (`Builder::name` would panic if the heap is full).
fn try_name(name: &str) -> Result<String, TimerError> {
    let mut s = String::new();
    s.try_reserve_exact(name.len())
        .map_err(|_| TimerError::OutOfMemory)?;
    s.push_str(name);
    Ok(s)
}

/// The supervisor: waits for the service thread to die, then stops the timer that killed it
/// and starts a new one.
fn supervise() {
    loop {
        let handle = state().service_join.take();
        let Some(handle) = handle else {
            // Only if a restart failed for want of memory: try again a little later (unless
            // a new timer has started a service meanwhile: there is only ever one).
            thread::sleep(RETRY);
            let mut st = state();
            if st.service.is_some() {
                continue;
            }
            if let Ok(h) = spawn_service() {
                st.service = Some(h.thread().clone());
                st.service_join = Some(h);
            }
            continue;
        };
        if handle.join().is_ok() {
            continue; // `serve` never returns; nothing to restart if it did
        }
        let mut st = state();
        if let Some(e) = st.running.take() {
            if e.active.swap(false, Ordering::AcqRel) {
                st.live -= 1;
            }
            st.crashed = Some(e);
        }
        st.service = None;
        if let Ok(h) = spawn_service() {
            st.service = Some(h.thread().clone());
            st.service_join = Some(h);
        }
    }
}

/// The service thread: runs each callback when its deadline has passed, earliest first.
fn serve() {
    let crashed = state().crashed.take();
    if let Some(e) = crashed {
        drop(e.take_callback());
    }
    let freq = Instant::frequency();
    loop {
        let mut st = state();
        let node = loop {
            let now = Instant::now().ticks();
            match st.queue.peek() {
                None => st = WAKE.wait(st).unwrap_or_else(PoisonError::into_inner),
                Some(n) if n.deadline > now => {
                    let deadline = n.deadline;
                    st = WAKE
                        .wait_until_ticks(st, deadline)
                        .0
                        .unwrap_or_else(PoisonError::into_inner);
                }
                Some(_) => break st.queue.pop().expect("the queue has a node: just peeked"),
            }
        };
        let entry = node.entry;
        // Deadlines that have passed as well are covered by this one firing, and counted.
        let last = if entry.periodic {
            last_due(
                entry.start,
                entry.interval_ns,
                freq,
                node.index,
                Instant::now().ticks(),
            )
        } else {
            node.index
        };
        entry
            .overruns
            .fetch_add(last - node.index, Ordering::Relaxed);
        st.running = Some(entry.clone());
        drop(st);

        let ran = run(&entry);

        let mut st = state();
        st.running = None;
        let over = if ran && entry.periodic && entry.is_active() {
            let next = last.saturating_add(1);
            let deadline = nth_deadline(entry.start, entry.interval_ns, next, freq);
            push(&mut st, entry.clone(), next, deadline);
            false
        } else {
            if entry.active.swap(false, Ordering::AcqRel) {
                st.live -= 1;
            }
            true
        };
        drop(st);
        if over {
            let f: Option<Callback> = entry.take_callback();
            drop(f);
        }
    }
}

/// Runs the callback if the timer is still active; false if it was not run.
fn run(entry: &Entry) -> bool {
    let mut guard = entry
        .callback
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    // A `cancel` that began after this firing was taken off the queue stops it here.
    if !entry.is_active() {
        return false;
    }
    match guard.as_mut() {
        Some(f) => {
            entry.fired.fetch_add(1, Ordering::Relaxed);
            f();
            true
        }
        None => false,
    }
}
