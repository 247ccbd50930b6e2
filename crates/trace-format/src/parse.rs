//! Whole traces on the host: reading a file into a [`Trace`], and writing one (for tests and
//! tools that make traces).

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use crate::{
    CoreHeader, Header, NameEntry, Record, CORE_HEADER_SIZE, HEADER_SIZE, MAGIC, NAME_ENTRY_SIZE,
    RECORD_SIZE, VERSION,
};

/// A whole trace file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Trace {
    /// Counter ticks per second.
    pub counter_hz: u64,
    /// One section per core, in file order.
    pub cores: Vec<CoreTrace>,
    /// Thread names: (thread id, name), in the order threads were named.
    pub names: Vec<(u64, String)>,
}

/// One core's events.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CoreTrace {
    /// The core's number.
    pub cpu: u32,
    /// Older records the ring overwrote before the trace was written.
    pub dropped: u64,
    /// The core's records, oldest first.
    pub records: Vec<Record>,
}

impl Trace {
    /// The name recorded for `thread`, if any.
    #[must_use]
    pub fn name_of(&self, thread: u64) -> Option<&str> {
        self.names
            .iter()
            .find(|(id, _)| *id == thread)
            .map(|(_, n)| n.as_str())
    }
}

/// Why a file is not a trace this version can read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ParseError {
    /// The file does not start with [`MAGIC`].
    NotATrace,
    /// The file is a trace of another layout version.
    Version(u32),
    /// The file ends early: `what` was cut off at byte `at`.
    Truncated {
        /// The part that was cut off.
        what: &'static str,
        /// Where the file ended.
        at: usize,
    },
    /// Bytes follow the last name entry.
    TrailingBytes(usize),
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseError::NotATrace => write!(f, "not a preempt trace (no PRTRACE header)"),
            ParseError::Version(v) => write!(
                f,
                "trace layout version {v}, but this reader knows version {VERSION}"
            ),
            ParseError::Truncated { what, at } => {
                write!(f, "trace cut short: {what} ends past byte {at}")
            }
            ParseError::TrailingBytes(n) => write!(f, "{n} unexpected bytes after the trace"),
        }
    }
}

/// A cursor over the file's bytes.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take<const N: usize>(&mut self, what: &'static str) -> Result<&'a [u8; N], ParseError> {
        let end = self.at.checked_add(N).filter(|&e| e <= self.bytes.len());
        let Some(end) = end else {
            return Err(ParseError::Truncated {
                what,
                at: self.bytes.len(),
            });
        };
        let chunk = &self.bytes[self.at..end];
        self.at = end;
        chunk.try_into().map_err(|_| ParseError::Truncated {
            what,
            at: self.bytes.len(),
        })
    }
}

fn u32_at(b: &[u8], i: usize) -> u32 {
    u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]])
}

fn u64_at(b: &[u8], i: usize) -> u64 {
    u64::from(u32_at(b, i)) | u64::from(u32_at(b, i + 4)) << 32
}

