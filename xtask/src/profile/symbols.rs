//! Where the benchmark kernel's counter reads and report functions are (the rest of what
//! its ELF says about an address is [`crate::symbols`]).
//!
//! Counter reads are found in the code itself, not by name: every `mrs xN, pmevcntr0_el0`
//! (encoding `0xd53be800 | N`) in an executable section is one (`pmu::read_instructions` is
//! `#[inline(always)]`, so there is one per call site). The report functions
//! (`preempt_bench::report`, `report_value`) are found by symbol: the kernels call them out of
//! line, and the profile cuts the run into one stretch per reported metric at their entries.

use std::path::Path;

use object::{Object, ObjectSection, ObjectSymbol, SectionKind};

pub use crate::symbols::Place;
use crate::symbols::{demangle, Symbols};
use crate::Error;

/// `mrs x0, pmevcntr0_el0`; the low 5 bits name the register.
const MRS_PMEVCNTR0: u32 = 0xd53b_e800;
/// The harness functions whose every call reports one metric.
const REPORT_FUNCTIONS: [&str; 2] = ["preempt_bench::report", "preempt_bench::report_value"];

/// A benchmark kernel's ELF, parsed.
pub struct Image<'data> {
    symbols: Symbols<'data>,
    /// Addresses of the counter reads' `mrs`.
    pub reads: Vec<u64>,
    /// Entry addresses of the report functions.
    pub reports: Vec<u64>,
}

impl<'data> Image<'data> {
    /// Parses an ELF read into `data`; source paths are shown relative to `root`.
    pub fn parse(data: &'data [u8], root: &Path) -> Result<Self, Error> {
        let symbols = Symbols::parse(data, root)?;
        let mut reads = Vec::new();
        for section in symbols.file.sections() {
            if section.kind() != SectionKind::Text {
                continue;
            }
            let code = section
                .data()
                .map_err(|e| Error::new(format!("reading the kernel ELF: {e}")))?;
            for (i, word) in code.chunks_exact(4).enumerate() {
                let word = u32::from_le_bytes([word[0], word[1], word[2], word[3]]);
                if word & !0x1f == MRS_PMEVCNTR0 {
                    reads.push(section.address() + 4 * i as u64);
                }
            }
        }
        // From every symbol, aliases included (`Symbols` keeps one name per address).
        let reports = symbols
            .file
            .symbols()
            .filter(|s| REPORT_FUNCTIONS.contains(&demangle(s.name().unwrap_or_default()).as_str()))
            .map(|s| s.address())
            .collect();
        Ok(Image {
            symbols,
            reads,
            reports,
        })
    }

    /// Everything known about `pc`.
    pub fn place(&self, pc: u64) -> Place {
        self.symbols.place(pc)
    }
}
