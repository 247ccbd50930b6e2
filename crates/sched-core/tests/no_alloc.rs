//! The scheduler is called from the timer interrupt and from wake-ups with
//! interrupts masked, where the kernel heap may be locked or unusable. This
//! test counts heap allocations made by the calls that can happen there and
//! requires the count to be zero; only `spawn`/`add_idle` and the `create_*`
//! methods of synchronization objects may allocate. The waking side of every
//! primitive (`wake_one`, `wake_all`, `sem_release`, `event_set`, `unpark`,
//! `mutex_unlock`) and timeouts inside `tick` are covered, and so are the
//! blocking calls, which do not need to allocate either.
//!
//! Counting needs a global allocator, which is the only unsafe code in this
//! crate's tree: it forwards every call to `System` unchanged.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use sched_core::{EventMode, ExitStatus, JoinPoll, LockPoll, Scheduler, State, ThreadId};

thread_local! {
    static ARMED: Cell<bool> = const { Cell::new(false) };
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

struct Counting;

fn note() {
    let _ = ARMED.try_with(|armed| {
        if armed.get() {
            let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
        }
    });
}

// SAFETY: every method forwards its arguments unchanged to `System`, which
// implements `GlobalAlloc` correctly; `note` only touches const-initialised
// thread-locals and never allocates.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note();
        // SAFETY: our caller upholds `alloc`'s contract, which we pass on.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note();
        // SAFETY: as for `alloc`.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System` through this allocator with `layout`.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note();
        // SAFETY: `ptr` came from `System` through this allocator with `layout`,
        // and our caller upholds `realloc`'s contract on `new_size`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Runs `f` and fails if it allocated.
fn no_alloc<R>(what: &str, f: impl FnOnce() -> R) -> R {
    ALLOCATIONS.with(|n| n.set(0));
    ARMED.with(|a| a.set(true));
    let r = f();
    ARMED.with(|a| a.set(false));
    let n = ALLOCATIONS.with(Cell::get);
    assert_eq!(n, 0, "{what} allocated {n} times");
    r
}

/// A tiny deterministic generator, so the armed region runs no test machinery.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, bound: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % bound
    }
}

#[test]
fn interrupt_paths_and_decisions_never_allocate() {
    let mut s: Scheduler<u64> = Scheduler::new(2);
    s.add_idle(0, 0);
    s.add_idle(1, 0);
    let mut ids: Vec<ThreadId> = (0..24).map(|i| s.spawn((i % 4) as u8 * 10, i)).collect();
    let _ = s.start(0);
    let _ = s.start(1);
    let q = s.create_queue();
    let mutexes = [s.create_mutex(), s.create_mutex(), s.create_mutex()];
    let sem = s.create_semaphore(1);
    let ev = s.create_event_flags();
    // Make sure the check itself works before relying on it.
    ARMED.with(|a| a.set(true));
    let probe = vec![1u8];
    ARMED.with(|a| a.set(false));
    assert_eq!(
        ALLOCATIONS.with(Cell::get),
        1,
        "allocation counter is not counting"
    );
    drop(probe);

    let mut rng = Lcg(7);
    let mut now = 0;
    for step in 0..20_000 {
        let cpu = rng.next(2) as usize;
        let pick = ids[rng.next(ids.len() as u64) as usize];
        let cur = s.current(cpu);
        let real = !s.is_idle(cur);
        let deadline = match rng.next(3) {
            0 => None,
            _ => Some(now + rng.next(5)),
        };
        // The kernel's lock take: the time of the decisions.
        no_alloc("set_now", || s.set_now(now));
        if rng.next(2) == 0 {
            sync_step(&mut s, &mut rng, cpu, pick, deadline, (q, mutexes, sem, ev));
            release(&mut s, cpu);
            continue;
        }
        match rng.next(11) {
            0 | 1 => {
                now += rng.next(3);
                let _ = no_alloc("tick", || s.tick(cpu, now));
                let _ = no_alloc("retime_now", || s.retime_now(cpu));
                let _ = no_alloc("alarm", || s.alarm(1 - cpu));
            }
            2 if real => {
                let _ = no_alloc("sleep_until", || s.sleep_until(cpu, now + rng.next(6)));
            }
            3 if real => {
                let _ = no_alloc("block_current", || s.block_current(cpu));
            }
            4 => {
                let _ = no_alloc("wake", || s.wake(pick));
                let _ = no_alloc("preempt_check", || s.preempt_check(cpu));
            }
            5 => {
                let _ = no_alloc("yield_now", || s.yield_now(cpu));
            }
            6 => {
                let p = rng.next(4) as u8 * 10;
                let _ = no_alloc("set_priority", || s.set_priority(pick, p));
                let _ = no_alloc("preempt_check", || s.preempt_check(cpu));
            }
            7 if real => {
                if let Ok(JoinPoll::Exited(_)) = no_alloc("join", || s.join(cpu, pick)) {
                    let _ = no_alloc("reap", || s.reap(pick));
                }
            }
            8 if real && step % 3 == 0 => {
                let out = no_alloc("exit_current", || s.exit_current(cpu, ExitStatus::Finished));
                // Dropping the data of a detached thread is the kernel's job,
                // after the switch; here it is a plain integer.
                let _ = out.dead;
            }
            9 => {
                if matches!(s.state(pick), Some(State::Zombie(_))) {
                    let _ = no_alloc("reap", || s.reap(pick));
                } else if rng.next(4) == 0 {
                    let _ = no_alloc("detach", || s.detach(pick));
                }
            }
            _ => {
                // Thread creation may allocate; keep the population up.
                if s.thread_count() < 24 {
                    ids.push(s.spawn(rng.next(4) as u8 * 10, step));
                }
            }
        }
        let _ = no_alloc("next_deadline", || s.next_deadline());
        release(&mut s, cpu);
    }
    s.check_invariants().unwrap();
}

