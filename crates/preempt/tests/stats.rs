//! `preempt::stats`: CPU time, switch counts, states, priorities, names, ids and stacks of
//! every thread, at run time.
//!
//! Everything runs on `main`'s core (pinned): a thread that spins 1 ms and sleeps 3 ms gets a
//! quarter of the core, two equal spinners below it share the rest, and the core's idle
//! thread gets nothing, over a 100 ms window measured with two snapshots. Besides them: a
//! thread blocked on a mutex `main` holds (which boosts `main`), one asleep, one joining the
//! sleeper and one finished but not joined, each reported in its state; `main` sees itself
//! running on its core, its CPU time growing while it runs without a switch. Then `print`
//! writes the table.
//! xtask: timeout=60
//! xtask: expect-output=ID        NAME             PRIO     STATE             CPU ms   CPU%   SWITCHES  STACK used/size
//! xtask: expect-output=stats: ok
#![no_std]
#![no_main]

extern crate alloc;

use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, Ordering};
use preempt::stats::{self, ThreadState, ThreadStats};
use preempt::sync::Mutex;
use preempt::thread::{self, Builder, ThreadId};
use preempt::time::{Duration, Instant};
use preempt::{check, check_eq, cpu, println};

preempt::entry!(main);

const KIB: usize = 1024;
/// The stack `main` runs on (the kernel's `MAIN_STACK_SIZE`).
const MAIN_STACK: usize = 128 * KIB;
const STACK: usize = 16 * KIB;
const MAIN_PRIO: u8 = 128;
const BLOCKER_PRIO: u8 = 140;
const HIGH: u8 = 150;
const DUTY_PRIO: u8 = 120;
const SPIN_PRIO: u8 = 100;
const WINDOW: Duration = Duration::from_millis(100);

static STOP: AtomicBool = AtomicBool::new(false);
static M: Mutex<()> = Mutex::new(());

/// Spins until `d` has passed.
fn spin_for(d: Duration) {
    let t = Instant::now();
    while t.elapsed() < d {
        core::hint::spin_loop();
    }
}

