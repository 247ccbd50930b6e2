//! Host tests of `cargo xtask trace` on synthetic traces (made with `trace_format::encode`
//! where the file matters).

use trace_format::{CoreTrace, Kind, Reason, Record, Trace, WaitKind, WakeCause};

use super::model::Model;
use super::runs::Ending;
use super::{check, json, summary, svg};

/// 1 MHz: one tick is one microsecond.
const HZ: u64 = 1_000_000;
const MAIN: u64 = 1;
const LOW: u64 = 2;
const HIGH: u64 = 3;
const IDLE: u64 = 9;

pub(super) fn rec(time: u64, kind: Kind, thread: u64) -> Record {
    Record::new(time, kind, thread)
}

pub(super) fn switch_in(time: u64, thread: u64, priority: u8) -> Record {
    Record {
        detail: priority,
        ..rec(time, Kind::SwitchIn, thread)
    }
}

pub(super) fn switch_out(time: u64, thread: u64, reason: Reason) -> Record {
    Record {
        detail: reason as u8,
        ..rec(time, Kind::SwitchOut, thread)
    }
}

pub(super) fn wake(time: u64, thread: u64, waker: u64) -> Record {
    Record {
        detail: WakeCause::Thread as u8,
        other: waker,
        ..rec(time, Kind::Wake, thread)
    }
}

pub(super) fn irq(time: u64, kind: Kind, line: u32) -> Record {
    Record {
        arg: line,
        ..rec(time, kind, 0)
    }
}

fn priority(time: u64, kind: Kind, thread: u64, from: u16, to: u8, by: u64) -> Record {
    Record {
        detail: to,
        aux: from,
        other: by,
        ..rec(time, kind, thread)
    }
}

/// Priority inversion on core 0 (`low` boosted by `high`, the handoff, the restore), and an
/// idle core 1 with an interrupt that wakes nobody; times in µs.
fn inversion() -> Trace {
    let blocked = Record {
        aux: WaitKind::Mutex as u16,
        other: 0x4000,
        ..switch_out(40, HIGH, Reason::Blocked)
    };
    let core0 = vec![
        switch_in(0, MAIN, 100),
        wake(10, LOW, MAIN),
        switch_out(20, MAIN, Reason::Slept),
        switch_in(20, LOW, 10),
        irq(25, Kind::IrqEnter, 30),
        wake(26, HIGH, 0),
        irq(27, Kind::IrqExit, 30),
        // The kernel writes a switch as switch-in then switch-out; either order is read.
        switch_in(30, HIGH, 200),
        switch_out(30, LOW, Reason::Preempted),
        priority(40, Kind::Boost, LOW, 10, 200, HIGH),
        switch_in(40, LOW, 200),
        blocked,
        priority(50, Kind::Restore, LOW, 200, 10, 0),
        wake(50, HIGH, LOW),
        switch_out(50, LOW, Reason::Preempted),
        switch_in(55, HIGH, 200),
        Record {
            other: 0x1000,
            arg: 5,
            ..rec(60, Kind::Mark, HIGH)
        },
        switch_out(70, HIGH, Reason::Exited),
        switch_in(70, LOW, 10),
    ];
    let core1 = vec![
        // Idle since before the first record: its switch-in was never recorded.
        irq(0, Kind::IrqEnter, 27),
        irq(0, Kind::IrqExit, 27),
        irq(80, Kind::IrqEnter, 27),
        irq(81, Kind::IrqExit, 27),
        switch_out(100, IDLE, Reason::Preempted),
    ];
    Trace {
        counter_hz: HZ,
        cores: vec![
            CoreTrace {
                cpu: 0,
                dropped: 0,
                records: core0,
            },
            CoreTrace {
                cpu: 1,
                dropped: 3,
                records: core1,
            },
        ],
        names: vec![
            (MAIN, "main".into()),
            (LOW, "low".into()),
            (HIGH, "high".into()),
            (IDLE, "idle1".into()),
        ],
    }
}

pub(super) fn model(trace: &Trace) -> Model {
    Model::build(trace, &|address, len| {
        (address == 0x1000 && len == 5).then(|| "ready".to_string())
    })
}

