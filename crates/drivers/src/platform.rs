//! What the machine looks like, read from the flattened device tree QEMU passes.
//!
//! QEMU `virt` changes with its options — GICv2 or GICv3, RAM size, core count — and says so
//! in its device tree, so the kernel reads the tree instead of assuming. Parsing is the `fdt`
//! crate's; this module picks out the handful of facts the kernel needs and falls back to
//! [`Platform::virt_default`] when there is no tree.
//!
//! Addresses are taken from `reg` as they are, without `ranges` translation: right for QEMU
//! `virt`, whose devices sit at the root of the tree. (Boards with buses that remap addresses,
//! like the Pi's `/soc`, use fixed addresses instead.) The `fdt` crate trusts the blob's
//! internal structure and may panic on a corrupted tree; [`dtb_valid`] only checks the header.

use fdt::node::FdtNode;
use fdt::Fdt;

/// The device-tree header magic, stored big-endian.
const FDT_MAGIC: u32 = 0xd00d_feed;

/// Size of the version-17 device-tree header.
const FDT_HEADER_LEN: usize = 40;

/// Largest tree accepted (Linux uses the same bound), so a stray magic number cannot make us
/// treat gigabytes as a device tree.
const FDT_MAX_LEN: usize = 2 << 20;

/// GIC compatibles handled as a GICv2 (memory-mapped CPU interface).
const GIC_V2_COMPATIBLE: &[&str] = &[
    "arm,cortex-a15-gic",
    "arm,gic-400",
    "arm,cortex-a9-gic",
    "arm,cortex-a7-gic",
];

/// GIC compatibles handled as a GICv3.
const GIC_V3_COMPATIBLE: &[&str] = &["arm,gic-v3"];

/// Architected-timer compatibles.
const TIMER_COMPATIBLE: &[&str] = &["arm,armv8-timer", "arm,armv7-timer"];

/// The timer binding lists its interrupts as secure physical, non-secure physical, virtual,
/// hypervisor; the kernel uses the second.
const TIMER_NS_PHYS_ENTRY: usize = 1;

/// GIC binding, first cell of an interrupt specifier: 1 means PPI.
const GIC_SPEC_PPI: u32 = 1;

/// INTID of PPI 0.
const PPI_BASE_INTID: u32 = 16;

/// Where the GIC's register blocks are.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub enum GicInfo {
    /// A GICv2: distributor and CPU interface.
    V2 {
        /// Distributor base address.
        gicd: usize,
        /// CPU interface base address.
        gicc: usize,
    },
    /// A GICv3: distributor and the first redistributor.
    V3 {
        /// Distributor base address.
        gicd: usize,
        /// Base address of the redistributor region (one frame per core).
        gicr: usize,
    },
}

impl GicInfo {
    /// QEMU `virt` with `gic-version=2` (the default).
    pub const VIRT_V2: Self = Self::V2 {
        gicd: 0x0800_0000,
        gicc: 0x0801_0000,
    };
    /// QEMU `virt` with `gic-version=3`.
    pub const VIRT_V3: Self = Self::V3 {
        gicd: 0x0800_0000,
        gicr: 0x080A_0000,
    };
}

/// The facts about the machine the kernel needs to boot.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub struct Platform {
    /// Start of the first RAM bank.
    pub ram_base: u64,
    /// Size of the first RAM bank in bytes.
    pub ram_size: u64,
    /// Base address of the PL011 console UART.
    pub uart_base: usize,
    /// The interrupt controller.
    pub gic: GicInfo,
    /// INTID of the EL1 non-secure physical timer.
    pub timer_irq: u32,
    /// Number of cores described in `/cpus`.
    pub cpus: usize,
    /// The `MPIDR_EL1` affinity (the `reg` value) of the first [`MAX_CPU_IDS`] of them, in
    /// the tree's order; the boot core's own (0) for those the tree does not give.
    pub cpu_ids: [u64; MAX_CPU_IDS],
    /// How to reach PSCI (`/psci`'s `method`), if the tree describes it.
    pub psci: Option<PsciConduit>,
}

