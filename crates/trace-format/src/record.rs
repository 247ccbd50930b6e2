//! One trace event: a fixed 32-byte record, and the codes its fields hold.

/// One event. What `thread`, `detail`, `aux`, `arg` and `other` mean depends on `kind`
/// (see [`Kind`]); fields a kind does not use are zero.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C, align(32))]
pub struct Record {
    /// Counter value when it happened (`CNTVCT_EL0`).
    pub time: u64,
    /// A [`Kind`] as `u8`.
    pub kind: u8,
    /// Small argument (a priority, a [`Reason`], a [`WakeCause`], a core).
    pub detail: u8,
    /// Second small argument (a [`WaitKind`], an old priority, a core).
    pub aux: u16,
    /// 32-bit argument (an interrupt line, a string's length).
    pub arg: u32,
    /// The thread the event is about (0: none).
    pub thread: u64,
    /// 64-bit argument (another thread, an object, a string's address).
    pub other: u64,
}

const _: () = assert!(core::mem::size_of::<Record>() == crate::RECORD_SIZE);

impl Record {
    /// A record of `kind` at `time` about `thread`, other fields zero.
    #[must_use]
    pub const fn new(time: u64, kind: Kind, thread: u64) -> Self {
        Self {
            time,
            kind: kind as u8,
            detail: 0,
            aux: 0,
            arg: 0,
            thread,
            other: 0,
        }
    }

    /// The record's kind, if it is one this version knows.
    #[must_use]
    pub fn kind(&self) -> Option<Kind> {
        Kind::from_u8(self.kind)
    }

    /// The record's bytes.
    #[must_use]
    pub fn to_bytes(&self) -> [u8; crate::RECORD_SIZE] {
        let mut b = [0; crate::RECORD_SIZE];
        b[0..8].copy_from_slice(&self.time.to_le_bytes());
        b[8] = self.kind;
        b[9] = self.detail;
        b[10..12].copy_from_slice(&self.aux.to_le_bytes());
        b[12..16].copy_from_slice(&self.arg.to_le_bytes());
        b[16..24].copy_from_slice(&self.thread.to_le_bytes());
        b[24..32].copy_from_slice(&self.other.to_le_bytes());
        b
    }

    /// The record in `b`.
    #[must_use]
    pub fn from_bytes(b: &[u8; crate::RECORD_SIZE]) -> Self {
        let u64_at = |i: usize| {
            let mut w = [0; 8];
            w.copy_from_slice(&b[i..i + 8]);
            u64::from_le_bytes(w)
        };
        Self {
            time: u64_at(0),
            kind: b[8],
            detail: b[9],
            aux: u16::from_le_bytes([b[10], b[11]]),
            arg: u32::from_le_bytes([b[12], b[13], b[14], b[15]]),
            thread: u64_at(16),
            other: u64_at(24),
        }
    }
}

/// What a [`Record`] says happened, and what its fields hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Kind {
    /// `thread` starts running on this core; `detail`: its effective priority.
    SwitchIn = 1,
    /// `thread` stops running on this core; `detail`: a [`Reason`]; when it blocked, `aux`: a
    /// [`WaitKind`] and `other`: the object's id (for a join, the joined thread's id).
    SwitchOut = 2,
    /// `thread` became ready; `detail`: a [`WakeCause`]; `other`: the waking thread (0 when an
    /// interrupt handler or a deadline woke it).
    Wake = 3,
    /// `thread` was created; `detail`: its base priority; `other`: the creating thread.
    Spawn = 4,
    /// `thread` ended; `detail`: 0 when it returned, 1 when it panicked or faulted.
    Exit = 5,
    /// Priority inheritance raised `thread`'s effective priority; `detail`: the new priority,
    /// `aux`: the old one, `other`: the waiting thread that caused it (0: unknown).
    Boost = 6,
    /// `thread`'s inherited priority was given back; `detail`: the new priority, `aux`: the
    /// old one.
    Restore = 7,
    /// An interrupt handler starts; `arg`: the interrupt line.
    IrqEnter = 8,
    /// An interrupt handler ended; `arg`: the interrupt line.
    IrqExit = 9,
    /// The deadline of `thread`'s sleep or timed wait passed (a [`Kind::Wake`] follows if it
    /// was still waiting).
    TimerExpiry = 10,
    /// `thread` moved to another core; `detail`: the new core, `aux`: the old one.
    Migrate = 11,
    /// A user's marker (`preempt::trace::mark`) from `thread` (0: an interrupt handler);
    /// `other`: the address of the
    /// `&'static str`'s bytes in the program's image, `arg`: their length.
    Mark = 12,
}

impl Kind {
    /// Every kind, in code order.
    pub const ALL: [Kind; 12] = [
        Kind::SwitchIn,
        Kind::SwitchOut,
        Kind::Wake,
        Kind::Spawn,
        Kind::Exit,
        Kind::Boost,
        Kind::Restore,
        Kind::IrqEnter,
        Kind::IrqExit,
        Kind::TimerExpiry,
        Kind::Migrate,
        Kind::Mark,
    ];

