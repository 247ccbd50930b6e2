//! One core's records paired up: runs of threads (switch-in to switch-out, with how each
//! ended) and interrupt handlers (entry to exit), cut so that they nest. Split from
//! [`super::model`], which merges the cores and joins wakes to runs; the repairs of odd
//! records described there that concern one core happen here.

use trace_format::{Kind, Reason, Record, WaitKind};

/// One core's runs and interrupt handlers.
#[derive(Debug, Default)]
pub struct Core {
    /// The core's number.
    pub cpu: u32,
    /// Older records the kernel's ring overwrote.
    pub dropped: u64,
    /// Runs in time order, never overlapping.
    pub runs: Vec<Run>,
    /// Interrupt handlers, cut at run boundaries so each piece lies inside one run or
    /// between runs.
    pub irqs: Vec<Irq>,
}

/// A stretch of one thread running on one core.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Run {
    /// The thread.
    pub thread: u64,
    /// Switch-in time (or the core's first record, if the switch-in was not recorded).
    pub start: u64,
    /// Switch-out time (or the end of the trace).
    pub end: u64,
    /// Effective priority at the switch-in, if recorded.
    pub priority: Option<u8>,
    /// How it ended.
    pub ending: Ending,
    /// Global order of its switch-in record (`None` if not recorded).
    pub seq: Option<usize>,
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// A switch-out: the reason (`None`: a code this reader does not know), what it waits
    /// on and the object's id.
    Out(Option<Reason>, Option<WaitKind>, u64),
    /// Another thread was switched in without this one's switch-out.
    Cut,
    /// Still running when the trace ended.
    Running,
}

impl Ending {
    /// Words for people: `preempted`, `blocked on mutex 0x…`, ….
    pub fn describe(&self) -> String {
        match *self {
            Ending::Out(Some(Reason::Blocked), wait, object) => {
                let what = wait.map_or("something", WaitKind::name);
                format!("blocked on {what} {object:#x}")
            }
            Ending::Out(Some(reason), _, _) => reason.name().to_string(),
            Ending::Out(None, _, _) => "unknown reason".to_string(),
            Ending::Cut => "no switch-out recorded".to_string(),
            Ending::Running => "running at the end".to_string(),
        }
    }

    /// Whether the run ended by preemption.
    pub fn preempted(&self) -> bool {
        matches!(self, Ending::Out(Some(Reason::Preempted), _, _))
    }
}

/// An interrupt handler (or the part of one inside one run).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Irq {
    /// The interrupt line.
    pub line: u32,
    /// Entry (or the run boundary that cut it).
    pub start: u64,
    /// Exit (or the run boundary that cut it).
    pub end: u64,
}

/// What [`build_core`] makes of one core's records.
pub(super) struct BuiltCore {
    pub(super) core: Core,
    /// Per record: the run open then (or the one that ended at that very time).
    pub(super) current_at: Vec<Option<usize>>,
    /// Per record: the run a switch-in record opened.
    pub(super) run_of_record: Vec<Option<usize>>,
    pub(super) repaired: u64,
    pub(super) unknown: u64,
}

