//! QEMU `virt`: PL011 console, GICv2 or GICv3, semihosting exit, devices found in the device
//! tree QEMU passes (with the machine's standard addresses as fallback).

use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use preempt_arch::layout::MAX_CPUS;
use preempt_arch::mmu::{MemoryKind, Region};
use preempt_arch::SpinLock;

use preempt_drivers::gic::{CpuInterface, Gic, PreparedSgi, SgiSender, SgiTarget};
use preempt_drivers::irq::{InterruptController, IrqError};
use preempt_drivers::pl011::Pl011;
use preempt_drivers::platform::{self, GicInfo, Platform, PsciConduit, MAX_CPU_IDS};
use preempt_drivers::semihosting;

/// The identity map: the first GiB holds virt's devices (flash, GIC, UART, virtio, PCIe
/// MMIO); RAM starts at 1 GiB and is mapped for up to 3 GiB (`-m` up to 3G). Everything else
/// faults — including the first 2 MiB, flash the kernel never uses, so that a null pointer
/// (or a small offset from one) faults.
pub(crate) const MEMORY_MAP: &[Region] = &[
    Region {
        start: 2 << 20,
        size: (1 << 30) - (2 << 20),
        kind: MemoryKind::Device,
    },
    Region {
        start: 1 << 30,
        size: 3 << 30,
        kind: MemoryKind::Normal,
    },
];

/// Where QEMU places the device tree for an ELF kernel when x0 does not point at it.
const VIRT_DTB_FALLBACK: usize = 0x4000_0000;

static UART: SpinLock<Option<Pl011>> = SpinLock::new(None);
static GIC: SpinLock<Option<Gic>> = SpinLock::new(None);
static TIMER_LINE: core::sync::atomic::AtomicU32 = core::sync::atomic::AtomicU32::new(30);

/// What boot needs to know about the machine.
pub(crate) struct BoardInfo {
    pub ram_end: usize,
    pub description: &'static str,
}

/// Nothing to do before the MMU is on.
pub(crate) fn before_mmu() {}

/// Brings up the console and the interrupt controller.
pub(crate) fn init(dtb: usize) -> BoardInfo {
    let (plat, from_dtb) = probe(dtb);
    // SAFETY: the PL011 base comes from the device tree (or the machine's fixed map) and
    // nothing else drives this UART.
    let uart = unsafe { Pl011::new(plat.uart_base) };
    *UART.lock() = Some(uart);
    let gic = match plat.gic {
        // SAFETY: addresses from the device tree / fixed map; the GIC is owned by this module.
        GicInfo::V2 { gicd, gicc } => unsafe { Gic::new_v2(gicd, gicc) },
        // SAFETY: as above.
        GicInfo::V3 { gicd, gicr } => unsafe { Gic::new_v3(gicd, gicr, plat.cpus.max(1)) },
    };
    let description = match (plat.gic, from_dtb) {
        (GicInfo::V2 { .. }, true) => "QEMU virt, GICv2 (from device tree)",
        (GicInfo::V3 { .. }, true) => "QEMU virt, GICv3 (from device tree)",
        (GicInfo::V2 { .. }, false) => "QEMU virt, GICv2 (standard addresses)",
        (GicInfo::V3 { .. }, false) => "QEMU virt, GICv3 (standard addresses)",
    };
    let mut gic = gic;
    gic.init_cpu(0);
    // The distributor first: a sender that sees `CPU_INTERFACE` set sees it too.
    if let SgiSender::V2 { gicd } = gic.sgi_sender() {
        GICV2_DISTRIBUTOR.store(gicd, Ordering::Relaxed);
    }
    CPU_INTERFACE.store(encode(gic.cpu_interface()), Ordering::Release);
    TIMER_LINE.store(plat.timer_irq, core::sync::atomic::Ordering::Relaxed);
    *GIC.lock() = Some(gic);
    *CORES.lock() = Cores {
        count: plat.cpus.min(MAX_CPU_IDS),
        ids: plat.cpu_ids,
        psci: plat.psci,
    };
    BoardInfo {
        ram_end: (plat.ram_base + plat.ram_size) as usize,
        description,
    }
}