#[test]
fn runs_pair_switch_ins_with_switch_outs_per_core() {
    let m = model(&inversion());
    let spans = |core: usize| -> Vec<(u64, u64, u64)> {
        m.cores[core]
            .runs
            .iter()
            .map(|r| (r.thread, r.start, r.end))
            .collect()
    };
    assert_eq!(
        spans(0),
        [
            (MAIN, 0, 20),
            (LOW, 20, 30),
            (HIGH, 30, 40),
            (LOW, 40, 50),
            (HIGH, 55, 70),
            (LOW, 70, 100)
        ]
    );
    assert_eq!(spans(1), [(IDLE, 0, 100)]);
    let runs = &m.cores[0].runs;
    assert_eq!(
        runs[2].ending,
        Ending::Out(Some(Reason::Blocked), Some(WaitKind::Mutex), 0x4000)
    );
    assert_eq!(runs[2].ending.describe(), "blocked on mutex 0x4000");
    assert_eq!(runs[5].ending, Ending::Running);
    assert_eq!(runs[3].priority, Some(200));
    assert_eq!((m.start, m.end, m.unknown, m.repaired), (0, 100, 0, 0));
    // The interrupt lies inside `low`'s first run; the flow of the handoff goes from `low`'s
    // boosted run to `high`'s next one.
    assert_eq!(m.cores[0].irqs.len(), 1);
    let handoff = m.flows.iter().find(|f| f.waker == LOW).unwrap();
    assert_eq!(
        (handoff.from_run, handoff.to_core, handoff.to_run),
        (Some(3), 0, 4)
    );
    let marks: Vec<_> = m.points.iter().filter(|p| p.kind == Kind::Mark).collect();
    assert_eq!(marks[0].title, "ready");
}

#[test]
fn partial_and_odd_records_are_repaired_not_fatal() {
    let trace = Trace {
        counter_hz: HZ,
        cores: vec![CoreTrace {
            cpu: 2,
            dropped: 100,
            records: vec![
                // Its switch-in was overwritten: the run starts at the first record.
                irq(5, Kind::IrqEnter, 30),
                switch_out(10, LOW, Reason::Yielded),
                Record {
                    kind: 200,
                    ..rec(11, Kind::Wake, LOW)
                },
                switch_in(12, HIGH, 1),
                // No switch-out of `high`; a step back in time.
                switch_in(11, LOW, 1),
                irq(30, Kind::IrqExit, 31),
            ],
        }],
        names: vec![],
    };
    let m = model(&trace);
    let runs = &m.cores[0].runs;
    assert_eq!((runs[0].start, runs[0].end, runs[0].seq), (5, 10, None));
    assert_eq!(runs[1].ending, Ending::Cut);
    assert_eq!((runs[2].start, runs[2].end), (12, 30));
    assert_eq!(m.unknown, 1);
    assert_eq!(m.repaired, 3, "cut run, step back, unmatched exit");
    // The interrupt never exited: it lasts to the end, cut at the run boundaries.
    let irqs: Vec<_> = m.cores[0].irqs.iter().map(|i| (i.start, i.end)).collect();
    assert_eq!(irqs, [(5, 10), (10, 12), (12, 30)]);
    assert_eq!(m.name(LOW), "thread 2");
    assert_eq!(m.name(3 << 32 | 7), "thread 7/3");
    let text = summary::render(&m);
    assert!(text.contains("core 2: 100 older records dropped"), "{text}");
    assert!(
        text.contains("1 records of kinds this xtask does not know"),
        "{text}"
    );
}

#[test]
fn interrupts_across_a_switch_are_cut_to_nest() {
    let trace = Trace {
        counter_hz: HZ,
        cores: vec![CoreTrace {
            cpu: 0,
            dropped: 0,
            records: vec![
                switch_in(0, LOW, 1),
                irq(5, Kind::IrqEnter, 30),
                switch_out(8, LOW, Reason::Preempted),
                switch_in(8, HIGH, 2),
                irq(9, Kind::IrqExit, 30),
                switch_out(20, HIGH, Reason::Exited),
            ],
        }],
        names: vec![(LOW, "low".into()), (HIGH, "high".into())],
    };
    let m = model(&trace);
    let irqs: Vec<_> = m.cores[0].irqs.iter().map(|i| (i.start, i.end)).collect();
    assert_eq!(irqs, [(5, 8), (8, 9)]);
    assert_eq!(check::slices_nest(&json::render(&m, "t")), Ok(4));
}

