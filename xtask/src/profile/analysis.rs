//! The analysis of one run: the metric's figures from the console, the window cut out of the
//! execution log and chosen (first pass), its instructions collected (second pass) and
//! attributed, and the text of the profile.

use std::collections::HashMap;
use std::path::Path;
use std::time::Instant;

use super::log;
use super::metrics::Profiled;
use super::report::{table, Attributed};
use super::symbols::{Image, Place};
use super::window::{self, Choice, Cutter, Method, Window};
use crate::bench::output::parse_output;
use crate::bench::report::group;
use crate::board::Board;
use crate::build::{Artifact, Workspace};
use crate::Error;

/// A finished profile.
pub(super) struct Profile {
    /// Header and tables.
    pub summary: String,
    /// The annotated listing.
    pub listing: String,
    /// The tables' total (the metric's figure).
    pub total: u64,
    /// The window profiled.
    pub choice: Choice,
}

/// Cuts the metric's window out of the log and attributes it.
pub(super) fn analyse(
    ws: &Workspace,
    board: &Board,
    gic: Option<u8>,
    kernel: &Artifact,
    metric: &Profiled,
    output: &str,
    exec_log: &Path,
) -> Result<Profile, Error> {
    let reported = parse_output(output).map_err(Error::new)?;
    let position = reported
        .iter()
        .position(|(name, _)| name == metric.name)
        .ok_or_else(|| {
            Error::new(format!(
                "kernel `{}` did not report `{}`",
                kernel.name, metric.name
            ))
        })?;
    let figures = &reported[position].1;
    let report_number = u32::try_from(position + 1).unwrap_or(u32::MAX);

    let data = std::fs::read(&kernel.executable)
        .map_err(|e| Error::new(format!("reading {}: {e}", kernel.executable.display())))?;
    let image = Image::parse(&data, &ws.root)?;
    if image.reads.is_empty() {
        return Err(Error::new(
            "no instruction-counter read in the kernel's code",
        ));
    }
    // Without the report functions (inlined one day), every window counts as the metric's.
    let until = if image.reports.is_empty() {
        u32::MAX
    } else {
        report_number
    };
    let started = Instant::now();
    let mut cutter = Cutter::new(image.reads.clone(), image.reports.clone(), until);
    let first_pass = log::read(exec_log, true, |r| cutter.push(r.cpu, r.pc))?;
    let report_number = if image.reports.is_empty() {
        1
    } else {
        report_number
    };
    let choice = window::choose(
        &cutter.windows,
        report_number,
        figures.median,
        metric.method,
    )
    .map_err(|e| Error::new(format!("`{}`: {e}", metric.name)))?;
    let needed = samples_at_median(
        figures.samples,
        figures.median,
        figures.max,
        minimum(output, metric.name),
    );
    if (choice.matching as u64) < needed {
        return Err(Error::new(format!(
            "`{}`: only {} windows between these two counter reads give {}, but at least \
             {needed} of the kernel's samples do: the log filter and the counter disagree",
            metric.name, choice.matching, figures.median
        )));
    }

    let counts = collect(exec_log, &choice)?;
    let places: HashMap<u64, Place> = counts
        .iter()
        .map(|&(pc, _)| (pc, image.place(pc)))
        .collect();
    let disassembly = first_pass.disassembly.unwrap_or_default();
    let attributed = Attributed {
        counts: &counts,
        places: &places,
        disassembly: &disassembly,
    };
    let total = attributed.total();
    if total != figures.median {
        return Err(Error::new(format!(
            "`{}`: the window's instructions sum to {total}, not {}",
            metric.name, figures.median
        )));
    }

    let mut summary = String::new();
    let config = board.label(gic);
    summary.push_str(&format!(
        "\nprofile of `{}` = {} instructions (kernel `{}`, {config}, quick build: median of {} \
         samples)\n",
        metric.name,
        group(figures.median),
        kernel.name,
        group(figures.samples)
    ));
    summary.push_str(&describe_window(&image, &choice, metric.method));
    let stats = &first_pass.stats;
    summary.push_str(&format!(
        "log: {} entries read, {} dropped as not run ({} stopped before they ran, {} device \
         accesses rewound{}), {:.1} s\n\n",
        group(stats.logged),
        group(stats.stopped + stats.rewound),
        group(stats.stopped),
        group(stats.rewound),
        if stats.unmatched > 0 {
            format!("; {} markers matched no entry", stats.unmatched)
        } else {
            String::new()
        },
        started.elapsed().as_secs_f64()
    ));
    summary.push_str(&table(
        "by function (innermost, inlined ones included)",
        &attributed.by_function(),
        total,
    ));
    summary.push('\n');
    summary.push_str(&table(
        "by workspace function (the innermost in crates/ or bench/: library helpers count in it)",
        &attributed.by_local_function(),
        total,
    ));
    summary.push('\n');
    summary.push_str(&table(
        "by symbol (outermost)",
        &attributed.by_symbol(),
        total,
    ));
    let listing = format!(
        "\nlisting: {} addresses in address order; count = times run in the window{}\n{}",
        counts.len(),
        if metric.method == Method::Excess {
            " minus times run in the reference window"
        } else {
            ""
        },
        attributed.listing()
    );
    Ok(Profile {
        summary,
        listing,
        total,
        choice,
    })
}

/// How many of a metric's samples are at least equal to its median, which is how many
/// windows must give the figure: every sample is one window between the same two reads.
/// All of them when the minimum is the maximum; when only the median is, the upper half
/// (the median is the lower middle value); at least one otherwise.
fn samples_at_median(samples: u64, median: u64, max: u64, min: Option<u64>) -> u64 {
    if median != max {
        1
    } else if min == Some(max) {
        samples
    } else {
        samples - samples.saturating_sub(1) / 2
    }
}

