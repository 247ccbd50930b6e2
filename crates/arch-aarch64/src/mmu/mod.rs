//! The MMU: an identity map with caches on, built from a board's static memory map, with
//! per-section permissions for the kernel image (W^X) and the page at address 0 unmapped.
//!
//! Why this runs first, before the heap or any lock: on real Cortex-A53 hardware exclusive
//! loads/stores (and so every atomic read-modify-write, every spinlock, the heap's lock) are
//! only reliable on Normal, cacheable memory — with the MMU off all data accesses are Device
//! accesses. So the tables cannot come from the heap, and this module writes its own small
//! table builder over static, page-aligned arrays instead of using `aarch64-paging` (which
//! allocates its tables).
//!
//! What the map says:
//! - the image's text ([`Image::text`]): read-only, executable at EL1;
//! - the image's read-only data ([`Image::rodata`]): read-only, never executable;
//! - every other byte of RAM (data, BSS, boot stacks, the heap and so every thread stack):
//!   read/write, never executable;
//! - devices: Device-nGnRE, never executable;
//! - the first page (address 0): never mapped, so a null dereference faults;
//! - the guard pages of the per-core stacks ([`Image::cpu_stacks`], see
//!   [`layout`](crate::layout)): never mapped, so an overflow of a boot, exception or fatal
//!   stack faults at once;
//! - anything outside the board's regions: not mapped.
//!
//! `SCTLR_EL1.WXN` is set as well, so no writable page can ever be executed even if a table
//! entry said so. Nothing is mapped for EL0 (`AP[1]` clear, `UXN` set everywhere).
//!
//! Granularity: 1 GiB blocks where a whole gigabyte has one kind, 2 MiB blocks elsewhere, and
//! 4 KiB pages ([`PAGE_SIZE`]) only in the 2 MiB blocks that hold the image or the null page —
//! one level-3 table each. The image's section boundaries must therefore be page-aligned (the
//! linker script aligns them to the same constant). Later, once the heap's range is known,
//! [`pages::map_with_pages`] remaps it with pages too, so that single pages of it — the guard
//! pages below thread stacks — can be unmapped and mapped again at run time.
//!
//! Layout: 4 KiB granule, 39-bit virtual addresses (T0SZ = 25), translation starting at level 1
//! (one 512-entry table of 1 GiB entries), up to [`MAX_L2`] level-2 tables and [`MAX_L3`]
//! level-3 tables. MAIR index 0 is Device-nGnRE, index 1 Normal write-back
//! read/write-allocate; Normal memory is inner shareable (ready for SMP coherency).

use core::arch::asm;
use core::cell::UnsafeCell;
use core::ops::Range;

use crate::layout::CPU_STACKS_SIZE;
pub use crate::layout::PAGE_SIZE;

pub mod pages;
pub use pages::{map_page, map_with_pages, page_tables_needed, unmap_page, PageTable};

/// What a region of the map is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemoryKind {
    /// RAM: Normal, write-back cacheable, inner shareable; read/write and never executable
    /// except where [`Image`] says otherwise.
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

/// Where the kernel image's protected sections are (from the linker script's symbols). Both
/// ranges must be page-aligned and lie in a [`MemoryKind::Normal`] region.
#[derive(Clone, Debug)]
pub struct Image {
    /// Code: read-only, executable.
    pub text: Range<u64>,
    /// Read-only data: read-only, never executable.
    pub rodata: Range<u64>,
    /// The per-core stack blocks of [`layout`](crate::layout) (whole blocks), whose guard
    /// pages are left unmapped.
    pub cpu_stacks: Range<u64>,
}

/// Why a memory map was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MapError {
    /// A region is not 2 MiB-aligned in start or size, or an image section not page-aligned.
    Misaligned(u64),
    /// A region reaches beyond the 39-bit (512 GiB) identity-mapped space.
    OutOfRange(u64),
    /// More gigabytes need 2 MiB granularity, or more 2 MiB blocks need pages, than there
    /// are tables.
    TooManyTables,
    /// A page of the image is not in Normal memory.
    ImageNotInRam(u64),
    /// An address that should be mapped with pages is mapped with a block, or not at all.
    NotPageMapped(u64),
}

pub(crate) const GIB: u64 = 1 << 30;
pub(crate) const MIB2: u64 = 2 << 20;
pub(crate) const PAGE: u64 = PAGE_SIZE as u64;
/// Level-2 tables available for gigabytes mapped with 2 MiB granularity.
pub const MAX_L2: usize = 4;
/// Level-3 tables available for 2 MiB blocks mapped with 4 KiB pages (the image's blocks and
/// the null page's).
pub const MAX_L3: usize = 6;

#[repr(C, align(4096))]
pub(crate) struct Table(pub(crate) [u64; 512]);

