//! The table `cargo xtask trace` prints: per thread, CPU time and its share, runs,
//! preemptions, longest run and worst wake-to-run latency; then what the trace lacks
//! (records the kernel's rings dropped, unknown kinds skipped, repairs).
//!
//! A thread's CPU time is the sum of its runs, interrupt handlers that ran during them
//! included (the kernel does not switch threads for a handler). Its share is of all the
//! time the trace covers on all its cores, so with the idle threads the shares add up to
//! 100 % — less the time of cores that never switched threads while the trace was recorded
//! (an idle core shows its interrupts but no run: which thread it ran is not recorded). The
//! wake-to-run latency is from a wake of the thread to its next switch-in, on any core.

use std::fmt::Write;

use super::model::Model;

/// One thread's figures (times in counter ticks).
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// The thread's id.
    pub thread: u64,
    /// Its name.
    pub name: String,
    /// Time running.
    pub cpu: u64,
    /// `cpu` as a percentage of the trace's duration times its cores.
    pub share: f64,
    /// Runs (switch-ins, plus a run whose switch-in was not recorded).
    pub runs: usize,
    /// Runs that ended by preemption.
    pub preemptions: usize,
    /// The longest run.
    pub longest: u64,
    /// The longest time from a wake to the next switch-in, if it was ever woken and ran.
    pub worst_latency: Option<u64>,
}

/// Every thread's row, most CPU time first.
pub fn rows(model: &Model) -> Vec<Row> {
    let available = (model.end - model.start) as f64 * model.cores.len().max(1) as f64;
    let mut rows: Vec<Row> = model
        .threads
        .iter()
        .map(|t| Row {
            thread: t.id,
            name: t.name.clone(),
            cpu: 0,
            share: 0.0,
            runs: 0,
            preemptions: 0,
            longest: 0,
            worst_latency: None,
        })
        .collect();
    for run in model.cores.iter().flat_map(|c| &c.runs) {
        let row = &mut rows[model.thread_index(run.thread)];
        let length = run.end - run.start;
        row.cpu += length;
        row.runs += 1;
        row.preemptions += usize::from(run.ending.preempted());
        row.longest = row.longest.max(length);
    }
    for flow in &model.flows {
        let woke = model.cores[flow.to_core].runs[flow.to_run].start;
        let row = &mut rows[model.thread_index(flow.thread)];
        let latency = woke.saturating_sub(flow.wake);
        row.worst_latency = Some(row.worst_latency.map_or(latency, |w| w.max(latency)));
    }
    for row in &mut rows {
        if available > 0.0 {
            row.share = row.cpu as f64 * 100.0 / available;
        }
    }
    rows.sort_by_key(|r| std::cmp::Reverse(r.cpu));
    rows
}

/// The table and notes, as printed.
pub fn render(model: &Model) -> String {
    let rows = rows(model);
    let width = rows
        .iter()
        .map(|r| r.name.chars().count())
        .chain([6])
        .max()
        .unwrap_or(6);
    let us = |ticks: u64| format!("{:.1}", model.us(ticks));
    let mut out = format!(
        "trace: {} core{}, {} µs, {} thread{}\n\n",
        model.cores.len(),
        plural(model.cores.len()),
        us(model.end - model.start),
        rows.len(),
        plural(rows.len())
    );
    let _ = writeln!(
        out,
        "{:<width$}  {:>12}  {:>6}  {:>6}  {:>9}  {:>12}  {:>14}",
        "thread", "cpu time µs", "share", "runs", "preempted", "longest µs", "worst wake µs"
    );
    for r in rows.iter().filter(|r| r.runs > 0) {
        let _ = writeln!(
            out,
            "{:<width$}  {:>12}  {:>5.1}%  {:>6}  {:>9}  {:>12}  {:>14}",
            r.name,
            us(r.cpu),
            r.share,
            r.runs,
            r.preemptions,
            us(r.longest),
            r.worst_latency.map_or_else(|| "-".to_string(), us)
        );
    }
    out.push_str("(worst wake: from a wake of the thread to its next switch-in)\n");
    let idle: Vec<&str> = rows
        .iter()
        .filter(|r| r.runs == 0)
        .map(|r| r.name.as_str())
        .collect();
    if !idle.is_empty() {
        let _ = writeln!(out, "not seen running: {}", idle.join(", "));
    }
    for core in model.cores.iter().filter(|c| c.dropped > 0) {
        let _ = writeln!(
            out,
            "core {}: {} older records dropped (the ring was full); the trace starts later there",
            core.cpu, core.dropped
        );
    }
    if model.unknown > 0 {
        let _ = writeln!(
            out,
            "{} records of kinds this xtask does not know were skipped (a newer kernel?)",
            model.unknown
        );
    }
    if model.repaired > 0 {
        let _ = writeln!(
            out,
            "{} records did not pair up or went back in time and were repaired",
            model.repaired
        );
    }
    out
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}
