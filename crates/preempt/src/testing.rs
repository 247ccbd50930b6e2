//! Assertions for in-QEMU tests and examples.
//!
//! A failed `core::assert!` would panic — and a panic in a thread ends only that thread, which a
//! test might not notice. These macros instead print the failure and stop the whole system with
//! exit status 1, so the host sees the failure in QEMU's exit status.

/// Exit status of a failed in-QEMU check.
pub const CHECK_FAILED_EXIT: u32 = 1;

#[doc(hidden)]
pub fn _fail(file: &str, line: u32, args: core::fmt::Arguments<'_>) -> ! {
    crate::println!("CHECK FAILED at {file}:{line}: {args}");
    crate::exit(CHECK_FAILED_EXIT)
}

/// Fault injection: after `Some(n)` more successful heap allocations (by anyone), every
/// allocation fails until this is called again with `None`. Lets a test drive each allocation
/// of a kernel path into failure in turn, and check that each failure is an `Err`, not a panic.
pub fn fail_allocations_after(n: Option<usize>) {
    crate::heap::fail_allocations_after(n);
}

/// Starts a top-priority thread (250) that sleeps 7–29 µs at a time until `stop` is set, and
/// after each sleep raises software interrupt `sgi`: it preempts whoever runs at arbitrary
/// points and drives the test's interrupt handler. Stress tests join it after setting `stop`.
pub fn spawn_disturber(
    stop: &'static core::sync::atomic::AtomicBool,
    sgi: u32,
) -> crate::thread::JoinHandle<()> {
    crate::thread::Builder::new()
        .name("disturber")
        .priority(250)
        .spawn(move || {
            let mut n = 0u32;
            while !stop.load(core::sync::atomic::Ordering::Relaxed) {
                crate::thread::sleep(core::time::Duration::from_micros(7 + u64::from(n % 23)));
                crate::irq::trigger_software(sgi).expect("sgi");
                n = n.wrapping_add(1);
            }
        })
        .expect("spawn disturber")
}

/// Spawns `f` at priority 20, pinned to `core` (panics if the spawn fails): the worker of the
/// cross-core tests.
pub fn spawn_on<T: Send + 'static>(
    core: usize,
    f: impl FnOnce() -> T + Send + 'static,
) -> crate::thread::JoinHandle<T> {
    crate::thread::Builder::new()
        .priority(20)
        .affinity(1 << core)
        .spawn(f)
        .expect("spawn")
}

/// The kernel's inter-processor interrupts, for tests and benchmarks (not a stable API).
pub mod ipi {
    use crate::irq::ControllerError;
    use crate::kernel;

    /// Sends the reschedule interrupt to `core` through the board's driver, even to the
    /// caller's own core (which [`kick`] skips): a self-IPI exercises the whole send and
    /// receive path on one core.
    pub fn send(core: usize) {
        kernel::ipi::send(core);
    }

    /// Raises the program's software interrupt `sgi` (0..=14 on a GIC, 0..=15 on the Pi) on
    /// core `core`, through the same lock-free driver path as the kernel's reschedule
    /// interrupt. Its handler (`irq::register` for `irq::sgi_line(sgi)`) runs there if that
    /// core enabled the line (`irq::register` and `irq::enable` act on the calling core).
    /// The kernel's own SGI (15 on a GIC) is refused as [`IrqError::Reserved`].
    ///
    /// [`IrqError::Reserved`]: crate::irq::IrqError::Reserved
    pub fn send_sgi(core: usize, sgi: u32) -> Result<(), crate::irq::IrqError> {
        match crate::board::send_sgi(core, sgi) {
            Ok(()) => Ok(()),
            Err(ControllerError::Unsupported) => Err(crate::irq::IrqError::Reserved(sgi)),
            Err(e) => Err(crate::irq::IrqError::Controller(e)),
        }
    }

    /// The kernel's `kick(mask)`: the reschedule interrupt to every core in `mask` that has
    /// set it up, except the caller's.
    pub fn kick(mask: u32) {
        kernel::ipi::kick(mask);
    }

    /// Reschedule interrupts sent to `core` and received by it so far.
    pub fn counts(core: usize) -> (u64, u64) {
        kernel::ipi::counts(core)
    }

    /// The interrupt line the reschedule interrupt arrives on (reserved by the kernel).
    pub fn line() -> u32 {
        crate::board::ipi_line()
    }

    /// Cores that have set up their inter-processor interrupt (bit n: core n).
    pub fn online() -> u32 {
        kernel::ipi::online()
    }

    /// Unparks `thread` under the scheduler lock *without* a preemption check on this core:
    /// the state a wake-up made on another core leaves this one in (a ready thread that
    /// outranks the running one, and nobody has told this core yet). With several cores the
    /// scheduler's kick for this core is taken as sent without sending it (the state while
    /// another core's IPI is still on its way); kicks for other cores go out as usual.
    pub fn unpark_without_check(thread: &crate::thread::Thread) {
        let id = thread.id();
        let others = kernel::with_sched(|s, cpu| {
            let _ = s.unpark(id);
            s.take_new_kicks() & !(1 << cpu)
        });
        kernel::ipi::kick(others);
    }
}

/// Stops the system with exit status 1 unless `cond` holds.
#[macro_export]
macro_rules! check {
    ($cond:expr $(,)?) => {
        if !$cond {
            $crate::testing::_fail(file!(), line!(), format_args!("{}", stringify!($cond)))
        }
    };
    ($cond:expr, $($arg:tt)+) => {
        if !$cond {
            $crate::testing::_fail(file!(), line!(), format_args!($($arg)+))
        }
    };
}

