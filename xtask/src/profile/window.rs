//! Cutting the stream of retired instructions into measured windows, and choosing the one
//! window of a metric to profile.
//!
//! The benchmark harness times an operation with two reads of the PMU's instruction counter
//! (`isb; mrs xN, pmevcntr0_el0`, `preempt_arch::pmu::read_instructions`), and a sample is
//! "the instructions executed between the first `mrs` and the second `isb`" (the reads' own
//! cost, 2, is subtracted; see `bench/src/lib.rs`). So on each CPU, every two consecutive
//! counter reads delimit a [`Window`]: the entries after the first `mrs` up to the second,
//! less the second read's `isb` (the instruction 4 bytes before its `mrs`). That `isb` is
//! usually the entry just before the `mrs`, but an interrupt may come between the two (the
//! handler then counts in the window, as it does in the counter); a window without that
//! `isb` (a read not reached through its own `isb`) is not *clean* and is never chosen.
//!
//! Windows come in pairs of read sites (`(from, to)`): the sample windows of a metric run
//! between one pair, the stretches between samples (loop bookkeeping, the next warm-up
//! call) between the same two sites the other way round. A metric's window is chosen among
//! the windows before the kernel reported it and after it reported the previous metric
//! (entries into `preempt_bench::report`/`report_value` count the reports): in that
//! stretch, the pair of sites with the most windows that give the metric's figure is the
//! metric's, and of those windows the middle one is taken (steady state: past warm-up,
//! well before the end). Some kernels measure two metrics in one loop and report both at
//! the end (`heap`): if no window fits in the metric's own stretch, every window before its
//! report is considered.
//!
//! A metric is either the window itself ([`Method::Window`]) or, for `timer_irq_cost`, the excess
//! of a window over an undisturbed one between the same reads ([`Method::Excess`]: the
//! kernel spins on a loop reading the counter, and a timer interrupt's cost is an iteration's count
//! minus the loop's own); then the undisturbed window nearest before the chosen one is the
//! *reference*, subtracted instruction by instruction.

use std::collections::HashMap;

/// How a metric's figure relates to its window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// The figure is the window's instruction count.
    Window,
    /// The figure is the window's count minus the smallest count between the same reads.
    Excess,
}

/// The instructions between two consecutive counter reads on one CPU.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// The CPU.
    pub cpu: u32,
    /// Address of the first read's `mrs`.
    pub from: u64,
    /// Address of the second read's `mrs`.
    pub to: u64,
    /// Index (among the CPU's retired instructions) of the window's first instruction.
    pub first: u64,
    /// Instructions between the two `mrs` (the second read's `isb` included).
    pub span: u64,
    /// Instructions in the window: `span` less the second read's `isb`.
    pub count: u64,
    /// Reports (entries into the harness's report functions) before the window ended.
    pub reports: u32,
    /// Whether the second read's `isb` ran after the first `mrs`.
    pub clean: bool,
}

impl Window {
    /// Whether the CPU's `index`-th instruction lies between the two `mrs` (the second
    /// read's `isb` does: take it out of what is collected, see [`isb`](Self::isb)).
    pub fn spans(&self, cpu: u32, index: u64) -> bool {
        cpu == self.cpu && (self.first..self.first + self.span).contains(&index)
    }

    /// The address of the second read's `isb`, which the window does not count.
    pub fn isb(&self) -> u64 {
        self.to.wrapping_sub(4)
    }
}

/// Per-CPU state of [`Cutter`].
#[derive(Debug, Default, Clone)]
struct Cpu {
    /// Instructions retired so far.
    index: u64,
    /// The last counter read: its address and index.
    last_read: Option<(u64, u64)>,
    /// The last `isb` of a counter read: its address and index.
    last_isb: Option<(u64, u64)>,
}

/// Turns retired instructions into [`Window`]s, up to a given report.
#[derive(Debug)]
pub struct Cutter {
    reads: Vec<u64>,
    reports: Vec<u64>,
    cpus: Vec<Cpu>,
    reported: u32,
    /// Stop after this many reports.
    until: u32,
    /// The windows cut so far.
    pub windows: Vec<Window>,
}

impl Cutter {
    /// A cutter for counter reads at `reads` and report functions entered at `reports`,
    /// keeping the windows that end before report number `until` (1-based).
    pub fn new(reads: Vec<u64>, reports: Vec<u64>, until: u32) -> Self {
        Cutter {
            reads,
            reports,
            cpus: Vec::new(),
            reported: 0,
            until,
            windows: Vec::new(),
        }
    }

