//! Failure isolation: a thread that panics and a thread that touches a bad address each end
//! alone, with a report; their `join` returns `Err` and the program carries on.
#![no_std]
#![no_main]

use preempt::println;
use preempt::thread::Builder;

preempt::entry!(main);

fn main() {
    let panicker = Builder::new()
        .name("panicker")
        .spawn(|| {
            let v: [u32; 3] = [1, 2, 3];
            let i = core::hint::black_box(7);
            v[i] // index out of bounds: panics
        })
        .expect("spawn");
    match panicker.join() {
        Ok(v) => println!("unexpected value {v}"),
        Err(e) => println!("join returned Err: {e}"),
    }

    let faulter = Builder::new()
        .name("faulter")
        .spawn(|| {
            let p = core::hint::black_box(0xffff_ffff_fff0usize) as *const u32;
            // SAFETY: not safe: this example wants the data abort.
            unsafe { p.read_volatile() }
        })
        .expect("spawn");
    match faulter.join() {
        Ok(v) => println!("unexpected value {v}"),
        Err(e) => println!("join returned Err: {e} (fault: {})", e.is_fault()),
    }
    println!("main is still running; exiting normally");
}
