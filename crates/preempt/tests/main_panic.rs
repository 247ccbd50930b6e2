//! A panic in the thread running `main` ends the program with a failure status (the
//! program cannot go on without `main`), instead of leaving the system idling forever.
//! xtask: expect-exit=101
//! xtask: expect-output=thread 'main' panicked at
//! xtask: expect-output=main gives up
#![no_std]
#![no_main]

preempt::entry!(main);

fn main() {
    let _worker = preempt::thread::spawn(|| loop {
        preempt::thread::sleep(preempt::time::Duration::from_millis(1));
    });
    if core::hint::black_box(true) {
        panic!("main gives up");
    }
}
