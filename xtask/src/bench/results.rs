//! The metric types and their JSON form: `<target>/bench/results.json` and
//! `bench/baseline.json` share it, so the baseline is a saved run and `--check` reads both
//! the same way. The JSON is written by hand (one metric a line, diff-friendly) and read
//! with the crate's small JSON parser.

use std::fmt::Write as _;
use std::path::Path;

use crate::json::Value;
use crate::Error;

/// One metric as a kernel reported it.
#[derive(Debug, Clone, PartialEq)]
pub struct Metric {
    /// Median over the samples (for a score: the score).
    pub median: u64,
    /// Largest sample.
    pub max: u64,
    /// One of [`UNITS`].
    pub unit: String,
    /// Number of samples (1 for a score).
    pub samples: u64,
}

/// A unit a kernel may report in (its `unit=` field), with whether a higher value is better
/// and how far it may get worse in absolute terms before `--check` calls it a regression.
#[derive(Debug)]
pub struct UnitInfo {
    /// The `unit=` value.
    pub name: &'static str,
    /// Higher is better (scores, speedups); otherwise lower is.
    pub higher_is_better: bool,
    /// A change this small is never a regression, whatever the percentage: the resolution of
    /// what is measured. Also the whole allowance on a baseline of 0, where a percentage
    /// means nothing.
    pub absolute_slack: u64,
}

/// Every unit the harness knows (`bench/src/lib.rs`, `Unit`); a `BENCH` line with another
/// is an error, so that a typo cannot turn a figure's direction around.
pub const UNITS: &[UnitInfo] = &[
    unit("instructions", false, 0),
    // Instructions timed with the system counter (16 a count): the difference of two counter
    // readings is off by up to one count either way, so one count is never a regression.
    unit("counter-instructions", false, 16),
    unit("ticks", false, 0),
    unit("score", true, 0),
    unit("percent", true, 0),
    // Lateness read from the system counter: 16 ns a count at QEMU's 62.5 MHz, and a path
    // that grows by one instruction moves a sample across a count. Four counts.
    unit("ns", false, 64),
    // Interrupts per second with nothing due: counted exactly, the target is 0 and one more
    // a second is a real regression of the tickless timer. No slack: a baseline of 0 fails
    // on any interrupt.
    unit("interrupts", false, 0),
];

const fn unit(name: &'static str, higher_is_better: bool, absolute_slack: u64) -> UnitInfo {
    UnitInfo {
        name,
        higher_is_better,
        absolute_slack,
    }
}

/// What the harness knows of `unit`, if anything.
pub fn unit_info(unit: &str) -> Option<&'static UnitInfo> {
    UNITS.iter().find(|u| u.name == unit)
}

impl Metric {
    /// Whether a higher value is better (scores, speedups) rather than worse.
    pub fn higher_is_better(&self) -> bool {
        unit_info(&self.unit).is_some_and(|u| u.higher_is_better)
    }

    /// How much worse than the baseline this metric may get in absolute terms and still
    /// pass `--check` (see [`UnitInfo::absolute_slack`]).
    pub fn absolute_slack(&self) -> u64 {
        unit_info(&self.unit).map_or(0, |u| u.absolute_slack)
    }

    /// Whether the figure depends on the host (a wall-clock speedup, unit `percent`, from a
    /// kernel run in real time): never saved to the baseline nor compared with it.
    pub fn host_dependent(&self) -> bool {
        self.unit == "percent"
    }
}

/// Metrics by name, in report order.
pub type Results = Vec<(String, Metric)>;

/// `results.json`: `{ "metric": { "median": N, "max": N, "unit": "…", "samples": N }, … }`.
pub fn to_json(results: &Results) -> String {
    let mut out = String::from("{\n");
    for (i, (name, m)) in results.iter().enumerate() {
        let comma = if i + 1 < results.len() { "," } else { "" };
        let _ = writeln!(
            out,
            "  \"{}\": {{ \"median\": {}, \"max\": {}, \"unit\": \"{}\", \"samples\": {} }}{comma}",
            escape(name),
            m.median,
            m.max,
            escape(&m.unit),
            m.samples
        );
    }
    out.push_str("}\n");
    out
}

fn escape(s: &str) -> String {
    s.chars()
        .flat_map(|c| match c {
            '"' => vec!['\\', '"'],
            '\\' => vec!['\\', '\\'],
            c if (c as u32) < 0x20 => format!("\\u{:04x}", c as u32).chars().collect(),
            c => vec![c],
        })
        .collect()
}

/// Reads a results or baseline file.
pub fn read_results(path: &Path) -> Result<Results, Error> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::new(format!("reading {}: {e}", path.display())))?;
    parse_results(&text).map_err(|e| Error::new(format!("{}: {e}", path.display())))
}

/// Parses the JSON written by [`to_json`] (any JSON object of that shape).
pub fn parse_results(text: &str) -> Result<Results, String> {
    let Value::Object(members) = Value::parse(text)? else {
        return Err("not a JSON object".to_string());
    };
    let mut results = Results::new();
    for (name, value) in members {
        let number = |key: &str| match value.get(key) {
            Some(Value::Number(n)) if *n >= 0.0 && n.fract() == 0.0 => Ok(*n as u64),
            Some(_) => Err(format!("`{name}.{key}` is not a whole number")),
            None => Err(format!("`{name}` lacks `{key}`")),
        };
        let unit = value
            .get("unit")
            .and_then(Value::as_str)
            .ok_or_else(|| format!("`{name}` lacks `unit`"))?;
        results.push((
            name.clone(),
            Metric {
                median: number("median")?,
                max: number("max")?,
                unit: unit.to_string(),
                samples: number("samples").unwrap_or(1),
            },
        ));
    }
    Ok(results)
}

pub(super) fn write_file(path: &Path, text: &str) -> Result<(), Error> {
    std::fs::write(path, text).map_err(|e| Error::new(format!("writing {}: {e}", path.display())))
}

/// A metric from its fields, for the tests of this module and its siblings.
#[cfg(test)]
pub(super) fn metric(median: u64, max: u64, unit: &str, samples: u64) -> Metric {
    Metric {
        median,
        max,
        unit: unit.to_string(),
        samples,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_round_trips() {
        let results = vec![
            (
                "yield_switch".to_string(),
                metric(358, 400, "instructions", 10000),
            ),
            (
                "tm_cooperative".to_string(),
                metric(276_897, 276_897, "score", 1),
            ),
        ];
        let text = to_json(&results);
        assert!(text.contains("\"yield_switch\": { \"median\": 358, \"max\": 400"));
        assert_eq!(parse_results(&text).unwrap(), results);
        assert!(parse_results("[1]").is_err());
        assert!(parse_results("{\"a\": {\"median\": 1, \"unit\": \"score\"}}").is_err());
    }
}
