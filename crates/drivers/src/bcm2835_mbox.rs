//! The VideoCore mailbox property interface: asking the Raspberry Pi firmware what it set up.
//!
//! On a Pi the GPU firmware (`start.elf`) owns the clocks and decides how much RAM the ARM
//! cores get, and it answers questions through mailbox 0's property channel (8): the ARM
//! memory range, the UART and core clock rates, the board revision. The kernel asks instead
//! of assuming, so a `gpu_mem=` or `init_uart_clock=` line in `config.txt` cannot leave it
//! with a wrong heap size or baud rate. QEMU's `raspi3b` answers the same tags (with its own
//! values: a 3 MHz UART clock, RAM up to its 64 MiB of video memory).
//!
//! The register layout (read/status of mailbox 0 for VideoCore → ARM, write/status of
//! mailbox 1 for ARM → VideoCore) is the one of the Linux `bcm2835-mailbox` driver; the
//! message format is the firmware wiki's "Mailbox property interface".
//!
//! # Caches
//!
//! The firmware reads the request and writes the answer by DMA, and the ARM's caches are not
//! coherent with the VideoCore. So the message has a 64-byte cache line to itself, is cleaned
//! to memory before the firmware is told where it is and invalidated before the answer is
//! read (harmless with the MMU off, required with caches on); its address is passed in the
//! VideoCore's uncached alias (`| 0xC000_0000`) so the GPU's own L2 is bypassed too.

use core::mem::offset_of;
use core::ptr::NonNull;
use core::sync::atomic::{fence, Ordering};

use safe_mmio::fields::{ReadOnly, ReadPure, WriteOnly};
use safe_mmio::{field, UniqueMmioPointer};

/// ARM physical address of the mailbox block on the BCM2837.
pub const BCM2837_MBOX_BASE: usize = 0x3F00_B880;

/// The property channel, ARM to VideoCore.
const CHANNEL_PROPERTY: u32 = 8;

/// Status bit: the mailbox cannot take another message.
const STATUS_FULL: u32 = 1 << 31;

/// Status bit: the mailbox holds no message.
const STATUS_EMPTY: u32 = 1 << 30;

/// How the VideoCore sees ARM physical address 0 without its L2 cache (BCM2836/7).
const BUS_UNCACHED_ALIAS: u32 = 0xC000_0000;

/// Request code of a property buffer; the firmware replaces it with [`RESPONSE_OK`].
const REQUEST: u32 = 0;

/// Buffer code of a successful answer.
const RESPONSE_OK: u32 = 0x8000_0000;

/// Bit 31 of a tag's length word: the tag was answered.
const TAG_ANSWERED: u32 = 1 << 31;

/// Polls before a silent firmware is given up on (a few milliseconds at most on hardware).
const POLL_LIMIT: u32 = 1_000_000;

/// Tag: get board revision (one word).
const TAG_BOARD_REVISION: u32 = 0x0001_0002;

/// Tag: get ARM memory (base, size).
const TAG_ARM_MEMORY: u32 = 0x0001_0005;

/// Tag: get clock rate (clock id → id, rate in Hz).
const TAG_CLOCK_RATE: u32 = 0x0003_0002;

/// Clocks whose rate can be asked for (firmware clock ids).
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
#[repr(u32)]
pub enum Clock {
    /// The PL011's reference clock (`init_uart_clock`, 48 MHz by default on current firmware).
    Uart = 2,
    /// The VideoCore core clock, which the mini UART's baud rate derives from.
    Core = 4,
}

/// Mailbox 0 (VideoCore → ARM) and mailbox 1 (ARM → VideoCore).
#[repr(C)]
struct MboxRegisters {
    /// 0x00: mailbox 0 read (channel in bits 3:0).
    read: ReadOnly<u32>,
    _reserved_04: [u32; 5],
    /// 0x18: mailbox 0 status.
    status0: ReadPure<u32>,
    _config0: u32,
    /// 0x20: mailbox 1 write.
    write: WriteOnly<u32>,
    _reserved_24: [u32; 5],
    /// 0x38: mailbox 1 status.
    status1: ReadPure<u32>,
}

const _: () = {
    assert!(offset_of!(MboxRegisters, status0) == 0x18);
    assert!(offset_of!(MboxRegisters, write) == 0x20);
    assert!(offset_of!(MboxRegisters, status1) == 0x38);
};

/// Bytes in a Cortex-A53 cache line.
const CACHE_LINE: usize = 64;

/// A property message: header, one tag with room for two value words, end tag, padded to one
/// cache line so no other data shares its line (the low four address bits carry the channel).
#[repr(C, align(64))]
struct Message([u32; CACHE_LINE / 4]);

