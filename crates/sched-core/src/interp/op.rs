//! The operations the interpreter knows, and their byte encoding.
//!
//! A fuzzer mutates bytes, proptest generates values; both must reach the same
//! operations. Every byte string decodes to *some* sequence (each operation is
//! a tag byte plus a fixed number of parameter bytes, all reduced modulo their
//! range), so no fuzzer input is wasted on parse errors. [`encode`] is the
//! inverse for canonical operations, which is how seed files are written from
//! hand-made scenarios.

use alloc::vec::Vec;

use crate::{Priority, Ticks};

/// Index of a CPU in the interpreter (it runs [`CPUS`](super::CPUS) of them).
pub type Cpu = u8;

/// Picks one of the known threads or objects, modulo how many there are.
pub type Pick = u8;

/// The priorities operations use: few values so that levels are shared.
pub const PRIORITIES: [Priority; 8] = [0, 1, 10, 10, 20, 128, 255, 20];

/// One step of a scenario. Relative times are in ticks from "now".
#[derive(Clone, Debug, PartialEq, Eq)]
#[allow(missing_docs)] // Each variant is the scheduler call of the same name.
pub enum Op {
    Spawn(Priority),
    Yield(Cpu),
    PreemptCheck(Cpu),
    Tick(Cpu, Ticks),
    Sleep(Cpu, i8),
    Block(Cpu),
    Wake(Pick),
    Exit(Cpu, bool),
    Join(Cpu, Pick),
    Reap(Pick),
    Detach(Pick),
    SetPriority(Pick, Priority),
    TakeResult(Cpu),
    CreateQueue,
    /// `fast`: driven through the kernel's lock-word protocol.
    CreateMutex {
        fast: bool,
    },
    CreateSemaphore(u8),
    CreateEvent,
    /// Destroys any kind of object.
    Destroy(Pick),
    WaitOn(Cpu, Pick, Option<Ticks>),
    WakeOne(Cpu, Pick),
    WakeAll(Cpu, Pick),
    Lock(Cpu, Pick, Option<Ticks>),
    TryLock(Cpu, Pick),
    Unlock(Cpu, Pick),
    ClearPoison(Pick),
    SemAcquire(Cpu, Pick, Option<Ticks>),
    SemTryAcquire(Pick),
    SemRelease(Cpu, Pick),
    /// `sem_release_drain`: a release that returns the count once nobody waits.
    SemReleaseDrain(Cpu, Pick),
    EventWait {
        cpu: Cpu,
        pick: Pick,
        mask: u8,
        any: bool,
        clear: bool,
        timeout: Option<Ticks>,
    },
    EventSet(Cpu, Pick, u8),
    /// `event_sync`: sets `set`, then waits for all of `wait_for` (both four bits).
    EventSync {
        cpu: Cpu,
        pick: Pick,
        set: u8,
        wait_for: u8,
        timeout: Option<Ticks>,
    },
    EventClear(Pick, u8),
    Park(Cpu, Option<Ticks>),
    Unpark(Cpu, Pick),
    /// `spawn_with_affinity` (a mask of four bits: it may name no CPU, or only one that
    /// never started).
    SpawnAffine(Priority, u8),
    /// `set_affinity` for the running thread of the CPU.
    SetAffinity(Cpu, u8),
}

const TAGS: u8 = 37;

struct Reader<'a> {
    bytes: &'a [u8],
}

impl Reader<'_> {
    fn byte(&mut self) -> Option<u8> {
        let (&b, rest) = self.bytes.split_first()?;
        self.bytes = rest;
        Some(b)
    }
    fn cpu(&mut self) -> Option<Cpu> {
        Some(self.byte()? % super::CPUS as u8)
    }
    fn prio(&mut self) -> Option<Priority> {
        Some(PRIORITIES[usize::from(self.byte()? % 8)])
    }
    fn timeout(&mut self) -> Option<Option<Ticks>> {
        let b = self.byte()? % 8;
        Some((b < 5).then_some(Ticks::from(b)))
    }
    fn flag(&mut self) -> Option<bool> {
        Some(self.byte()? & 1 == 1)
    }
    fn nibble(&mut self) -> Option<u8> {
        Some(self.byte()? % 16)
    }
}