/// All zero, so that it lives in BSS rather than in the image.
#[repr(C)]
struct Tables {
    l1: Table,
    l2: [Table; MAX_L2],
    l3: [Table; MAX_L3],
    /// Which gigabyte each L2 table serves, plus one (0: free).
    l2_owner: [u64; MAX_L2],
    /// Which 2 MiB block each L3 table serves, plus one (0: free).
    l3_owner: [u64; MAX_L3],
}

struct TableCell(UnsafeCell<Tables>);
// SAFETY: the tables are written by `enable`, once, on the boot core before other cores or
// threads exist; afterwards only `pages` writes to them, under its own contracts (single
// 64-bit entries, each owned by whoever unmaps and maps that page).
unsafe impl Sync for TableCell {}

static TABLES: TableCell = TableCell(UnsafeCell::new(Tables {
    l1: Table([0; 512]),
    l2: [const { Table([0; 512]) }; MAX_L2],
    l3: [const { Table([0; 512]) }; MAX_L3],
    l2_owner: [0; MAX_L2],
    l3_owner: [0; MAX_L3],
}));

pub(crate) const VALID: u64 = 1;
/// Table descriptor at levels 1–2, page descriptor at level 3.
pub(crate) const TABLE: u64 = 1 << 1;
const ATTR_DEVICE: u64 = 0 << 2;
const ATTR_NORMAL: u64 = 1 << 2;
/// `AP[2]`: read-only (at EL1; `AP[1]` is never set, so EL0 has no access anywhere).
const READ_ONLY: u64 = 1 << 7;
const SH_INNER: u64 = 3 << 8;
const AF: u64 = 1 << 10;
const PXN: u64 = 1 << 53;
const UXN: u64 = 1 << 54;
const MAIR: u64 = 0x04 | (0xff << 8);

/// What one page (or block) may be used for.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    Unmapped,
    Device,
    /// Normal, read/write, never executable.
    Data,
    /// Normal, read-only, never executable.
    ReadOnly,
    /// Normal, read-only, executable at EL1.
    Text,
}

/// Descriptor bits other than the address and the block/page type bit.
pub(crate) fn attrs(access: Access) -> u64 {
    let normal = VALID | AF | SH_INNER | ATTR_NORMAL;
    match access {
        Access::Unmapped => 0,
        Access::Device => VALID | AF | ATTR_DEVICE | PXN | UXN,
        Access::Data => normal | PXN | UXN,
        Access::ReadOnly => normal | READ_ONLY | PXN | UXN,
        Access::Text => normal | READ_ONLY | UXN,
    }
}

/// The finer-grained rules that override a region's kind, page by page.
struct Pages<'a> {
    image: &'a Image,
}

impl Pages<'_> {
    /// Whether `[start, start + len)` holds any page with its own rule.
    fn touches(&self, start: u64, len: u64) -> bool {
        let hit = |r: &Range<u64>| r.start < start + len && start < r.end;
        start < PAGE
            || hit(&self.image.text)
            || hit(&self.image.rodata)
            || hit(&self.image.cpu_stacks)
    }

    /// The rule for the page at `addr`, if it has one.
    fn rule(&self, addr: u64) -> Option<Access> {
        if addr < PAGE {
            Some(Access::Unmapped)
        } else if self.image.text.contains(&addr) {
            Some(Access::Text)
        } else if self.image.rodata.contains(&addr) {
            Some(Access::ReadOnly)
        } else if self.image.cpu_stacks.contains(&addr) {
            let offset = ((addr - self.image.cpu_stacks.start) % CPU_STACKS_SIZE as u64) as usize;
            crate::stacks::guard_at(offset).map(|_| Access::Unmapped)
        } else {
            None
        }
    }
}

fn kind_access(kind: MemoryKind) -> Access {
    match kind {
        MemoryKind::Normal => Access::Data,
        MemoryKind::Device => Access::Device,
    }
}

/// The table serving `key` among `tables`, claiming a free one (and linking it from `parent`)
/// if none does yet.
fn table_for(
    owners: &mut [u64],
    tables: &mut [Table],
    parent: &mut u64,
    key: u64,
) -> Result<usize, MapError> {
    if let Some(s) = owners.iter().position(|&o| o == key + 1) {
        return Ok(s);
    }
    let s = owners
        .iter()
        .position(|&o| o == 0)
        .ok_or(MapError::TooManyTables)?;
    owners[s] = key + 1;
    *parent = (&tables[s] as *const Table as u64) | VALID | TABLE;
    Ok(s)
}