    /// The kind with code `code`.
    #[must_use]
    pub fn from_u8(code: u8) -> Option<Self> {
        Self::ALL.iter().copied().find(|k| *k as u8 == code)
    }
}

/// Why a thread stopped running ([`Kind::SwitchOut`]'s `detail`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Reason {
    /// A higher-priority thread (or the end of its time slice) took the core.
    Preempted = 0,
    /// It yielded.
    Yielded = 1,
    /// It blocked on an object (see [`WaitKind`]).
    Blocked = 2,
    /// It went to sleep.
    Slept = 3,
    /// It waits for another thread to end.
    Joining = 4,
    /// It ended.
    Exited = 5,
    /// It moved to another core.
    Migrated = 6,
}

impl Reason {
    /// Every reason, in code order.
    pub const ALL: [Reason; 7] = [
        Reason::Preempted,
        Reason::Yielded,
        Reason::Blocked,
        Reason::Slept,
        Reason::Joining,
        Reason::Exited,
        Reason::Migrated,
    ];

    /// The reason with code `code`.
    #[must_use]
    pub fn from_u8(code: u8) -> Option<Self> {
        Self::ALL.iter().copied().find(|r| *r as u8 == code)
    }

    /// A word for people.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Reason::Preempted => "preempted",
            Reason::Yielded => "yielded",
            Reason::Blocked => "blocked",
            Reason::Slept => "slept",
            Reason::Joining => "joining",
            Reason::Exited => "exited",
            Reason::Migrated => "migrated",
        }
    }
}

/// What a blocked thread waits on ([`Kind::SwitchOut`]'s `aux`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u16)]
pub enum WaitKind {
    /// Not blocked on an object.
    None = 0,
    /// A wait queue (condition variable, channel, barrier…).
    Queue = 1,
    /// A mutex.
    Mutex = 2,
    /// A semaphore.
    Semaphore = 3,
    /// Event flags.
    Event = 4,
    /// Its park token.
    Park = 5,
    /// Another thread's end (`other` is that thread).
    Join = 6,
}

impl WaitKind {
    /// Every kind of wait, in code order.
    pub const ALL: [WaitKind; 7] = [
        WaitKind::None,
        WaitKind::Queue,
        WaitKind::Mutex,
        WaitKind::Semaphore,
        WaitKind::Event,
        WaitKind::Park,
        WaitKind::Join,
    ];

    /// The kind with code `code`.
    #[must_use]
    pub fn from_u16(code: u16) -> Option<Self> {
        Self::ALL.iter().copied().find(|w| *w as u16 == code)
    }

    /// A word for people.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            WaitKind::None => "nothing",
            WaitKind::Queue => "queue",
            WaitKind::Mutex => "mutex",
            WaitKind::Semaphore => "semaphore",
            WaitKind::Event => "event flags",
            WaitKind::Park => "park",
            WaitKind::Join => "join",
        }
    }
}

/// Who or what made a thread ready ([`Kind::Wake`]'s `detail`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum WakeCause {
    /// Another thread (`other`), releasing or signalling something.
    Thread = 0,
    /// An interrupt handler.
    Interrupt = 1,
    /// Its deadline passed (a sleep or a timed wait ended).
    Timeout = 2,
    /// It was just created.
    Spawned = 3,
}

impl WakeCause {
    /// Every cause, in code order.
    pub const ALL: [WakeCause; 4] = [
        WakeCause::Thread,
        WakeCause::Interrupt,
        WakeCause::Timeout,
        WakeCause::Spawned,
    ];

    /// The cause with code `code`.
    #[must_use]
    pub fn from_u8(code: u8) -> Option<Self> {
        Self::ALL.iter().copied().find(|c| *c as u8 == code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_survives_its_bytes() {
        let r = Record {
            time: 0x0102_0304_0506_0708,
            kind: Kind::SwitchOut as u8,
            detail: Reason::Blocked as u8,
            aux: WaitKind::Mutex as u16,
            arg: 0xdead_beef,
            thread: 3 | 1 << 32,
            other: u64::MAX,
        };
        let b = r.to_bytes();
        assert_eq!(b[0], 0x08, "little-endian");
        assert_eq!(Record::from_bytes(&b), r);
    }

    #[test]
    fn codes_round_trip_and_unknown_ones_are_refused() {
        for k in Kind::ALL {
            assert_eq!(Kind::from_u8(k as u8), Some(k));
        }
        for r in Reason::ALL {
            assert_eq!(Reason::from_u8(r as u8), Some(r));
        }
        for w in WaitKind::ALL {
            assert_eq!(WaitKind::from_u16(w as u16), Some(w));
        }
        for c in WakeCause::ALL {
            assert_eq!(WakeCause::from_u8(c as u8), Some(c));
        }
        assert_eq!(Kind::from_u8(0), None);
        assert_eq!(Kind::from_u8(200), None);
        assert_eq!(Reason::from_u8(99), None);
    }
}
