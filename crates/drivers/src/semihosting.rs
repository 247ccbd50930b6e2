//! Ending a run under QEMU through Arm semihosting.
//!
//! Tests need QEMU to exit with a status the test runner can read; semihosting's `SYS_EXIT`
//! does that with no device at all. A crate would be a dependency for one instruction, so the
//! call is written here.
//!
//! Semihosting is a debugger protocol: `hlt #0xf000` is only caught when a debugger or QEMU
//! (`-semihosting`) is listening. On real hardware without one, `hlt` raises an exception —
//! so the kernel calls [`exit`] only on boards that say semihosting is present.

use core::arch::asm;

/// `SYS_EXIT` operation number (Arm "Semihosting for AArch32 and AArch64").
const SYS_EXIT: u64 = 0x18;

/// `SYS_GET_CMDLINE` operation number.
const SYS_GET_CMDLINE: u64 = 0x15;

/// `SYS_OPEN` operation number.
const SYS_OPEN: u64 = 0x01;

/// `SYS_CLOSE` operation number.
const SYS_CLOSE: u64 = 0x02;

/// `SYS_WRITE` operation number.
const SYS_WRITE: u64 = 0x05;

/// `SYS_OPEN`'s mode for `fopen(name, "wb")`: create or truncate, binary.
const MODE_WB: u64 = 5;

/// `ADP_Stopped_ApplicationExit`: the reason code for a normal program exit, which makes
/// QEMU use the second word of the parameter block as its exit status.
const ADP_STOPPED_APPLICATION_EXIT: u64 = 0x2_0026;

/// Asks the semihosting host (QEMU) to exit with status `code`. If nothing answers the call,
/// the core waits forever instead.
///
/// QEMU passes `code` to the host's `exit`, which keeps only its low 8 bits (256 reads as 0):
/// callers that care map wider codes first, as `preempt::exit` does.
pub fn exit(code: u32) -> ! {
    // On AArch64 the parameter block is two 64-bit words: reason, then exit status.
    let block: [u64; 2] = [ADP_STOPPED_APPLICATION_EXIT, u64::from(code)];
    // SAFETY: the semihosting call only reads the two-word block, which lives across the
    // instruction; x0 is returned clobbered. Without a host, `hlt` raises an exception that
    // the kernel's vector handles like any other.
    unsafe {
        asm!(
            "hlt #0xf000",
            inout("x0") SYS_EXIT => _,
            in("x1") block.as_ptr(),
            options(nostack, readonly),
        );
    }
    loop {
        aarch64_cpu::asm::wfe();
    }
}

/// The command line the semihosting host passes (QEMU: `-semihosting-config arg=…`, joined by
/// spaces), read into `buf`; `None` if the host refuses or the line is not UTF-8.
///
/// Only call this where a semihosting host is known to listen (see the module docs).
pub fn command_line(buf: &mut [u8]) -> Option<&str> {
    // The parameter block: buffer address and size in; the length written comes back in the
    // second word.
    let mut block: [u64; 2] = [buf.as_mut_ptr() as u64, buf.len() as u64];
    let result: u64;
    // SAFETY: the host writes at most `buf.len()` bytes into `buf` and the length into
    // `block`, both of which live across the instruction.
    unsafe {
        asm!(
            "hlt #0xf000",
            inout("x0") SYS_GET_CMDLINE => result,
            in("x1") block.as_mut_ptr(),
            options(nostack),
        );
    }
    if result != 0 {
        return None;
    }
    let len = usize::try_from(block[1]).ok()?.min(buf.len());
    core::str::from_utf8(&buf[..len]).ok()
}

/// One semihosting call: operation `op` with the parameter block at `block`; the host's
/// answer (x0).
///
/// # Safety
/// `block` must point to the parameter block `op` expects, and every buffer it names must be
/// valid for the host to read (or write, for operations that fill one) while the call lasts.
unsafe fn call(op: u64, block: *const u64) -> u64 {
    let result: u64;
    // SAFETY: the caller vouches for the block and the buffers it names; the host touches
    // nothing else.
    unsafe {
        asm!(
            "hlt #0xf000",
            inout("x0") op => result,
            in("x1") block,
            options(nostack),
        );
    }
    result
}

/// A file on the host, opened by [`File::create`]; closed on drop.
///
/// Only use this where a semihosting host is known to listen (see the module docs).
pub struct File(u64);

impl File {
    /// Creates (or truncates) the host file `name` for writing, in binary mode; relative to
    /// the host's working directory. `None` if the host refuses.
    pub fn create(name: &core::ffi::CStr) -> Option<Self> {
        let bytes = name.to_bytes();
        let block: [u64; 3] = [bytes.as_ptr() as u64, MODE_WB, bytes.len() as u64];
        // SAFETY: SYS_OPEN reads the three-word block and the NUL-terminated name, both alive
        // across the call.
        let handle = unsafe { call(SYS_OPEN, block.as_ptr()) };
        (handle as i64 >= 0).then_some(Self(handle))
    }

    /// Writes all of `bytes`; `false` if the host wrote fewer.
    pub fn write(&mut self, bytes: &[u8]) -> bool {
        if bytes.is_empty() {
            return true;
        }
        let block: [u64; 3] = [self.0, bytes.as_ptr() as u64, bytes.len() as u64];
        // SAFETY: SYS_WRITE reads the block and `bytes`, both alive across the call.
        let left = unsafe { call(SYS_WRITE, block.as_ptr()) };
        left == 0
    }
}

impl Drop for File {
    fn drop(&mut self) {
        let block: [u64; 1] = [self.0];
        // SAFETY: SYS_CLOSE reads the one-word block, alive across the call.
        unsafe { call(SYS_CLOSE, block.as_ptr()) };
    }
}
