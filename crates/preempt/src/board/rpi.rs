//! Raspberry Pi Zero 2 W (RP3A0, the BCM2837 family: 4× Cortex-A53, 512 MiB), and QEMU
//! `raspi3b`, which emulates the same SoC.
//!
//! How this board differs from `virt`, and why the code looks the way it does:
//!
//! - **Boot.** The firmware (`start.elf`) loads the raw `kernel8.img` at `0x8_0000` and enters
//!   it at EL2 on core 0, x0 holding the device tree's address if it loaded one (else 0);
//!   cores 1–3 wait in the firmware's spin table (`0xd8`–`0xf0`) and never reach `_start`.
//!   QEMU does the same for a raw image. The arch boot code drops to EL1 as on `virt`.
//!   [`before_mmu`] then moves cores 1–3 from the firmware's `wfe` loop to the arch layer's
//!   `wfi` park ([`preempt_arch::boot::park_entry`]): the same on hardware, but QEMU emulates
//!   a `wfe` loop as busy, which would burn host CPU and stop `-icount` from skipping idle
//!   time. It does so before the MMU is on because the spin table lies in page 0, which the
//!   MMU leaves unmapped (null pointers fault); once parked the cores never read it again.
//! - **Starting cores 1–3** ([`start_core`]): a parked core waits for a release word inside
//!   the image (`preempt_arch::boot::release_parked`), not for the spin table: the image is
//!   mapped, so core 0 can release a core whenever the kernel is ready for it, long after
//!   page 0 went away, without mapping page 0 again. The parked core reads the word with its
//!   MMU and caches off, so core 0 cleans it to the point of coherency; and since the core
//!   waits in `wfi` with interrupts masked, core 0 wakes it with an interrupt (mailbox 3 of
//!   the ARM-local controller, routed to that core) rather than `sev`. Cores that are never
//!   released (`--smp 1`) stay in `wfi` for good, exactly as before.
//! - **Fixed addresses.** Peripherals sit at ARM physical `0x3F00_0000`, the ARM-local block at
//!   `0x4000_0000`. The firmware's device tree describes them in VideoCore bus addresses behind
//!   `/soc` `ranges`, so they are not read from it; only the RAM size is.
//! - **RAM** comes from the device tree's `/memory` if x0 points at one, else from the firmware
//!   through the mailbox (the ARM's share; the GPU's `gpu_mem` is at the top), else
//!   [`FALLBACK_RAM_END`]. It is capped at [`RAM_MAP_END`], the Zero 2 W's 512 MiB, which is
//!   also all the memory map makes cacheable (QEMU's `raspi3b` has 1 GiB; we use 512 MiB of it).
//! - **No GIC.** The timer (the EL1 physical timer, `CNTPNSIRQ`) reaches the core through the
//!   ARM-local controller (its line 1); peripheral interrupts come through the BCM2835
//!   controller behind the local GPU line; SGIs are emulated with a mailbox. [`Bcm2837Intc`]
//!   joins them under one numbering (SGI n is line 16 + n, peripherals are lines 32..=103),
//!   so the kernel's interrupt path and `preempt::irq` work as on `virt`. The kernel's
//!   inter-processor interrupt is the target core's mailbox 1 (line 5), kept apart from the
//!   SGIs' mailbox 0.
//! - **Console.** See [`console`]: the PL011 or, with feature `rpi-mini-uart`, the mini UART.
//! - **Exit.** Under QEMU (feature `qemu-exit`, which `cargo xtask run/test` turn on) through
//!   semihosting. On hardware there is nobody to exit to, and a semihosting `hlt` would trap:
//!   [`exit`] prints `preempt: exit code N`, waits for the UART to drain and halts the core
//!   with interrupts masked. It does not reset through the watchdog on purpose: a reset would
//!   boot the program again and scroll its output away; power-cycle to run again.

mod console;

use core::fmt::Write;

