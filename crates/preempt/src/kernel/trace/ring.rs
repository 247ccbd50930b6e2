//! The per-core rings records are written into, and the freeze that stops them for good.
//!
//! Each core writes only its own ring, so the record path shares nothing with other cores
//! but one read-mostly flag ([`FROZEN`]): the slot is taken with IRQs masked for the few
//! instructions of the write (an interrupt on the same core cannot tear it), and the ring's
//! `head` counts every record ever written, so `head - CAPACITY` of them were overwritten.
//!
//! Freezing ([`freeze`]) is how the exiting core gets a consistent picture while the other
//! cores still run: it raises [`FROZEN`], then waits (bounded) for any write that had already
//! passed the check to finish (each ring's `writing` flag). A writer raises `writing` *before*
//! it reads [`FROZEN`], both sequentially consistent, so either it sees the freeze and writes
//! nothing, or the freezer sees it writing and waits.

use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use preempt_arch::cpu;
use sched_core::MAX_CPUS;
use trace_format::Record;

/// Records each core's ring keeps (the newest ones): 256 KiB per core.
pub(super) const CAPACITY: usize = 8192;
const _: () = assert!(CAPACITY.is_power_of_two());

/// One core's ring.
pub(super) struct Ring {
    records: UnsafeCell<[Record; CAPACITY]>,
    /// Records ever written (the next goes to `head % CAPACITY`). Written by its core only.
    head: AtomicU64,
    /// Its core is between the [`FROZEN`] check and the end of a write.
    writing: AtomicBool,
    /// Events lost before they reached the ring (the scheduler's log was full), added to
    /// the section's dropped count. Written by its core only.
    lost: AtomicU64,
}

// SAFETY: `records` is written only by the ring's own core, with IRQs masked, while `writing`
// is raised and the trace is not frozen; it is read only once frozen and no write is in
// progress (`freeze`). Every other field is atomic.
unsafe impl Sync for Ring {}

impl Ring {
    const fn new() -> Self {
        Self {
            // All zero, so that the rings take no room in the image (`.bss`).
            records: UnsafeCell::new([EMPTY; CAPACITY]),
            head: AtomicU64::new(0),
            writing: AtomicBool::new(false),
            lost: AtomicU64::new(0),
        }
    }
}

const EMPTY: Record = Record {
    time: 0,
    kind: 0,
    detail: 0,
    aux: 0,
    arg: 0,
    thread: 0,
    other: 0,
};

static RINGS: [Ring; MAX_CPUS] = [const { Ring::new() }; MAX_CPUS];

/// Recording has stopped for good (the file is being or has been written).
static FROZEN: AtomicBool = AtomicBool::new(false);

/// Runs `write` as this core's writer, unless the trace is frozen: IRQs masked, the ring's
/// `writing` flag raised. `write` gets this core's ring. Bounded: `write` is.
#[inline(always)]
pub(super) fn as_writer(write: impl FnOnce(&Ring)) {
    // Masked before the core is read: a thread preempted between the two could otherwise
    // move to another core and write into a ring that core is writing too.
    let irq = cpu::irq_save_stackless();
    let Some(ring) = RINGS.get(cpu::core_id()) else {
        cpu::irq_restore(irq);
        return;
    };
    ring.writing.store(true, Ordering::SeqCst);
    if !FROZEN.load(Ordering::SeqCst) {
        write(ring);
    }
    ring.writing.store(false, Ordering::Release);
    cpu::irq_restore(irq);
}

impl Ring {
    /// Appends `rec`, overwriting the oldest record when full. Only inside [`as_writer`].
    #[inline(always)]
    pub(super) fn push(&self, rec: Record) {
        let head = self.head.load(Ordering::Relaxed);
        let slot = (head as usize) & (CAPACITY - 1);
        // SAFETY: inside `as_writer` on the ring's own core (see `Sync`): nobody else touches
        // `records` now; `slot` is in bounds.
        unsafe { (*self.records.get())[slot] = rec };
        self.head.store(head + 1, Ordering::Release);
    }

