//! The binary format of a preempt scheduler trace, defined once for both ends: the kernel
//! (feature `trace` of the `preempt` crate) records and writes it, `cargo xtask trace` reads it.
//!
//! Why a format of its own rather than, say, CTF or Perfetto's protobuf: the kernel must record
//! an event in a few instructions, without allocation, from any context (the scheduler lock
//! held, IRQs masked, an interrupt handler), so a record is one fixed-size, naturally aligned
//! 32-byte store into a per-core ring. Turning records into something people look at
//! (Chrome trace-event JSON for ui.perfetto.dev, an SVG timeline, a summary) needs the ELF and
//! plenty of memory, so it happens on the host.
//!
//! # File layout (all integers little-endian)
//!
//! ```text
//! Header      32 bytes  magic "PRTRACE\0", version, cores, counter frequency, name entries
//! per core:
//!   CoreHeader 16 bytes cpu, record count, records dropped (overwritten by the ring)
//!   Record     32 bytes × record count, oldest first
//! NameEntry   32 bytes × name entries (thread id → first 24 bytes of its name)
//! ```
//!
//! Timestamps are the generic timer's virtual count (`CNTVCT_EL0`), the same on every core;
//! [`Header::counter_hz`] converts them to seconds. Thread ids are `ThreadId::as_u64` (never 0;
//! 0 means "none" in every field that may name a thread).
//!
//! The kernel writes the file through semihosting as it exits (name [`FILE_NAME`], relative to
//! QEMU's working directory).
#![no_std]
#![forbid(unsafe_code)]

#[cfg(any(feature = "alloc", test))]
extern crate alloc;

mod record;
pub use record::{Kind, Reason, Record, WaitKind, WakeCause};

#[cfg(any(feature = "alloc", test))]
mod parse;
#[cfg(any(feature = "alloc", test))]
pub use parse::{encode, parse, CoreTrace, ParseError, Trace};

/// Name of the file the kernel writes, relative to QEMU's working directory.
pub const FILE_NAME: &str = "preempt-trace.bin";
/// First eight bytes of a trace file.
pub const MAGIC: [u8; 8] = *b"PRTRACE\0";
/// Version of this layout; a reader refuses any other.
pub const VERSION: u32 = 1;
/// Bytes of one [`Record`].
pub const RECORD_SIZE: usize = 32;
/// Bytes of the [`Header`].
pub const HEADER_SIZE: usize = 32;
/// Bytes of one [`CoreHeader`].
pub const CORE_HEADER_SIZE: usize = 16;
/// Bytes of a thread name kept in a [`NameEntry`] (longer names are cut at a character
/// boundary).
pub const NAME_LEN: usize = 24;
/// Bytes of one [`NameEntry`].
pub const NAME_ENTRY_SIZE: usize = 8 + NAME_LEN;

/// The start of a trace file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// Cores with a section in the file.
    pub cores: u32,
    /// Counter ticks per second.
    pub counter_hz: u64,
    /// [`NameEntry`]s at the end of the file.
    pub names: u32,
}

impl Header {
    /// The header's bytes.
    #[must_use]
    pub fn to_bytes(&self) -> [u8; HEADER_SIZE] {
        let mut b = [0; HEADER_SIZE];
        b[0..8].copy_from_slice(&MAGIC);
        b[8..12].copy_from_slice(&VERSION.to_le_bytes());
        b[12..16].copy_from_slice(&self.cores.to_le_bytes());
        b[16..24].copy_from_slice(&self.counter_hz.to_le_bytes());
        b[24..28].copy_from_slice(&self.names.to_le_bytes());
        b
    }
}

/// The start of one core's section.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CoreHeader {
    /// The core's number.
    pub cpu: u32,
    /// Records that follow.
    pub records: u32,
    /// Older records the ring overwrote (the section keeps the newest).
    pub dropped: u64,
}

impl CoreHeader {
    /// The section header's bytes.
    #[must_use]
    pub fn to_bytes(&self) -> [u8; CORE_HEADER_SIZE] {
        let mut b = [0; CORE_HEADER_SIZE];
        b[0..4].copy_from_slice(&self.cpu.to_le_bytes());
        b[4..8].copy_from_slice(&self.records.to_le_bytes());
        b[8..16].copy_from_slice(&self.dropped.to_le_bytes());
        b
    }
}

/// A thread's name, recorded when it is spawned (so that it survives the thread).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NameEntry {
    /// The thread's id.
    pub thread: u64,
    /// The name's first bytes, zero-padded.
    pub name: [u8; NAME_LEN],
}

impl NameEntry {
    /// The entry for `thread` called `name`, cut to [`NAME_LEN`] bytes at a character
    /// boundary.
    #[must_use]
    pub fn new(thread: u64, name: &str) -> Self {
        let mut end = name.len().min(NAME_LEN);
        while !name.is_char_boundary(end) {
            end -= 1;
        }
        let mut bytes = [0; NAME_LEN];
        bytes[..end].copy_from_slice(&name.as_bytes()[..end]);
        Self {
            thread,
            name: bytes,
        }
    }

    /// The name (up to its first zero byte; invalid UTF-8 cut where it starts).
    #[must_use]
    pub fn name(&self) -> &str {
        let len = self.name.iter().position(|&b| b == 0).unwrap_or(NAME_LEN);
        match core::str::from_utf8(&self.name[..len]) {
            Ok(s) => s,
            Err(e) => core::str::from_utf8(&self.name[..e.valid_up_to()]).unwrap_or(""),
        }
    }

    /// The entry's bytes.
    #[must_use]
    pub fn to_bytes(&self) -> [u8; NAME_ENTRY_SIZE] {
        let mut b = [0; NAME_ENTRY_SIZE];
        b[0..8].copy_from_slice(&self.thread.to_le_bytes());
        b[8..].copy_from_slice(&self.name);
        b
    }

    /// The entry in `b`.
    #[must_use]
    pub fn from_bytes(b: &[u8; NAME_ENTRY_SIZE]) -> Self {
        let mut name = [0; NAME_LEN];
        name.copy_from_slice(&b[8..]);
        Self {
            thread: u64::from_le_bytes(b[0..8].try_into().unwrap_or([0; 8])),
            name,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_cut_at_a_character_boundary() {
        let e = NameEntry::new(7, "ααααααααααααα"); // 26 bytes
        assert_eq!(e.name(), "αααααααααααα"); // 24 bytes
        let e = NameEntry::new(7, "abcdefghijklmnopqrstuvw€"); // € straddles byte 24
        assert_eq!(e.name(), "abcdefghijklmnopqrstuvw");
        assert_eq!(NameEntry::from_bytes(&e.to_bytes()), e);
        assert_eq!(NameEntry::new(1, "").name(), "");
    }
}