use preempt_arch::mmu::{MemoryKind, Region, PAGE_SIZE};
use preempt_arch::SpinLock;
use preempt_drivers::bcm2835_intc::{PeripheralIntc, BCM2837_INTC_BASE};
use preempt_drivers::bcm2835_mbox::{Mailbox, BCM2837_MBOX_BASE};
use preempt_drivers::bcm2836_local::{
    self, LocalIntc, MailboxSender, OwnSources, BCM2837_LOCAL_BASE,
};
use preempt_drivers::bcm2837_intc::{self, Bcm2837Intc};
use preempt_drivers::irq::{InterruptController, IrqError};
use preempt_drivers::platform;

/// Start of the SoC's peripherals (ARM physical), and so the end of anything that can be RAM.
const PERIPHERAL_BASE: usize = 0x3F00_0000;

/// End of the RAM the kernel uses: the Zero 2 W's 512 MiB (the memory map's Normal region).
const RAM_MAP_END: usize = 0x2000_0000;

/// The firmware's spin table: core n (1..=3) waits for an entry address at `0xd8 + 8 * n`
/// (the firmware's `armstub8` and QEMU's raspi boot stub alike).
const SPIN_TABLE: usize = 0xd8;

/// RAM end assumed when neither a device tree nor the firmware says: 256 MiB, below the ARM's
/// share of a 512 MiB Pi for any `gpu_mem` up to 256 MiB (the default is 64 MiB, leaving 448).
const FALLBACK_RAM_END: usize = 0x1000_0000;

/// The identity map: RAM up to 512 MiB as Normal memory; the peripherals and the ARM-local
/// block (`0x3F00_0000..0x4020_0000`) as Device memory. Everything else faults, and so does
/// the first page of RAM (the MMU never maps page 0; see [`before_mmu`]).
pub(crate) const MEMORY_MAP: &[Region] = &[
    Region {
        start: 0,
        size: RAM_MAP_END as u64,
        kind: MemoryKind::Normal,
    },
    Region {
        start: PERIPHERAL_BASE as u64,
        size: 0x0120_0000,
        kind: MemoryKind::Device,
    },
];

static INTC: SpinLock<Option<Bcm2837Intc>> = SpinLock::new(None);

/// What boot needs to know about the machine.
pub(crate) struct BoardInfo {
    pub ram_end: usize,
    pub description: heapless::String<160>,
}

/// Brings up the console and the interrupt controllers, and finds the RAM.
pub(crate) fn init(dtb: usize) -> BoardInfo {
    // SAFETY: the BCM2837's mailbox, used only here, during boot on core 0; `Mailbox` does the
    // cache maintenance its DMA buffer needs.
    let mut mbox = unsafe { Mailbox::new(BCM2837_MBOX_BASE) };
    let console = console::init(&mut mbox);
    // SAFETY: the BCM2837's fixed addresses; both controllers are owned by `INTC` from now on.
    let (local, peripheral) = unsafe {
        (
            LocalIntc::new(BCM2837_LOCAL_BASE),
            PeripheralIntc::new(BCM2837_INTC_BASE),
        )
    };
    let mut intc = Bcm2837Intc::new(local, peripheral);
    intc.init_cpu(0);
    *INTC.lock() = Some(intc);
    let (ram_end, ram_source) = ram_end(dtb, &mut mbox);

    let mut description = heapless::String::new();
    let _ = write!(
        description,
        "{}, {console}, RAM to {ram_end:#x} ({ram_source})",
        model(&mut mbox)
    );
    BoardInfo {
        ram_end,
        description,
    }
}

