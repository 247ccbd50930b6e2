//! Software timers (`preempt::timer`): bad input and out-of-memory give errors; one-shots
//! fire in deadline order and never early; a 1 ms periodic timer keeps to `start + n * 1 ms`
//! over 1,000 periods (no drift); `cancel` from outside stops a timer (a pending one-shot
//! never runs; a running callback is waited for and its closure dropped) and from inside its
//! own callback; a slow callback is counted in `overruns()` without a burst of catch-up calls;
//! the service runs at `config::timer_priority()`, changed while it runs.
//! xtask: timeout=60
#![no_std]
#![no_main]

extern crate alloc;

use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use preempt::sync::{Arc, Mutex, OnceLock};
use preempt::thread;
use preempt::time::{Duration, Instant};
use preempt::timer::{Timer, TimerError, MIN_PERIOD};
use preempt::{check, check_eq, println};

preempt::entry!(main);

const MS: Duration = Duration::from_millis(1);
/// How late a callback of the (otherwise idle) service may start.
const LATE: Duration = Duration::from_micros(300);

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn main() {
    errors();
    ordering();
    drift();
    cancel_outside();
    cancel_running();
    cancel_inside();
    overruns();
    priority();
    println!("timers: ok");
}

/// Bad input and an exhausted heap: an `Err`, never a panic, nothing kept. Runs first, so
/// the failures also hit the start of the service threads.
fn errors() {
    check_eq!(
        Timer::try_periodic(Duration::ZERO, || {}).err(),
        Some(TimerError::ZeroPeriod)
    );
    let short = MIN_PERIOD - Duration::from_nanos(1);
    check_eq!(
        Timer::try_periodic(short, || {}).err(),
        Some(TimerError::PeriodTooShort(short))
    );
    static OOM_FIRED: AtomicU64 = AtomicU64::new(0);
    let mut n = 0;
    let timer = loop {
        preempt::testing::fail_allocations_after(Some(n));
        let r = Timer::try_once(MS, || {
            OOM_FIRED.fetch_add(1, Ordering::Relaxed);
        });
        preempt::testing::fail_allocations_after(None);
        match r {
            Ok(t) => break t,
            Err(e) => check_eq!(e, TimerError::OutOfMemory),
        }
        n += 1;
        check!(n < 50, "creating a timer never succeeds");
    };
    println!("timers: creation succeeded after {n} failed allocations");
    check!(n >= 3, "only {} allocations could fail", n);
    thread::sleep(ms(3));
    check_eq!(OOM_FIRED.load(Ordering::Relaxed), 1); // the failed attempts never fire
    check!(!timer.is_active());
    check_eq!(timer.fired(), 1);
}

/// One-shots with different delays fire in deadline order, none early, each one once.
fn ordering() {
    let delays_us: [u64; 8] = [5000, 1000, 4000, 2000, 3000, 1507, 2513, 37];
    let log: Arc<Mutex<Vec<(usize, Instant)>>> = Arc::new(Mutex::new(Vec::with_capacity(16)));
    let mut timers = Vec::new();
    let mut created = Vec::new();
    for (i, &us) in delays_us.iter().enumerate() {
        let log = log.clone();
        created.push(Instant::now());
        timers.push(Timer::once(Duration::from_micros(us), move || {
            log.lock().unwrap().push((i, Instant::now()));
        }));
    }
    thread::sleep(ms(7));
    let log = log.lock().unwrap();
    check_eq!(log.len(), delays_us.len());
    let mut order: Vec<usize> = (0..delays_us.len()).collect();
    order.sort_by_key(|&i| delays_us[i]);
    let fired: Vec<usize> = log.iter().map(|&(i, _)| i).collect();
    check_eq!(fired, order);
    for &(i, at) in log.iter() {
        let d = Duration::from_micros(delays_us[i]);
        let after = at.duration_since(created[i]);
        check!(
            after >= d,
            "timer {} ({:?}) fired early, after {:?}",
            i,
            d,
            after
        );
        check!(
            after <= d + LATE,
            "timer {} ({:?}) fired late, after {:?}",
            i,
            d,
            after
        );
    }
    for t in &timers {
        check!(!t.is_active());
        check_eq!(t.fired(), 1);
        check_eq!(t.overruns(), 0);
        check_eq!(t.period(), None);
    }
    println!("timers [ordering]: ok");
}

