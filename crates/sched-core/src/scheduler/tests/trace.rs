//! The event log for the kernel's trace (feature `trace`, on for the host tests): which events
//! a decision notes, in which order, with which cause and actor.

use super::{park_far, setup, spawn_running};
use crate::trace::{TraceEvent, WakeCause, TRACE_CAPACITY};
use crate::{Scheduler, ThreadId};
use std::vec::Vec;

/// The events noted since the last drain.
fn drain(s: &mut Scheduler<u32>) -> Vec<TraceEvent> {
    let mut v = Vec::new();
    s.trace_drain(|e| v.push(e));
    v
}

/// A hold by the thread running on cpu 0.
fn by_thread(s: &mut Scheduler<u32>) {
    s.trace_begin(0, false);
}

#[test]
fn a_mutex_wait_boosts_the_holder_and_the_unlock_restores_then_wakes() {
    let (mut s, _, _) = setup(5, &[]);
    let m = s.create_mutex();
    let low = spawn_running(&mut s, 10);
    by_thread(&mut s);
    let _ = s.mutex_lock(0, m, None).unwrap();
    park_far(&mut s);
    let high = spawn_running(&mut s, 200);
    drain(&mut s);

    by_thread(&mut s);
    let _ = s.mutex_lock(0, m, None).unwrap(); // high blocks, low runs boosted
    let boost = TraceEvent::Boost {
        thread: low,
        new: 200,
        old: 10,
        by: Some(high),
    };
    assert_eq!(drain(&mut s), [boost]);

    // low, woken and running, unlocks: its boost goes, then high is woken by it.
    s.wake(low).unwrap();
    let _ = s.preempt_check(0);
    assert_eq!(s.current(0), low);
    drain(&mut s);
    by_thread(&mut s);
    let _ = s.mutex_unlock(0, m).unwrap();
    assert_eq!(
        drain(&mut s),
        [
            TraceEvent::Restore {
                thread: low,
                new: 10,
                old: 200
            },
            TraceEvent::Wake {
                thread: high,
                cause: WakeCause::Thread,
                waker: Some(low)
            },
        ]
    );
    assert_eq!(drain(&mut s), [], "a drain empties the log");
}

#[test]
fn a_deadline_notes_its_expiry_then_a_wake_by_timeout_even_in_an_interrupt() {
    let (mut s, _, _) = setup(5, &[]);
    let a = spawn_running(&mut s, 10);
    let _ = s.sleep_until(0, 50);
    drain(&mut s);
    s.trace_begin(0, true);
    let _ = s.tick(0, 50);
    assert_eq!(
        drain(&mut s),
        [
            TraceEvent::TimerExpiry { thread: a },
            TraceEvent::Wake {
                thread: a,
                cause: WakeCause::Timeout,
                waker: None
            },
        ]
    );
}

#[test]
fn wakes_name_their_cause_spawn_interrupt_or_thread() {
    let (mut s, _, _) = setup(5, &[]);
    let q = s.create_queue();
    let a = spawn_running(&mut s, 10);
    drain(&mut s);
    by_thread(&mut s);
    let b = s.spawn(5, 2);
    assert_eq!(
        drain(&mut s),
        [TraceEvent::Wake {
            thread: b,
            cause: WakeCause::Spawned,
            waker: Some(a)
        }]
    );
    let _ = s.wait_on(0, q, None).unwrap(); // a waits; b runs
    drain(&mut s);
    s.trace_begin(0, true); // an interrupt handler signals
    let _ = s.wake_one(q).unwrap();
    assert_eq!(
        drain(&mut s),
        [TraceEvent::Wake {
            thread: a,
            cause: WakeCause::Interrupt,
            waker: None
        }]
    );
}

#[test]
fn an_explicit_priority_change_is_no_boost_and_the_idle_thread_wakes_nobody() {
    let (mut s, idle, _) = setup(5, &[]);
    let a = spawn_running(&mut s, 10);
    drain(&mut s);
    by_thread(&mut s);
    s.set_priority(a, 50).unwrap();
    s.set_priority(a, 5).unwrap();
    assert_eq!(drain(&mut s), []);
    park_far(&mut s);
    assert_eq!(s.current(0), idle);
    by_thread(&mut s); // the idle thread is running: no thread acts
    s.wake(a).unwrap();
    assert_eq!(
        drain(&mut s),
        [TraceEvent::Wake {
            thread: a,
            cause: WakeCause::Interrupt,
            waker: None
        }]
    );
    assert!(!s.trace_pending());
    let _ = s.spawn(1, 9);
    assert!(s.trace_pending());
}

#[test]
fn a_full_log_keeps_the_first_events_and_counts_the_rest() {
    let (mut s, _, _) = setup(5, &[]);
    let extra = 5;
    let ids: Vec<ThreadId> = (0..TRACE_CAPACITY + extra)
        .map(|i| s.spawn(1, i as u32))
        .collect();
    let events = drain(&mut s);
    assert_eq!(events.len(), TRACE_CAPACITY);
    assert!(matches!(events[0], TraceEvent::Wake { thread, .. } if thread == ids[0]));
    assert_eq!(s.trace_dropped(), extra as u64);
    assert_eq!(s.trace_dropped(), 0, "the count resets");
    // Each drain makes the whole room free again.
    for i in 0..2 * TRACE_CAPACITY {
        let _ = s.spawn(1, i as u32);
        assert_eq!(drain(&mut s).len(), 1);
    }
    assert_eq!(s.trace_dropped(), 0);
}
