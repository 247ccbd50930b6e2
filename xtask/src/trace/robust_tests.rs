//! Host tests of `cargo xtask trace` at scale and on garbage: full rings on four cores, and
//! random records (which must never panic and always give well-nested tracks).

use trace_format::{CoreTrace, Kind, Reason, Record, Trace};

use super::tests::{irq, model, switch_in, switch_out, wake};
use super::{check, json, summary, svg};

#[test]
fn full_rings_on_four_cores_are_drawn() {
    // 8192 records per core (a full kernel ring): switches every 10 ticks among 50 threads,
    // an interrupt across every fourth switch, a wake before each switch-in.
    let cores = (0..4u32)
        .map(|cpu| {
            let mut records = Vec::new();
            let mut t = 1000;
            let mut prev = 0;
            while records.len() + 5 <= 8192 {
                let thread = 1 + (t / 10 + u64::from(cpu)) % 50;
                records.push(wake(t - 3, thread, prev));
                if t % 40 == 0 {
                    records.push(irq(t - 1, Kind::IrqEnter, 30));
                }
                if prev != 0 {
                    records.push(switch_out(t, prev, Reason::Preempted));
                }
                records.push(switch_in(t, thread, 1));
                if t % 40 == 0 {
                    records.push(irq(t + 1, Kind::IrqExit, 30));
                }
                prev = thread;
                t += 10;
            }
            CoreTrace {
                cpu,
                dropped: 12345,
                records,
            }
        })
        .collect();
    let trace = Trace {
        counter_hz: 62_500_000,
        cores,
        names: (1..=50).map(|i| (i, format!("worker {i}"))).collect(),
    };
    let start = std::time::Instant::now();
    let m = model(&trace);
    let (text, picture, table) = (
        json::render(&m, "big"),
        svg::render(&m, "big"),
        summary::render(&m),
    );
    let slices = check::slices_nest(&text).unwrap();
    assert!(slices > 4 * 2000, "{slices}");
    check::names_every_thread(&m, &picture).unwrap();
    assert!(
        table.contains("core 3: 12345 older records dropped"),
        "{table}"
    );
    assert_eq!(m.repaired, 0);
    println!(
        "{slices} slices, {} KiB of JSON, {} KiB of SVG in {:?}",
        text.len() / 1024,
        picture.len() / 1024,
        start.elapsed()
    );
}

#[test]
fn random_records_never_panic_and_always_nest() {
    // A small linear congruential generator: reproducible without a dependency.
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut next = |n: u64| {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (state >> 33) % n
    };
    for round in 0..200 {
        let cores = (0..1 + next(4) as u32)
            .map(|cpu| {
                let mut t = next(1000);
                let records = (0..next(60))
                    .map(|_| {
                        // Mostly forward, sometimes back in time.
                        t = (t + next(20)).saturating_sub(next(4) * 3);
                        Record {
                            time: t,
                            kind: next(15) as u8,
                            detail: next(8) as u8,
                            aux: next(8) as u16,
                            arg: next(40) as u32,
                            thread: next(5),
                            other: next(5),
                        }
                    })
                    .collect();
                CoreTrace {
                    cpu,
                    dropped: next(2),
                    records,
                }
            })
            .collect();
        let trace = Trace {
            counter_hz: 1 + next(100),
            cores,
            names: vec![(1, "one".into()), (2, "one".into()), (3, String::new())],
        };
        let m = model(&trace);
        let text = json::render(&m, "random");
        if let Err(e) = check::slices_nest(&text) {
            panic!("round {round}: {e}\n{trace:?}");
        }
        check::names_every_thread(&m, &svg::render(&m, "random")).unwrap();
        let _ = summary::render(&m);
        for core in &m.cores {
            for pair in core.runs.windows(2) {
                assert!(pair[0].start <= pair[0].end && pair[0].end <= pair[1].start);
            }
        }
    }
}
