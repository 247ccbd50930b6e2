//! A trace's records turned into what people look at: per core, the runs of threads
//! (switch-in to switch-out) and the interrupt handlers among them; the instants (wakes,
//! boosts, marks, …); and each wake joined to the woken thread's next run.
//!
//! The JSON, the SVG and the summary all need the same pairing of records, and the pairing is
//! where partial or odd traces must be tolerated, so it happens once, here, and every output
//! sees the same repairs: a run whose switch-in is not in the file (it starts with the trace,
//! or at the core's first record if the ring overwrote older ones), a switch written as
//! switch-in then switch-out (read the other way), a switch-in without the previous
//! switch-out (the previous run ends there), a timestamp earlier than the record before it on the same core (an interrupt
//! recorded between a record's clock read and its write: it is moved up), a kind this reader
//! does not know (skipped and counted). One core's pairing is in [`super::runs`]; this
//! module merges the cores in time order and joins each wake to the woken thread's next
//! switch-in. Nothing here can fail: a `Trace` that parsed is
//! always a model, at worst one with repairs counted.

use std::collections::HashMap;

use trace_format::{Kind, Record, Trace, WakeCause};

use super::runs::build_core;
pub use super::runs::{Core, Run};

/// Everything the outputs draw, times in counter ticks.
#[derive(Debug, Default)]
pub struct Model {
    /// Counter ticks per second.
    pub counter_hz: u64,
    /// Time of the first record (on any core).
    pub start: u64,
    /// Time of the last record (on any core).
    pub end: u64,
    /// One per core section of the file, in file order.
    pub cores: Vec<Core>,
    /// Every thread named in the file or seen running, named ones first.
    pub threads: Vec<Thread>,
    /// Events drawn as instants, in global order.
    pub points: Vec<Point>,
    /// Each wake joined to the woken thread's next run.
    pub flows: Vec<Flow>,
    /// Records of kinds this reader does not know, skipped.
    pub unknown: u64,
    /// Records that did not pair up or went back in time, repaired as the module docs say.
    pub repaired: u64,
}

/// A thread of the program.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Thread {
    /// `ThreadId::as_u64`.
    pub id: u64,
    /// Its recorded name, or `thread N` (its slot) when none was recorded.
    pub name: String,
}

/// An event drawn as an instant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Point {
    /// When.
    pub time: u64,
    /// The core that recorded it.
    pub cpu: u32,
    /// The record's kind.
    pub kind: Kind,
    /// The thread it is about (0: none).
    pub thread: u64,
    /// The record's other thread or object (a waker, the thread behind a boost, …).
    pub other: u64,
    /// Title: `wake high`, `boost low 10→200`, a mark's text, ….
    pub title: String,
    /// Details, as (key, value).
    pub args: Vec<(&'static str, String)>,
    /// Global order of its record.
    pub seq: usize,
}

/// A wake joined to the woken thread's next run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flow {
    /// The woken thread.
    pub thread: u64,
    /// The waking thread (0: an interrupt handler or a deadline).
    pub waker: u64,
    /// The core that recorded the wake.
    pub from_cpu: u32,
    /// When the wake was recorded.
    pub wake: u64,
    /// The run on `from_cpu` the wake happened in (its index in that core's runs), if any.
    pub from_run: Option<usize>,
    /// Index in `cores` of the core the woken thread next ran on.
    pub to_core: usize,
    /// Index of that run in the core's runs.
    pub to_run: usize,
}

