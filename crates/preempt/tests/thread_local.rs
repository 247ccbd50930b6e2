//! `thread_local!`: each thread has its own value (equal-priority threads sharing one core,
//! preempting each other mid-update), initialisers run once per thread that uses a key and
//! never for one that does not, destructors run as a thread's closure returns and are seen
//! by `join`, none run for a thread that panics (and the kernel carries on), a destructor
//! reaching its own key gets `AccessError` and one that initialises another key has it
//! destroyed too, `main` has its own values, and a thread that writes `TPIDR_EL0` itself
//! still finds its values, and exits cleanly with its destructors run; the kernel's block
//! is freed with every thread, the panicked ones included.
//! xtask: timeout=120
#![no_std]
#![no_main]

extern crate alloc;

use alloc::vec::Vec;
use core::cell::{Cell, RefCell};
use core::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use preempt::thread::{self, AccessError, Builder, LocalKey};
use preempt::time::{Duration, Instant};
use preempt::{check, check_eq, cpu, println};

preempt::entry!(main);

static INITS: AtomicUsize = AtomicUsize::new(0);
static SET_INITS: AtomicUsize = AtomicUsize::new(0);
static DROPS: AtomicUsize = AtomicUsize::new(0);
static DROP_SUM: AtomicU64 = AtomicU64::new(0);
static SELF_ERR: AtomicUsize = AtomicUsize::new(0);
static OTHER_OK: AtomicUsize = AtomicUsize::new(0);
static LATE_DROPS: AtomicUsize = AtomicUsize::new(0);
static ZST_DROPS: AtomicUsize = AtomicUsize::new(0);
static LAST: AtomicUsize = AtomicUsize::new(usize::MAX);
static SWITCHES: AtomicUsize = AtomicUsize::new(0);
static STOP: AtomicBool = AtomicBool::new(false);

/// Adds its value to `DROP_SUM` when dropped.
struct Tally(Cell<u64>);

impl Drop for Tally {
    fn drop(&mut self) {
        DROPS.fetch_add(1, Ordering::SeqCst);
        DROP_SUM.fetch_add(self.0.get(), Ordering::SeqCst);
    }
}

/// Its destructor reaches its own key (must fail), a key made before it (still alive:
/// destructors run newest first) and a key this thread never used (made then, destroyed
/// next).
struct Probe;

impl Drop for Probe {
    fn drop(&mut self) {
        if PROBE.try_with(|_| ()) == Err(first_err()) {
            SELF_ERR.fetch_add(1, Ordering::SeqCst);
        }
        if KEEP.try_with(|k| k.get()) == Ok(5) {
            OTHER_OK.fetch_add(1, Ordering::SeqCst);
        }
        LATE.with(|_| ());
    }
}

/// An `AccessError` got from a destroyed key (there is no public constructor).
fn first_err() -> AccessError {
    PROBE
        .try_with(|_| ())
        .expect_err("PROBE is being destroyed")
}

struct Late;

impl Drop for Late {
    fn drop(&mut self) {
        LATE_DROPS.fetch_add(1, Ordering::SeqCst);
    }
}

/// Zero-sized, with a destructor.
struct Zst;

impl Drop for Zst {
    fn drop(&mut self) {
        ZST_DROPS.fetch_add(1, Ordering::SeqCst);
    }
}

/// Uses its own key in `with`: the thread panics as it ends.
struct SelfWith;

impl Drop for SelfWith {
    fn drop(&mut self) {
        SELF_WITH.with(|_| ());
    }
}

preempt::thread_local! {
    /// Incremented through `with_borrow_mut` by the interleaving threads.
    static COUNTER: RefCell<u64> = RefCell::new(0);
    pub(crate) static CELL: Cell<u64> = const { Cell::new(0) };
    static COUNTED: u32 = {
        INITS.fetch_add(1, Ordering::SeqCst);
        41
    };
    static SET_ME: Cell<u32> = {
        SET_INITS.fetch_add(1, Ordering::SeqCst);
        Cell::new(5)
    };
    static TALLY: Tally = Tally(Cell::new(0));
    static PROBE: Probe = Probe;
    static KEEP: Cell<u32> = Cell::new(5);
    static LATE: Late = Late;
    static ZST: Zst = const { Zst };
    static SELF_WITH: SelfWith = SelfWith;
    static REENTRANT: u32 = REENTRANT.with(|v| *v + 1);
    static LIST: RefCell<Vec<u32>> = RefCell::new(Vec::new());
    static LEAKY: Cell<u64> = Cell::new(0)
}

