//! What `cargo xtask trace --self-test` checks of its outputs, separately from drawing them:
//! that `trace.json` is JSON a viewer accepts with every track well nested, that the SVG names
//! every thread, and that the `mutex` example's trace tells the priority-inheritance story.

use std::collections::BTreeMap;

use trace_format::Kind;

use super::model::Model;
use crate::json::Value;

/// Parses `text` as trace-event JSON and checks that the complete slices of each track nest
/// (one ends before the next begins, or lies inside it). Returns the number of slices.
pub fn slices_nest(text: &str) -> Result<usize, String> {
    let doc = Value::parse(text)?;
    let events = doc
        .get("traceEvents")
        .and_then(Value::as_array)
        .ok_or("no `traceEvents` array")?;
    let mut tracks: BTreeMap<i64, Vec<(i64, i64, String)>> = BTreeMap::new();
    for event in events {
        if event.get("ph").and_then(Value::as_str) != Some("X") {
            continue;
        }
        let number = |key: &str| match event.get(key) {
            Some(Value::Number(n)) if n.is_finite() => Ok(*n),
            _ => Err(format!("a slice without a number `{key}`: {event:?}")),
        };
        // Whole nanoseconds: the file writes three decimals of µs.
        let ns = |us: f64| (us * 1000.0).round() as i64;
        let (ts, dur, tid) = (ns(number("ts")?), ns(number("dur")?), number("tid")? as i64);
        if dur < 0 {
            return Err(format!("a slice with a negative duration: {event:?}"));
        }
        let name = event.get("name").and_then(Value::as_str).unwrap_or("?");
        tracks
            .entry(tid)
            .or_default()
            .push((ts, ts + dur, name.to_string()));
    }
    let mut count = 0;
    for (tid, mut slices) in tracks {
        slices.sort_by_key(|&(start, end, _)| (start, std::cmp::Reverse(end)));
        let mut open: Vec<(i64, i64, String)> = Vec::new();
        for slice in slices {
            while open.last().is_some_and(|top| top.1 <= slice.0) {
                open.pop();
            }
            if let Some(top) = open.last() {
                if slice.1 > top.1 {
                    return Err(format!(
                        "track {tid}: slice `{}` ({}..{} ns) overlaps `{}` ({}..{} ns)",
                        slice.2, slice.0, slice.1, top.2, top.0, top.1
                    ));
                }
            }
            open.push(slice);
            count += 1;
        }
    }
    Ok(count)
}

/// Checks that `svg` names every thread of `model` (as text of its own).
pub fn names_every_thread(model: &Model, svg: &str) -> Result<(), String> {
    for t in &model.threads {
        let text = format!(">{}<", super::svg::escape(&t.name));
        if !svg.contains(&text) {
            return Err(format!("timeline.svg does not name thread `{}`", t.name));
        }
    }
    Ok(())
}

/// Checks the `mutex` example's story: `high` blocks on the mutex `low` holds, `low` is
/// boosted, `low` hands the mutex over (a wake of `high` by `low`, then `high` switched in),
/// and `low`'s priority is restored (before it runs again after the handoff). Returns the
/// story in words.
pub fn mutex_story(model: &Model) -> Result<String, String> {
    let id = |name: &str| {
        model
            .threads
            .iter()
            .find(|t| t.name == name)
            .map(|t| t.id)
            .ok_or_else(|| format!("no thread named `{name}` in the trace"))
    };
    let (low, high) = (id("low")?, id("high")?);
    let at = |ticks: u64| model.us(ticks - model.start);
    let boost = model
        .points
        .iter()
        .find(|p| p.kind == Kind::Boost && p.thread == low)
        .ok_or("no Boost of `low`")?;
    if boost.other != 0 && boost.other != high {
        return Err(format!(
            "`low` was boosted by {}, not by `high`",
            model.name(boost.other)
        ));
    }
    let wake = model
        .points
        .iter()
        .find(|p| p.kind == Kind::Wake && p.thread == high && p.seq > boost.seq)
        .ok_or("no Wake of `high` after the Boost of `low`")?;
    if wake.other != low {
        return Err(format!(
            "after the boost, `high` was woken by {} rather than by `low` (no handoff)",
            model.name(wake.other)
        ));
    }
    let runs = |thread: u64| {
        model
            .cores
            .iter()
            .flat_map(|c| &c.runs)
            .filter(move |r| r.thread == thread && r.seq.is_some())
    };
    let high_in = runs(high)
        .filter(|r| r.seq > Some(wake.seq))
        .min_by_key(|r| r.seq)
        .ok_or("`high` was never switched in after its wake by `low`")?;
    let restore = model
        .points
        .iter()
        .find(|p| p.kind == Kind::Restore && p.thread == low && p.seq > boost.seq)
        .ok_or("no Restore of `low` after its Boost")?;
    if let Some(low_again) = runs(low)
        .filter(|r| r.seq > high_in.seq)
        .min_by_key(|r| r.seq)
    {
        if low_again.seq < Some(restore.seq) {
            return Err(
                "`low` ran again after the handoff before its priority was restored".into(),
            );
        }
    }
    Ok(format!(
        "{} at {:.1} µs, wake high by low at {:.1} µs, high switched in at {:.1} µs, {} at {:.1} µs",
        boost.title,
        at(boost.time),
        at(wake.time),
        at(high_in.start),
        restore.title,
        at(restore.time)
    ))
}