/// Decodes one operation; `None` when the bytes run out.
fn decode_op(r: &mut Reader<'_>) -> Option<Op> {
    Some(match r.byte()? % TAGS {
        0 => Op::Spawn(r.prio()?),
        1 => Op::Yield(r.cpu()?),
        2 => Op::PreemptCheck(r.cpu()?),
        3 => Op::Tick(r.cpu()?, Ticks::from(r.byte()? % 4)),
        4 => Op::Sleep(r.cpu()?, (r.byte()? % 11) as i8 - 3),
        5 => Op::Block(r.cpu()?),
        6 => Op::Wake(r.byte()?),
        7 => Op::Exit(r.cpu()?, r.flag()?),
        8 => Op::Join(r.cpu()?, r.byte()?),
        9 => Op::Reap(r.byte()?),
        10 => Op::Detach(r.byte()?),
        11 => Op::SetPriority(r.byte()?, r.prio()?),
        12 => Op::TakeResult(r.cpu()?),
        13 => Op::CreateQueue,
        14 => Op::CreateMutex { fast: r.flag()? },
        15 => Op::CreateSemaphore(r.byte()? % 3),
        16 => Op::CreateEvent,
        17 => Op::Destroy(r.byte()?),
        18 => Op::WaitOn(r.cpu()?, r.byte()?, r.timeout()?),
        19 => Op::WakeOne(r.cpu()?, r.byte()?),
        20 => Op::WakeAll(r.cpu()?, r.byte()?),
        21 => Op::Lock(r.cpu()?, r.byte()?, r.timeout()?),
        22 => Op::TryLock(r.cpu()?, r.byte()?),
        23 => Op::Unlock(r.cpu()?, r.byte()?),
        24 => Op::ClearPoison(r.byte()?),
        25 => Op::SemAcquire(r.cpu()?, r.byte()?, r.timeout()?),
        26 => Op::SemTryAcquire(r.byte()?),
        27 => Op::SemRelease(r.cpu()?, r.byte()?),
        28 => {
            let (cpu, pick, mask) = (r.cpu()?, r.byte()?, r.nibble()?);
            let flags = r.byte()?;
            Op::EventWait {
                cpu,
                pick,
                mask,
                any: flags & 1 == 1,
                clear: flags & 2 == 2,
                timeout: r.timeout()?,
            }
        }
        29 => Op::EventSet(r.cpu()?, r.byte()?, r.nibble()?),
        30 => Op::EventClear(r.byte()?, r.nibble()?),
        31 => Op::Park(r.cpu()?, r.timeout()?),
        32 => Op::Unpark(r.cpu()?, r.byte()?),
        33 => Op::SemReleaseDrain(r.cpu()?, r.byte()?),
        34 => Op::SpawnAffine(r.prio()?, r.nibble()?),
        35 => Op::SetAffinity(r.cpu()?, r.nibble()?),
        _ => Op::EventSync {
            cpu: r.cpu()?,
            pick: r.byte()?,
            set: r.nibble()?,
            wait_for: r.nibble()?,
            timeout: r.timeout()?,
        },
    })
}

/// Splits `bytes` into the priorities of the initial threads (first byte: how
/// many, up to 4) and the operations that follow (at most `max_ops`).
#[must_use]
pub fn decode(bytes: &[u8], max_ops: usize) -> (Vec<Priority>, Vec<Op>) {
    let mut r = Reader { bytes };
    let count = r.byte().map_or(0, |b| b % 5);
    let initial = (0..count).map_while(|_| r.prio()).collect();
    let ops = core::iter::from_fn(|| decode_op(&mut r))
        .take(max_ops)
        .collect();
    (initial, ops)
}

