//! Feeds arbitrary bytes to sched-core's operation interpreter: every byte
//! string decodes to a scenario of thread and synchronization operations, run
//! with every invariant and model check after each step and a leak check at
//! the end. Any violated property panics, which libFuzzer reports as a crash.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(e) = sched_core::interp::run(data) {
        panic!("{e}");
    }
});