/// The mailbox, used for single-tag property requests.
pub struct Mailbox {
    regs: UniqueMmioPointer<'static, MboxRegisters>,
}

impl Mailbox {
    /// A driver for the mailbox block at `base` ([`BCM2837_MBOX_BASE`] on the Pi Zero 2 W).
    ///
    /// # Safety
    ///
    /// `base` must be the identity-mapped (device-memory) address of the mailbox registers,
    /// nothing else may use the mailboxes while the returned value lives, and data memory must
    /// be non-cacheable (MMU off) or coherent with the VideoCore (see the module docs).
    pub unsafe fn new(base: usize) -> Self {
        let regs = NonNull::new(base as *mut MboxRegisters).expect("mailbox at 0");
        // SAFETY: forwarded from this function's contract.
        let regs = unsafe { UniqueMmioPointer::new(regs) };
        Self { regs }
    }

    /// The board revision code (e.g. `0x902120` for a Zero 2 W, `0xa02082` for a Pi 3 B).
    pub fn board_revision(&mut self) -> Option<u32> {
        self.property(TAG_BOARD_REVISION, [0, 0], 1).map(|v| v[0])
    }

    /// The ARM's share of RAM as (base, size) in bytes; the firmware keeps the rest (at the top).
    pub fn arm_memory(&mut self) -> Option<(u32, u32)> {
        self.property(TAG_ARM_MEMORY, [0, 0], 2)
            .map(|v| (v[0], v[1]))
    }

    /// The current rate of `clock` in Hz.
    pub fn clock_rate(&mut self, clock: Clock) -> Option<u32> {
        let [id, rate] = self.property(TAG_CLOCK_RATE, [clock as u32, 0], 2)?;
        (id == clock as u32 && rate != 0).then_some(rate)
    }

    /// Sends one tag with value buffer `values` and returns the answer's first `words` value
    /// words; `None` if the firmware does not answer in time or rejects the tag.
    fn property(&mut self, tag: u32, values: [u32; 2], words: u32) -> Option<[u32; 2]> {
        let mut msg = Message([0; CACHE_LINE / 4]);
        let ptr = msg.0.as_mut_ptr();
        let request = [32, REQUEST, tag, 8, 0, values[0], values[1], 0];
        for (i, value) in request.into_iter().enumerate() {
            // SAFETY: `i < 8`, inside `msg`; volatile so the stores happen before the firmware
            // is told where the message is.
            unsafe { ptr.add(i).write_volatile(value) };
        }
        let addr = u32::try_from(ptr as usize).ok()?;
        clean_and_invalidate(ptr as usize);
        self.exchange((addr | BUS_UNCACHED_ALIAS) & !0xf | CHANNEL_PROPERTY)?;
        clean_and_invalidate(ptr as usize);
        // SAFETY: `ptr` points into `msg`, alive and 8 words long; the firmware wrote it by
        // DMA, so it is read with volatile loads the compiler cannot answer from before.
        let word = |i: usize| unsafe { ptr.add(i).read_volatile() };
        let answered = word(1) == RESPONSE_OK && word(4) & TAG_ANSWERED != 0;
        let length = word(4) & !TAG_ANSWERED;
        (answered && length >= words * 4).then(|| [word(5), word(6)])
    }

    /// Posts `message` to mailbox 1 and waits for the reply carrying it on mailbox 0.
    fn exchange(&mut self, message: u32) -> Option<()> {
        self.poll(|mbox| field!(mbox.regs, status1).read() & STATUS_FULL == 0)?;
        field!(self.regs, write).write(message);
        loop {
            self.poll(|mbox| field!(mbox.regs, status0).read() & STATUS_EMPTY == 0)?;
            // One request at a time: the reply on our channel is the answer.
            if field!(self.regs, read).read() & 0xf == message & 0xf {
                return Some(());
            }
        }
    }

    /// Waits until `ready` holds, at most [`POLL_LIMIT`] polls.
    fn poll(&mut self, ready: impl Fn(&mut Self) -> bool) -> Option<()> {
        for _ in 0..POLL_LIMIT {
            if ready(self) {
                return Some(());
            }
            core::hint::spin_loop();
        }
        None
    }
}

/// Writes the cache line holding `addr` back to memory and drops it from the caches, with the
/// barriers that order it against the mailbox accesses around it.
fn clean_and_invalidate(addr: usize) {
    fence(Ordering::SeqCst);
    // SAFETY: `dc civac` on a line of our own message only moves data between the caches and
    // memory (no value changes); `dsb sy` waits for it to complete.
    unsafe {
        core::arch::asm!("dc civac, {0}", "dsb sy", in(reg) addr, options(nostack, preserves_flags))
    };
    fence(Ordering::SeqCst);
}
