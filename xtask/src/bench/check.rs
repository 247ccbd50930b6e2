//! `--check`: comparing results with the baseline. It fails when a baseline metric is
//! missing from the results or is more than [`TOLERANCE_PERCENT`] worse: higher for
//! instructions, ticks, nanoseconds and interrupts, lower for scores. A worsening within the
//! unit's absolute slack (`UnitInfo::absolute_slack`: 64 ns for lateness, read from a counter
//! with 16 ns steps; one count, 16, for instructions timed by that counter; 0 for counts) passes whatever its percentage, and on a baseline of 0,
//! where a percentage means nothing, that slack is the whole allowance: an `idle_irqs_per_s`
//! of 0 fails at the first interrupt. The median is always compared; the maximum only
//! when the run took as many samples as the baseline (a `--quick` run takes fewer, and its
//! maximum is over fewer samples) and more than one. Improvements beyond the tolerance are
//! noted, as a hint to save a new baseline.
//!
//! Host-dependent metrics (unit `percent`: `smp_scaling_2` and `smp_scaling_4`, wall-clock
//! speedups measured in real time) are not compared: `--save-baseline` leaves them out, and
//! one found in a baseline anyway is skipped with a note. The table still shows them against
//! their target, which is relative to the host's core count.
//!
//! It also fails when a metric of [`BOUNDS`] has a maximum more than a fixed number of
//! instructions above another metric's maximum, whatever the baseline says: the worst
//! interrupt-to-thread latency under load may exceed the idle one by that constant only.

use super::report::group;
use super::results::Results;
use super::TOLERANCE_PERCENT;

/// The outcome of comparing results with a baseline.
#[derive(Debug, Default)]
pub struct Verdict {
    /// Regressions and missing metrics.
    pub failures: Vec<String>,
    /// Improvements beyond the tolerance and other remarks.
    pub notes: Vec<String>,
}

/// A metric whose maximum may exceed another's maximum by at most a constant.
#[derive(Debug)]
pub struct Bound {
    /// The metric bounded.
    pub metric: &'static str,
    /// The metric it is bounded by.
    pub reference: &'static str,
    /// How many instructions above the reference's maximum it may reach.
    pub slack: u64,
}

/// The bounds `--check` enforces (docs/performance.md, "Interrupt latency under load").
pub const BOUNDS: &[Bound] = &[Bound {
    metric: "irq_to_thread_worst_loaded",
    reference: "irq_to_thread_worst_idle",
    // 1,000 until frame pointers (1,008 with them: the masked paths' calls each got dearer).
    slack: 1_100,
}];

/// Failures of `bounds` in `results` (a bound is checked when both its metrics are there).
pub fn check_bounds(results: &Results, bounds: &[Bound]) -> Vec<String> {
    let max_of = |name: &str| results.iter().find(|(n, _)| n == name).map(|(_, m)| m.max);
    let mut failures = Vec::new();
    for b in bounds {
        match (max_of(b.metric), max_of(b.reference)) {
            (Some(value), Some(reference)) if value > reference + b.slack => {
                failures.push(format!(
                    "{}: max {}, more than {} above {}'s max {}",
                    b.metric,
                    group(value),
                    group(b.slack),
                    b.reference,
                    group(reference)
                ))
            }
            // A missing metric fails as such when the baseline has it.
            _ => {}
        }
    }
    failures
}

/// Compares `results` with `baseline` and checks [`BOUNDS`] (see the module documentation for
/// the rules).
pub fn check(results: &Results, baseline: &Results) -> Verdict {
    let mut verdict = Verdict {
        failures: check_bounds(results, BOUNDS),
        notes: Vec::new(),
    };
    for (name, base) in baseline {
        if base.host_dependent() {
            verdict.notes.push(format!(
                "{name}: host-dependent (wall-clock), not compared with the baseline"
            ));
            continue;
        }
        let Some((_, now)) = results.iter().find(|(n, _)| n == name) else {
            verdict
                .failures
                .push(format!("{name}: in the baseline but not in the results"));
            continue;
        };
        if now.unit != base.unit {
            verdict.failures.push(format!(
                "{name}: unit `{}`, baseline has `{}`",
                now.unit, base.unit
            ));
            continue;
        }
        let slack = base.absolute_slack();
        let mut compare = |what: &str, base_value: u64, value: u64| {
            let higher_is_better = base.higher_is_better();
            let worse = relative_worsening(higher_is_better, base_value, value);
            let worse_by = if higher_is_better {
                base_value.saturating_sub(value)
            } else {
                value.saturating_sub(base_value)
            };
            if worse > TOLERANCE_PERCENT && worse_by > slack {
                verdict.failures.push(format!(
                    "{name}: {what} {} {}, baseline {} ({:+.1}% worse, tolerance {TOLERANCE_PERCENT}%)",
                    group(value),
                    now.unit,
                    group(base_value),
                    worse
                ));
            } else if worse < -TOLERANCE_PERCENT {
                verdict.notes.push(format!(
                    "{name}: {what} {} {}, baseline {} ({:.1}% better: consider --save-baseline)",
                    group(value),
                    now.unit,
                    group(base_value),
                    -worse
                ));
            }
        };
        compare("median", base.median, now.median);
        // A single value (a score) has max = median; a max over fewer samples proves nothing.
        if now.samples == base.samples && now.samples > 1 {
            compare("max", base.max, now.max);
        }
    }
    verdict
}