fn spawn_pinned<T: Send + 'static>(
    name: &str,
    mask: u32,
    f: impl FnOnce() -> T + Send + 'static,
) -> thread::JoinHandle<T> {
    Builder::new()
        .name(name)
        .priority(100)
        .affinity(mask)
        .spawn(f)
        .expect("spawn")
}

fn write_tpidr(v: usize) {
    // SAFETY: TPIDR_EL0 is this thread's own register; the kernel never trusts it.
    unsafe { core::arch::asm!("msr tpidr_el0, {0}", in(reg) v) };
}

fn interleave(one: u32) {
    const THREADS: usize = 4;
    preempt::config::set_time_slice(Duration::from_micros(100)).expect("slice");
    let workers: Vec<_> = (0..THREADS)
        .map(|t| {
            spawn_pinned("counter", one, move || {
                let mut n = 0u64;
                let start = Instant::now();
                while !STOP.load(Ordering::Relaxed) {
                    COUNTER.with_borrow_mut(|c| {
                        // Preempted in here, another thread's increment must not show.
                        let before = *c;
                        for _ in 0..50 {
                            core::hint::spin_loop();
                        }
                        *c = before + 1;
                    });
                    CELL.set(CELL.get() + 2);
                    n += 1;
                    check_eq!(COUNTER.with_borrow(|c| *c), n);
                    check_eq!(CELL.get(), 2 * n);
                    if LAST.swap(t, Ordering::Relaxed) != t {
                        SWITCHES.fetch_add(1, Ordering::Relaxed);
                    }
                    if start.elapsed() > Duration::from_millis(30) {
                        break;
                    }
                }
                (n, COUNTER.take(), CELL.replace(0), CELL.get())
            })
        })
        .collect();
    for w in workers {
        let (n, counter, cell, after) = w.join().expect("counter thread");
        check!(n > 0);
        check_eq!(counter, n);
        check_eq!(cell, 2 * n);
        check_eq!(after, 0);
    }
    let switches = SWITCHES.load(Ordering::Relaxed);
    println!("interleave: {switches} switches between the counting threads");
    check!(
        switches >= 8,
        "the counting threads did not interleave ({switches} switches)"
    );
    preempt::config::set_time_slice(Duration::from_millis(1)).expect("slice");
}

fn lazy_init(one: u32) {
    let users: Vec<_> = (0..3)
        .map(|_| {
            spawn_pinned("user", one, || {
                (0..10).map(|_| COUNTED.with(|v| *v)).sum::<u32>()
            })
        })
        .collect();
    let idle: Vec<_> = (0..2)
        .map(|_| spawn_pinned("bystander", one, || CELL.get()))
        .collect();
    for u in users {
        check_eq!(u.join().expect("user"), 410);
    }
    for i in idle {
        check_eq!(i.join().expect("bystander"), 0);
    }
    check_eq!(INITS.load(Ordering::SeqCst), 3); // one initialisation per thread that used it
                                                // `set` on a key the thread never used installs the value without the initialiser.
    let setter = spawn_pinned("setter", one, || {
        SET_ME.set(9);
        SET_ME.get()
    });
    check_eq!(setter.join().expect("setter"), 9);
    check_eq!(SET_INITS.load(Ordering::SeqCst), 0);
    let getter = spawn_pinned("getter", one, || SET_ME.get());
    check_eq!(getter.join().expect("getter"), 5);
    check_eq!(SET_INITS.load(Ordering::SeqCst), 1);
}

