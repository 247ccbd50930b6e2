//! `trace.json`: the model in Chrome's trace-event format, which ui.perfetto.dev and
//! chrome://tracing open.
//!
//! One process (the program) with one track per core (`tid` = core + 1: some viewers treat
//! thread 0 specially), named `core N` by `thread_name` metadata. On a track: one complete
//! slice (`"ph":"X"`) per run, named after the thread, with how it ended and its priority;
//! interrupt handlers as slices inside them (the model already cut them at run boundaries,
//! so every track is well nested); instants (`"ph":"i"`) for the other events; and for each
//! wake a flow (`"ph":"s"` → `"ph":"f"`, both bound to their enclosing slice) from the slice
//! the wake happened in to the woken thread's next run. Timestamps are microseconds from the
//! first event, written from whole nanoseconds (`123.456`), so that a slice's end computed by
//! a reader is exactly where the next one starts. Written by hand: the format is a flat list
//! of small objects and the xtask has no JSON writer dependency.

use std::fmt::Write;

use super::model::{Model, Run};

/// The document for `model`; `program` names the process (the example's name).
pub fn render(model: &Model, program: &str) -> String {
    let mut out = Events::default();
    out.event(&format!(
        r#""ph":"M","pid":1,"tid":0,"ts":0,"name":"process_name","args":{{"name":{}}}"#,
        string(&format!("preempt: {program}"))
    ));
    for core in &model.cores {
        let tid = core.cpu + 1;
        out.event(&format!(
            r#""ph":"M","pid":1,"tid":{tid},"ts":0,"name":"thread_name","args":{{"name":"core {}"}}"#,
            core.cpu
        ));
        out.event(&format!(
            r#""ph":"M","pid":1,"tid":{tid},"ts":0,"name":"thread_sort_index","args":{{"sort_index":{}}}"#,
            core.cpu
        ));
        for run in &core.runs {
            let priority = run
                .priority
                .map_or_else(|| "null".to_string(), |p| p.to_string());
            out.event(&format!(
                r#""ph":"X","pid":1,"tid":{tid},"ts":{},"dur":{},"name":{},"cat":"run","args":{{"out":{},"priority":{priority},"thread":{}}}"#,
                us(model.ns(run.start)),
                us(model.ns(run.end) - model.ns(run.start)),
                string(&model.name(run.thread)),
                string(&run.ending.describe()),
                run.thread
            ));
        }
        for irq in &core.irqs {
            out.event(&format!(
                r#""ph":"X","pid":1,"tid":{tid},"ts":{},"dur":{},"name":"irq {}","cat":"irq","args":{{"line":{}}}"#,
                us(model.ns(irq.start)),
                us(model.ns(irq.end) - model.ns(irq.start)),
                irq.line,
                irq.line
            ));
        }
    }
    for point in &model.points {
        let mut args = String::new();
        for (i, (key, value)) in point.args.iter().enumerate() {
            let comma = if i == 0 { "" } else { "," };
            let _ = write!(args, "{comma}{}:{}", string(key), string(value));
        }
        out.event(&format!(
            r#""ph":"i","s":"t","pid":1,"tid":{},"ts":{},"name":{},"cat":{},"args":{{{args}}}"#,
            point.cpu + 1,
            us(model.ns(point.time)),
            string(&point.title),
            string(&format!("{:?}", point.kind).to_lowercase()),
        ));
    }
    for (id, flow) in model.flows.iter().enumerate() {
        let Some(source) = model
            .cores
            .iter()
            .find(|c| c.cpu == flow.from_cpu)
            .and_then(|c| c.runs.get(flow.from_run?))
        else {
            continue; // no slice to start from (a wake between runs)
        };
        let target = &model.cores[flow.to_core].runs[flow.to_run];
        let name = string(&format!("wake {}", model.name(flow.thread)));
        out.event(&format!(
            r#""ph":"s","id":{id},"pid":1,"tid":{},"ts":{},"name":{name},"cat":"wake","bp":"e""#,
            flow.from_cpu + 1,
            us(inside(model, source, flow.wake)),
        ));
        out.event(&format!(
            r#""ph":"f","id":{id},"pid":1,"tid":{},"ts":{},"name":{name},"cat":"wake","bp":"e""#,
            model.cores[flow.to_core].cpu + 1,
            us(inside(model, target, target.start)),
        ));
    }
    out.finish()
}

/// `time` in nanoseconds, moved strictly inside `run` where it has room, so that the flow
/// binds to that slice rather than to a neighbour sharing its boundary.
fn inside(model: &Model, run: &Run, time: u64) -> u64 {
    let (start, end) = (model.ns(run.start), model.ns(run.end));
    let margin = ((end - start) / 2).min(1);
    model.ns(time).clamp(start + margin, end - margin)
}

/// The event list being written.
#[derive(Default)]
struct Events {
    text: String,
}

impl Events {
    fn event(&mut self, members: &str) {
        self.text
            .push_str(if self.text.is_empty() { "[\n{" } else { ",\n{" });
        self.text.push_str(members);
        self.text.push('}');
    }

    fn finish(self) -> String {
        format!(
            "{{\"displayTimeUnit\":\"ns\",\"traceEvents\":{}\n]}}\n",
            if self.text.is_empty() {
                "["
            } else {
                &self.text
            }
        )
    }
}

/// Nanoseconds as microseconds with three decimals.
fn us(ns: u64) -> String {
    format!("{}.{:03}", ns / 1000, ns % 1000)
}

/// `s` as a JSON string literal.
pub fn string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