    /// Counts `n` events that never reached the ring. Only inside [`as_writer`].
    #[inline(always)]
    pub(super) fn lose(&self, n: u64) {
        let lost = self.lost.load(Ordering::Relaxed);
        self.lost.store(lost + n, Ordering::Relaxed);
    }
}

/// Writes one record into this core's ring, stamped now (inside the masked section, so that
/// a ring's records are in time order).
#[inline(always)]
pub(super) fn record(rec: Record) {
    as_writer(|ring| {
        ring.push(Record {
            time: preempt_arch::timer::virtual_counter(),
            ..rec
        })
    });
}

/// This core's ring for a look by tests (`preempt::testing::trace`): records written here
/// since boot, and the `back`-th newest one still kept. Consistent: IRQs are masked, and
/// only this core writes its ring.
pub(super) fn newest_here(back: usize) -> (u64, Option<Record>) {
    // Masked before the core is read (see `as_writer`).
    let irq = cpu::irq_save();
    let Some(ring) = RINGS.get(cpu::core_id()) else {
        cpu::irq_restore(irq);
        return (0, None);
    };
    let head = ring.head.load(Ordering::Relaxed);
    let kept = head.min(CAPACITY as u64);
    let newest = (back < kept as usize).then(|| {
        let at = head - 1 - back as u64;
        // SAFETY: IRQs masked on the ring's own core, its only writer: nothing writes the
        // slot while it is copied; the index is in bounds.
        unsafe { (*ring.records.get())[(at as usize) & (CAPACITY - 1)] }
    });
    cpu::irq_restore(irq);
    (head, newest)
}

/// Stops all recording. `true` for the one caller that froze it (it writes the file); a
/// later caller gets `false`. Waits for writes in progress on other cores, a bounded number
/// of spins each (a core stopped in the middle of one cannot hold the exit back).
pub(super) fn freeze() -> bool {
    if FROZEN.swap(true, Ordering::SeqCst) {
        return false;
    }
    // Masked so that the core skipped below is the one this runs on until the end (no
    // stack probe: this also runs on the way out of a kernel fault).
    let irq = cpu::irq_save_stackless();
    let me = cpu::core_id();
    for (core, ring) in RINGS.iter().enumerate() {
        if core == me {
            continue; // this core is here, not in a write
        }
        for _ in 0..1_000_000 {
            if !ring.writing.load(Ordering::SeqCst) {
                break;
            }
            cpu::spin_hint();
        }
    }
    cpu::irq_restore(irq);
    true
}

/// A frozen ring's content: its records oldest first (in at most two runs) and how many were
/// overwritten or lost.
pub(super) struct Frozen<'a> {
    pub runs: [&'a [Record]; 2],
    pub dropped: u64,
}

/// Core `core`'s ring, once [`freeze`] returned `true` to this caller.
pub(super) fn frozen(core: usize) -> Option<Frozen<'static>> {
    debug_assert!(FROZEN.load(Ordering::Relaxed));
    let ring = RINGS.get(core)?;
    let head = ring.head.load(Ordering::Acquire);
    // SAFETY: frozen, and `freeze` waited for the last write: nothing writes `records` any
    // more, so a shared reference for the rest of the kernel's life is sound.
    let records: &'static [Record; CAPACITY] = unsafe { &*ring.records.get() };
    let kept = head.min(CAPACITY as u64) as usize;
    let start = ((head - kept as u64) as usize) & (CAPACITY - 1);
    let (first, second) = if start + kept <= CAPACITY {
        (&records[start..start + kept], &records[..0])
    } else {
        (&records[start..], &records[..start + kept - CAPACITY])
    };
    Some(Frozen {
        runs: [first, second],
        dropped: head - kept as u64 + ring.lost.load(Ordering::Relaxed),
    })
}