fn probe(dtb: usize) -> (Platform, bool) {
    for addr in [dtb, VIRT_DTB_FALLBACK] {
        // SAFETY: x0 from the loader is either 0 or the device tree's address in RAM, and the
        // fallback is the start of virt's RAM: both readable.
        if unsafe { platform::dtb_valid(addr) } {
            // SAFETY: `dtb_valid` found a device-tree header at `addr`, in RAM QEMU filled.
            if let Some(p) = unsafe { platform::probe(addr) } {
                return (p, true);
            }
        }
    }
    (Platform::virt_default(), false)
}

/// Writes bytes to the console UART.
pub(crate) fn console_write(bytes: &[u8]) {
    if let Some(uart) = UART.lock().as_mut() {
        uart.write_bytes(bytes);
    }
}

/// Ends the run: QEMU exits with `code` through semihosting.
pub(crate) fn exit(code: u32) -> ! {
    crate::kernel::trace::at_exit();
    semihosting::exit(code)
}

/// The interrupt line of the EL1 physical timer.
pub(crate) fn timer_line() -> u32 {
    TIMER_LINE.load(core::sync::atomic::Ordering::Relaxed)
}

/// Runs `f` on the interrupt controller (for the `preempt::irq` API).
pub(crate) fn with_irqchip<R>(f: impl FnOnce(&mut dyn InterruptController) -> R) -> Option<R> {
    GIC.lock()
        .as_mut()
        .map(|g| f(g as &mut dyn InterruptController))
}

/// The GIC's per-core acknowledge/end-of-interrupt path, reached without the `GIC` lock
/// (see `preempt_drivers::gic::CpuInterface`): [`NO_CPU_INTERFACE`] before `init`, 0 for a
/// GICv3 (so that its test is one `cbnz`), else a GICv2's CPU-interface base.
static CPU_INTERFACE: AtomicUsize = AtomicUsize::new(NO_CPU_INTERFACE);

/// [`CPU_INTERFACE`] before `init` (never a GICv2 base, which is page-aligned).
const NO_CPU_INTERFACE: usize = 1;

fn encode(c: CpuInterface) -> usize {
    match c {
        CpuInterface::V3 => 0,
        CpuInterface::V2 { gicc } => gicc,
    }
}

/// Acknowledges, hands to `f` and ends every pending interrupt (the interrupt path; this
/// core's GIC CPU interface, no lock).
#[inline(always)]
pub(crate) fn irq_serve(f: impl FnMut(u32)) {
    match CPU_INTERFACE.load(Ordering::Relaxed) {
        0 => CpuInterface::V3.serve(f),
        NO_CPU_INTERFACE => {}
        gicc => CpuInterface::V2 { gicc }.serve(f),
    }
}

/// Times the interrupt controller's lock was taken since boot (wrapping): statistics for
/// tests (`preempt::testing::irqchip_lock_takes`).
pub(crate) fn irqchip_lock_takes() -> u32 {
    GIC.raw().times_taken()
}

/// Raises software-generated interrupt `sgi` on this core without the `GIC` lock where the
/// interrupt controller allows it (a GICv3); `None`: use [`with_irqchip`].
pub(crate) fn irq_send_sgi_to_self(sgi: u32) -> Option<Result<(), IrqError>> {
    match CPU_INTERFACE.load(Ordering::Relaxed) {
        0 => CpuInterface::V3.send_sgi_to_self(sgi),
        _ => None,
    }
}

/// Enables an interrupt line.
pub(crate) fn irq_enable_line(line: u32) {
    if let Some(g) = GIC.lock().as_mut() {
        if let Err(e) = g.enable(line, true) {
            log::error!("cannot enable interrupt line {line}: {e:?}");
        }
    }
}

/// An interrupt nobody registered: disable it so it cannot storm.
pub(crate) fn irq_unhandled(line: u32) {
    if let Some(g) = GIC.lock().as_mut() {
        let _ = g.enable(line, false);
    }
    log::warn!("unhandled interrupt line {line} disabled");
}