fn destructors(one: u32) {
    let before = DROPS.load(Ordering::SeqCst);
    let workers: Vec<_> = (1..=3u64)
        .map(|v| {
            spawn_pinned("tally", one, move || {
                TALLY.with(|t| t.0.set(v * 100));
                ZST.with(|_| ());
                LIST.with_borrow_mut(|l| l.push(v as u32));
                LIST.with_borrow(|l| l.len())
            })
        })
        .collect();
    let quiet = spawn_pinned("quiet", one, || 1);
    for w in workers {
        check_eq!(w.join().expect("tally"), 1);
    }
    check_eq!(quiet.join().expect("quiet"), 1);
    check_eq!(DROPS.load(Ordering::SeqCst) - before, 3); // a destructor per thread that used it
    check_eq!(DROP_SUM.load(Ordering::SeqCst), 600);
    check_eq!(ZST_DROPS.load(Ordering::SeqCst), 3);

    // A panicking thread runs none, and the kernel carries on.
    let drops = DROPS.load(Ordering::SeqCst);
    let doomed = spawn_pinned("doomed", one, || {
        TALLY.with(|t| t.0.set(1));
        panic!("deliberate panic with a live thread-local");
    });
    check!(doomed.join().is_err());
    check_eq!(DROPS.load(Ordering::SeqCst), drops); // no destructor for a panicked thread
    check_eq!(DROP_SUM.load(Ordering::SeqCst), 600);

    // Destructors reaching keys: their own (Err), a live one (Ok), a new one (destroyed too).
    let prober = spawn_pinned("prober", one, || {
        KEEP.with(|_| ());
        PROBE.with(|_| ());
    });
    prober.join().expect("prober");
    check_eq!(SELF_ERR.load(Ordering::SeqCst), 1); // try_with from its own destructor is Err
    check_eq!(LATE_DROPS.load(Ordering::SeqCst), 1); // a key made by a destructor is destroyed
    check_eq!(OTHER_OK.load(Ordering::SeqCst), 1); // KEEP, made before PROBE, still alive

    // `with` on its own key from its destructor panics: the thread fails as it ends.
    let self_with = spawn_pinned("self_with", one, || SELF_WITH.with(|_| ()));
    check!(
        self_with.join().is_err(),
        "with() from its own destructor must panic"
    );

    // Re-entrant initialisation panics in the thread.
    let reentrant = spawn_pinned("reentrant", one, || REENTRANT.with(|v| *v));
    match reentrant.join() {
        Ok(v) => check!(false, "re-entrant initialisation gave {v}"),
        Err(e) => check!(
            !e.is_fault(),
            "re-entrant initialisation must panic, not fault"
        ),
    }
}

fn main_thread(one: u32) {
    CELL.set(7);
    KEEP.set(8);
    let other = spawn_pinned("other", one, || {
        let seen = (CELL.get(), KEEP.get());
        CELL.set(99);
        seen
    });
    check_eq!(other.join().expect("other"), (0, 5));
    check_eq!(CELL.get(), 7);
    check_eq!(KEEP.replace(3), 8);
    check_eq!(KEEP.take(), 3);
    check_eq!(KEEP.get(), 0);
    check!(COUNTER.try_with(|c| *c.borrow()).is_ok());
}

fn tpidr(one: u32) {
    let drops = DROPS.load(Ordering::SeqCst);
    let sum = DROP_SUM.load(Ordering::SeqCst);
    let overwriter = spawn_pinned("overwriter", one, || {
        TALLY.with(|t| t.0.set(77));
        CELL.set(11);
        // Zero: the slow path finds the block again.
        write_tpidr(0);
        check_eq!(TALLY.with(|t| t.0.get()), 77);
        // Mapped memory that is no block: rejected by its check word.
        let decoy = [0usize; 8];
        write_tpidr(decoy.as_ptr() as usize);
        check_eq!(CELL.get(), 11);
        check_eq!(TALLY.with(|t| t.0.get()), 77);
        // Garbage, and exit without touching a thread-local again.
        write_tpidr(0x1234_5678_9ab0);
        core::hint::black_box(&decoy);
        true
    });
    check!(overwriter.join().expect("overwriter"));
    check_eq!(DROPS.load(Ordering::SeqCst) - drops, 1); // its destructor ran despite TPIDR_EL0
    check_eq!(DROP_SUM.load(Ordering::SeqCst) - sum, 77);
    // A thread that never used a thread-local and leaves garbage there.
    let plain = spawn_pinned("plain", one, || {
        write_tpidr(0xdead_beef_0000);
        3
    });
    check_eq!(plain.join().expect("plain"), 3);
}

/// Threads that use thread-locals and end, normally or by a panic, leave no kernel memory
/// behind: the block and its table go with the thread; only the values of a thread that
/// panicked stay (never dropped), 8 bytes each here.
fn no_leak(one: u32) {
    let round = |panic: bool| {
        for _ in 0..3 {
            let h = spawn_pinned("leaker", one, move || {
                LEAKY.set(1);
                if panic {
                    panic!("deliberate panic, leaving an 8-byte value");
                }
                COUNTER.with_borrow_mut(|c| *c += 1);
            });
            check_eq!(h.join().is_err(), panic);
        }
    };
    round(false);
    round(true);
    let baseline = preempt::heap::used();
    round(false);
    check_eq!(preempt::heap::used(), baseline);
    round(true);
    check_eq!(
        preempt::heap::used(),
        baseline + 3 * core::mem::size_of::<Cell<u64>>()
    );
}

fn main() {
    let one = 1 << cpu::current();
    check!(thread::set_affinity(one).is_ok(), "pinning main");
    let _: &'static LocalKey<Cell<u64>> = &CELL;
    interleave(one);
    lazy_init(one);
    destructors(one);
    main_thread(one);
    tpidr(one);
    no_leak(one);
    STOP.store(true, Ordering::Relaxed);
    println!("thread_local: ok");
}
