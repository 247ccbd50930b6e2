//! Writing the trace file as the program exits: through semihosting, so it lands in QEMU's
//! working directory with no device, driver or file system on the target.
//!
//! Only the first core to get here writes (the freeze decides, see `ring`); a core that exits
//! meanwhile waits a bounded time for the file to be complete before it ends the run.

use core::sync::atomic::{AtomicBool, Ordering};

use preempt_arch::{cpu, timer};
use preempt_drivers::semihosting::File;
use sched_core::MAX_CPUS;
use trace_format::{CoreHeader, Header, Record, FILE_NAME, RECORD_SIZE};

use super::{names, ring};

/// The file has been written (or given up on).
static WRITTEN: AtomicBool = AtomicBool::new(false);

/// How long a second exiting core waits for the first one's file, in milliseconds.
const WAIT_MS: u64 = 2000;

/// Freezes the trace and writes the file. Call only where a semihosting host listens.
pub(crate) fn write_at_exit() {
    if !ring::freeze() {
        wait_for_writer();
        return;
    }
    write_file();
    WRITTEN.store(true, Ordering::Release);
}

/// Another core froze the trace: give it (bounded) time to finish the file.
fn wait_for_writer() {
    let start = timer::counter();
    let limit = timer::frequency() / 1000 * WAIT_MS;
    while !WRITTEN.load(Ordering::Acquire) && timer::counter().wrapping_sub(start) < limit {
        cpu::spin_hint();
    }
}

fn write_file() {
    let mut path = [0u8; 64];
    let name = FILE_NAME.as_bytes();
    path[..name.len()].copy_from_slice(name);
    let Ok(path) = core::ffi::CStr::from_bytes_until_nul(&path) else {
        return;
    };
    let Some(mut file) = File::create(path) else {
        crate::console::report_kernel(format_args!("preempt: cannot create {FILE_NAME}"));
        return;
    };
    let cores: [Option<ring::Frozen<'static>>; MAX_CPUS] = core::array::from_fn(|core| {
        let frozen = ring::frozen(core)?;
        let used = frozen.runs[0].len() + frozen.dropped as usize != 0;
        let started = super::super::cpus_mask() & (1 << core) != 0;
        (used || started).then_some(frozen)
    });
    let header = Header {
        cores: cores.iter().flatten().count() as u32,
        counter_hz: timer::frequency(),
        names: names::entries().count() as u32,
    };
    let mut ok = file.write(&header.to_bytes());
    for (core, frozen) in cores.iter().enumerate() {
        let Some(frozen) = frozen else { continue };
        let section = CoreHeader {
            cpu: core as u32,
            records: (frozen.runs[0].len() + frozen.runs[1].len()) as u32,
            dropped: frozen.dropped,
        };
        ok &= file.write(&section.to_bytes());
        for run in frozen.runs {
            ok &= file.write(as_bytes(run));
        }
    }
    for entry in names::entries() {
        ok &= file.write(&entry.to_bytes());
    }
    if !ok {
        crate::console::report_kernel(format_args!("preempt: {FILE_NAME} is incomplete"));
    }
}

// The file's records are little-endian `Record::to_bytes`; in memory, a `Record` (`repr(C)`,
// fields in that order, no padding) on this little-endian target has the same bytes, so runs
// are written as they lie.
#[cfg(target_endian = "little")]
const _: () = {
    assert!(core::mem::size_of::<Record>() == RECORD_SIZE);
    assert!(core::mem::offset_of!(Record, kind) == 8);
    assert!(core::mem::offset_of!(Record, aux) == 10);
    assert!(core::mem::offset_of!(Record, arg) == 12);
    assert!(core::mem::offset_of!(Record, thread) == 16);
    assert!(core::mem::offset_of!(Record, other) == 24);
};

/// A run of records as the file's bytes (see above).
fn as_bytes(run: &[Record]) -> &[u8] {
    // SAFETY: `Record` is `repr(C)` plain integers with no padding (checked above), so every
    // byte of the run is initialized; the slice covers exactly the run's memory and borrows it.
    unsafe { core::slice::from_raw_parts(run.as_ptr().cast::<u8>(), core::mem::size_of_val(run)) }
}