fn prio_byte(p: Priority) -> u8 {
    PRIORITIES.iter().position(|&q| q == p).unwrap_or(0) as u8
}

fn timeout_byte(t: Option<Ticks>) -> u8 {
    t.map_or(5, |t| t.min(4) as u8)
}

/// Encodes a scenario so that [`decode`] gives it back, provided every value
/// is in the range `decode` produces (priorities from [`PRIORITIES`], CPUs
/// below `CPUS`, ...).
#[must_use]
pub fn encode(initial: &[Priority], ops: &[Op]) -> Vec<u8> {
    let mut out = alloc::vec![initial.len().min(4) as u8];
    out.extend(initial.iter().take(4).map(|&p| prio_byte(p)));
    for op in ops {
        let mut emit = |tag: u8, params: &[u8]| {
            out.push(tag);
            out.extend_from_slice(params);
        };
        match *op {
            Op::Spawn(p) => emit(0, &[prio_byte(p)]),
            Op::Yield(c) => emit(1, &[c]),
            Op::PreemptCheck(c) => emit(2, &[c]),
            Op::Tick(c, dt) => emit(3, &[c, dt as u8]),
            Op::Sleep(c, rel) => emit(4, &[c, (rel + 3) as u8]),
            Op::Block(c) => emit(5, &[c]),
            Op::Wake(p) => emit(6, &[p]),
            Op::Exit(c, f) => emit(7, &[c, u8::from(f)]),
            Op::Join(c, p) => emit(8, &[c, p]),
            Op::Reap(p) => emit(9, &[p]),
            Op::Detach(p) => emit(10, &[p]),
            Op::SetPriority(p, q) => emit(11, &[p, prio_byte(q)]),
            Op::TakeResult(c) => emit(12, &[c]),
            Op::CreateQueue => emit(13, &[]),
            Op::CreateMutex { fast } => emit(14, &[u8::from(fast)]),
            Op::CreateSemaphore(n) => emit(15, &[n]),
            Op::CreateEvent => emit(16, &[]),
            Op::Destroy(p) => emit(17, &[p]),
            Op::WaitOn(c, p, t) => emit(18, &[c, p, timeout_byte(t)]),
            Op::WakeOne(c, p) => emit(19, &[c, p]),
            Op::WakeAll(c, p) => emit(20, &[c, p]),
            Op::Lock(c, p, t) => emit(21, &[c, p, timeout_byte(t)]),
            Op::TryLock(c, p) => emit(22, &[c, p]),
            Op::Unlock(c, p) => emit(23, &[c, p]),
            Op::ClearPoison(p) => emit(24, &[p]),
            Op::SemAcquire(c, p, t) => emit(25, &[c, p, timeout_byte(t)]),
            Op::SemTryAcquire(p) => emit(26, &[p]),
            Op::SemRelease(c, p) => emit(27, &[c, p]),
            Op::EventWait {
                cpu,
                pick,
                mask,
                any,
                clear,
                timeout,
            } => {
                let flags = u8::from(any) | (u8::from(clear) << 1);
                emit(28, &[cpu, pick, mask, flags, timeout_byte(timeout)]);
            }
            Op::EventSet(c, p, b) => emit(29, &[c, p, b]),
            Op::EventClear(p, b) => emit(30, &[p, b]),
            Op::Park(c, t) => emit(31, &[c, timeout_byte(t)]),
            Op::Unpark(c, p) => emit(32, &[c, p]),
            Op::SemReleaseDrain(c, p) => emit(33, &[c, p]),
            Op::SpawnAffine(p, m) => emit(34, &[prio_byte(p), m]),
            Op::SetAffinity(c, m) => emit(35, &[c, m]),
            Op::EventSync {
                cpu,
                pick,
                set,
                wait_for,
                timeout,
            } => emit(36, &[cpu, pick, set, wait_for, timeout_byte(timeout)]),
        }
    }
    out
}