/// Reads a trace file.
///
/// # Errors
/// If `bytes` is not a whole trace of this layout version.
pub fn parse(bytes: &[u8]) -> Result<Trace, ParseError> {
    let mut r = Reader { bytes, at: 0 };
    if bytes.len() < MAGIC.len() || bytes[..MAGIC.len()] != MAGIC {
        return Err(ParseError::NotATrace);
    }
    let h = r.take::<HEADER_SIZE>("the header")?;
    let version = u32_at(h, 8);
    if version != VERSION {
        return Err(ParseError::Version(version));
    }
    let header = Header {
        cores: u32_at(h, 12),
        counter_hz: u64_at(h, 16),
        names: u32_at(h, 24),
    };
    let mut trace = Trace {
        counter_hz: header.counter_hz,
        ..Trace::default()
    };
    for _ in 0..header.cores {
        let c = r.take::<CORE_HEADER_SIZE>("a core's header")?;
        let mut core = CoreTrace {
            cpu: u32_at(c, 0),
            dropped: u64_at(c, 8),
            records: Vec::new(),
        };
        let count = u32_at(c, 4);
        // Checked before reserving, so a corrupt count cannot ask for a huge allocation.
        let need = (count as usize).saturating_mul(RECORD_SIZE);
        if need > bytes.len() - r.at {
            return Err(ParseError::Truncated {
                what: "a core's records",
                at: bytes.len(),
            });
        }
        core.records.reserve(count as usize);
        for _ in 0..count {
            core.records
                .push(Record::from_bytes(r.take::<RECORD_SIZE>("a record")?));
        }
        trace.cores.push(core);
    }
    for _ in 0..header.names {
        let e = NameEntry::from_bytes(r.take::<NAME_ENTRY_SIZE>("a name entry")?);
        trace.names.push((e.thread, e.name().into()));
    }
    if r.at != bytes.len() {
        return Err(ParseError::TrailingBytes(bytes.len() - r.at));
    }
    Ok(trace)
}

/// Writes `trace` in the file layout (names cut to [`crate::NAME_LEN`] bytes).
#[must_use]
pub fn encode(trace: &Trace) -> Vec<u8> {
    let mut out = Vec::new();
    let header = Header {
        cores: u32::try_from(trace.cores.len()).unwrap_or(u32::MAX),
        counter_hz: trace.counter_hz,
        names: u32::try_from(trace.names.len()).unwrap_or(u32::MAX),
    };
    out.extend_from_slice(&header.to_bytes());
    for core in &trace.cores {
        let h = CoreHeader {
            cpu: core.cpu,
            records: u32::try_from(core.records.len()).unwrap_or(u32::MAX),
            dropped: core.dropped,
        };
        out.extend_from_slice(&h.to_bytes());
        for r in &core.records {
            out.extend_from_slice(&r.to_bytes());
        }
    }
    for (id, name) in &trace.names {
        out.extend_from_slice(&NameEntry::new(*id, name).to_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Kind, Reason};
    use alloc::vec;

    fn sample() -> Trace {
        let mut out = Record::new(20, Kind::SwitchOut, 2);
        out.detail = Reason::Yielded as u8;
        Trace {
            counter_hz: 62_500_000,
            cores: vec![
                CoreTrace {
                    cpu: 0,
                    dropped: 0,
                    records: vec![Record::new(10, Kind::SwitchIn, 2), out],
                },
                CoreTrace {
                    cpu: 1,
                    dropped: 5,
                    records: vec![],
                },
            ],
            names: vec![(2, "worker".into()), (1 << 32 | 3, "main".into())],
        }
    }

    #[test]
    fn a_trace_survives_its_file() {
        let t = sample();
        let bytes = encode(&t);
        assert_eq!(bytes.len(), 32 + 16 + 2 * 32 + 16 + 2 * 32);
        assert_eq!(parse(&bytes), Ok(t.clone()));
        assert_eq!(t.name_of(2), Some("worker"));
        assert_eq!(t.name_of(9), None);
    }

    #[test]
    fn damaged_files_are_refused_with_a_reason() {
        let bytes = encode(&sample());
        assert_eq!(parse(b"ELF"), Err(ParseError::NotATrace));
        for cut in [10, 40, 60, bytes.len() - 1] {
            assert!(
                matches!(parse(&bytes[..cut]), Err(ParseError::Truncated { .. })),
                "cut at {cut}"
            );
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert_eq!(parse(&longer), Err(ParseError::TrailingBytes(1)));
        let mut v2 = bytes.clone();
        v2[8] = 2;
        assert_eq!(parse(&v2), Err(ParseError::Version(2)));
        let mut huge = bytes;
        huge[32 + 4..32 + 8].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(matches!(parse(&huge), Err(ParseError::Truncated { .. })));
    }
}