/// Cores whose `MPIDR_EL1` affinity [`Platform::cpu_ids`] keeps.
pub const MAX_CPU_IDS: usize = 8;

/// The instruction that makes a PSCI call (the device tree's `/psci` `method`).
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub enum PsciConduit {
    /// `hvc`: the hypervisor (or QEMU's built-in PSCI when the kernel runs at EL1).
    Hvc,
    /// `smc`: the secure monitor.
    Smc,
}

impl Platform {
    /// QEMU `virt`'s fixed memory map with its defaults: 128 MiB of RAM at 1 GiB, the PL011
    /// at `0x0900_0000`, a GICv2, the timer on INTID 30, one core.
    pub const fn virt_default() -> Self {
        Self {
            ram_base: 0x4000_0000,
            ram_size: 128 << 20,
            uart_base: 0x0900_0000,
            gic: GicInfo::VIRT_V2,
            timer_irq: 30,
            cpus: 1,
            cpu_ids: [0; MAX_CPU_IDS],
            psci: None,
        }
    }

    /// [`Platform::virt_default`] with QEMU `virt`'s GICv3 instead.
    pub const fn virt_default_v3() -> Self {
        let mut platform = Self::virt_default();
        platform.gic = GicInfo::VIRT_V3;
        platform
    }
}

/// The total size of the tree whose header starts `header`, if the magic is right and the
/// size is plausible.
fn tree_len(header: &[u8]) -> Option<usize> {
    let word = |at: usize| -> Option<u32> {
        let bytes = header.get(at..at + 4)?;
        Some(u32::from_be_bytes(bytes.try_into().ok()?))
    };
    if word(0)? != FDT_MAGIC {
        return None;
    }
    let len = word(4)? as usize;
    (FDT_HEADER_LEN..=FDT_MAX_LEN).contains(&len).then_some(len)
}

/// Whether a device-tree header (big-endian magic `0xd00dfeed`, plausible size) is at `addr`,
/// so the kernel can try the boot register first and the start of RAM second.
///
/// # Safety
///
/// `addr` must be 0 (answered `false` without reading) or readable for 40 bytes.
pub unsafe fn dtb_valid(addr: usize) -> bool {
    if addr == 0 || !addr.is_multiple_of(4) {
        return false;
    }
    // SAFETY: the caller promises the 40 header bytes at `addr` are readable.
    let header = unsafe { core::slice::from_raw_parts(addr as *const u8, FDT_HEADER_LEN) };
    tree_len(header).is_some()
}

/// Reads the platform from the device tree at `dtb`; `None` if it is not a device tree or
/// lacks RAM, a PL011 or a GIC.
///
/// # Safety
///
/// If [`dtb_valid`] holds for `dtb`, the whole tree (its header's `totalsize` bytes) must be
/// readable and must not change while this runs.
pub unsafe fn probe(dtb: usize) -> Option<Platform> {
    // SAFETY: forwarded from this function's contract.
    if !unsafe { dtb_valid(dtb) } {
        return None;
    }
    // SAFETY: as above; the header was just read.
    let header = unsafe { core::slice::from_raw_parts(dtb as *const u8, FDT_HEADER_LEN) };
    let len = tree_len(header)?;
    // SAFETY: the caller promises `totalsize` bytes are readable and stable.
    let blob = unsafe { core::slice::from_raw_parts(dtb as *const u8, len) };
    probe_blob(blob)
}

/// The first RAM bank (base, size) of the device tree at `dtb`, for boards whose devices are
/// at fixed addresses but whose RAM size the firmware decides (the Raspberry Pi's).
///
/// # Safety
///
/// As for [`probe`].
pub unsafe fn memory(dtb: usize) -> Option<(u64, u64)> {
    // SAFETY: forwarded from this function's contract.
    if !unsafe { dtb_valid(dtb) } {
        return None;
    }
    // SAFETY: as above; the header was just read.
    let header = unsafe { core::slice::from_raw_parts(dtb as *const u8, FDT_HEADER_LEN) };
    let len = tree_len(header)?;
    // SAFETY: the caller promises `totalsize` bytes are readable and stable.
    let blob = unsafe { core::slice::from_raw_parts(dtb as *const u8, len) };
    first_ram_bank(&Fdt::new(blob).ok()?).filter(|&(_, size)| size != 0)
}