/// A 1 ms periodic timer over 1,000 periods: the n-th callback starts within
/// [n ms, n ms + LATE] of the timer's creation, so errors do not accumulate.
fn drift() {
    const N: usize = 1000;
    static TIMES: [AtomicU64; N] = [const { AtomicU64::new(0) }; N];
    static COUNT: AtomicU64 = AtomicU64::new(0);
    let t0 = Instant::now();
    let timer = Timer::periodic(MS, || {
        let now = Instant::now().ticks();
        let n = COUNT.fetch_add(1, Ordering::Relaxed) as usize;
        if n < N {
            TIMES[n].store(now, Ordering::Relaxed);
        }
    });
    thread::sleep_until(t0 + ms(N as u64) + MS / 2);
    timer.cancel();
    check_eq!(COUNT.load(Ordering::Relaxed), N as u64);
    check_eq!(timer.fired(), N as u64);
    check_eq!(timer.overruns(), 0);
    check!(!timer.is_active());
    let freq = Instant::frequency();
    let mut worst = Duration::ZERO;
    for (i, t) in TIMES.iter().enumerate() {
        let at = t.load(Ordering::Relaxed);
        let since = Duration::from_nanos(
            ((u128::from(at - t0.ticks()) * 1_000_000_000) / u128::from(freq)) as u64,
        );
        let due = ms(i as u64 + 1);
        check!(since >= due, "period {} fired early: {:?}", i + 1, since);
        let late = since - due;
        check!(late <= LATE, "period {} fired {:?} late", i + 1, late);
        worst = worst.max(late);
    }
    thread::sleep(ms(3));
    check_eq!(COUNT.load(Ordering::Relaxed), N as u64);
    println!("timers [drift]: ok, worst lateness {:?}", worst);
}

/// A one-shot cancelled before its deadline never runs, and its closure is dropped.
fn cancel_outside() {
    static FIRED: AtomicU64 = AtomicU64::new(0);
    static DROPPED: AtomicBool = AtomicBool::new(false);
    let guard = OnDrop(&DROPPED);
    let t = Timer::once(ms(3), move || {
        let _keep = &guard;
        FIRED.fetch_add(1, Ordering::Relaxed);
    });
    let t2 = t.clone();
    thread::sleep(MS);
    check!(t.is_active());
    t2.cancel();
    check!(!t.is_active());
    check!(
        DROPPED.load(Ordering::Relaxed),
        "cancel did not drop the closure"
    );
    thread::sleep(ms(4));
    check_eq!(FIRED.load(Ordering::Relaxed), 0);
    check_eq!(t.fired(), 0);
    t.cancel(); // again: nothing
    println!("timers [cancel-outside]: ok");
}

/// Cancelling while the callback runs waits for it to return; it never runs again.
fn cancel_running() {
    static IN: AtomicBool = AtomicBool::new(false);
    static COUNT: AtomicU64 = AtomicU64::new(0);
    let t0 = Instant::now();
    let t = Timer::periodic(MS, || {
        IN.store(true, Ordering::SeqCst);
        thread::sleep(Duration::from_micros(500));
        COUNT.fetch_add(1, Ordering::SeqCst);
        IN.store(false, Ordering::SeqCst);
    });
    // Callbacks run over [n ms, n ms + 0.5 ms]: this lands in the third.
    thread::sleep_until(t0 + ms(3) + Duration::from_micros(200));
    check!(
        IN.load(Ordering::SeqCst),
        "the callback should be running now"
    );
    t.cancel();
    check!(
        !IN.load(Ordering::SeqCst),
        "cancel returned while the callback ran"
    );
    let c = COUNT.load(Ordering::SeqCst);
    check_eq!(c, 3);
    thread::sleep(ms(4));
    check_eq!(COUNT.load(Ordering::SeqCst), c);
    check_eq!(t.fired(), c);
    println!("timers [cancel-running]: ok");
}

