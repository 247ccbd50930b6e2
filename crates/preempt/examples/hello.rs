//! The crate documentation's first example, built and run by `cargo xtask test` (an xtask
//! unit test checks that `preempt`'s crate docs show exactly this program).
#![no_std]
#![no_main]
preempt::entry!(main);

fn main() {
    let h = preempt::thread::spawn(|| 6 * 7);
    preempt::println!("{}", h.join().unwrap());
}