/// Reads the platform from a device tree held in `blob`.
pub fn probe_blob(blob: &[u8]) -> Option<Platform> {
    let tree = Fdt::new(blob).ok()?;
    let (ram_base, ram_size) = first_ram_bank(&tree)?;
    let (gic, gic_node) = find_gic(&tree)?;
    Some(Platform {
        ram_base,
        ram_size,
        uart_base: console_uart(&tree)?,
        gic,
        timer_irq: timer_intid(&tree, gic_node).unwrap_or(30),
        cpus: count_cpus(&tree).max(1),
        cpu_ids: cpu_ids(&tree),
        psci: psci_conduit(&tree),
    })
}

/// The `reg` (MPIDR affinity) of every `cpu` child of `/cpus`, in order.
fn cpu_ids(tree: &Fdt<'_>) -> [u64; MAX_CPU_IDS] {
    let mut ids = [0; MAX_CPU_IDS];
    if let Some(cpus) = tree.find_node("/cpus") {
        let regs = cpus
            .children()
            .filter(|child| child.name.split('@').next() == Some("cpu"))
            .map(|cpu| cpu.property("reg").map_or(0, |reg| be_cells(reg.value)));
        for (slot, reg) in ids.iter_mut().zip(regs) {
            *slot = reg;
        }
    }
    ids
}

/// A one- or two-cell big-endian number (a `reg` of `/cpus`, whose size cells are 0).
fn be_cells(raw: &[u8]) -> u64 {
    raw.chunks_exact(4).take(2).fold(0, |acc, c| {
        acc << 32 | u64::from(u32::from_be_bytes([c[0], c[1], c[2], c[3]]))
    })
}

/// `/psci`'s `method` (`hvc` or `smc`).
fn psci_conduit(tree: &Fdt<'_>) -> Option<PsciConduit> {
    let method = tree.find_node("/psci")?.property("method")?.as_str()?;
    match method {
        "hvc" => Some(PsciConduit::Hvc),
        "smc" => Some(PsciConduit::Smc),
        _ => None,
    }
}

/// The first `reg` entry of `/memory`.
fn first_ram_bank(tree: &Fdt<'_>) -> Option<(u64, u64)> {
    let bank = tree.find_node("/memory")?.reg()?.next()?;
    Some((bank.starting_address as u64, bank.size? as u64))
}

/// The base addresses of a node's first two `reg` entries.
fn two_regs(node: FdtNode<'_, '_>) -> Option<(usize, usize)> {
    let mut regs = node.reg()?;
    let first = regs.next()?.starting_address as usize;
    let second = regs.next()?.starting_address as usize;
    Some((first, second))
}

fn find_gic<'b, 'a>(tree: &'b Fdt<'a>) -> Option<(GicInfo, FdtNode<'b, 'a>)> {
    if let Some(node) = tree.find_compatible(GIC_V3_COMPATIBLE) {
        let (gicd, gicr) = two_regs(node)?;
        return Some((GicInfo::V3 { gicd, gicr }, node));
    }
    let node = tree.find_compatible(GIC_V2_COMPATIBLE)?;
    let (gicd, gicc) = two_regs(node)?;
    Some((GicInfo::V2 { gicd, gicc }, node))
}

fn is_pl011(node: FdtNode<'_, '_>) -> bool {
    node.compatible()
        .is_some_and(|c| c.all().any(|s| s == "arm,pl011"))
}

