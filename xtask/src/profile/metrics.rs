//! Which benchmark kernel measures which metric, and how; and the metrics that are not
//! windows between two counter reads, which cannot be profiled this way.

use super::window::Method;

/// A metric `profile` can cut out of its kernel's run.
#[derive(Debug)]
pub struct Profiled {
    /// The metric's name (as in `BENCH` lines and `bench/baseline.json`).
    pub name: &'static str,
    /// The benchmark kernel (`bench/src/bin/KERNEL.rs`) that measures it.
    pub kernel: &'static str,
    /// How its figure relates to the window.
    pub method: Method,
}

const fn window(name: &'static str, kernel: &'static str) -> Profiled {
    Profiled {
        name,
        kernel,
        method: Method::Window,
    }
}

/// Every metric that is a window between two reads of the instruction counter.
pub const PROFILED: &[Profiled] = &[
    window("yield_switch", "yield_switch"),
    window("select_2", "select"),
    window("select_10", "select"),
    window("select_100", "select"),
    window("select_1000", "select"),
    window("spawn_join", "spawn_join"),
    Profiled {
        name: "timer_irq_cost",
        kernel: "tick",
        method: Method::Excess,
    },
    window("sem_pair", "sync_ops"),
    window("mutex_uncontended", "sync_ops"),
    window("channel_pair", "sync_ops"),
    window("pool_pair", "sync_ops"),
    window("sem_wake_switch", "wake"),
    window("mutex_handoff", "wake"),
    window("channel_wake", "wake"),
    window("unpark_switch", "wake"),
    window("irq_latency", "irq"),
    window("irq_to_thread", "irq"),
    window("alloc_worst", "heap"),
    window("free_worst", "heap"),
];

/// Metrics that are not such a window, with the reason.
pub const NOT_PROFILED: &[(&str, &str)] = &[
    (
        "irq_to_thread_worst_idle",
        "it is timed with the virtual counter from a timer deadline, not between two \
         instruction-counter reads",
    ),
    (
        "smp_wake",
        "it spans two cores and is timed with the virtual counter, not between two reads of \
         one core's instruction counter",
    ),
    (
        "smp_ipi_latency",
        "it spans two cores and is timed with the virtual counter, not between two reads of \
         one core's instruction counter",
    ),
    (
        "smp_scaling_2",
        "it is a wall-clock speedup measured in real time",
    ),
    (
        "smp_scaling_4",
        "it is a wall-clock speedup measured in real time",
    ),
    (
        "irq_to_thread_worst_loaded",
        "it is timed with the virtual counter from a timer deadline, not between two \
         instruction-counter reads",
    ),
    (
        "wake_late_idle",
        "it is a wake-up's lateness after a sleep deadline, read from the system counter, not \
         a window between two instruction-counter reads",
    ),
    (
        "wake_late_busy",
        "it is a wake-up's lateness after a sleep deadline, read from the system counter, not \
         a window between two instruction-counter reads",
    ),
    (
        "loop_jitter",
        "it is a wake-up's lateness after a sleep_until deadline, read from the system counter, \
         not a window between two instruction-counter reads",
    ),
    (
        "idle_irqs_per_s",
        "it counts timer interrupts per second of sleep, not instructions",
    ),
];

/// The profiled metric called `name`, or why there is none.
pub fn find(name: &str) -> Result<&'static Profiled, String> {
    if let Some(m) = PROFILED.iter().find(|m| m.name == name) {
        return Ok(m);
    }
    if let Some((_, why)) = NOT_PROFILED.iter().find(|(n, _)| *n == name) {
        return Err(format!("`{name}` cannot be profiled: {why}"));
    }
    if name.starts_with("tm_") {
        return Err(format!(
            "`{name}` is a Thread-Metric score (operations in 100 ms), not one window; \
             profile the path it repeats instead (docs/performance.md, \"Thread-Metric\")"
        ));
    }
    Err(format!(
        "unknown metric `{name}`{} (metrics: {})",
        crate::suggest::did_you_mean(name, PROFILED.iter().map(|m| m.name)),
        PROFILED
            .iter()
            .map(|m| m.name)
            .collect::<Vec<_>>()
            .join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn workspace() -> &'static Path {
        Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap()
    }

    #[test]
    fn every_metric_is_named_in_its_kernel() {
        for m in PROFILED {
            let path = workspace().join(format!("bench/src/bin/{}.rs", m.kernel));
            let source = std::fs::read_to_string(&path).unwrap();
            // `select_N` is formatted: `select_{n}`.
            let formatted = m
                .name
                .rsplit_once('_')
                .map(|(stem, _)| format!("\"{stem}_{{n}}\""));
            assert!(
                source.contains(&format!("\"{}\"", m.name))
                    || formatted.is_some_and(|f| source.contains(&f)),
                "{} does not report `{}`",
                path.display(),
                m.name
            );
        }
    }

    #[test]
    fn every_baseline_metric_is_either_profiled_or_explained() {
        let baseline = std::fs::read_to_string(workspace().join("bench/baseline.json")).unwrap();
        for line in baseline.lines() {
            let Some(name) = line
                .trim()
                .strip_prefix('"')
                .and_then(|l| l.split('"').next())
            else {
                continue;
            };
            let result = find(name);
            if let Err(why) = &result {
                assert!(
                    NOT_PROFILED.iter().any(|(n, _)| *n == name) || name.starts_with("tm_"),
                    "{name}: {why}"
                );
            }
        }
        assert!(find("yeild_switch")
            .unwrap_err()
            .contains("did you mean `yield_switch`"));
        assert!(find("tm_basic").unwrap_err().contains("score"));
    }
}