#[test]
fn summary_figures() {
    let m = model(&inversion());
    let rows = summary::rows(&m);
    let row = |id: u64| rows.iter().find(|r| r.thread == id).unwrap().clone();
    let low = row(LOW);
    // 10 + 10 + 30 µs of 200 (100 µs × 2 cores).
    assert_eq!(
        (low.cpu, low.runs, low.preemptions, low.longest),
        (50, 3, 2, 30)
    );
    assert!((low.share - 25.0).abs() < 1e-9, "{}", low.share);
    assert_eq!(low.worst_latency, Some(10), "woken at 10, in at 20");
    let high = row(HIGH);
    // Woken at 26 (in at 30) and at 50 (in at 55).
    assert_eq!((high.cpu, high.runs, high.worst_latency), (25, 2, Some(5)));
    assert_eq!(row(IDLE).share, 50.0);
    assert_eq!(row(MAIN).worst_latency, None);
    assert_eq!(rows[0].thread, IDLE, "most CPU time first");
    let text = summary::render(&m);
    assert!(text.contains("2 cores, 100.0 µs, 4 threads"), "{text}");
    assert!(text.contains("core 1: 3 older records dropped"), "{text}");
}

#[test]
fn json_parses_back_and_nests() {
    let m = model(&inversion());
    let text = json::render(&m, "mutex \"quoted\"");
    assert_eq!(check::slices_nest(&text), Ok(7 + 3), "7 runs, 3 interrupts");
    let doc = crate::json::Value::parse(&text).unwrap();
    let events = doc.get("traceEvents").unwrap().as_array().unwrap();
    let named = |ph: &str, name: &str| {
        events.iter().any(|e| {
            e.get("ph").and_then(|v| v.as_str()) == Some(ph)
                && e.get("name").and_then(|v| v.as_str()) == Some(name)
        })
    };
    assert!(named("X", "low") && named("X", "idle1") && named("X", "irq 30"));
    assert!(named("i", "boost low 10\u{2192}200") && named("i", "ready"));
    assert!(named("M", "thread_name") && named("s", "wake high") && named("f", "wake high"));
    let process = events
        .iter()
        .find(|e| e.get("name").and_then(|v| v.as_str()) == Some("process_name"))
        .unwrap();
    assert_eq!(
        process.get("args").unwrap().get("name").unwrap().as_str(),
        Some("preempt: mutex \"quoted\"")
    );
    // Three flows whose wake happened inside a run (the interrupt's wake of `high` happened
    // inside `low`'s run, so it starts there too).
    let flows = events
        .iter()
        .filter(|e| e.get("ph").and_then(|v| v.as_str()) == Some("s"))
        .count();
    assert_eq!(flows, 3);
    let empty = Model::build(&Trace::default(), &|_, _| None);
    assert_eq!(check::slices_nest(&json::render(&empty, "x")), Ok(0));
}

#[test]
fn the_nesting_check_finds_overlaps() {
    let overlapping = r#"{"traceEvents":[
        {"ph":"X","tid":1,"ts":0.000,"dur":10.000,"name":"a"},
        {"ph":"X","tid":1,"ts":5.000,"dur":10.000,"name":"b"}]}"#;
    let err = check::slices_nest(overlapping).unwrap_err();
    assert!(err.contains("`b`") && err.contains("`a`"), "{err}");
    let other_tracks = overlapping.replace("\"tid\":1,\"ts\":5", "\"tid\":2,\"ts\":5");
    assert_eq!(check::slices_nest(&other_tracks), Ok(2));
    assert!(check::slices_nest("{\"traceEvents\":[}").is_err());
}