/// The PL011 that `/chosen/stdout-path` names, or else the first PL011 in the tree.
fn console_uart(tree: &Fdt<'_>) -> Option<usize> {
    let chosen = tree
        .find_node("/chosen")
        .and_then(|chosen| chosen.property("stdout-path"))
        .and_then(|path| path.as_str())
        // "serial0:115200n8": the options after ':' are not part of the path.
        .and_then(|path| tree.find_node(path.split(':').next().unwrap_or(path)))
        .filter(|node| is_pl011(*node));
    let node = chosen.or_else(|| tree.find_compatible(&["arm,pl011"]))?;
    Some(node.reg()?.next()?.starting_address as usize)
}

/// The INTID of the non-secure EL1 physical timer from the architected-timer node.
///
/// `fdt` 0.1.5 only decodes one- and two-cell interrupt specifiers, and the GIC's are three
/// cells (type, number, flags), so `interrupts` is decoded here.
fn timer_intid(tree: &Fdt<'_>, gic: FdtNode<'_, '_>) -> Option<u32> {
    let cells = gic.interrupt_cells().unwrap_or(3);
    let node = tree.find_compatible(TIMER_COMPATIBLE)?;
    let raw = node.property("interrupts")?.value;
    let spec = interrupt_specifier(raw, cells, TIMER_NS_PHYS_ENTRY)?;
    match spec {
        [GIC_SPEC_PPI, ppi, _] if ppi < 16 => Some(PPI_BASE_INTID + ppi),
        _ => None,
    }
}

/// Up to the first three cells of entry `index` of an `interrupts` property whose entries
/// are `cells` big-endian words long.
fn interrupt_specifier(raw: &[u8], cells: usize, index: usize) -> Option<[u32; 3]> {
    if !(2..=4).contains(&cells) {
        return None;
    }
    let start = index.checked_mul(cells * 4)?;
    let entry = raw.get(start..start + cells * 4)?;
    let mut spec = [0; 3];
    for (cell, bytes) in spec.iter_mut().zip(entry.chunks_exact(4)) {
        *cell = u32::from_be_bytes(bytes.try_into().ok()?);
    }
    Some(spec)
}

/// Number of `cpu` / `cpu@N` children of `/cpus` (`cpu-map` is not a core).
fn count_cpus(tree: &Fdt<'_>) -> usize {
    tree.find_node("/cpus").map_or(0, |cpus| {
        cpus.children()
            .filter(|child| child.name.split('@').next() == Some("cpu"))
            .count()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_needs_magic_and_plausible_size() {
        let mut header = [0u8; FDT_HEADER_LEN];
        header[..4].copy_from_slice(&FDT_MAGIC.to_be_bytes());
        header[4..8].copy_from_slice(&0x1000u32.to_be_bytes());
        assert_eq!(tree_len(&header), Some(0x1000));
        header[4..8].copy_from_slice(&8u32.to_be_bytes());
        assert_eq!(tree_len(&header), None);
        header[4..8].copy_from_slice(&u32::MAX.to_be_bytes());
        assert_eq!(tree_len(&header), None);
        header[0] = 0;
        assert_eq!(tree_len(&header), None);
        assert_eq!(tree_len(&[0xd0, 0x0d]), None);
    }

    #[test]
    fn cpu_reg_of_one_or_two_cells() {
        assert_eq!(be_cells(&[0, 0, 0, 3]), 3);
        assert_eq!(be_cells(&[0, 0, 0, 1, 0, 0, 1, 2]), 0x1_0000_0102);
        assert_eq!(be_cells(&[]), 0);
    }

    #[test]
    fn second_timer_entry_of_three_cells() {
        let words: [u32; 12] = [1, 13, 0x104, 1, 14, 0x104, 1, 11, 0x104, 1, 10, 0x104];
        let raw: [u8; 48] = core::array::from_fn(|i| words[i / 4].to_be_bytes()[i % 4]);
        assert_eq!(interrupt_specifier(&raw, 3, 1), Some([1, 14, 0x104]));
        assert_eq!(interrupt_specifier(&raw, 3, 4), None);
        assert_eq!(interrupt_specifier(&raw, 1, 0), None);
    }
}
