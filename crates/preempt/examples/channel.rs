//! `mpsc` channels: three producers send tagged readings to one consumer over a bounded
//! channel (senders block while it is full); `recv` ends once every sender is gone.
#![no_std]
#![no_main]

use preempt::println;
use preempt::sync::mpsc;
use preempt::thread;
use preempt::time::Duration;

preempt::entry!(main);

fn main() {
    let (tx, rx) = mpsc::sync_channel::<(&'static str, u32)>(2);
    for name in ["left", "right", "center"] {
        let tx = tx.clone();
        thread::spawn(move || {
            for reading in 0..3 {
                tx.send((name, reading * 10)).unwrap();
                thread::sleep(Duration::from_micros(300));
            }
        });
    }
    drop(tx);
    for (sensor, value) in rx.iter() {
        println!("{sensor:>6}: {value}");
    }
    println!("all senders gone; channel closed");
    match rx.recv_timeout(Duration::from_millis(1)) {
        Err(e) => println!("recv_timeout after close: {e}"),
        Ok(v) => println!("unexpected {v:?}"),
    }
}