#[test]
fn svg_names_every_thread_and_has_an_axis() {
    let mut trace = inversion();
    trace.names.push((77, "never <ran> & \"odd\"".into()));
    let m = model(&trace);
    let picture = svg::render(&m, "mutex");
    check::names_every_thread(&m, &picture).unwrap();
    assert!(picture.contains("never &lt;ran&gt; &amp; &quot;odd&quot;"));
    assert!(!picture.contains("<script"));
    for label in [">0<", ">50<", ">100<", "core 0", "core 1", ">ready<"] {
        assert!(picture.contains(label), "{label}");
    }
    assert!(picture.starts_with("<svg") && picture.trim_end().ends_with("</svg>"));
    let mut without = m;
    without.threads.retain(|t| t.name != "high");
    let err = check::names_every_thread(&model(&trace), &svg::render(&without, "x"));
    assert!(err.unwrap_err().contains("`high`"));
    assert_eq!(svg::nice_step(7.3), 10.0);
    assert_eq!(svg::nice_step(0.031), 0.05);
    assert_eq!(svg::nice_step(150.0), 200.0);
}

#[test]
fn the_mutex_story_is_recognised_and_its_absence_reported() {
    let trace = inversion();
    let story = check::mutex_story(&model(&trace)).unwrap();
    assert!(
        story.starts_with("boost low 10\u{2192}200 at 40.0 µs"),
        "{story}"
    );
    // Without the Restore, or with the wake by someone else, the story is broken.
    let mut no_restore = trace.clone();
    no_restore.cores[0]
        .records
        .retain(|r| r.kind() != Some(Kind::Restore));
    let err = check::mutex_story(&model(&no_restore)).unwrap_err();
    assert!(err.contains("Restore"), "{err}");
    let mut other_waker = trace.clone();
    for r in &mut other_waker.cores[0].records {
        if r.kind() == Some(Kind::Wake) && r.other == LOW {
            r.other = MAIN;
        }
    }
    let err = check::mutex_story(&model(&other_waker)).unwrap_err();
    assert!(err.contains("woken by main"), "{err}");
    let mut no_boost = trace;
    no_boost.cores[0]
        .records
        .retain(|r| r.kind() != Some(Kind::Boost));
    assert!(check::mutex_story(&model(&no_boost)).is_err());
}

#[test]
fn a_trace_survives_the_file_and_damage_is_named() {
    let trace = inversion();
    let bytes = trace_format::encode(&trace);
    let back = trace_format::parse(&bytes).unwrap();
    assert_eq!(model(&back).flows, model(&trace).flows);
    let dir = std::env::temp_dir().join(format!("xtask-trace-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join(trace_format::FILE_NAME);
    std::fs::write(&file, &bytes).unwrap();
    assert_eq!(super::read_trace(&file).unwrap(), trace);
    std::fs::write(&file, &bytes[..bytes.len() - 7]).unwrap();
    let err = super::read_trace(&file).unwrap_err().message;
    assert!(
        err.contains("preempt-trace.bin is damaged: trace cut short"),
        "{err}"
    );
    std::fs::write(&file, b"MZ not a trace").unwrap();
    let err = super::read_trace(&file).unwrap_err().message;
    assert!(err.contains("not a preempt trace"), "{err}");
    std::fs::remove_file(&file).unwrap();
    let err = super::read_trace(&file).unwrap_err().message;
    assert!(err.contains("cannot be read"), "{err}");
    let _ = std::fs::remove_dir(&dir);
}

#[test]
fn mark_texts_come_from_the_elf() {
    use super::elf::Strings;
    let image = Strings::from_sections(vec![
        (0x1000, b"helloworld".to_vec()),
        (0x8000, vec![0xff, b'a']),
    ]);
    assert_eq!(image.get(0x1000, 5).as_deref(), Some("hello"));
    assert_eq!(image.get(0x1005, 5).as_deref(), Some("world"));
    assert_eq!(image.get(0x1005, 6), None, "past the section's end");
    assert_eq!(image.get(0xfff, 2), None, "before the section");
    assert_eq!(image.get(0x8000, 2).as_deref(), Some("\u{fffd}a"));
    assert_eq!(image.get(u64::MAX - 2, 10), None);
    assert_eq!(image.get(0x1000, 1 << 20), None);
    // A real ELF (this test binary) has loaded sections with contents; a non-ELF is refused.
    let exe = std::env::current_exe().unwrap();
    assert!(Strings::read(&exe).unwrap().sections() > 3);
    assert!(Strings::parse(b"not an elf").is_err());
}