/// How much worse `now` is than `base`, in percent of `base` (negative: better).
fn relative_worsening(higher_is_better: bool, base: u64, now: u64) -> f64 {
    let (base, now) = (base as f64, now as f64);
    let delta = if higher_is_better {
        base - now
    } else {
        now - base
    };
    if base == 0.0 {
        return if delta > 0.0 { f64::INFINITY } else { 0.0 };
    }
    delta * 100.0 / base
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::results::metric;

    #[test]
    fn check_flags_regressions_in_the_right_direction() {
        let baseline = vec![
            (
                "yield_switch".to_string(),
                metric(100, 110, "instructions", 10000),
            ),
            ("tm_cooperative".to_string(), metric(1000, 1000, "score", 1)),
            (
                "sem_pair".to_string(),
                metric(30, 30, "instructions", 10000),
            ),
        ];
        // Within tolerance, and better: fine.
        let ok = vec![
            (
                "yield_switch".to_string(),
                metric(103, 113, "instructions", 10000),
            ),
            ("tm_cooperative".to_string(), metric(1500, 1500, "score", 1)),
            (
                "sem_pair".to_string(),
                metric(20, 20, "instructions", 10000),
            ),
        ];
        let v = check(&ok, &baseline);
        assert!(v.failures.is_empty(), "{:?}", v.failures);
        assert_eq!(v.notes.len(), 3);
        // Slower switch, lower score, missing metric.
        let bad = vec![
            (
                "yield_switch".to_string(),
                metric(104, 110, "instructions", 10000),
            ),
            ("tm_cooperative".to_string(), metric(960, 960, "score", 1)),
        ];
        let v = check(&bad, &baseline);
        assert_eq!(v.failures.len(), 3, "{:?}", v.failures);
        assert!(v.failures[2].contains("sem_pair"));
        // A max over fewer samples (a quick run) is not compared.
        let quick = vec![
            (
                "yield_switch".to_string(),
                metric(100, 200, "instructions", 1000),
            ),
            ("tm_cooperative".to_string(), metric(1000, 1000, "score", 1)),
            ("sem_pair".to_string(), metric(30, 30, "instructions", 1000)),
        ];
        assert!(check(&quick, &baseline).failures.is_empty());
    }

    #[test]
    fn lateness_and_interrupts_are_lower_is_better_with_an_absolute_slack() {
        let baseline = vec![
            ("wake_late_idle".to_string(), metric(480, 960, "ns", 2000)),
            ("idle_irqs_per_s".to_string(), metric(0, 0, "interrupts", 3)),
        ];
        let run = |late: (u64, u64), irqs: u64| {
            vec![
                (
                    "wake_late_idle".to_string(),
                    metric(late.0, late.1, "ns", 2000),
                ),
                (
                    "idle_irqs_per_s".to_string(),
                    metric(irqs, irqs, "interrupts", 3),
                ),
            ]
        };
        // 64 ns later (four counter steps, 13%) is within the slack; 80 ns is not; earlier
        // is better.
        assert!(check(&run((544, 1024), 0), &baseline).failures.is_empty());
        let v = check(&run((560, 960), 0), &baseline);
        assert_eq!(v.failures.len(), 1, "{:?}", v.failures);
        assert!(v.failures[0].contains("wake_late_idle: median 560"));
        let v = check(&run((400, 900), 0), &baseline);
        assert!(v.failures.is_empty() && v.notes.len() == 2, "{v:?}");
        // A baseline of 0 interrupts: one a second fails.
        let v = check(&run((480, 960), 1), &baseline);
        assert_eq!(v.failures.len(), 2, "{:?}", v.failures);
        assert!(v.failures.iter().all(|f| f.starts_with("idle_irqs_per_s")));
        // Ticks and instructions keep no slack: 5 -> 6 is 20% worse.
        let ticks = vec![("idle_ticks_per_s".to_string(), metric(5, 5, "ticks", 3))];
        let more = vec![("idle_ticks_per_s".to_string(), metric(6, 6, "ticks", 3))];
        assert_eq!(check(&more, &ticks).failures.len(), 2);
    }

    #[test]
    fn counter_timed_instructions_may_read_one_count_more() {
        let baseline = vec![(
            "irq_to_thread_worst_idle".to_string(),
            metric(416, 416, "counter-instructions", 2000),
        )];
        let run = |max: u64| {
            vec![(
                "irq_to_thread_worst_idle".to_string(),
                metric(416, max, "counter-instructions", 2000),
            )]
        };
        // One count (16, +3.8%) is the counter's resolution; two counts are a regression.
        assert!(check(&run(432), &baseline).failures.is_empty());
        let v = check(&run(448), &baseline);
        assert_eq!(v.failures.len(), 1, "{:?}", v.failures);
        assert!(v.failures[0].contains("max 448"), "{:?}", v.failures);
    }

    #[test]
    fn host_dependent_metrics_are_not_compared() {
        let baseline = vec![("smp_scaling_2".to_string(), metric(190, 190, "percent", 1))];
        // Far worse, or missing: neither fails.
        let slower = vec![("smp_scaling_2".to_string(), metric(100, 100, "percent", 1))];
        for results in [slower, Vec::new()] {
            let v = check(&results, &baseline);
            assert!(v.failures.is_empty(), "{:?}", v.failures);
            assert_eq!(v.notes.len(), 1);
        }
    }

    #[test]
    fn bounds_compare_maxima_with_a_constant() {
        let bound = [Bound {
            metric: "loaded",
            reference: "idle",
            slack: 100,
        }];
        let results = |loaded: u64| {
            vec![
                ("idle".to_string(), metric(800, 900, "instructions", 2000)),
                (
                    "loaded".to_string(),
                    metric(850, loaded, "instructions", 2000),
                ),
            ]
        };
        assert!(check_bounds(&results(1000), &bound).is_empty());
        let failures = check_bounds(&results(1001), &bound);
        assert_eq!(failures.len(), 1, "{failures:?}");
        assert!(failures[0].contains("1,001"));
        assert!(check_bounds(&results(2000)[..1].to_vec(), &bound).is_empty());
    }
}