    /// Takes the next retired instruction; `false` once report `until` has been entered
    /// (nothing after it matters).
    pub fn push(&mut self, cpu: u32, pc: u64) -> bool {
        if self.reports.contains(&pc) {
            self.reported += 1;
            if self.reported >= self.until {
                return false;
            }
        }
        let slot = cpu as usize;
        if self.cpus.len() <= slot {
            self.cpus.resize(slot + 1, Cpu::default());
        }
        let state = &mut self.cpus[slot];
        let index = state.index;
        state.index += 1;
        if self.reads.contains(&pc.wrapping_add(4)) {
            state.last_isb = Some((pc, index));
        }
        if self.reads.contains(&pc) {
            if let Some((from, at)) = state.last_read {
                // Entries at+1 ..= index-1 lie between the two `mrs`, this read's `isb` among
                // them (normally the last one).
                let span = index - at - 1;
                let clean = state
                    .last_isb
                    .is_some_and(|(isb, i)| isb == pc.wrapping_sub(4) && i > at);
                self.windows.push(Window {
                    cpu,
                    from,
                    to: pc,
                    first: at + 1,
                    span,
                    count: span.saturating_sub(1),
                    reports: self.reported,
                    clean,
                });
            }
            state.last_read = Some((pc, index));
        }
        true
    }
}

/// The window chosen for a metric, and how it was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    /// The window profiled.
    pub window: Window,
    /// For [`Method::Excess`]: the undisturbed window subtracted from it.
    pub reference: Option<Window>,
    /// Windows between the same two reads in the stretch searched.
    pub of_pair: usize,
    /// Of those, the ones giving the metric's figure.
    pub matching: usize,
    /// The chosen window's position among the matching ones (1-based).
    pub ordinal: usize,
    /// Whether the search went back past the previous report (see the module docs).
    pub widened: bool,
    /// Other pairs of reads that had as many matching windows (a tie, broken by time).
    pub tied: usize,
}

/// Chooses the window of the `report`-th metric (1-based) whose figure is `figure`.
pub fn choose(
    windows: &[Window],
    report: u32,
    figure: u64,
    method: Method,
) -> Result<Choice, String> {
    let own: Vec<&Window> = windows
        .iter()
        .filter(|w| w.clean && w.reports + 1 == report)
        .collect();
    if let Some(choice) = choose_among(&own, figure, method, false) {
        return Ok(choice);
    }
    let earlier: Vec<&Window> = windows
        .iter()
        .filter(|w| w.clean && w.reports < report)
        .collect();
    choose_among(&earlier, figure, method, true).ok_or_else(|| {
        format!(
            "no window between two counter reads gives {figure} instructions{} \
             ({} windows searched)",
            if method == Method::Excess {
                " above the least between the same reads"
            } else {
                ""
            },
            earlier.len()
        )
    })
}

