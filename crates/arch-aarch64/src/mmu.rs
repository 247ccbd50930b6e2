//! The MMU: an identity map with caches on, built from a board's static memory map.
//!
//! Why this runs first, before the heap or any lock: on real Cortex-A53 hardware exclusive
//! loads/stores (and so every atomic read-modify-write, every spinlock, the heap's lock) are
//! only reliable on Normal, cacheable memory — with the MMU off all data accesses are Device
//! accesses. So the tables cannot come from the heap, and this module writes its own tiny
//! table builder over static, page-aligned arrays instead of using `aarch64-paging` (which
//! allocates its tables). The map is coarse — 1 GiB and 2 MiB blocks — because an identity map
//! of a few regions needs nothing finer; unmapping guard pages under thread stacks will need
//! 4 KiB tables and is the next step.
//!
//! Layout: 4 KiB granule, 39-bit virtual addresses (T0SZ = 25), translation starting at level 1
//! (one 512-entry table of 1 GiB entries), plus up to [`MAX_L2`] level-2 tables for gigabytes
//! that need 2 MiB granularity. MAIR index 0 is Device-nGnRE, index 1 Normal write-back
//! read/write-allocate; Normal memory is inner shareable (ready for SMP coherency).

use core::arch::asm;
use core::cell::UnsafeCell;

/// What a region of the map is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemoryKind {
    /// RAM: Normal, write-back cacheable, inner shareable, executable.
    Normal,
    /// Peripherals: Device-nGnRE, never executable.
    Device,
}

/// One identity-mapped range; start and size must be multiples of 2 MiB.
#[derive(Clone, Copy, Debug)]
pub struct Region {
    /// First address.
    pub start: u64,
    /// Length in bytes.
    pub size: u64,
    /// Memory type.
    pub kind: MemoryKind,
}

/// Why a memory map was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MapError {
    /// A region is not 2 MiB-aligned in start or size.
    Misaligned(u64),
    /// A region reaches beyond the 39-bit (512 GiB) identity-mapped space.
    OutOfRange(u64),
    /// More gigabytes need 2 MiB granularity than there are level-2 tables.
    TooManyTables,
}

const GIB: u64 = 1 << 30;
const MIB2: u64 = 2 << 20;
/// Level-2 tables available for gigabytes mapped with 2 MiB granularity.
pub const MAX_L2: usize = 4;

#[repr(C, align(4096))]
struct Table([u64; 512]);

#[repr(C)]
struct Tables {
    l1: Table,
    l2: [Table; MAX_L2],
    /// Which gigabyte (L1 index) each L2 table serves, or `usize::MAX`.
    l2_owner: [usize; MAX_L2],
}

struct TableCell(UnsafeCell<Tables>);
// SAFETY: the tables are written only by `enable`, once, on the boot core before other cores
// or threads exist; afterwards only the MMU reads them.
unsafe impl Sync for TableCell {}

static TABLES: TableCell = TableCell(UnsafeCell::new(Tables {
    l1: Table([0; 512]),
    l2: [const { Table([0; 512]) }; MAX_L2],
    l2_owner: [usize::MAX; MAX_L2],
}));

const VALID: u64 = 1;
const TABLE: u64 = 1 << 1;
const AF: u64 = 1 << 10;
const SH_INNER: u64 = 3 << 8;
const PXN: u64 = 1 << 53;
const UXN: u64 = 1 << 54;
const ATTR_DEVICE: u64 = 0 << 2;
const ATTR_NORMAL: u64 = 1 << 2;
const MAIR: u64 = 0x04 | (0xff << 8);

fn block_bits(kind: MemoryKind) -> u64 {
    match kind {
        MemoryKind::Normal => VALID | AF | SH_INNER | ATTR_NORMAL,
        MemoryKind::Device => VALID | AF | ATTR_DEVICE | PXN | UXN,
    }
}

