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
    /// `instructions`, `ticks`, `score` or `percent`.
    pub unit: String,
    /// Number of samples (1 for a score).
    pub samples: u64,
}

impl Metric {
    /// Whether a higher value is better (scores, speedups) rather than worse.
    pub fn higher_is_better(&self) -> bool {
        self.unit == "score" || self.unit == "percent"
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