/// The kernel's lock release: the timer programmed anew if need be, the kicks sent.
fn release(s: &mut Scheduler<u64>, cpu: usize) {
    let _ = no_alloc("retime", || s.retime(cpu));
    let _ = no_alloc("take_new_kicks", || s.take_new_kicks());
}

type Objects = (
    sched_core::QueueId,
    [sched_core::MutexId; 3],
    sched_core::SemId,
    sched_core::EventId,
);

/// One random synchronization operation, every call checked for allocation.
fn sync_step(
    s: &mut Scheduler<u64>,
    rng: &mut Lcg,
    cpu: usize,
    pick: ThreadId,
    deadline: Option<u64>,
    (q, mutexes, sem, ev): Objects,
) {
    let real = !s.is_idle(s.current(cpu));
    let m = mutexes[rng.next(3) as usize];
    match rng.next(13) {
        0 if real => drop(no_alloc("wait_on", || s.wait_on(cpu, q, deadline))),
        1 => {
            let _ = no_alloc("wake_one", || s.wake_one(q));
            let _ = no_alloc("preempt_check", || s.preempt_check(cpu));
        }
        2 => drop(no_alloc("wake_all", || s.wake_all(q))),
        3 if real => {
            if let Ok(LockPoll::Acquired) =
                no_alloc("mutex_lock", || s.mutex_lock(cpu, m, deadline))
            {
                let _ = no_alloc("take_wait_result", || s.take_wait_result(cpu));
            }
        }
        4 | 5 => {
            for m in mutexes {
                if s.mutex_owner(m) == Some(s.current(cpu)) {
                    let _ = no_alloc("mutex_unlock", || s.mutex_unlock(cpu, m));
                    break;
                }
            }
        }
        6 if real => drop(no_alloc("sem_acquire", || {
            s.sem_acquire(cpu, sem, deadline)
        })),
        7 => drop(no_alloc("sem_release", || s.sem_release(sem))),
        8 if real => {
            let mask = 1 + rng.next(7) as u32;
            let _ = no_alloc("event_wait", || {
                s.event_wait(cpu, ev, mask, EventMode::Any, true, deadline)
            });
        }
        9 => {
            let bits = rng.next(8) as u32;
            let _ = no_alloc("event_set", || s.event_set(ev, bits));
        }
        10 if real => drop(no_alloc("park", || s.park(cpu, deadline))),
        11 => drop(no_alloc("unpark", || s.unpark(pick))),
        12 if real => {
            let (set, wait_for) = (rng.next(8) as u32, rng.next(8) as u32);
            let _ = no_alloc("event_sync", || {
                s.event_sync(cpu, ev, set, wait_for, deadline)
            });
        }
        _ => {}
    }
}

/// The kernel's growth protocol: plan and grow under its lock (neither
/// allocates), allocate in between; then spawning and creating objects store
/// without allocating, and the old buffers are handed back to be freed.
#[test]
fn spawn_and_create_never_allocate_once_room_is_reserved() {
    let mut s: Scheduler<u64> = Scheduler::new(1);
    s.add_idle(0, 0);
    let _ = s.start(0);
    let mut spawned = 0u64;
    for round in 0..200u64 {
        let threads = 1 + (round % 3) as usize;
        let objects = 1 + (round % 5) as usize;
        if let Some(plan) = no_alloc("growth_plan", || s.growth_plan(threads, objects)) {
            let growth = plan
                .allocate::<u64, sched_core::Checked>()
                .expect("host heap");
            let old = no_alloc("grow", || s.grow(growth));
            drop(old);
        }
        assert!(no_alloc("growth_plan", || s.growth_plan(threads, objects)).is_none());
        assert!(s.object_room() >= objects);
        no_alloc("spawn and create", || {
            for _ in 0..threads {
                s.spawn(5, spawned);
                spawned += 1;
            }
            for i in 0..objects {
                match i % 4 {
                    0 => drop(s.create_queue()),
                    1 => drop(s.create_mutex()),
                    2 => drop(s.create_semaphore(1)),
                    _ => drop(s.create_event_flags()),
                }
            }
        });
    }
    assert_eq!(s.thread_count(), spawned as usize);
}