/// Before the MMU is on (page 0 is not mapped after): releases cores 1–3 from the firmware's
/// spin table into the arch layer's park loop.
pub(crate) fn before_mmu() {
    let entry = preempt_arch::boot::park_entry() as u64;
    for core in 1..4 {
        let slot = SPIN_TABLE + 8 * core;
        // SAFETY: firmware-reserved spin-table RAM below the image, read only by the waiting
        // cores (caches off, so the line is cleaned to memory: a no-op with this core's caches
        // off, kept so the release stays right wherever it is called); MMU off, page 0 reachable.
        unsafe {
            (slot as *mut u64).write_volatile(entry);
            core::arch::asm!("dc civac, {0}", in(reg) slot, options(nostack, preserves_flags));
        }
    }
    // SAFETY: a barrier (the slots reach memory first) and an event that wakes the waiting
    // cores; no memory is touched.
    unsafe { core::arch::asm!("dsb sy", "sev", options(nostack, preserves_flags)) };
}

/// The board's name from its revision code (new-style codes: type in bits 11:4).
fn model(mbox: &mut Mailbox) -> &'static str {
    match mbox.board_revision() {
        Some(rev) if rev & (1 << 23) != 0 => match (rev >> 4) & 0xff {
            0x12 => "Raspberry Pi Zero 2 W (BCM2837)",
            0x08 => "Raspberry Pi 3 B (BCM2837)",
            0x0d => "Raspberry Pi 3 B+ (BCM2837)",
            0x0e => "Raspberry Pi 3 A+ (BCM2837)",
            _ => "Raspberry Pi (BCM2837 family)",
        },
        _ => "Raspberry Pi (BCM2837 family)",
    }
}

/// Where RAM ends and who said so, capped at [`RAM_MAP_END`].
fn ram_end(dtb: usize, mbox: &mut Mailbox) -> (usize, &'static str) {
    let bank_end = |(base, size): (u64, u64)| usize::try_from(base.saturating_add(size)).ok();
    // The tree is only looked for inside the RAM that is mapped (x0 may be 0 or stale; the
    // first page is not mapped).
    let from_dtb = if (PAGE_SIZE..RAM_MAP_END - 64 * 1024).contains(&dtb) {
        // SAFETY: `dtb` is an address in mapped RAM; the firmware put the
        // tree there, and nothing writes it before the heap is set up after this.
        unsafe { platform::memory(dtb) }.and_then(bank_end)
    } else {
        None
    };
    let mut mailbox = || {
        mbox.arm_memory()
            .and_then(|(base, size)| bank_end((base.into(), size.into())))
    };
    let (end, source, capped) = match (from_dtb, from_dtb.is_none().then(&mut mailbox).flatten()) {
        (Some(end), _) => (
            end,
            "from device tree",
            "from device tree, capped at 512 MiB",
        ),
        (None, Some(end)) => (end, "from firmware", "from firmware, capped at 512 MiB"),
        (None, None) => (FALLBACK_RAM_END, "assumed", "assumed"),
    };
    if end > RAM_MAP_END {
        (RAM_MAP_END, capped)
    } else {
        (end, source)
    }
}

/// Writes bytes to the console UART.
pub(crate) fn console_write(bytes: &[u8]) {
    console::write(bytes);
}

/// Ends the run: through semihosting under QEMU (`qemu-exit`), else print the code and halt.
pub(crate) fn exit(code: u32) -> ! {
    #[cfg(feature = "qemu-exit")]
    {
        console::flush();
        crate::kernel::trace::at_exit();
        preempt_drivers::semihosting::exit(code)
    }
    #[cfg(not(feature = "qemu-exit"))]
    {
        let _ = preempt_arch::cpu::irq_save();
        preempt_arch::timer::stop();
        crate::console::report_kernel(format_args!("preempt: exit code {code}"));
        console::flush();
        // `wfi` with interrupts masked: the core sleeps (and so does QEMU's, unlike with `wfe`).
        loop {
            preempt_arch::cpu::wait_for_interrupt();
        }
    }
}

/// The interrupt line of the EL1 physical timer (`CNTPNSIRQ` on the ARM-local controller).
pub(crate) fn timer_line() -> u32 {
    bcm2836_local::TIMER_LINE
}