fn find(list: &[ThreadStats], id: ThreadId) -> &ThreadStats {
    list.iter()
        .find(|t| t.id == id)
        .expect("a thread is missing from the snapshot")
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn main() {
    let here = cpu::current();
    let one = 1 << here;
    check!(thread::set_affinity(one).is_ok(), "pinning main");
    let me = thread::current().id();

    let guard = M.lock().expect("lock");
    let pinned = |name: &str, prio: u8| {
        Builder::new()
            .name(name)
            .priority(prio)
            .affinity(one)
            .stack_size(STACK)
    };
    // Each of these outranks `main` (128) on its core: it has run up to its wait when spawn
    // returns.
    let blocker = pinned("blocker", BLOCKER_PRIO)
        .spawn(|| drop(M.lock()))
        .expect("spawn blocker");
    let sleeper = pinned("sleeper", HIGH)
        .spawn(|| thread::sleep(Duration::from_secs(10)))
        .expect("spawn sleeper");
    let sleeper_id = sleeper.thread().id();
    let joiner = pinned("joiner", HIGH)
        .spawn(move || drop(sleeper.join()))
        .expect("spawn joiner");
    let done = pinned("done", HIGH).spawn(|| 7).expect("spawn done");
    // These rank below `main`, boosted or not: they run while it sleeps.
    let spinner = || {
        while !STOP.load(Ordering::Relaxed) {
            core::hint::spin_loop();
        }
    };
    let spin_a = pinned("spin_a", SPIN_PRIO).spawn(spinner).expect("spawn a");
    let spin_b = pinned("spin_b", SPIN_PRIO).spawn(spinner).expect("spawn b");
    let duty = pinned("duty", DUTY_PRIO)
        .spawn(|| {
            while !STOP.load(Ordering::Relaxed) {
                spin_for(Duration::from_millis(1));
                thread::sleep(Duration::from_millis(3));
            }
        })
        .expect("spawn duty");

    // The running thread's figure includes its current run: `main` spins 5 ms between two
    // snapshots without being switched out (everything else on its core ranks lower or waits).
    let s0 = stats::threads();
    spin_for(Duration::from_millis(5));
    let s1 = stats::threads();
    let (m0, m1) = (find(&s0, me), find(&s1, me));
    check_eq!(m1.switches, m0.switches, "main was switched while it spun");
    let grew = m1.cpu_time.saturating_sub(m0.cpu_time);
    check!(
        grew >= Duration::from_millis(5) && grew < Duration::from_millis(6),
        "main's CPU time grew by {:?} over a 5 ms spin",
        grew
    );

    // States, priorities, names, ids, stacks.
    check_eq!(m1.state, ThreadState::Running(cpu::current()));
    check_eq!(m1.name.as_deref(), Some("main"));
    check_eq!(
        (m1.priority, m1.base_priority),
        (BLOCKER_PRIO, MAIN_PRIO),
        "main inherits the blocker's priority"
    );
    check_eq!(m1.stack_size, MAIN_STACK);
    let b = find(&s1, blocker.thread().id());
    check_eq!(b.state, ThreadState::Blocked);
    check_eq!((b.priority, b.base_priority), (BLOCKER_PRIO, BLOCKER_PRIO));
    check_eq!(find(&s1, sleeper_id).state, ThreadState::Sleeping);
    check_eq!(
        find(&s1, joiner.thread().id()).state,
        ThreadState::Joining(sleeper_id)
    );
    let d = find(&s1, done.thread().id());
    check_eq!(d.state, ThreadState::Finished);
    check_eq!(d.name.as_deref(), Some("done"));
    check!(
        d.switches >= 1,
        "a thread that ran has {} switches",
        d.switches
    );
    for (h, name) in [(&spin_a, "spin_a"), (&spin_b, "spin_b")] {
        let t = find(&s1, h.thread().id());
        check_eq!(t.name.as_deref(), Some(name));
        check_eq!(t.state, ThreadState::Ready, "{} has not run yet", name);
        check_eq!(t.cpu_time, Duration::ZERO, "{} has not run yet", name);
        check_eq!(t.switches, 0, "{} has not run yet", name);
        check_eq!((t.priority, t.base_priority), (SPIN_PRIO, SPIN_PRIO));
    }
    for t in &s1 {
        check!(
            !t.is_idle() || t.stack_size == 0,
            "idle thread with a stack"
        );
        check!(
            t.is_idle() || t.id == me || t.stack_size == STACK,
            "{:?}: stack size {} (spawned with {})",
            t.name,
            t.stack_size,
            STACK
        );
        check!(
            t.stack_peak <= t.stack_size,
            "{:?}: peak {} above size {}",
            t.name,
            t.stack_peak,
            t.stack_size
        );
        check!(
            t.is_idle() || t.switches == 0 || t.stack_peak > 0,
            "{:?} ran but reports no stack use",
            t.name
        );
    }
    let idle: Vec<_> = s1.iter().filter(|t| t.is_idle()).collect();
    check_eq!(idle.len(), cpu::count(), "one idle thread per core");
    for (n, t) in idle.iter().enumerate() {
        check_eq!(t.idle_of, Some(n), "idle threads in core order");
        check_eq!(t.name.as_deref(), Some("idle"));
        check!(t.switches >= 1, "core {}'s idle thread never started", n);
    }
    check_eq!(s1.len(), 8 + cpu::count(), "threads listed");

    // CPU shares over a window in which `main` sleeps.
    let t0 = Instant::now();
    thread::sleep(WINDOW);
    let s2 = stats::threads();
    let window = t0.elapsed();
    let delta = |id: ThreadId| {
        let (a, b) = (find(&s1, id), find(&s2, id));
        check!(
            b.cpu_time >= a.cpu_time && b.switches >= a.switches,
            "{:?}: figures went down",
            a.name
        );
        (b.cpu_time - a.cpu_time, b.switches - a.switches)
    };
    let (a, a_sw) = delta(spin_a.thread().id());
    let (b, b_sw) = delta(spin_b.thread().id());
    let (du, du_sw) = delta(duty.thread().id());
    let (mn, _) = delta(me);
    let idle_here = s1
        .iter()
        .find(|t| t.idle_of == Some(here))
        .map(|t| delta(t.id).0)
        .unwrap_or_default();
    println!(
        "window {:.3} ms: spin_a {:.3} ms ({} switches), spin_b {:.3} ms ({}), duty {:.3} ms ({}), \
         main {:.3} ms, idle {:.3} ms",
        ms(window),
        ms(a),
        a_sw,
        ms(b),
        b_sw,
        ms(du),
        du_sw,
        ms(mn),
        ms(idle_here)
    );
    let share = |d: Duration| d.as_secs_f64() / window.as_secs_f64();
    let total = share(a + b + du + mn + idle_here);
    check!(
        (0.97..=1.01).contains(&total),
        "the threads of main's core account for {:.3} of the window",
        total
    );
    check!(
        (0.23..=0.26).contains(&share(du)),
        "1 ms on / 3 ms off got {:.3} of the core",
        share(du)
    );
    check!(
        (0.35..=0.39).contains(&share(a)) && (0.35..=0.39).contains(&share(b)),
        "equal spinners got {:.3} and {:.3} of the core (expected 0.375 each)",
        share(a),
        share(b)
    );
    check!(share(idle_here) < 0.01, "the busy core idled");
    check!(share(mn) < 0.01, "sleeping main was charged");
    // Each duty cycle switches the duty thread in once and a spinner back in once; slices of
    // 1 ms alternate the spinners in between.
    check!(
        (20..=30).contains(&du_sw),
        "duty thread switched in {} times in 25 cycles",
        du_sw
    );
    check!(
        (20..=200).contains(&a_sw) && (20..=200).contains(&b_sw),
        "spinners switched in {} and {} times",
        a_sw,
        b_sw
    );

    STOP.store(true, Ordering::Relaxed);
    drop(guard);
    spin_a.join().expect("spin_a");
    spin_b.join().expect("spin_b");
    duty.join().expect("duty");
    blocker.join().expect("blocker");
    check_eq!(done.join().expect("done"), 7);
    stats::print();
    println!("stats: ok");
}