/// Stops the system with exit status 1 unless `left == right`, printing both (and the message,
/// if one follows, as `assert_eq!` does).
#[macro_export]
macro_rules! check_eq {
    ($left:expr, $right:expr $(,)?) => {
        $crate::check_eq!(@with $left, $right, None)
    };
    ($left:expr, $right:expr, $($arg:tt)+) => {
        $crate::check_eq!(@with $left, $right, Some(format_args!($($arg)+)))
    };
    (@with $left:expr, $right:expr, $message:expr) => {
        match (&$left, &$right) {
            (l, r) => {
                if !(*l == *r) {
                    $crate::testing::_fail_eq(
                        file!(),
                        line!(),
                        (stringify!($left), stringify!($right)),
                        (l, r),
                        $message,
                    )
                }
            }
        }
    };
}

#[doc(hidden)]
pub fn _fail_eq(
    file: &str,
    line: u32,
    (left, right): (&str, &str),
    (l, r): (&dyn core::fmt::Debug, &dyn core::fmt::Debug),
    message: Option<core::fmt::Arguments<'_>>,
) -> ! {
    match message {
        Some(m) => _fail(
            file,
            line,
            format_args!("{left} == {right}: left {l:?}, right {r:?}: {m}"),
        ),
        None => _fail(
            file,
            line,
            format_args!("{left} == {right}: left {l:?}, right {r:?}"),
        ),
    }
}

/// Prints what each core runs and the cores the scheduler would kick (debugging aid for tests).
pub fn dump_sched() {
    let (lines, pending, ready) = crate::kernel::with_sched(|s, _| {
        let mut v = [(0u64, 0u8, false); 4];
        for (cpu, slot) in v.iter_mut().enumerate().take(crate::kernel::cpus_started()) {
            let id = s.current(cpu);
            *slot = (id.as_u64(), s.priority(id).unwrap_or(0), s.is_idle(id));
        }
        (v, s.kicks(), s.ready_count())
    });
    for (cpu, (id, prio, idle)) in lines.iter().enumerate() {
        crate::println!("cpu {cpu}: thread {id:#x} prio {prio} idle {idle}");
    }
    crate::println!("kicks {pending:#b}, ready {ready}");
}

/// Times the scheduler lock has been taken since boot, by any core (wrapping at 2^32): how
/// often kernel calls and interrupts went through the scheduler (`tests/smp_tickless.rs`).
pub fn sched_lock_takes() -> u32 {
    crate::kernel::sched_lock_takes()
}

/// Times the interrupt controller driver's lock has been taken since boot, by any core
/// (wrapping at 2^32). The interrupt path of either board takes it only for lines other than
/// the kernel's own (the timer and the reschedule interrupt).
pub fn irqchip_lock_takes() -> u32 {
    crate::board::irqchip_lock_takes()
}

/// Benchmarks: makes the calling core's timer fire at least every `period` (`None`: only when
/// something is due, the default) — timer interrupts that find nothing to do, whose cost
/// `cargo xtask bench` measures (`timer_irq_cost`).
pub fn set_extra_timer_period(period: Option<core::time::Duration>) {
    let counts = period.map_or(0, |p| {
        let ns = u64::try_from(p.as_nanos()).unwrap_or(u64::MAX);
        preempt_arch::timer::ns_to_ticks(ns, preempt_arch::timer::frequency()).max(1)
    });
    crate::kernel::irq::set_extra_period(counts);
}

/// The emulator's turn tick, if this run has one: under QEMU's `-icount` with several cores
/// `cargo xtask` asks every core's timer to fire at least this often, for the emulator's sake
/// (docs/design.md, "Time"). Tests that count timer interrupts skip those counts then. `None`
/// on hardware, on one core, and without `-icount`.
pub fn icount_turn() -> Option<core::time::Duration> {
    crate::kernel::irq::icount_turn().map(|t| {
        core::time::Duration::from_nanos(preempt_arch::timer::ticks_to_ns(
            t,
            preempt_arch::timer::frequency(),
        ))
    })
}

/// Timer interrupts taken since boot by every core together. With nothing due (every thread
/// asleep for long, no time slice to end) it stays still.
pub fn timer_interrupts() -> u64 {
    crate::kernel::percpu::timer_interrupts_all()
}

/// Timer interrupts taken since boot by core `core` (0 for a core that does not exist).
pub fn timer_interrupts_on(core: usize) -> u64 {
    crate::kernel::percpu::timer_interrupts_on(core)
}

/// The event trace's ring of the calling core (feature `trace`; see `preempt::trace`).
pub mod trace {
    /// A record's fields: `(kind, detail, aux, arg, thread, other)`.
    pub type RecordFields = (u8, u8, u16, u32, u64, u64);

    /// Records written into this core's ring since boot, kept or since overwritten (0
    /// without the feature `trace`).
    pub fn recorded() -> u64 {
        crate::kernel::trace::newest_here(0).0
    }

    /// The `back`-th newest record in this core's ring (0: the newest) as its fields `(kind,
    /// detail, aux, arg, thread, other)` (see `trace_format::Record`); `None` without the
    /// feature, or when the ring does not hold that many.
    pub fn newest(back: usize) -> Option<RecordFields> {
        crate::kernel::trace::newest_here(back).1
    }
}
