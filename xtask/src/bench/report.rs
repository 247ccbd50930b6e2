//! The results table: each metric with its baseline and change, and the reference figures
//! of docs/performance.md (the project's target and ThreadX's and FreeRTOS's numbers), so a
//! run shows at a glance where it stands. [`REFERENCES`] also fixes the report order.

use std::fmt::Write as _;

use super::results::Results;

/// Reference figures and targets of a metric (see docs/performance.md).
struct Reference {
    metric: &'static str,
    target: Target,
    threadx: Option<u64>,
    freertos: Option<u64>,
}

enum Target {
    None,
    /// Median at most this.
    AtMost(u64),
    /// Maximum (the worst sample) at most this: for worst-case metrics.
    MaxAtMost(u64),
    /// Median at least this (a score above ThreadX's).
    Above(u64),
    /// Median within this many percent of another metric's median.
    Near(&'static str, u64),
    /// Median at most this many times another metric's median.
    Times(&'static str, u64),
    /// A speedup (percent) on this many cores within 10% of the most the host allows:
    /// at least 90% of min(cores, host cores) × 100.
    Scaling(u64),
}

/// The host's core count as the process sees it (1 if unknown).
pub(super) fn host_cores() -> u64 {
    std::thread::available_parallelism().map_or(1, |n| n.get() as u64)
}

/// "N host cores", for the notes on wall-clock figures.
pub(super) fn host_cores_text() -> String {
    match host_cores() {
        1 => "1 host core".to_string(),
        n => format!("{n} host cores"),
    }
}

/// Every metric the harness knows, in report order; metrics whose kernels are not written
/// yet (they need kernel features in progress) are listed so their references show up once
/// they are. Unknown metrics are reported after these.
const REFERENCES: &[Reference] = &[
    r("yield_switch", Target::AtMost(70), Some(80), Some(108)),
    r("sem_wake_switch", Target::AtMost(120), Some(145), Some(294)),
    r(
        "mutex_uncontended",
        Target::AtMost(40),
        Some(136),
        Some(198),
    ),
    r("mutex_handoff", Target::None, None, None),
    r("sem_pair", Target::AtMost(30), Some(36), None),
    r("channel_pair", Target::AtMost(80), Some(118), Some(248)),
    r("channel_wake", Target::None, None, None),
    r("unpark_switch", Target::None, None, None),
    r("spawn_join", Target::None, None, None),
    r("timer_irq_cost", Target::AtMost(100), Some(124), Some(124)),
    r("irq_latency", Target::None, None, None),
    r("irq_to_thread", Target::None, None, None),
    r("irq_to_thread_worst_idle", Target::None, None, None),
    r("irq_to_thread_worst_loaded", Target::None, None, None),
    // Precise time (issue #16): worst lateness of a wake-up in ns, and interrupts per second
    // when nothing is due.
    r("wake_late_idle", Target::MaxAtMost(5_000), None, None),
    r("wake_late_busy", Target::MaxAtMost(10_000), None, None),
    r("loop_jitter", Target::MaxAtMost(10_000), None, None),
    r("idle_irqs_per_s", Target::MaxAtMost(0), None, None),
    r("alloc_worst", Target::None, None, None),
    r("free_worst", Target::None, None, None),
    r("select_2", Target::None, None, None),
    r("select_10", Target::Near("select_2", 5), None, None),
    r("select_100", Target::Near("select_2", 5), None, None),
    r("select_1000", Target::Near("select_2", 5), None, None),
    r("smp_wake", Target::Times("sem_wake_switch", 2), None, None),
    r("smp_ipi_latency", Target::None, None, None),
    r("smp_scaling_2", Target::Scaling(2), None, None),
    r("smp_scaling_4", Target::Scaling(4), None, None),
    r("tm_basic", Target::Above(10_844), Some(10_844), None),
    r(
        "tm_cooperative",
        Target::Above(1_204_636),
        Some(1_204_636),
        Some(895_911),
    ),
    r(
        "tm_preemptive",
        Target::Above(495_955),
        Some(495_955),
        Some(240_815),
    ),
    r(
        "tm_interrupt",
        Target::Above(591_630),
        Some(591_630),
        Some(398_353),
    ),
    r(
        "tm_interrupt_preemption",
        Target::Above(277_743),
        Some(277_743),
        Some(166_090),
    ),
    r(
        "tm_message",
        Target::Above(547_361),
        Some(547_361),
        Some(355_297),
    ),
    r(
        "tm_synchronization",
        Target::Above(1_694_669),
        Some(1_694_669),
        Some(504_983),
    ),
    r(
        "tm_memory",
        Target::Above(1_587_057),
        Some(1_587_057),
        Some(357_094),
    ),
];

const fn r(
    metric: &'static str,
    target: Target,
    threadx: Option<u64>,
    freertos: Option<u64>,
) -> Reference {
    Reference {
        metric,
        target,
        threadx,
        freertos,
    }
}

fn reference(metric: &str) -> Option<&'static Reference> {
    REFERENCES.iter().find(|r| r.metric == metric)
}

/// Puts known metrics in [`REFERENCES`] order, unknown ones after them by name.
pub(super) fn sort_results(results: &mut Results) {
    let rank = |name: &str| {
        REFERENCES
            .iter()
            .position(|r| r.metric == name)
            .unwrap_or(usize::MAX)
    };
    results.sort_by(|(a, _), (b, _)| rank(a).cmp(&rank(b)).then_with(|| a.cmp(b)));
}

/// The results table, with the baseline's medians and the change when there is a baseline.
pub fn table(results: &Results, baseline: Option<&Results>) -> String {
    let mut rows: Vec<Vec<String>> = vec![[
        "metric", "median", "max", "unit", "samples", "baseline", "change", "target", "met",
        "ThreadX", "FreeRTOS",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()];
    let median_of = |name: &str| {
        results
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, m)| m.median)
    };
    for (name, m) in results {
        let base = baseline
            .and_then(|b| b.iter().find(|(n, _)| n == name))
            .map(|(_, b)| b);
        let change = base.map_or(String::new(), |b| percent_change(b.median, m.median));
        let refs = reference(name);
        let (target, met) = match refs.map(|r| &r.target) {
            Some(Target::AtMost(t)) => (format!("<= {}", group(*t)), yes_no(m.median <= *t)),
            Some(Target::MaxAtMost(t)) => (format!("max <= {}", group(*t)), yes_no(m.max <= *t)),
            Some(Target::Above(t)) => (format!("> {}", group(*t)), yes_no(m.median > *t)),
            Some(Target::Near(other, pct)) => (
                format!("{other} ±{pct}%"),
                median_of(other).map_or(String::from("?"), |o| {
                    yes_no(m.median.abs_diff(o) * 100 <= o * pct)
                }),
            ),
            Some(Target::Times(other, k)) => (
                format!("<= {k}x {other}"),
                median_of(other).map_or(String::from("?"), |o| yes_no(m.median <= o * k)),
            ),
            Some(Target::Scaling(cores)) => {
                let t = scaling_target(*cores, host_cores());
                (
                    format!(">= {} ({})", group(t), host_cores_text()),
                    yes_no(m.median >= t),
                )
            }
            Some(Target::None) | None => (String::new(), String::new()),
        };
        let opt = |v: Option<u64>| v.map_or(String::new(), group);
        rows.push(vec![
            name.clone(),
            group(m.median),
            group(m.max),
            m.unit.clone(),
            group(m.samples),
            base.map_or(String::new(), |b| group(b.median)),
            change,
            target,
            met,
            opt(refs.and_then(|r| r.threadx)),
            opt(refs.and_then(|r| r.freertos)),
        ]);
    }
    let columns = rows[0].len();
    let keep: Vec<bool> = (0..columns)
        .map(|c| rows.iter().skip(1).any(|row| !row[c].is_empty()))
        .collect();
    let widths: Vec<usize> = (0..columns)
        .map(|c| {
            rows.iter()
                .map(|row| row[c].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for row in &rows {
        let mut line = String::new();
        for c in 0..columns {
            if !keep[c] {
                continue;
            }
            let cell = &row[c];
            let pad = widths[c] - cell.chars().count();
            // Text columns left-aligned, numbers right-aligned.
            if matches!(c, 0 | 3 | 7 | 8) {
                let _ = write!(line, "{cell}{}  ", " ".repeat(pad));
            } else {
                let _ = write!(line, "{}{cell}  ", " ".repeat(pad));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// The least speedup, in percent, that is within 10% of the best `cores` cores can give on
/// a host with `host` cores.
fn scaling_target(cores: u64, host: u64) -> u64 {
    cores.min(host).max(1) * 90
}

fn yes_no(ok: bool) -> String {
    String::from(if ok { "yes" } else { "no" })
}

fn percent_change(base: u64, now: u64) -> String {
    if base == 0 {
        return if now == 0 {
            "0.0%".into()
        } else {
            "new".into()
        };
    }
    format!("{:+.1}%", (now as f64 - base as f64) * 100.0 / base as f64)
}

/// `1234567` → `1,234,567`.
pub(crate) fn group(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::results::metric;

    #[test]
    fn table_shows_targets_and_references() {
        let results = vec![
            (
                "yield_switch".to_string(),
                metric(358, 358, "instructions", 10000),
            ),
            (
                "select_2".to_string(),
                metric(358, 358, "instructions", 10000),
            ),
            (
                "select_1000".to_string(),
                metric(370, 370, "instructions", 10000),
            ),
            (
                "tm_cooperative".to_string(),
                metric(1_300_000, 1_300_000, "score", 1),
            ),
            (
                "wake_late_busy".to_string(),
                metric(512, 979_008, "ns", 500),
            ),
            ("loop_jitter".to_string(), metric(9_000, 9_984, "ns", 300)),
        ];
        let t = table(&results, None);
        let line = |name: &str| t.lines().find(|l| l.starts_with(name)).unwrap().to_string();
        assert!(line("yield_switch").contains("<= 70"));
        assert!(line("yield_switch").contains(" no "));
        assert!(line("select_1000").contains("yes"));
        assert!(line("tm_cooperative").contains("1,204,636"));
        // Worst-case targets look at the maximum, not the median.
        assert!(line("wake_late_busy").contains("max <= 10,000"));
        assert!(line("wake_late_busy").ends_with(" no"));
        assert!(line("loop_jitter").ends_with(" yes"));
        assert!(!t.contains("baseline"));
        assert_eq!(group(1_234_567), "1,234,567");
        assert_eq!(scaling_target(2, 2), 180);
        assert_eq!(scaling_target(4, 2), 180);
        assert_eq!(scaling_target(4, 8), 360);
        assert_eq!(scaling_target(2, 1), 90);
        assert_eq!(group(12), "12");
    }
}