/// A periodic timer cancels itself from its own callback on its fifth run.
fn cancel_inside() {
    static COUNT: AtomicU64 = AtomicU64::new(0);
    static DROPPED: AtomicBool = AtomicBool::new(false);
    static ME: OnceLock<Timer> = OnceLock::new();
    let guard = OnDrop(&DROPPED);
    let t = Timer::periodic(MS, move || {
        let _keep = &guard;
        if COUNT.fetch_add(1, Ordering::Relaxed) + 1 == 5 {
            let me = ME.get().expect("handle set");
            me.cancel();
            check!(!me.is_active());
        }
    });
    let _ = ME.set(t.clone());
    thread::sleep(ms(9));
    check_eq!(COUNT.load(Ordering::Relaxed), 5);
    check_eq!(t.fired(), 5);
    check!(!t.is_active());
    check!(
        DROPPED.load(Ordering::Relaxed),
        "the service did not drop the closure"
    );
    println!("timers [cancel-inside]: ok");
}

/// A first callback that runs until 5.5 ms: deadlines 2–5 have passed when it returns; one
/// callback covers them (three overruns) and the timer goes on at 6, 7, ... ms.
fn overruns() {
    static TIMES: Mutex<Vec<Instant>> = Mutex::new(Vec::new());
    TIMES.lock().unwrap().reserve(32);
    let t0 = Instant::now();
    let t = Timer::periodic(MS, move || {
        let now = Instant::now();
        let mut times = TIMES.lock().unwrap();
        times.push(now);
        let first = times.len() == 1;
        drop(times);
        if first {
            while Instant::now() < t0 + ms(5) + MS / 2 {
                core::hint::spin_loop();
            }
        }
    });
    thread::sleep_until(t0 + ms(10) + MS / 2);
    t.cancel();
    let times = TIMES.lock().unwrap();
    let since: Vec<Duration> = times.iter().map(|&i| i - t0).collect();
    check!(
        t.overruns() == 3,
        "overruns {}, callback times {:?}",
        t.overruns(),
        since
    );
    check!(
        t.fired() == 7,
        "fired {}, callback times {:?}",
        t.fired(),
        since
    );
    check_eq!(times.len(), 7);
    // The catch-up firing comes right after the slow one; then the grid again.
    check!(since[1] >= ms(5) + MS / 2 && since[1] <= ms(5) + MS / 2 + LATE);
    for (k, &s) in since.iter().enumerate().skip(2) {
        let due = ms(k as u64 + 4);
        check!(s >= due && s <= due + LATE, "callback {} at {:?}", k, s);
    }
    println!("timers [overruns]: ok");
}

/// The service runs at `timer_priority()`, and a change applies to the running service.
fn priority() {
    check_eq!(
        preempt::config::timer_priority(),
        preempt::config::DEFAULT_TIMER_PRIORITY
    );
    check!(preempt::config::DEFAULT_TIMER_PRIORITY > thread::DEFAULT_PRIORITY);
    static SEEN: AtomicU64 = AtomicU64::new(0);
    let probe = || {
        let me = thread::current();
        check_eq!(me.name(), Some("timer-service"));
        SEEN.store(u64::from(me.priority()), Ordering::Relaxed);
    };
    let _ = Timer::once(Duration::ZERO, probe);
    thread::sleep(MS);
    check_eq!(
        SEEN.load(Ordering::Relaxed),
        u64::from(preempt::config::DEFAULT_TIMER_PRIORITY)
    );
    preempt::config::set_timer_priority(201);
    check_eq!(preempt::config::timer_priority(), 201);
    let _ = Timer::once(Duration::ZERO, probe);
    thread::sleep(MS);
    check_eq!(SEEN.load(Ordering::Relaxed), 201);
    preempt::config::set_timer_priority(preempt::config::DEFAULT_TIMER_PRIORITY);
    println!("timers [priority]: ok");
}

/// Sets a flag when dropped (to see when a timer's closure is dropped).
struct OnDrop(&'static AtomicBool);

impl Drop for OnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}