fn choose_among(windows: &[&Window], figure: u64, method: Method, widened: bool) -> Option<Choice> {
    // Pairs of read sites in order of first appearance, with their windows.
    let mut order: Vec<(u32, u64, u64)> = Vec::new();
    let mut pairs: HashMap<(u32, u64, u64), Vec<&Window>> = HashMap::new();
    for &w in windows {
        let key = (w.cpu, w.from, w.to);
        pairs
            .entry(key)
            .or_insert_with(|| {
                order.push(key);
                Vec::new()
            })
            .push(w);
    }
    let mut best: Option<(usize, Choice)> = None;
    let mut tied = 0;
    for key in &order {
        let list = &pairs[key];
        let base = match method {
            Method::Window => 0,
            Method::Excess => list.iter().map(|w| w.count).min().unwrap_or(0),
        };
        let matching: Vec<&Window> = list
            .iter()
            .copied()
            .filter(|w| w.count.checked_sub(base) == Some(figure))
            .collect();
        if matching.is_empty() {
            continue;
        }
        match &best {
            Some((n, _)) if *n > matching.len() => continue,
            Some((n, _)) if *n == matching.len() => {
                tied += 1;
                continue;
            }
            _ => tied = 0,
        }
        let middle = matching.len() / 2;
        let window = *matching[middle];
        let reference = (method == Method::Excess).then(|| {
            let undisturbed = |w: &&&Window| w.count == base;
            let before = list
                .iter()
                .filter(|w| w.first < window.first)
                .rev()
                .find(undisturbed);
            let after = list
                .iter()
                .find(|w| w.first > window.first && w.count == base);
            **before.or(after).expect("the least window exists")
        });
        best = Some((
            matching.len(),
            Choice {
                window,
                reference,
                of_pair: list.len(),
                matching: matching.len(),
                ordinal: middle + 1,
                widened,
                tied: 0,
            },
        ));
    }
    best.map(|(_, mut choice)| {
        choice.tied = tied;
        choice
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: u64 = 0x1000;
    const B: u64 = 0x2000;
    const REPORT: u64 = 0x3000;

    /// Feeds a program: `Read(site)` is the `isb; mrs` pair at `site - 4, site`, `Work(n)`
    /// is n other instructions, `Report` enters the report function.
    enum Step {
        Read(u64),
        Work(u64),
        Report,
    }

    fn cut(steps: &[Step], until: u32) -> Vec<Window> {
        let mut cutter = Cutter::new(vec![A, B], vec![REPORT], until);
        let mut pc = 0x8000;
        for step in steps {
            let go = match step {
                Step::Read(site) => cutter.push(0, site - 4) && cutter.push(0, *site),
                Step::Work(n) => (0..*n).all(|_| {
                    pc += 4;
                    cutter.push(0, pc)
                }),
                Step::Report => cutter.push(0, REPORT),
            };
            if !go {
                break;
            }
        }
        cutter.windows
    }

    /// `samples` timed operations of `op` instructions each, `gap` instructions between them.
    fn loop_of(samples: usize, op: u64, gap: u64) -> Vec<Step> {
        let mut steps = Vec::new();
        for _ in 0..samples {
            steps.extend([
                Step::Read(A),
                Step::Work(op),
                Step::Read(B),
                Step::Work(gap),
            ]);
        }
        steps
    }

    #[test]
    fn a_window_counts_what_lies_between_the_first_mrs_and_the_second_isb() {
        let windows = cut(&[Step::Read(A), Step::Work(5), Step::Read(B)], 1);
        assert_eq!(windows.len(), 1);
        let w = windows[0];
        assert_eq!((w.from, w.to, w.count, w.clean), (A, B, 5, true));
        // The instruction right after the first `mrs` is the window's first.
        assert_eq!(w.first, 2);
        assert!(w.spans(0, 2) && w.spans(0, 7) && !w.spans(0, 8) && !w.spans(1, 2));
        assert_eq!((w.span, w.isb()), (6, B - 4));
    }

    #[test]
    fn chooses_the_pair_and_the_middle_window_of_each_report() {
        let mut steps = loop_of(10, 30, 7);
        steps.push(Step::Report);
        steps.extend(loop_of(6, 40, 30)); // the gap counts 30 too, but sits between B and A
        steps.push(Step::Report);
        let windows = cut(&steps, 2);
        let first = choose(&windows, 1, 30, Method::Window).unwrap();
        assert_eq!(
            (
                first.window.from,
                first.of_pair,
                first.matching,
                first.ordinal
            ),
            (A, 10, 10, 6)
        );
        assert!(!first.widened && first.reference.is_none());
        let second = choose(&windows, 2, 40, Method::Window).unwrap();
        assert_eq!((second.window.from, second.matching), (A, 6));
        assert!(second.window.first > first.window.first);
        // 30 in the second stretch: only the gaps (B to A) count 30.
        let gap = choose(&windows, 2, 30, Method::Window).unwrap();
        assert_eq!((gap.window.from, gap.window.to), (B, A));
        assert!(choose(&windows, 1, 31, Method::Window).is_err());
    }

    #[test]
    fn two_metrics_reported_together_are_found_before_the_second_report() {
        let mut steps = Vec::new();
        for _ in 0..5 {
            steps.extend([Step::Read(A), Step::Work(12), Step::Read(B), Step::Work(3)]);
            steps.extend([Step::Read(B), Step::Work(20), Step::Read(A), Step::Work(3)]);
        }
        steps.extend([Step::Report, Step::Report]);
        let windows = cut(&steps, 3);
        let second = choose(&windows, 2, 20, Method::Window).unwrap();
        assert!(second.widened);
        assert_eq!((second.window.from, second.window.to), (B, A));
    }

    #[test]
    fn excess_subtracts_the_undisturbed_window_nearest_before() {
        // A spin loop reading at A only: 7 instructions undisturbed, 7 + 367 with a tick.
        let mut steps = vec![Step::Read(A)];
        for i in 0..40 {
            steps.push(Step::Work(if i % 10 == 9 { 374 } else { 7 }));
            steps.push(Step::Read(A));
        }
        let windows = cut(&steps, 1);
        let choice = choose(&windows, 1, 367, Method::Excess).unwrap();
        assert_eq!((choice.matching, choice.ordinal), (4, 3));
        let reference = choice.reference.unwrap();
        assert_eq!(reference.count, 7);
        assert!(reference.first < choice.window.first);
        assert_eq!(choice.window.count - reference.count, 367);
        assert!(choose(&windows, 1, 368, Method::Excess).is_err());
    }

    #[test]
    fn an_interrupt_between_isb_and_mrs_counts_in_the_window() {
        let mut cutter = Cutter::new(vec![A], vec![], 1);
        for pc in [A - 4, A, 0x10, 0x14, A - 4, 0x900, 0x904, A] {
            cutter.push(0, pc);
        }
        assert_eq!(cutter.windows.len(), 1);
        let w = cutter.windows[0];
        assert!(w.clean);
        assert_eq!((w.span, w.count), (5, 4));
        // A read reached without its `isb` makes a window that is never chosen.
        let mut cutter = Cutter::new(vec![A], vec![], 1);
        for pc in [A - 4, A, 0x10, A, 0x14, A - 4, A] {
            cutter.push(0, pc);
        }
        let clean: Vec<bool> = cutter.windows.iter().map(|w| w.clean).collect();
        assert_eq!(clean, [false, true]);
        assert!(choose(&cutter.windows[..1], 1, 0, Method::Window).is_err());
    }
}