/// Runs `f` on the interrupt controller (for the `preempt::irq` API).
pub(crate) fn with_irqchip<R>(f: impl FnOnce(&mut dyn InterruptController) -> R) -> Option<R> {
    INTC.lock()
        .as_mut()
        .map(|c| f(c as &mut dyn InterruptController))
}

/// Acknowledges and hands to `f` every pending line, lowest-numbered first (no priorities on
/// this SoC). There is no end of interrupt on these controllers (sources fall silent when
/// serviced).
///
/// The kernel's own two lines are acknowledged without the controller's lock, from this
/// core's registers ([`OwnSources`]): the timer (nothing to acknowledge: its handler silences
/// the timer) and the inter-processor interrupt (empty this core's mailbox 1).
/// Only when the lowest pending line is another one (a program's SGI, a peripheral) is the
/// lock taken. With the lock on every interrupt, four cores each ticking 1,000 times a second
/// queued on it: under QEMU with more busy cores than host CPUs, a ticket lock whose next
/// holder's host thread is not running stalls every core behind it, and a 4-core run of
/// `smp_scaling` took 23 times as long as a 1-core one (docs/performance.md, "Scaling").
#[inline(always)]
pub(crate) fn irq_serve(mut f: impl FnMut(u32)) {
    // SAFETY: the BCM2837's ARM-local block at its fixed address, mapped as device memory;
    // `OwnSources` only reads this core's IRQ source and clears this core's mailboxes.
    let own = unsafe { OwnSources::new(BCM2837_LOCAL_BASE) };
    loop {
        let line = match own.pending().trailing_zeros() {
            32 => return,
            bcm2836_local::TIMER_LINE => bcm2836_local::TIMER_LINE,
            bcm2837_intc::IPI_LINE => {
                own.clear_mailbox(bcm2837_intc::IPI_MAILBOX);
                bcm2837_intc::IPI_LINE
            }
            // The lock is released before `f` runs (a handler may use the controller).
            _ => match INTC.lock().as_mut().and_then(|c| c.acknowledge()) {
                Some(line) => line,
                None => return,
            },
        };
        f(line);
    }
}

/// Times the interrupt controller's lock was taken since boot (wrapping): statistics for
/// tests (`preempt::testing::irqchip_lock_takes`).
pub(crate) fn irqchip_lock_takes() -> u32 {
    INTC.raw().times_taken()
}

/// Raises a software-generated interrupt without the controller's lock: not on this board
/// (`None`: use [`with_irqchip`]).
pub(crate) fn irq_send_sgi_to_self(_sgi: u32) -> Option<Result<(), IrqError>> {
    None
}

/// Enables an interrupt line.
pub(crate) fn irq_enable_line(line: u32) {
    if let Some(c) = INTC.lock().as_mut() {
        if let Err(e) = c.enable(line, true) {
            log::error!("cannot enable interrupt line {line}: {e:?}");
        }
    }
}

/// An interrupt nobody registered: disable it so it cannot storm.
pub(crate) fn irq_unhandled(line: u32) {
    if let Some(c) = INTC.lock().as_mut() {
        let _ = c.enable(line, false);
    }
    log::warn!("unhandled interrupt line {line} disabled");
}

/// Cores of the BCM2837 (and of QEMU's `raspi3b`, which always has four).
const CORES: usize = 4;

/// The number of cores the SoC has.
pub(crate) fn cores_present() -> usize {
    CORES
}