fn build(t: &mut Tables, regions: &[Region]) -> Result<(), MapError> {
    for r in regions {
        if r.start % MIB2 != 0 || r.size % MIB2 != 0 {
            return Err(MapError::Misaligned(r.start));
        }
        let end = r
            .start
            .checked_add(r.size)
            .ok_or(MapError::OutOfRange(r.start))?;
        if end > 512 * GIB {
            return Err(MapError::OutOfRange(r.start));
        }
        let mut addr = r.start;
        while addr < end {
            let gib = (addr / GIB) as usize;
            if addr % GIB == 0 && end - addr >= GIB && t.l1.0[gib] & TABLE == 0 {
                t.l1.0[gib] = addr | block_bits(r.kind);
                addr += GIB;
                continue;
            }
            let slot = match t.l2_owner.iter().position(|&o| o == gib) {
                Some(s) => s,
                None => {
                    let s = t
                        .l2_owner
                        .iter()
                        .position(|&o| o == usize::MAX)
                        .ok_or(MapError::TooManyTables)?;
                    t.l2_owner[s] = gib;
                    t.l1.0[gib] = (&t.l2[s] as *const Table as u64) | VALID | TABLE;
                    s
                }
            };
            t.l2[slot].0[((addr % GIB) / MIB2) as usize] = addr | block_bits(r.kind);
            addr += MIB2;
        }
    }
    Ok(())
}

/// Builds the identity map of `regions` and turns on the MMU and the caches on this core.
/// Anything outside the regions faults (translation fault) once this returns.
///
/// # Safety
/// Must run once, on the boot core, before other cores start, with the MMU off. The regions
/// must cover everything the kernel touches from now on: its image, stacks, heap and devices.
pub unsafe fn enable(regions: &[Region]) -> Result<(), MapError> {
    // SAFETY: single boot-time writer, per the contract above.
    let tables = unsafe { &mut *TABLES.0.get() };
    build(tables, regions)?;
    // SAFETY: the tables now identity-map everything the caller promised; see `enable_on_core`.
    unsafe { enable_on_core() };
    Ok(())
}

/// Turns the MMU on with the tables `enable` built (for cores started after the boot core).
///
/// # Safety
/// `enable` must have succeeded on the boot core.
pub unsafe fn enable_on_core() {
    let ttbr = TABLES.0.get() as u64; // `l1` is the first field
    let pa_range: u64;
    // SAFETY: reads an ID register.
    unsafe { asm!("mrs {0}, id_aa64mmfr0_el1", out(reg) pa_range, options(nomem, nostack)) };
    // T0SZ=25, IRGN0=ORGN0=WB-RA-WA, SH0=inner, TG0=4K, EPD1 (no TTBR1 walks), IPS=PARange.
    let tcr: u64 = 25 | (1 << 8) | (1 << 10) | (3 << 12) | (1 << 23) | ((pa_range & 7) << 32);
    // SAFETY: programs this core's translation registers for the static identity map, which
    // maps the code being executed at its own address, so execution continues seamlessly.
    // Barriers order the table writes before the walk and the enable before what follows.
    unsafe {
        asm!(
            "dsb ishst",
            "msr mair_el1, {mair}",
            "msr tcr_el1, {tcr}",
            "msr ttbr0_el1, {ttbr}",
            "isb",
            "tlbi vmalle1",
            "dsb ish",
            "isb",
            "mrs {tmp}, sctlr_el1",
            "orr {tmp}, {tmp}, #(1 << 0)",   // M
            "orr {tmp}, {tmp}, #(1 << 2)",   // C
            "orr {tmp}, {tmp}, #(1 << 12)",  // I
            "msr sctlr_el1, {tmp}",
            "isb",
            mair = in(reg) MAIR,
            tcr = in(reg) tcr,
            ttbr = in(reg) ttbr,
            tmp = out(reg) _,
            options(nostack)
        )
    }
}

/// Whether the MMU is on for this core.
pub fn enabled() -> bool {
    let sctlr: u64;
    // SAFETY: reads SCTLR_EL1.
    unsafe { asm!("mrs {0}, sctlr_el1", out(reg) sctlr, options(nomem, nostack, preserves_flags)) };
    sctlr & 1 != 0
}