impl Model {
    /// The model of `trace`; `mark` gives the text of a mark (address, length) if known.
    pub fn build(trace: &Trace, mark: &dyn Fn(u64, u32) -> Option<String>) -> Model {
        let mut model = Model {
            counter_hz: trace.counter_hz.max(1),
            ..Model::default()
        };
        let times = fixed_times(trace, &mut model.repaired);
        let order = merge(&times);
        let mut seq_of: Vec<Vec<usize>> = times.iter().map(|t| vec![0; t.len()]).collect();
        for (seq, &(_, c, i)) in order.iter().enumerate() {
            seq_of[c][i] = seq;
        }
        model.start = order.first().map_or(0, |o| o.0);
        model.end = order.last().map_or(0, |o| o.0);
        // Per core: runs, interrupt handlers, and which run each record fell in.
        let mut current_at = Vec::new();
        let mut run_of_record = Vec::new();
        for (c, core) in trace.cores.iter().enumerate() {
            let built = build_core(core, &times[c], &seq_of[c], (model.start, model.end));
            model.repaired += built.repaired;
            model.unknown += built.unknown;
            model.cores.push(built.core);
            current_at.push(built.current_at);
            run_of_record.push(built.run_of_record);
        }
        model.name_threads(trace);
        // Globally: instants, and wakes joined to the next switch-in.
        let mut pending: HashMap<u64, Flow> = HashMap::new();
        for &(time, c, i) in &order {
            let r = &trace.cores[c].records[i];
            let cpu = trace.cores[c].cpu;
            match r.kind() {
                Some(Kind::SwitchIn) => {
                    if let (Some(mut flow), Some(to_run)) =
                        (pending.remove(&r.thread), run_of_record[c][i])
                    {
                        flow.to_core = c;
                        flow.to_run = to_run;
                        model.flows.push(flow);
                    }
                }
                Some(Kind::Wake) => {
                    pending.entry(r.thread).or_insert(Flow {
                        thread: r.thread,
                        waker: r.other,
                        from_cpu: cpu,
                        wake: time,
                        from_run: current_at[c][i],
                        to_core: 0,
                        to_run: 0,
                    });
                }
                _ => {}
            }
            if let Some(point) = model.point(r, time, cpu, seq_of[c][i], mark) {
                model.points.push(point);
            }
        }
        model
    }

    /// The name of `thread`.
    pub fn name(&self, thread: u64) -> String {
        match self.threads.iter().find(|t| t.id == thread) {
            Some(t) => t.name.clone(),
            None => unnamed(thread),
        }
    }

    /// Index of `thread` in [`Model::threads`] (colours follow it).
    pub fn thread_index(&self, thread: u64) -> usize {
        self.threads
            .iter()
            .position(|t| t.id == thread)
            .unwrap_or(0)
    }

    /// `ticks` after the start of the trace, in nanoseconds.
    pub fn ns(&self, ticks: u64) -> u64 {
        let since = u128::from(ticks.saturating_sub(self.start));
        u64::try_from(since * 1_000_000_000 / u128::from(self.counter_hz)).unwrap_or(u64::MAX)
    }

    /// Ticks in microseconds.
    pub fn us(&self, ticks: u64) -> f64 {
        ticks as f64 * 1e6 / self.counter_hz as f64
    }

    /// Fills [`Model::threads`]: named threads, then unnamed ones seen running. Names given
    /// to several threads (every core's `idle`) are told apart: by the one core a thread ran
    /// on (`idle (core 1)`), else by a number (`worker #2`).
    fn name_threads(&mut self, trace: &Trace) {
        for (id, name) in &trace.names {
            if !self.threads.iter().any(|t| t.id == *id) {
                self.threads.push(Thread {
                    id: *id,
                    name: if name.is_empty() {
                        unnamed(*id)
                    } else {
                        name.clone()
                    },
                });
            }
        }
        for core in &self.cores {
            for run in &core.runs {
                if !self.threads.iter().any(|t| t.id == run.thread) {
                    self.threads.push(Thread {
                        id: run.thread,
                        name: unnamed(run.thread),
                    });
                }
            }
        }
        let only_core = |id: u64| {
            let mut cores = self
                .cores
                .iter()
                .filter(|c| c.runs.iter().any(|r| r.thread == id))
                .map(|c| c.cpu);
            match (cores.next(), cores.next()) {
                (Some(cpu), None) => Some(cpu),
                _ => None,
            }
        };
        let mut renamed = Vec::new();
        for (i, t) in self.threads.iter().enumerate() {
            let twins: Vec<&Thread> = self.threads.iter().filter(|o| o.name == t.name).collect();
            if twins.len() < 2 {
                continue;
            }
            let core = only_core(t.id).filter(|&cpu| {
                twins
                    .iter()
                    .filter(|o| only_core(o.id) == Some(cpu))
                    .count()
                    == 1
            });
            let rank = twins.iter().position(|o| o.id == t.id).unwrap_or(0) + 1;
            renamed.push((
                i,
                match core {
                    Some(cpu) => format!("{} (core {cpu})", t.name),
                    None => format!("{} #{rank}", t.name),
                },
            ));
        }
        for (i, name) in renamed {
            self.threads[i].name = name;
        }
    }

