//! The profile's tables and listing: instructions of one window per function (innermost,
//! inlined functions included), per symbol (outermost), and per address.

use std::collections::HashMap;
use std::fmt::Write as _;

use super::symbols::Place;
use crate::bench::report::group;

/// One window's instructions, attributed.
pub struct Attributed<'a> {
    /// Times each address ran in the window (for an excess: net of the reference), by
    /// address; every count is above zero.
    pub counts: &'a [(u64, u64)],
    /// What is known about each address.
    pub places: &'a HashMap<u64, Place>,
    /// QEMU's disassembly by address, where it logged one.
    pub disassembly: &'a HashMap<u64, String>,
}

impl Attributed<'_> {
    /// The instructions in all.
    pub fn total(&self) -> u64 {
        self.counts.iter().map(|&(_, n)| n).sum()
    }

    fn place(&self, pc: u64) -> &Place {
        &self.places[&pc]
    }

    /// Instructions per innermost function, most first.
    pub fn by_function(&self) -> Vec<(String, u64)> {
        self.group(|p| p.function().to_string())
    }

    /// Instructions per innermost function of the workspace, most first.
    pub fn by_local_function(&self) -> Vec<(String, u64)> {
        self.group(|p| p.local_function().to_string())
    }

    /// Instructions per symbol, most first.
    pub fn by_symbol(&self) -> Vec<(String, u64)> {
        self.group(|p| p.symbol.clone())
    }

    fn group(&self, key: impl Fn(&Place) -> String) -> Vec<(String, u64)> {
        let mut sums: HashMap<String, u64> = HashMap::new();
        for &(pc, n) in self.counts {
            *sums.entry(key(self.place(pc))).or_default() += n;
        }
        let mut rows: Vec<(String, u64)> = sums.into_iter().collect();
        rows.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        rows
    }

    /// Every address in address order, grouped by symbol: count, instruction, source line,
    /// and the inlined functions it belongs to (innermost first).
    pub fn listing(&self) -> String {
        let mut out = String::new();
        let width = self
            .counts
            .iter()
            .filter_map(|(pc, _)| self.disassembly.get(pc))
            .map(|t| t.len())
            .max()
            .unwrap_or(0)
            .min(44);
        let totals: HashMap<String, u64> = self.by_symbol().into_iter().collect();
        let mut current: Option<&str> = None;
        for &(pc, n) in self.counts {
            let place = self.place(pc);
            if current != Some(place.symbol.as_str()) {
                current = Some(place.symbol.as_str());
                let _ = writeln!(out, "\n{}  ({})", place.symbol, totals[&place.symbol]);
            }
            let asm = self.disassembly.get(&pc).map_or("", String::as_str);
            let source = place.source().unwrap_or_default();
            // The chain below the symbol's own function: what was inlined here.
            let inlined: Vec<&str> = match place.frames.split_last() {
                Some((_outermost, inner)) => inner.iter().map(|f| f.function.as_str()).collect(),
                None => Vec::new(),
            };
            let mut line = format!("  {pc:#010x} {n:>5}  {asm:<width$}  {source}");
            if !inlined.is_empty() {
                let _ = write!(line, "  in {}", inlined.join(" ← "));
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }
}

/// A table: instructions, share and name per row (names last, as they can be long), then the
/// total.
pub fn table(title: &str, rows: &[(String, u64)], total: u64) -> String {
    let width = group(total).len().max(5);
    let mut out = format!("{title}\n{:>width$}      %  name\n", "instr");
    for (name, n) in rows {
        let share = if total == 0 {
            0.0
        } else {
            100.0 * *n as f64 / total as f64
        };
        let _ = writeln!(out, "{:>width$}  {share:>5.1}  {name}", group(*n));
    }
    let _ = writeln!(out, "{:>width$}  100.0  total", group(total));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::symbols::Frame;

    fn place(symbol: &str, chain: &[&str], line: u32) -> Place {
        Place {
            symbol: symbol.to_string(),
            frames: chain
                .iter()
                .map(|f| Frame {
                    function: f.to_string(),
                    location: Some(("src/a.rs".to_string(), line)),
                    local: *f != "inner",
                })
                .collect(),
        }
    }

    #[test]
    fn attributes_to_innermost_functions_and_to_symbols() {
        let places: HashMap<u64, Place> = [
            (0x100, place("outer", &["outer"], 1)),
            (0x104, place("outer", &["inner", "outer"], 2)),
            (0x200, place("vectors", &[], 0)),
        ]
        .into_iter()
        .collect();
        let disassembly: HashMap<u64, String> = [(0x100, "nop".to_string())].into();
        let counts = [(0x100, 2), (0x104, 3), (0x200, 4)];
        let a = Attributed {
            counts: &counts,
            places: &places,
            disassembly: &disassembly,
        };
        assert_eq!(a.total(), 9);
        let names = |rows: Vec<(String, u64)>| -> Vec<(String, u64)> { rows };
        assert_eq!(
            names(a.by_function()),
            [
                ("vectors".to_string(), 4),
                ("inner".to_string(), 3),
                ("outer".to_string(), 2)
            ]
        );
        assert_eq!(
            a.by_local_function(),
            [("outer".to_string(), 5), ("vectors".to_string(), 4)]
        );
        assert_eq!(
            a.by_symbol(),
            [("outer".to_string(), 5), ("vectors".to_string(), 4)]
        );
        let listing = a.listing();
        assert!(listing.contains("\nouter  (5)\n"), "{listing}");
        assert!(listing.contains("0x00000104     3"), "{listing}");
        assert!(listing.contains("src/a.rs:2  in inner"), "{listing}");
        let t = table("by symbol", &a.by_symbol(), a.total());
        assert_eq!(t.lines().last().unwrap(), "    9  100.0  total", "{t}");
        assert!(t.contains("\n    5   55.6  outer\n"), "{t}");
    }
}