/// The cores the device tree describes, and how to start them.
struct Cores {
    /// How many (`/cpus`), at most [`MAX_CPU_IDS`].
    count: usize,
    /// Their `MPIDR_EL1` affinities, core `n` at `ids[n]`.
    ids: [u64; MAX_CPU_IDS],
    /// PSCI's conduit, if the tree has a `/psci` node.
    psci: Option<PsciConduit>,
}

static CORES: SpinLock<Cores> = SpinLock::new(Cores {
    count: 1,
    ids: [0; MAX_CPU_IDS],
    psci: None,
});

/// The number of cores the machine has (QEMU's `-smp`, from the device tree's `/cpus`).
pub(crate) fn cores_present() -> usize {
    CORES.lock().count
}

/// No cap besides the device tree: `-smp N` already sets how many cores `virt` has.
pub(crate) fn cpu_cap() -> Option<usize> {
    None
}

/// The value of `key=N` on the semihosting command line (`virt` runs under QEMU only, where
/// a semihosting host always listens).
pub(crate) fn command_line_number(key: &str) -> Option<u64> {
    let mut buf = [0u8; 256];
    super::number_in(semihosting::command_line(&mut buf)?, key)
}

/// Starts core `core` at the arch layer's secondary entry, through PSCI `CPU_ON` (the conduit
/// the device tree names), with the core's `MPIDR_EL1` affinity from the tree.
pub(crate) fn start_core(core: usize) -> Result<(), &'static str> {
    let (target, psci) = {
        let cores = CORES.lock();
        (cores.ids.get(core).copied(), cores.psci)
    };
    let target = target.ok_or("no such core in the device tree")?;
    let entry = preempt_arch::boot::secondary_entry() as u64;
    let result = match psci.ok_or("the device tree describes no PSCI")? {
        PsciConduit::Hvc => smccc::psci::cpu_on::<smccc::Hvc>(target, entry, core as u64),
        PsciConduit::Smc => smccc::psci::cpu_on::<smccc::Smc>(target, entry, core as u64),
    };
    result.map_err(|e| match e {
        smccc::psci::Error::AlreadyOn => "PSCI: already on",
        smccc::psci::Error::OnPending => "PSCI: already being turned on",
        smccc::psci::Error::InvalidParameters => "PSCI: invalid parameters",
        smccc::psci::Error::InvalidAddress => "PSCI: invalid entry address",
        _ => "PSCI CPU_ON failed",
    })
}

/// The calling secondary core's share of the interrupt controller: on a GICv2 its banked
/// SGI/PPI registers and its CPU interface, on a GICv3 its redistributor (woken), its
/// SGI/PPI set-up and the system-register CPU interface.
pub(crate) fn init_this_core() {
    if let Some(g) = GIC.lock().as_mut() {
        g.init_cpu(preempt_arch::cpu::core_id());
    }
}

/// The SGI that carries the kernel's inter-processor interrupt (reschedule). SGI 15, the last
/// one, so that programs keep 0..=14 in the order they are used to; `preempt::irq` refuses it
/// as the kernel's.
const IPI_SGI: u32 = 15;

/// The line on which the inter-processor interrupt arrives (an SGI's line is its number).
pub(crate) fn ipi_line() -> u32 {
    IPI_SGI
}

/// A GICv2's distributor base, for the lock-free SGI path (`preempt_drivers::gic::SgiSender`;
/// 0 for a GICv3, which sends from its CPU interface). Which GIC it is, and whether `init` has
/// run, [`CPU_INTERFACE`] already says.
static GICV2_DISTRIBUTOR: AtomicUsize = AtomicUsize::new(0);

/// Each core's [`SgiTarget`] as it reported it ([`ipi_init_this_core`]); [`NO_TARGET`] until
/// then.
static IPI_TARGETS: [AtomicU64; MAX_CPUS] = [const { AtomicU64::new(NO_TARGET) }; MAX_CPUS];

/// [`IPI_TARGETS`] of a core that has not reported (no GIC target is all ones).
const NO_TARGET: u64 = u64::MAX;