pub(super) fn build_core(
    section: &trace_format::CoreTrace,
    times: &[u64],
    seqs: &[usize],
    (start, end): (u64, u64),
) -> BuiltCore {
    let n = section.records.len();
    // A run whose switch-in is not in the file began before the first record: at the start
    // of the trace if the ring lost nothing, else somewhere before the core's first record.
    let first = if section.dropped == 0 {
        start
    } else {
        times.first().copied().unwrap_or(end)
    };
    let mut b = BuiltCore {
        core: Core {
            cpu: section.cpu,
            dropped: section.dropped,
            ..Core::default()
        },
        current_at: vec![None; n],
        run_of_record: vec![None; n],
        repaired: 0,
        unknown: 0,
    };
    let runs = &mut b.core.runs;
    let mut open: Option<usize> = None;
    // The run that ended last and when (a wake recorded right after a switch-out, at the
    // same time, belongs to it).
    let mut last_closed: Option<(usize, u64)> = None;
    let mut irq_stack: Vec<(u32, u64)> = Vec::new();
    let mut raw_irqs = Vec::new();
    for i in switch_out_first(&section.records, times) {
        let r = &section.records[i];
        let t = times[i];
        match r.kind() {
            None => b.unknown += 1,
            Some(Kind::SwitchIn) => {
                if let Some(o) = open.take() {
                    runs[o].end = t;
                    runs[o].ending = Ending::Cut;
                    b.repaired += 1;
                }
                runs.push(Run {
                    thread: r.thread,
                    start: t,
                    end,
                    priority: Some(r.detail),
                    ending: Ending::Running,
                    seq: Some(seqs[i]),
                });
                open = Some(runs.len() - 1);
                b.run_of_record[i] = open;
            }
            Some(Kind::SwitchOut) => {
                let ending = Ending::Out(
                    Reason::from_u8(r.detail),
                    WaitKind::from_u16(r.aux),
                    r.other,
                );
                match open.take() {
                    Some(o) if runs[o].thread == r.thread => {
                        runs[o].end = t;
                        runs[o].ending = ending;
                        last_closed = Some((o, t));
                    }
                    Some(o) => {
                        runs[o].end = t;
                        runs[o].ending = Ending::Cut;
                        b.repaired += 1;
                    }
                    // The switch-in was overwritten (or recording began mid-run).
                    None if runs.is_empty() => {
                        runs.push(Run {
                            thread: r.thread,
                            start: first,
                            end: t,
                            priority: None,
                            ending,
                            seq: None,
                        });
                        last_closed = Some((0, t));
                    }
                    None => b.repaired += 1,
                }
            }
            Some(Kind::IrqEnter) => irq_stack.push((r.arg, t)),
            Some(Kind::IrqExit) => match irq_stack.iter().rposition(|&(l, _)| l == r.arg) {
                Some(at) => {
                    // Handlers entered after this one and not exited end here too.
                    for (line, start) in irq_stack.drain(at..) {
                        raw_irqs.push(Irq {
                            line,
                            start,
                            end: t,
                        });
                    }
                }
                None => b.repaired += 1,
            },
            Some(_) => {}
        }
        b.current_at[i] = open.or(match last_closed {
            Some((run, at)) if at == t => Some(run),
            _ => None,
        });
    }
    for (line, start) in irq_stack {
        raw_irqs.push(Irq { line, start, end });
    }
    b.core.irqs = cut_at_runs(raw_irqs, runs);
    b
}

/// The order to read a core's records in: as recorded, except that a switch recorded as the
/// new thread's switch-in followed by the old one's switch-out at the same time is read
/// switch-out first (the kernel may write either order for one switch).
fn switch_out_first(records: &[Record], times: &[u64]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..records.len()).collect();
    let mut i = 0;
    while i + 1 < records.len() {
        let (a, b) = (&records[i], &records[i + 1]);
        if a.kind() == Some(Kind::SwitchIn)
            && b.kind() == Some(Kind::SwitchOut)
            && times[i] == times[i + 1]
            && a.thread != b.thread
        {
            order.swap(i, i + 1);
            i += 2;
        } else {
            i += 1;
        }
    }
    order
}

/// Interrupt handlers cut at every run boundary inside them, so that each piece nests in one
/// run (or lies between runs).
fn cut_at_runs(mut irqs: Vec<Irq>, runs: &[Run]) -> Vec<Irq> {
    let bounds: Vec<u64> = runs.iter().flat_map(|r| [r.start, r.end]).collect();
    irqs.sort_by_key(|irq| (irq.start, std::cmp::Reverse(irq.end)));
    let mut pieces = Vec::new();
    for irq in irqs {
        let from = bounds.partition_point(|&b| b <= irq.start);
        let mut start = irq.start;
        for &b in bounds[from..].iter().take_while(|&&b| b < irq.end) {
            if b > start {
                pieces.push(Irq {
                    end: b,
                    start,
                    ..irq
                });
                start = b;
            }
        }
        pieces.push(Irq { start, ..irq });
    }
    pieces
}
