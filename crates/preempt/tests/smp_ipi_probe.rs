//! Probe: every core receives reschedule IPIs sent from every other core.
//! xtask: smp=4
//! xtask: timeout=60
#![no_std]
#![no_main]

use preempt::thread::Builder;
use preempt::time::{Duration, Instant};
use preempt::{check, cpu, println};

preempt::entry!(main);

fn main() {
    for from in 0..4usize {
        Builder::new()
            .affinity(1 << from)
            .priority(50)
            .spawn(move || {
                check!(cpu::current() == from);
                for to in 0..4usize {
                    if to == from {
                        continue;
                    }
                    let (s0, r0) = preempt::testing::ipi::counts(to);
                    preempt::testing::ipi::send(to);
                    let until = Instant::now() + Duration::from_micros(200);
                    while Instant::now() < until {}
                    let (s1, r1) = preempt::testing::ipi::counts(to);
                    println!("{} -> {}: sent {} received {}", from, to, s1 - s0, r1 - r0);
                }
            })
            .expect("spawn")
            .join()
            .expect("join");
    }
    let until = Instant::now() + Duration::from_millis(20);
    while Instant::now() < until {}
    for c in 0..4 {
        println!("core {}: {:?}", c, preempt::testing::ipi::counts(c));
    }
    preempt::thread::sleep(Duration::from_millis(20));
    for c in 0..4 {
        println!("core {}: {:?}", c, preempt::testing::ipi::counts(c));
    }
    preempt::testing::dump_sched();
}
