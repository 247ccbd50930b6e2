//! The event trace's per-core rings (feature `trace`): a mark is exactly one record holding
//! the label's address and length, a yield is recorded as a yield followed by the switch in
//! of the thread yielded to, a ring that wraps keeps counting; and what a mark costs. Built
//! without the feature it checks the other promise: nothing is recorded and `mark` is free.
//!
//! xtask: timeout=120
//! xtask: features=trace
#![no_std]
#![no_main]

use core::sync::atomic::{AtomicBool, Ordering};

use preempt::testing::trace::{newest, recorded};
use preempt::thread::{self, Builder};
use preempt::trace::{mark, ENABLED};
use preempt::{check, check_eq, println};
use preempt_arch::pmu;
use trace_format::{Kind, Reason};

preempt::entry!(main);

const LABEL: &str = "trace_ring: marked";

/// Records a ring keeps (`kernel/trace/ring.rs`).
const CAPACITY: u64 = 8192;

fn main() {
    // Every check below reads the ring of the core it runs on: stay on one.
    thread::set_affinity(1 << preempt::cpu::current()).expect("pin main");
    if ENABLED {
        one_mark_one_record();
        a_yield_is_recorded();
        the_ring_wraps();
    } else {
        for _ in 0..1000 {
            mark(LABEL);
        }
        check_eq!(recorded(), 0);
        check!(newest(0).is_none());
    }
    measure();
    println!(
        "trace_ring: ok (trace {})",
        if ENABLED { "on" } else { "off" }
    );
}

/// A mark adds exactly one record: kind Mark, the label's address and length, the thread.
/// (An interrupt between the two counts adds its own records: then try again.)
fn one_mark_one_record() {
    let me = thread::current().id().as_u64();
    for _ in 0..100 {
        let before = recorded();
        mark(LABEL);
        let got = newest(0);
        if recorded() != before + 1 {
            continue;
        }
        check_eq!(
            got,
            Some((
                Kind::Mark as u8,
                0,
                0,
                LABEL.len() as u32,
                me,
                LABEL.as_ptr() as u64
            ))
        );
        return;
    }
    check!(false, "no mark was recorded alone in 100 tries");
}

/// The peer below saw its SwitchIn right after main's SwitchOut (Yielded).
static SAW_YIELD: AtomicBool = AtomicBool::new(false);

/// `yield_now` to a ready peer of the same priority on this core: SwitchOut(main, Yielded),
/// then SwitchIn(peer), as the peer sees in the ring as soon as it runs.
fn a_yield_is_recorded() {
    let me = thread::current().id().as_u64();
    let peer = Builder::new()
        .name("peer")
        .affinity(1 << preempt::cpu::current())
        .priority(thread::current().priority())
        .spawn(move || {
            let peer = thread::current().id().as_u64();
            // Interrupts taken since it started may follow its SwitchIn: look a little back.
            for back in 0..16 {
                let Some(r) = newest(back) else { break };
                if r.0 == Kind::SwitchIn as u8 && r.4 == peer {
                    let out = newest(back + 1);
                    let yielded = out.is_some_and(|o| {
                        o.0 == Kind::SwitchOut as u8 && o.4 == me && o.1 == Reason::Yielded as u8
                    });
                    SAW_YIELD.store(yielded, Ordering::Relaxed);
                    break;
                }
            }
        })
        .expect("spawn peer");
    thread::yield_now();
    peer.join().expect("peer");
    check!(
        SAW_YIELD.load(Ordering::Relaxed),
        "the peer did not find SwitchOut(main, yielded) before its SwitchIn"
    );
}

/// More marks than the ring holds: the count goes on, the newest record is still ours.
fn the_ring_wraps() {
    let before = recorded();
    for _ in 0..CAPACITY + 10 {
        mark(LABEL);
    }
    check!(recorded() >= before + CAPACITY + 10);
    let me = thread::current().id().as_u64();
    let newest_mark = (0..16).filter_map(newest).find(|r| r.0 == Kind::Mark as u8);
    check!(newest_mark.is_some_and(|r| r.4 == me));
    check!(newest(CAPACITY as usize - 1).is_some());
    check!(
        newest(CAPACITY as usize).is_none(),
        "a ring keeps {} records",
        CAPACITY
    );
}

/// Instructions per `mark`, when the PMU counts them (QEMU: with `-icount`): printed, and
/// without the feature checked to be nothing beyond the loop.
fn measure() {
    if !pmu::is_available() {
        return;
    }
    pmu::enable();
    const N: u64 = 1000;
    let count = |f: &dyn Fn()| {
        let a = pmu::read_instructions();
        for _ in 0..N {
            f();
        }
        pmu::elapsed(a, pmu::read_instructions())
    };
    let empty = count(&|| {
        core::hint::black_box(LABEL);
    });
    let marks = count(&|| mark(core::hint::black_box(LABEL)));
    if empty < N {
        return; // the counter does not count here
    }
    let per_mark = marks.saturating_sub(empty) / N;
    println!("trace_ring: {per_mark} instructions per mark");
    if !ENABLED {
        check_eq!(per_mark, 0);
    }
}
