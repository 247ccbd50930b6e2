//! Page-granular changes to the running map: the heap remapped with pages once at boot, and
//! single pages unmapped and mapped again at run time — the guard pages below thread stacks.
//!
//! Why a heap-wide remap at boot instead of splitting a 2 MiB block when a stack first needs
//! a guard in it: replacing a block by a table needs break-before-make on a Cortex-A53 (no
//! FEAT_BBM), which leaves the whole block unmapped for a moment. At boot nothing lives in
//! the heap yet, so that moment is harmless; at run time the block would hold other threads'
//! stacks and data. The cost is one level-3 table (4 KiB) per 2 MiB of heap, carved by the
//! kernel from the start of the heap range.
//!
//! Unmapping a page is a valid→invalid change (store, `TLBI VAAE1IS`, barriers); mapping it
//! again is invalid→valid, which needs no invalidation because translation faults are never
//! cached in TLBs. Each change is one aligned 64-bit store to a level-3 entry that belongs to
//! exactly one page, so changes to different pages need no lock between them.

use core::arch::asm;
use core::ops::Range;

use super::{attrs, l1_address, Access, MapError, GIB, MIB2, PAGE, TABLE, VALID};

/// A level-3 table for [`map_with_pages`]: 512 page entries, page-aligned.
#[repr(C, align(4096))]
pub struct PageTable([u64; 512]);

/// Output-address bits of a descriptor (4 KiB granule, 48-bit addresses).
const ADDR_MASK: u64 = 0x0000_ffff_ffff_f000;

/// How many tables [`map_with_pages`] may need for `range`: one per 2 MiB block it touches,
/// plus one per gigabyte (a gigabyte still mapped as one block needs a level-2 table first).
pub fn page_tables_needed(range: &Range<u64>) -> usize {
    if range.is_empty() {
        return 0;
    }
    let span = |unit: u64| ((range.end - 1) / unit - range.start / unit + 1) as usize;
    span(MIB2) + span(GIB)
}

/// Replaces the valid block descriptor at `entry` by a table of `table`, whose entries map the
/// same memory with the same attributes in blocks (or pages) of `step` bytes, with
/// break-before-make.
///
/// # Safety
/// As for [`map_with_pages`]: nothing may access the memory `entry` maps meanwhile.
unsafe fn split(entry: *mut u64, desc: u64, table: &mut PageTable, step: u64, kind_bit: u64) {
    let base = desc & ADDR_MASK;
    let attrs = desc & !ADDR_MASK & !TABLE;
    for (i, e) in table.0.iter_mut().enumerate() {
        *e = (base + i as u64 * step) | attrs | kind_bit;
    }
    let table_desc = (table as *mut PageTable as u64) | VALID | TABLE;
    // SAFETY: break-before-make on one entry (invalidate, flush its TLB entry, install the table
    // written above, which the first barrier makes visible); nothing accesses that memory
    // meanwhile (the caller's contract), and the code and stack running here are outside it.
    unsafe {
        asm!(
            "dsb ishst",
            "str xzr, [{e}]",
            "dsb ishst",
            "tlbi vaae1is, {va}",
            "dsb ish",
            "str {d}, [{e}]",
            "dsb ishst",
            "isb",
            e = in(reg) entry,
            va = in(reg) base >> 12,
            d = in(reg) table_desc,
            options(nostack)
        )
    };
}

fn entry_ptr(table: u64, index: u64) -> *mut u64 {
    (table + index * 8) as *mut u64
}

/// The level-2 entry for `addr`, if its gigabyte is mapped through a level-2 table.
fn l2_entry(addr: u64) -> Option<*mut u64> {
    // SAFETY: the level-1 table is a live static of the map; reading one entry is a plain
    // 64-bit load.
    let l1e = unsafe { entry_ptr(l1_address(), addr / GIB).read_volatile() };
    (l1e & (VALID | TABLE) == VALID | TABLE)
        .then(|| entry_ptr(l1e & ADDR_MASK, (addr % GIB) / MIB2))
}