/// The `min=` field of the metric's `BENCH` line, if it has one.
fn minimum(output: &str, name: &str) -> Option<u64> {
    let prefix = format!("BENCH {name} ");
    output
        .lines()
        .find_map(|l| l.trim_end().strip_prefix(prefix.as_str()))?
        .split_whitespace()
        .find_map(|w| w.strip_prefix("min="))?
        .parse()
        .ok()
}

/// What window was taken, in words.
fn describe_window(image: &Image, choice: &Choice, method: Method) -> String {
    let site = |pc: u64| {
        let place = image.place(pc);
        let (function, at) = caller_of_read(&place);
        format!(
            "{pc:#x} ({function}{})",
            at.map_or(String::new(), |s| format!(", {s}"))
        )
    };
    let w = &choice.window;
    let mut text = format!(
        "window: between the counter reads at {}\n        and {}:\n",
        site(w.from),
        site(w.to)
    );
    match (method, &choice.reference) {
        (Method::Excess, Some(reference)) => text.push_str(&format!(
            "        {} of these {} windows exceed the least ({} instructions) by the figure; \
             number {} of them ({} instructions), minus the undisturbed window nearest before \
             it, address by address\n",
            group(choice.matching as u64),
            group(choice.of_pair as u64),
            reference.count,
            group(choice.ordinal as u64),
            group(w.count)
        )),
        _ => text.push_str(&format!(
            "        {} of these {} windows give the figure{}; this is number {} of them\n",
            group(choice.matching as u64),
            group(choice.of_pair as u64),
            if choice.matching < choice.of_pair {
                " (the others: warm-up, a tick fell in, …)"
            } else {
                ""
            },
            group(choice.ordinal as u64)
        )),
    }
    if choice.widened {
        text.push_str(
            "        (the kernel reports this metric together with another: windows before \
             the previous report were searched too)\n",
        );
    }
    if choice.tied > 0 {
        text.push_str(&format!(
            "        ({} other pair(s) of reads had as many such windows; the first in time \
             was taken)\n",
            choice.tied
        ));
    }
    text
}

/// The function a counter read was inlined into (the innermost frame outside the counter
/// functions themselves) and the line it reads the counter at.
fn caller_of_read(place: &Place) -> (&str, Option<String>) {
    place
        .frames
        .iter()
        .find(|f| {
            !f.function.starts_with("preempt_arch::pmu::") && f.function != "preempt_bench::read"
        })
        .map_or((place.symbol.as_str(), None), |f| {
            (
                f.function.as_str(),
                f.location
                    .as_ref()
                    .map(|(file, line)| format!("{file}:{line}")),
            )
        })
}

/// Second pass: how often each address ran in the chosen window, minus the reference's.
fn collect(exec_log: &Path, choice: &Choice) -> Result<Vec<(u64, u64)>, Error> {
    let windows: Vec<Window> = [Some(choice.window), choice.reference]
        .into_iter()
        .flatten()
        .collect();
    let last = windows
        .iter()
        .map(|w| (w.cpu, w.first + w.span))
        .collect::<Vec<_>>();
    let mut index: Vec<u64> = Vec::new();
    let mut runs: HashMap<u64, i64> = HashMap::new();
    log::read(exec_log, false, |r| {
        let slot = r.cpu as usize;
        if index.len() <= slot {
            index.resize(slot + 1, 0);
        }
        let i = index[slot];
        index[slot] += 1;
        if choice.window.spans(r.cpu, i) {
            *runs.entry(r.pc).or_default() += 1;
        }
        if choice.reference.is_some_and(|w| w.spans(r.cpu, i)) {
            *runs.entry(r.pc).or_default() -= 1;
        }
        // Read on until every window is complete.
        !last
            .iter()
            .all(|&(cpu, end)| index.get(cpu as usize).is_some_and(|&n| n >= end))
    })?;
    // The second read's `isb` lies between the two `mrs` but is not counted.
    *runs.entry(choice.window.isb()).or_default() -= 1;
    if let Some(reference) = choice.reference {
        *runs.entry(reference.isb()).or_default() += 1;
    }
    let mut counts: Vec<(u64, u64)> = Vec::new();
    for (pc, n) in runs {
        match u64::try_from(n) {
            Ok(0) => {}
            Ok(n) => counts.push((pc, n)),
            Err(_) => {
                return Err(Error::new(format!(
                    "the reference window ran {pc:#x} more often than the profiled one: they \
                     are not the same path"
                )))
            }
        }
    }
    counts.sort_unstable();
    Ok(counts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_sample_at_the_median_is_a_window_that_must_exist() {
        let out = "BENCH-INFO x\nBENCH a median=5 max=5 unit=instructions samples=1000 min=5\n\
                   BENCH b median=5 max=5 unit=instructions samples=1000 min=4\n\
                   BENCH c median=5 max=7 unit=instructions samples=9\n";
        assert_eq!(minimum(out, "a"), Some(5));
        assert_eq!(minimum(out, "c"), None);
        assert_eq!(samples_at_median(1000, 5, 5, minimum(out, "a")), 1000);
        assert_eq!(samples_at_median(1000, 5, 5, minimum(out, "b")), 501);
        assert_eq!(samples_at_median(9, 5, 7, None), 1);
        assert_eq!(samples_at_median(9, 5, 5, None), 5);
    }
}