fn build(t: &mut Tables, regions: &[Region], image: &Image) -> Result<(), MapError> {
    for r in [&image.text, &image.rodata] {
        if r.start % PAGE != 0 || r.end % PAGE != 0 {
            return Err(MapError::Misaligned(r.start));
        }
    }
    let stacks = &image.cpu_stacks;
    let block = CPU_STACKS_SIZE as u64;
    if !stacks.start.is_multiple_of(block) || !stacks.end.is_multiple_of(block) {
        return Err(MapError::Misaligned(stacks.start));
    }
    let pages = Pages { image };
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
        let access = kind_access(r.kind);
        let mut addr = r.start;
        while addr < end {
            let gib = addr / GIB;
            if addr % GIB == 0
                && end - addr >= GIB
                && t.l1.0[gib as usize] & TABLE == 0
                && !pages.touches(addr, GIB)
            {
                t.l1.0[gib as usize] = addr | attrs(access);
                addr += GIB;
                continue;
            }
            let s2 = table_for(&mut t.l2_owner, &mut t.l2, &mut t.l1.0[gib as usize], gib)?;
            let l2e = &mut t.l2[s2].0[((addr % GIB) / MIB2) as usize];
            if !pages.touches(addr, MIB2) {
                *l2e = addr | attrs(access);
                addr += MIB2;
                continue;
            }
            let s3 = table_for(&mut t.l3_owner, &mut t.l3, l2e, addr / MIB2)?;
            for (i, e) in t.l3[s3].0.iter_mut().enumerate() {
                let page = addr + i as u64 * PAGE;
                let a = pages.rule(page).unwrap_or(access);
                if matches!(a, Access::Text | Access::ReadOnly) && access != Access::Data {
                    return Err(MapError::ImageNotInRam(page));
                }
                *e = match a {
                    Access::Unmapped => 0,
                    _ => page | attrs(a) | TABLE,
                };
            }
            addr += MIB2;
        }
    }
    // Every page of the image must have been mapped by a Normal region.
    for r in [&image.text, &image.rodata] {
        let mut page = r.start;
        while page < r.end {
            let slot = t.l3_owner.iter().position(|&o| o == page / MIB2 + 1);
            if slot.is_none_or(|s| t.l3[s].0[((page % MIB2) / PAGE) as usize] == 0) {
                return Err(MapError::ImageNotInRam(page));
            }
            page += PAGE;
        }
    }
    Ok(())
}

/// Builds the identity map of `regions`, with `image`'s sections protected and the null page
/// unmapped, and turns on the MMU and the caches on this core. Anything outside the regions,
/// and the first page, faults (translation fault) once this returns; so does a write to text
/// or read-only data and an instruction fetch outside text (permission fault).
///
/// # Safety
/// Must run once, on the boot core, before other cores start, with the MMU off. The regions
/// must cover everything the kernel touches from now on: its image, stacks, heap and devices;
/// `image` must describe the running image's text and read-only data (the code that runs
/// must lie in `image.text`), and nothing may need the first page any more.
pub unsafe fn enable(regions: &[Region], image: &Image) -> Result<(), MapError> {
    // SAFETY: single boot-time writer, per the contract above.
    let tables = unsafe { &mut *TABLES.0.get() };
    build(tables, regions, image)?;
    // SAFETY: the tables now identity-map everything the caller promised; see `enable_on_core`.
    unsafe { enable_on_core() };
    Ok(())
}

/// Turns the MMU on with the tables `enable` built (for cores started after the boot core).
///
/// # Safety
/// `enable` must have succeeded on the boot core.
pub unsafe fn enable_on_core() {
    let ttbr = l1_address();
    let pa_range: u64;
    // SAFETY: reads an ID register.
    unsafe { asm!("mrs {0}, id_aa64mmfr0_el1", out(reg) pa_range, options(nomem, nostack)) };
    // T0SZ=25, IRGN0=ORGN0=WB-RA-WA, SH0=inner, TG0=4K, EPD1 (no TTBR1 walks), IPS=PARange.
    let tcr: u64 = 25 | (1 << 8) | (1 << 10) | (3 << 12) | (1 << 23) | ((pa_range & 7) << 32);
    // SAFETY: programs this core's translation registers for the static identity map, which maps
    // the running code at its own address; barriers order the table writes and the enable, and
    // one asm block leaves no room for a compiler-made access in between.
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
            "orr {tmp}, {tmp}, #(1 << 19)",  // WXN: writable implies never executable
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

/// The address of the level-1 table (the identity map makes it a usable pointer as well).
pub(crate) fn l1_address() -> u64 {
    TABLES.0.get() as u64 // `l1` is the first field
}

/// Whether the MMU is on for this core.
pub fn enabled() -> bool {
    let sctlr: u64;
    // SAFETY: reads SCTLR_EL1.
    unsafe { asm!("mrs {0}, sctlr_el1", out(reg) sctlr, options(nomem, nostack, preserves_flags)) };
    sctlr & 1 != 0
}
