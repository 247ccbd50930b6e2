//! The reschedule IPI protocol (`crates/preempt/src/kernel/ipi.rs`): a kick sent while the
//! target core is deciding to idle is never lost.
//!
//! Core 1 makes a thread ready under the scheduler lock, then sends the IPI (sets the target's
//! pending bit, with the barrier `send_ipi` makes: a release). Core 0 either idles — its idle
//! loop, IRQs masked, looks for a ready thread under the lock and, finding none, waits in
//! `wfi`, which returns at once if an interrupt is pending and otherwise sleeps (the model's
//! end) — or runs a lower-priority thread that takes each pending interrupt and otherwise
//! computes on (the model's end).
//! An interrupt is acknowledged (pending cleared), its handler marks `WORK_RESCHED`, and the
//! way out decides under the lock. A spurious interrupt (an earlier kick) is pending at the
//! start, so the target can be in the middle of handling one when the real kick comes.
//! Whatever the interleaving, at the end the thread has run on core 0 or core 0's interrupt is
//! still pending (it will wake and look again).
//!
//! Planted bugs: the sender kicks before it makes the thread ready (lost on an idle core: it
//! takes the kick, finds nothing and sleeps); the busy target acknowledges the interrupt after
//! its decision instead of before (the idle loop's own look under the lock hides that one).

use std::sync::atomic::Ordering::{Acquire, Relaxed, Release};

use lock_models::{model, ticket::TicketLock};
use loom::cell::UnsafeCell;
use loom::sync::atomic::AtomicBool;
use loom::sync::Arc;
use loom::thread;

#[derive(Clone, Copy, PartialEq)]
enum Variant {
    Correct,
    KickBeforeReady,
    AckAfterDecide,
}

struct Shared {
    lock: TicketLock,
    /// The scheduler's state, under the lock: a thread is ready for core 0.
    ready: UnsafeCell<bool>,
    /// Core 0's IPI pending in the interrupt controller.
    pending: AtomicBool,
}

impl Shared {
    /// Core 0's decision under the lock: takes the ready thread, if any.
    fn decide(&self) -> bool {
        self.lock.lock_on(0);
        // SAFETY: under the lock.
        let ran = self.ready.with_mut(|r| unsafe { core::mem::take(&mut *r) });
        self.lock.unlock();
        ran
    }
}

fn ipi_wakeup(variant: Variant, idle: bool) {
    model(move || {
        let shared = Arc::new(Shared {
            lock: TicketLock::new(),
            ready: UnsafeCell::new(false),
            pending: AtomicBool::new(true), // an earlier kick, not yet taken
        });

        let sender = {
            let shared = shared.clone();
            thread::spawn(move || {
                if variant == Variant::KickBeforeReady {
                    shared.pending.store(true, Release); // planted bug
                }
                shared.lock.lock_on(1);
                // SAFETY: under the lock.
                shared.ready.with_mut(|r| unsafe { *r = true });
                shared.lock.unlock();
                if variant != Variant::KickBeforeReady {
                    shared.pending.store(true, Release); // kick(1 << 0)
                }
            })
        };

        let mut ran = false;
        // Core 0: an interrupt (acknowledge, WORK_RESCHED, the way out's preemption check);
        // true if it switched to the ready thread.
        let interrupt = || {
            if variant != Variant::AckAfterDecide {
                shared.pending.store(false, Relaxed);
            }
            let work_resched = true;
            let ran = work_resched && shared.decide();
            if variant == Variant::AckAfterDecide {
                shared.pending.store(false, Relaxed); // planted bug
            }
            ran
        };
        if idle {
            // The idle loop, IRQs masked; bounded (two interrupts at most reach it).
            for _ in 0..3 {
                if shared.decide() {
                    ran = true;
                    break;
                }
                // wfi: returns if an interrupt is pending, else the core sleeps.
                if !shared.pending.load(Acquire) {
                    break;
                }
                if interrupt() {
                    ran = true;
                    break;
                }
            }
        } else {
            // A lower-priority thread runs with IRQs enabled: it takes every pending
            // interrupt, and goes on computing when none is.
            for _ in 0..3 {
                if !shared.pending.load(Acquire) {
                    break;
                }
                if interrupt() {
                    ran = true;
                    break;
                }
            }
        }
        sender.join().unwrap();

        let still_ready = shared.ready.with(|r| {
            // SAFETY: the sender has been joined; this thread is the only one left.
            unsafe { *r }
        });
        let pending = shared.pending.load(Relaxed);
        assert!(
            ran || !still_ready || pending,
            "kick lost: a thread is ready, core 0 sleeps and nothing will wake it"
        );
    });
}

#[test]
fn kick_while_deciding_to_idle_is_never_lost() {
    ipi_wakeup(Variant::Correct, true);
}

#[test]
fn kick_to_a_busy_core_is_never_lost() {
    ipi_wakeup(Variant::Correct, false);
}

#[test]
#[should_panic(expected = "kick lost")]
fn model_catches_a_kick_before_the_change() {
    ipi_wakeup(Variant::KickBeforeReady, true);
}

#[test]
#[should_panic(expected = "kick lost")]
fn model_catches_an_acknowledge_after_the_decision() {
    ipi_wakeup(Variant::AckAfterDecide, false);
}
