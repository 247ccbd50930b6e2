//! Event flags with FreeRTOS event-group semantics: one `set` releases every waiter its bits
//! satisfy, clear-on-exit waiters included (from a thread and from an interrupt handler), and
//! `EventFlags::sync` is a rendezvous that completes round after round.
//!
//! The rendezvous: four threads of different priorities (free to run on any core) each own
//! one bit and call `sync(my_bit, ALL, ..)` 200 times. Arrival counts check that nobody
//! leaves a round before all four have arrived at it and that nobody gets more than one round
//! ahead. Under the old rule (a clear-on-exit waiter cleared its bits as it was released, so
//! the next waiter no longer saw them) a round released only one of the waiting parties, and
//! the next round could never complete.
//! xtask: timeout=120
#![no_std]
#![no_main]

extern crate alloc;

use alloc::vec::Vec;
use core::sync::atomic::{AtomicU32, Ordering};
use preempt::irq;
use preempt::sync::{EventFlags, WaitMode};
use preempt::thread::{self, Builder};
use preempt::time::{Duration, Instant};
use preempt::{check, check_eq, cpu, println};

preempt::entry!(main);

const PARTIES: usize = 4;
const ALL: u32 = (1 << PARTIES) - 1;
const ROUNDS: u32 = 200;
/// Long enough never to pass while the rendezvous works; short enough that a stuck round
/// fails the test instead of hanging it.
const ROUND_LIMIT: Duration = Duration::from_secs(10);

static RENDEZVOUS: EventFlags = EventFlags::new();
static ARRIVED: [AtomicU32; PARTIES] = [const { AtomicU32::new(0) }; PARTIES];

static FLAGS: EventFlags = EventFlags::new();
static WOKEN: AtomicU32 = AtomicU32::new(0);
static SEEN: AtomicU32 = AtomicU32::new(0);

/// One party of the rendezvous: `ROUNDS` rounds, checking the others' arrivals each time.
fn party(me: usize) -> u32 {
    for round in 1..=ROUNDS {
        ARRIVED[me].store(round, Ordering::SeqCst);
        let bits = RENDEZVOUS.sync(1 << me, ALL, ROUND_LIMIT);
        let Some(bits) = bits else {
            panic!("party {me} timed out in round {round}");
        };
        check!(
            bits & ALL == ALL,
            "party {} round {}: {:#b}",
            me,
            round,
            bits
        );
        for (other, arrived) in ARRIVED.iter().enumerate() {
            let a = arrived.load(Ordering::SeqCst);
            check!(
                a == round || a == round + 1,
                "party {} left round {} while party {} had arrived at {}",
                me,
                round,
                other,
                a
            );
        }
    }
    ROUNDS
}

fn rendezvous() {
    let prios = [60u8, 90, 150, 200];
    let parties: Vec<_> = (0..PARTIES)
        .map(|me| {
            Builder::new()
                .priority(prios[me])
                .spawn(move || party(me))
                .expect("spawn party")
        })
        .collect();
    for p in parties {
        check_eq!(p.join().expect("party"), ROUNDS);
    }
    check_eq!(RENDEZVOUS.get(), 0);
}

/// Three threads of main's core, each waiting with clear-on-exit for its own bits (two
/// "all", one "any"), all outranking main so they are blocked before the set. One set of
/// all their bits (by `set`) must release all three, each seeing the same value, and leave
/// only the bit nobody asked to clear.
fn spawn_waiters(core: u32) -> Vec<preempt::thread::JoinHandle<Option<u32>>> {
    [
        (0b0001, WaitMode::All, 200u8),
        (0b0110, WaitMode::All, 210),
        (0b0100, WaitMode::Any, 220),
    ]
    .into_iter()
    .map(|(mask, mode, prio)| {
        Builder::new()
            .priority(prio)
            .affinity(core)
            .spawn(move || {
                let r = FLAGS.wait_timeout(mask, mode, true, ROUND_LIMIT);
                if let Some(bits) = r {
                    SEEN.fetch_or(bits, Ordering::Relaxed);
                    WOKEN.fetch_add(1, Ordering::Relaxed);
                }
                r
            })
            .expect("spawn waiter")
    })
    .collect()
}

fn check_released(waiters: Vec<preempt::thread::JoinHandle<Option<u32>>>, how: &str) {
    let woken = WOKEN.load(Ordering::Relaxed);
    check!(woken == 3, "one set {} woke {} of 3 waiters", how, woken);
    for w in waiters {
        let seen = w.join().expect("waiter");
        check!(
            seen == Some(0b1111),
            "a waiter woken {} saw {:?}",
            how,
            seen
        );
    }
    check_eq!(SEEN.load(Ordering::Relaxed), 0b1111);
    let left = FLAGS.get();
    check!(left == 0b1000, "bits left after a set {}: {:#b}", how, left);
    FLAGS.clear(ALL);
    WOKEN.store(0, Ordering::Relaxed);
    SEEN.store(0, Ordering::Relaxed);
}

fn handler(_line: u32) {
    FLAGS.set(0b0111);
}

fn set_releases_every_waiter(core: u32) {
    FLAGS.set(0b1000);
    let waiters = spawn_waiters(core);
    check_eq!(WOKEN.load(Ordering::Relaxed), 0);
    FLAGS.set(0b0111);
    check_released(waiters, "from a thread");

    let sgi = 4;
    let line = irq::sgi_line(sgi);
    irq::register(line, handler).expect("register");
    FLAGS.set(0b1000);
    let waiters = spawn_waiters(core);
    check_eq!(WOKEN.load(Ordering::Relaxed), 0);
    irq::trigger_software(sgi).expect("sgi");
    check_released(waiters, "from an interrupt handler");
    irq::unregister(line).expect("unregister");
}

fn sync_edges() {
    let ev = EventFlags::new();
    // Nobody else arrives: times out, leaving its own bit set and clearing nothing.
    let d = Duration::from_millis(5);
    let t = Instant::now();
    check_eq!(ev.sync(0b01, 0b11, d), None);
    check!(t.elapsed() >= d, "sync returned early: {:?}", t.elapsed());
    check_eq!(ev.get(), 0b01); // a timed-out sync leaves its bits
                               // The last party: through at once, clearing what it waited for.
    check_eq!(ev.sync(0b10, 0b11, Duration::ZERO), Some(0b11));
    check_eq!(ev.get(), 0);
    // Nothing to wait for: only sets.
    check_eq!(ev.sync(0b100, 0, Duration::ZERO), Some(0b100));
    check_eq!(ev.get(), 0b100);
    // The sync's set releases a waiter that wants more than the sync itself.
    let ev = preempt::sync::Arc::new(ev);
    let e2 = ev.clone();
    let core = 1u32 << cpu::current();
    let w = Builder::new()
        .priority(200)
        .affinity(core)
        .spawn(move || e2.wait_timeout(0b1100, WaitMode::All, true, ROUND_LIMIT))
        .expect("spawn");
    check_eq!(ev.sync(0b1000, 0b1000, Duration::ZERO), Some(0b1100));
    check_eq!(w.join().expect("waiter"), Some(0b1100));
    check_eq!(ev.get(), 0);
}

fn main() {
    let core = 1u32 << cpu::current();
    thread::set_affinity(core).expect("pin main");
    sync_edges();
    set_releases_every_waiter(core);
    thread::set_affinity(u32::MAX).expect("unpin main");
    rendezvous();
    println!("event_sync: ok ({} rounds of {} parties)", ROUNDS, PARTIES);
}