/// The level-3 entry for `addr`, if its 2 MiB block is mapped with pages.
fn l3_entry(addr: u64) -> Result<*mut u64, MapError> {
    let l2e = l2_entry(addr).ok_or(MapError::NotPageMapped(addr))?;
    // SAFETY: `l2e` points into a live level-2 table of the map.
    let desc = unsafe { l2e.read_volatile() };
    if desc & (VALID | TABLE) != VALID | TABLE {
        return Err(MapError::NotPageMapped(addr));
    }
    Ok(entry_ptr(desc & ADDR_MASK, (addr % MIB2) / PAGE))
}

/// Remaps every 2 MiB block that `range` touches with 4 KiB pages of the same attributes,
/// taking a table from `tables` for each block that is still a block (blocks already mapped
/// with pages, such as the image's, are left alone) and for each gigabyte still mapped as one
/// block. Returns how many tables it used.
///
/// # Safety
/// The MMU must be on (after [`enable`](super::enable)), on the boot core, before any other
/// core runs, and nothing may access the blocks `range` touches while this runs — except that
/// `tables` may lie in them (they are written before the blocks are remapped).
pub unsafe fn map_with_pages(
    range: Range<u64>,
    tables: &mut [PageTable],
) -> Result<usize, MapError> {
    let mut tables = tables.iter_mut();
    let mut used = 0;
    let mut take = || {
        used += 1;
        tables.next().ok_or(MapError::TooManyTables)
    };
    let mut block = range.start / MIB2 * MIB2;
    while block < range.end {
        let l1e = entry_ptr(l1_address(), block / GIB);
        // SAFETY: a live entry of the level-1 table.
        let desc = unsafe { l1e.read_volatile() };
        if desc & (VALID | TABLE) == VALID {
            // SAFETY: this function's contract; the gigabyte keeps its mapping, in 2 MiB blocks.
            unsafe { split(l1e, desc, take()?, MIB2, 0) };
        }
        let l2e = l2_entry(block).ok_or(MapError::NotPageMapped(block))?;
        // SAFETY: a live entry of a level-2 table of the map.
        let desc = unsafe { l2e.read_volatile() };
        if desc & (VALID | TABLE) == VALID {
            // SAFETY: this function's contract; the block keeps its mapping, in pages.
            unsafe { split(l2e, desc, take()?, PAGE, TABLE) };
        }
        block += MIB2;
    }
    Ok(used)
}

/// Unmaps the page at `addr` (page-aligned): from now on any access to it faults.
///
/// # Safety
/// The page must lie in a range remapped by [`map_with_pages`] and must not be in use: no
/// code may hold a reference into it, and whoever owns it must map it back with [`map_page`]
/// before the memory is used again.
pub unsafe fn unmap_page(addr: u64) -> Result<(), MapError> {
    let e = l3_entry(addr)?;
    // SAFETY: valid→invalid on one level-3 entry owned by the caller, followed by the TLB
    // invalidation of that page on every core and the barriers that complete it.
    unsafe {
        asm!(
            "str xzr, [{e}]",
            "dsb ishst",
            "tlbi vaae1is, {va}",
            "dsb ish",
            "isb",
            e = in(reg) e,
            va = in(reg) addr >> 12,
            options(nostack)
        )
    };
    Ok(())
}

/// Maps the page at `addr` again as ordinary data (read/write, never executable).
///
/// # Safety
/// The page must have been unmapped with [`unmap_page`] by the caller, who owns it.
pub unsafe fn map_page(addr: u64) -> Result<(), MapError> {
    let e = l3_entry(addr)?;
    let desc = (addr & ADDR_MASK) | attrs(Access::Data) | TABLE;
    // SAFETY: invalid→valid on one level-3 entry owned by the caller; invalid entries are not
    // cached, so the barriers that make the store visible to the walker are enough.
    unsafe {
        asm!(
            "str {d}, [{e}]",
            "dsb ishst",
            "isb",
            e = in(reg) e,
            d = in(reg) desc,
            options(nostack)
        )
    };
    Ok(())
}