/// Each core's reschedule interrupt, composed when it reported its target (a send is then a
/// barrier and one register write: `preempt_drivers::gic::SgiSender::send_prepared`);
/// [`NO_WORD`] until then, or for a core the GIC cannot name.
static IPI_WORDS: [AtomicU64; MAX_CPUS] = [const { AtomicU64::new(NO_WORD) }; MAX_CPUS];

/// [`IPI_WORDS`] of a core without a prepared interrupt (no register value is all ones).
const NO_WORD: u64 = u64::MAX;

/// The calling core's part of inter-processor interrupts, after its controller set-up
/// (`init` for the boot core): records how an SGI names this core and enables the IPI line
/// here (the kernel installed its handler first).
pub(crate) fn ipi_init_this_core(core: usize) {
    let Some(target) = GIC.lock().as_mut().map(|g| g.this_core_target()) else {
        return;
    };
    if let Some(slot) = IPI_TARGETS.get(core) {
        slot.store(target.0, Ordering::Release);
    }
    if let (Some(sender), Some(slot)) = (sgi_sender(), IPI_WORDS.get(core)) {
        match sender.prepare(IPI_SGI, target) {
            Ok(word) => slot.store(word.0, Ordering::Release),
            // `send_ipi` reports it at each attempt.
            Err(e) => log::error!("core {core} cannot be sent interrupts: {e}"),
        }
    }
    irq_enable_line(IPI_SGI);
}

/// Raises the inter-processor interrupt on core `core` (possibly the caller's own), without
/// the `GIC` lock. A core that has not reported its target is assumed to be numbered as QEMU
/// `virt` numbers them.
#[inline]
pub(crate) fn send_ipi(core: usize) {
    let Some(sender) = sgi_sender() else {
        return;
    };
    match IPI_WORDS.get(core).map(|w| w.load(Ordering::Acquire)) {
        Some(word) if word != NO_WORD => sender.send_prepared(PreparedSgi(word)),
        _ => send_ipi_unprepared(core),
    }
}

/// [`send_ipi`] to a core without a prepared interrupt (not started, or not nameable).
#[cold]
#[inline(never)]
fn send_ipi_unprepared(core: usize) {
    let Some((sender, target)) = sgi_route(core) else {
        return;
    };
    if let Err(e) = sender.send(IPI_SGI, target) {
        ipi_failed(core, e);
    }
}

/// The sender for this GIC (`None` before the interrupt controller is set up).
#[inline(always)]
fn sgi_sender() -> Option<SgiSender> {
    Some(match CPU_INTERFACE.load(Ordering::Acquire) {
        NO_CPU_INTERFACE => return None,
        0 => SgiSender::V3,
        _ => SgiSender::V2 {
            gicd: GICV2_DISTRIBUTOR.load(Ordering::Relaxed),
        },
    })
}

/// How an SGI reaches `core`: the sender for this GIC and the core's target (`None` before the
/// interrupt controller is set up).
#[inline(always)]
fn sgi_route(core: usize) -> Option<(SgiSender, SgiTarget)> {
    let sender = sgi_sender()?;
    let target = match IPI_TARGETS.get(core).map(|t| t.load(Ordering::Acquire)) {
        Some(NO_TARGET) | None => SgiTarget::assumed(matches!(sender, SgiSender::V2 { .. }), core),
        Some(t) => SgiTarget(t),
    };
    Some((sender, target))
}

/// Raises software-generated interrupt `sgi` (a program's, below 16) on core `core`, without
/// the `GIC` lock: what [`send_ipi`] does for the kernel's SGI, for tests and benchmarks
/// (`preempt::testing::ipi::send_sgi`).
/// The kernel's SGI ([`IPI_SGI`]) is refused ([`IrqError::Unsupported`]).
pub(crate) fn send_sgi(core: usize, sgi: u32) -> Result<(), IrqError> {
    if sgi == IPI_SGI {
        return Err(IrqError::Unsupported);
    }
    let (sender, target) = sgi_route(core).ok_or(IrqError::Unsupported)?;
    sender.send(sgi, target)
}

#[cold]
#[inline(never)]
fn ipi_failed(core: usize, e: IrqError) {
    log::error!("cannot interrupt core {core}: {e}");
}
