//! Lines longer than the console's 256-byte stack buffer, printed by several threads at once,
//! each come out whole: their `Display` blocks (sleeps) halfway, so the other threads run and
//! print in the middle of it, yet no line is split by another thread's output. A split line
//! would leave its tail — a run of `~` — at the start of an output line.
//! xtask: expect-output=LONG-a:~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~:a-END
//! xtask: expect-output=LONG-b:~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~:b-END
//! xtask: expect-output=LONG-c:~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~:c-END
//! xtask: expect-output=console_lines: ok
//! xtask: reject-output=~
//! xtask: reject-output=:
//! xtask: timeout=120
#![no_std]
#![no_main]
extern crate alloc;

use alloc::vec::Vec;
use core::fmt;
use preempt::thread::{self, Builder};
use preempt::time::Duration;
use preempt::{check, println};

preempt::entry!(main);

/// `~` repeated 300 times, sleeping after every 60 (the whole line is 313 bytes).
struct Tildes;

impl fmt::Display for Tildes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for _ in 0..5 {
            for _ in 0..6 {
                f.write_str("~~~~~~~~~~")?;
            }
            thread::sleep(Duration::from_micros(150));
        }
        Ok(())
    }
}

fn main() {
    let mut handles = Vec::new();
    for name in ["a", "b", "c"] {
        let h = Builder::new()
            .name(name)
            .spawn(move || {
                for _ in 0..6 {
                    println!("LONG-{name}:{Tildes}:{name}-END");
                }
            })
            .expect("spawn");
        handles.push(h);
    }
    let chatter = Builder::new()
        .name("chatter")
        .priority(140)
        .spawn(|| {
            for i in 0..40 {
                println!("short line {i}");
                thread::sleep(Duration::from_micros(200));
            }
        })
        .expect("spawn");
    for h in handles {
        check!(h.join().is_ok());
    }
    check!(chatter.join().is_ok());
    println!("console_lines: ok");
}