/// How many cores to run, if capped: under QEMU (`qemu-exit`), `smp=N` on the semihosting
/// command line (`cargo xtask … --smp N` passes it, since QEMU's `raspi3b` always has four
/// cores); on hardware, no cap.
pub(crate) fn cpu_cap() -> Option<usize> {
    #[cfg(feature = "qemu-exit")]
    {
        let mut buf = [0u8; 256];
        let line = preempt_drivers::semihosting::command_line(&mut buf)?;
        line.split_ascii_whitespace()
            .find_map(|word| word.strip_prefix("smp="))
            .and_then(|n| n.parse().ok())
            .filter(|&n| n >= 1)
    }
    #[cfg(not(feature = "qemu-exit"))]
    None
}

/// The value of `key=N` on the semihosting command line, under QEMU (`qemu-exit`); on
/// hardware, none.
pub(crate) fn command_line_number(key: &str) -> Option<u64> {
    #[cfg(feature = "qemu-exit")]
    {
        let mut buf = [0u8; 256];
        super::number_in(preempt_drivers::semihosting::command_line(&mut buf)?, key)
    }
    #[cfg(not(feature = "qemu-exit"))]
    {
        let _ = key;
        None
    }
}

/// Starts core `core`, parked by [`before_mmu`] in the arch layer's park loop: writes its
/// release word (cleaned to memory: the parked core's caches are off) and wakes it from its
/// `wfi` with an interrupt (a mailbox of the ARM-local controller), because a `wfi` with
/// interrupts masked ends on a pending interrupt, not on `sev`.
pub(crate) fn start_core(core: usize) -> Result<(), &'static str> {
    if !(1..CORES).contains(&core)
        || !preempt_arch::boot::release_parked(core, preempt_arch::boot::secondary_entry())
    {
        return Err("no such core");
    }
    INTC.lock()
        .as_mut()
        .ok_or("no interrupt controller")?
        .wake_core(core)
        .map_err(|_| "cannot raise its mailbox")
}

/// The calling secondary core's share of the interrupt controllers: its mailboxes emptied and
/// the wake-up interrupt off (the timer line is routed to it when its timer starts).
pub(crate) fn init_this_core() {
    if let Some(c) = INTC.lock().as_mut() {
        c.init_cpu(preempt_arch::cpu::core_id());
        c.clear_wake();
    }
}

/// The line on which the inter-processor interrupt arrives: the core's mailbox 1.
pub(crate) fn ipi_line() -> u32 {
    bcm2837_intc::IPI_LINE
}

/// The calling core's part of inter-processor interrupts, after its controller set-up
/// (`init` for the boot core): enables its IPI mailbox (the kernel installed the handler
/// first). The core is found from `MPIDR_EL1` by the driver.
pub(crate) fn ipi_init_this_core(_core: usize) {
    irq_enable_line(bcm2837_intc::IPI_LINE);
}

/// Raises the inter-processor interrupt on core `core` (possibly the caller's own): one write
/// of its mailbox-1 set register, without the controller's lock.
#[inline]
pub(crate) fn send_ipi(core: usize) {
    // SAFETY: the BCM2837's ARM-local block at its fixed address, mapped as device memory;
    // the sender only writes mailbox-set registers (see `MailboxSender`).
    let sender = unsafe { MailboxSender::new(BCM2837_LOCAL_BASE) };
    sender.raise(core, bcm2837_intc::IPI_MAILBOX, 1);
}

/// Raises software-generated interrupt `sgi` (a program's, below 16) on core `core`: bit `sgi`
/// of its mailbox 0 (see `preempt_drivers::bcm2837_intc`), for tests and benchmarks
/// (`preempt::testing::ipi::send_sgi`).
pub(crate) fn send_sgi(core: usize, sgi: u32) -> Result<(), IrqError> {
    if sgi >= bcm2837_intc::SGIS {
        return Err(IrqError::InvalidLine(sgi));
    }
    // SAFETY: as in `send_ipi`: the ARM-local block at its fixed address, mapped as device
    // memory; the sender only writes mailbox-set registers.
    let sender = unsafe { MailboxSender::new(BCM2837_LOCAL_BASE) };
    sender.raise(core, 0, 1 << sgi);
    Ok(())
}
