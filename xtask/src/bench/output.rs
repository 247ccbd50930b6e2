//! Reading a kernel's console output: its `BENCH` lines are the metrics, in the one format
//! every kernel prints (see the module documentation of `bench`); other lines (logs,
//! `BENCH-INFO`) are ignored, and other `key=value` fields are too, so a kernel may say
//! more without breaking the harness.

use super::results::{unit_info, Metric, Results, UNITS};

/// The metrics of a kernel's console output (its `BENCH` lines).
pub fn parse_output(output: &str) -> Result<Results, String> {
    let mut metrics = Results::new();
    for line in output.lines() {
        let Some(rest) = line.trim_end().strip_prefix("BENCH ") else {
            continue;
        };
        let mut words = rest.split_whitespace();
        let name = words
            .next()
            .ok_or_else(|| format!("`{line}`: no metric name"))?;
        let (mut median, mut max, mut unit, mut samples) = (None, None, None, None);
        for word in words {
            let Some((key, value)) = word.split_once('=') else {
                return Err(format!("`{line}`: `{word}` is not key=value"));
            };
            let number = || {
                value
                    .parse::<u64>()
                    .map_err(|_| format!("`{line}`: `{key}` is not a number"))
            };
            match key {
                "median" => median = Some(number()?),
                "max" => max = Some(number()?),
                "samples" => samples = Some(number()?),
                "unit" => unit = Some(value.to_string()),
                _ => {}
            }
        }
        let (Some(median), Some(max), Some(unit)) = (median, max, unit) else {
            return Err(format!("`{line}`: needs median=, max= and unit="));
        };
        if unit_info(&unit).is_none() {
            return Err(format!(
                "`{line}`: unknown unit `{unit}` (known: {})",
                UNITS.iter().map(|u| u.name).collect::<Vec<_>>().join(", ")
            ));
        }
        if metrics.iter().any(|(n, _)| n == name) {
            return Err(format!("metric `{name}` reported twice"));
        }
        metrics.push((
            name.to_string(),
            Metric {
                median,
                max,
                unit,
                samples: samples.unwrap_or(1),
            },
        ));
    }
    Ok(metrics)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::results::metric;

    #[test]
    fn parses_bench_lines() {
        let out = "[INFO  preempt::boot] preempt 0.1.0\nBENCH-INFO x: 6 event counters\n\
                   BENCH yield_switch median=358 max=360 unit=instructions samples=10000 min=358\n\
                   tm_basic: period 1: 10948 operations\n\
                   BENCH tm_basic median=10840 max=10840 unit=score samples=1\n";
        let m = parse_output(out).unwrap();
        assert_eq!(m.len(), 2);
        assert_eq!(
            m[0],
            (
                "yield_switch".to_string(),
                metric(358, 360, "instructions", 10000)
            )
        );
        assert!(m[1].1.higher_is_better());
        assert!(parse_output("BENCH x median=1 unit=instructions").is_err());
        assert!(parse_output("BENCH x median=1 max=1 unit=instrucitons").is_err());
        let ns =
            parse_output("BENCH wake_late_idle median=512 max=979008 unit=ns samples=500").unwrap();
        assert!(!ns[0].1.higher_is_better());
        assert_eq!(ns[0].1.absolute_slack(), 64);
        assert!(parse_output("BENCH x median=a max=1 unit=instructions").is_err());
        assert!(parse_output(
            "BENCH x median=1 max=1 unit=ticks\nBENCH x median=1 max=1 unit=ticks"
        )
        .is_err());
    }
}