    /// The instant of record `r`, for kinds drawn as instants.
    fn point(
        &self,
        r: &Record,
        time: u64,
        cpu: u32,
        seq: usize,
        mark: &dyn Fn(u64, u32) -> Option<String>,
    ) -> Option<Point> {
        let kind = r.kind()?;
        let name = self.name(r.thread);
        let by = |who: u64| {
            if who == 0 {
                "-".to_string()
            } else {
                self.name(who)
            }
        };
        let (title, args): (String, Vec<(&'static str, String)>) = match kind {
            Kind::SwitchIn | Kind::SwitchOut | Kind::IrqEnter | Kind::IrqExit => return None,
            Kind::Wake => {
                let cause = match WakeCause::from_u8(r.detail) {
                    Some(WakeCause::Thread) => format!("by {}", by(r.other)),
                    Some(WakeCause::Interrupt) => "by an interrupt".to_string(),
                    Some(WakeCause::Timeout) => "deadline passed".to_string(),
                    Some(WakeCause::Spawned) => "spawned".to_string(),
                    None => format!("cause {}", r.detail),
                };
                (format!("wake {name}"), vec![("cause", cause)])
            }
            Kind::Spawn => (
                format!("spawn {name}"),
                vec![("by", by(r.other)), ("priority", r.detail.to_string())],
            ),
            Kind::Exit => {
                let how = if r.detail == 0 { "returned" } else { "failed" };
                (format!("exit {name}"), vec![("status", how.to_string())])
            }
            Kind::Boost => (
                format!("boost {name} {}\u{2192}{}", r.aux, r.detail),
                vec![("by", by(r.other))],
            ),
            Kind::Restore => (
                format!("restore {name} {}\u{2192}{}", r.aux, r.detail),
                vec![],
            ),
            Kind::TimerExpiry => (format!("deadline of {name}"), vec![]),
            Kind::Migrate => (
                format!("migrate {name} core {}\u{2192}{}", r.aux, r.detail),
                vec![],
            ),
            Kind::Mark => {
                let text = mark(r.other, r.arg)
                    .unwrap_or_else(|| format!("mark at {:#x} ({} bytes)", r.other, r.arg));
                let from = if r.thread == 0 {
                    "an interrupt handler".to_string()
                } else {
                    name
                };
                (text, vec![("thread", from)])
            }
        };
        Some(Point {
            time,
            cpu,
            kind,
            thread: r.thread,
            other: r.other,
            title,
            args,
            seq,
        })
    }
}

/// The name of a thread without one: `thread N` after its slot index `N` (the id's low
/// half), with `/G` for a slot's later generations (the id's high half, 1 for its first).
fn unnamed(id: u64) -> String {
    match (id as u32, id >> 32) {
        (index, 0 | 1) => format!("thread {index}"),
        (index, generation) => format!("thread {index}/{generation}"),
    }
}

/// Each core's record times, made non-decreasing (a step back counts as repaired).
fn fixed_times(trace: &Trace, repaired: &mut u64) -> Vec<Vec<u64>> {
    trace
        .cores
        .iter()
        .map(|core| {
            let mut last = 0;
            core.records
                .iter()
                .map(|r| {
                    if r.time < last {
                        *repaired += 1;
                    }
                    last = last.max(r.time);
                    last
                })
                .collect()
        })
        .collect()
}

/// Every record as (time, core index, record index), in time order; records of one core keep
/// their order, ties between cores go by core index.
fn merge(times: &[Vec<u64>]) -> Vec<(u64, usize, usize)> {
    let mut all: Vec<(u64, usize, usize)> = times
        .iter()
        .enumerate()
        .flat_map(|(c, ts)| ts.iter().enumerate().map(move |(i, &t)| (t, c, i)))
        .collect();
    all.sort_unstable();
    all
}
