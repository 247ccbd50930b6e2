//! Frame-pointer backtraces: the return addresses of a chain of AArch64 frame records.
//!
//! Every function built with frame pointers (the workspace builds with
//! `-C force-frame-pointers=yes`) stores a 16-byte frame record on entry, `[fp]` = its
//! caller's `fp` (`x29`) and `[fp + 8]` = its return address (`x30`), and points `x29` at it.
//! Following `x29` from record to record gives the calls that led to a fault or a panic.
//!
//! The walk runs inside fault and panic reports, which must never fault or hang themselves,
//! whatever the failing code left in `x29` and on its stack (garbage, a loop, a pointer into
//! another thread's stack). So a record is read only if it lies wholly inside the one stack
//! the caller names (a thread's own stack, or a core's), is 16-byte aligned, and lies above
//! the previous record (stacks grow down, so callers' records are higher: a chain that does
//! not climb is broken or a loop), and at most [`MAX_FRAMES`] records are read. The checks
//! are pure ([`Frames`] over any read function) so that host tests can drive them with
//! made-up stacks; [`live`] is the one place that reads real memory.

use core::ops::Range;

/// The most return addresses a walk yields: deeper chains are cut (the report says so).
pub const MAX_FRAMES: usize = 32;

/// The return addresses of a frame-record chain, innermost first (see the module docs for
/// what stops it). `read(addr)` is only ever called for 8-byte words inside the stack.
pub struct Frames<R> {
    /// The next record to read, or `None` once the chain has ended.
    fp: Option<u64>,
    stack: Range<u64>,
    read: R,
    left: usize,
    /// Whether the walk stopped at [`MAX_FRAMES`] with a readable record still ahead.
    cut: bool,
}

impl<R: FnMut(u64) -> u64> Frames<R> {
    /// A walk from the frame record at `fp`, reading words through `read`, only inside
    /// `stack`.
    pub fn new(fp: u64, stack: Range<u64>, read: R) -> Self {
        Frames {
            fp: Some(fp),
            stack,
            read,
            left: MAX_FRAMES,
            cut: false,
        }
    }

    /// Whether the walk ended at [`MAX_FRAMES`] rather than at the end of the chain (only
    /// known once the iterator has returned `None`).
    pub fn was_cut(&self) -> bool {
        self.cut
    }
}

/// Whether a 16-byte frame record at `fp` lies wholly inside `stack` and is aligned.
pub fn record_fits(fp: u64, stack: &Range<u64>) -> bool {
    fp.is_multiple_of(16)
        && fp >= stack.start
        && fp.checked_add(16).is_some_and(|end| end <= stack.end)
}

impl<R: FnMut(u64) -> u64> Iterator for Frames<R> {
    type Item = u64;

    fn next(&mut self) -> Option<u64> {
        let fp = self.fp.take()?;
        if !record_fits(fp, &self.stack) {
            return None;
        }
        if self.left == 0 {
            self.cut = true;
            return None;
        }
        self.left -= 1;
        let caller_fp = (self.read)(fp);
        let ret = (self.read)(fp + 8);
        if ret == 0 {
            // The outermost record of a thread or of boot: no caller.
            return None;
        }
        // A caller's record is higher up the stack; one that is not ends the chain here.
        self.fp = (caller_fp > fp).then_some(caller_fp);
        Some(ret)
    }
}

/// A walk of the live stack `stack` from the frame record at `fp`.
///
/// # Safety
///
/// Every byte of `stack` must be mapped and readable for as long as the walk runs (a thread's
/// usable stack while it cannot be freed, a core's own stack). Its contents may be anything.
pub unsafe fn live(fp: u64, stack: Range<usize>) -> Frames<impl FnMut(u64) -> u64> {
    let stack = stack.start as u64..stack.end as u64;
    Frames::new(fp, stack, |addr| {
        // SAFETY: `Frames` reads only aligned words inside `stack` (`record_fits`), which the
        // caller guarantees is mapped and readable; a volatile read because the words belong
        // to code that is not running now and may hold anything.
        unsafe { core::ptr::read_volatile(addr as usize as *const u64) }
    })
}

/// The frame pointer (`x29`) of the calling function: where a walk of its callers starts.
/// Inlined, so that it is the caller's own record and not one of this function's.
#[inline(always)]
pub fn frame_pointer() -> u64 {
    #[cfg(target_arch = "aarch64")]
    {
        let fp: u64;
        // SAFETY: copies x29 into a register; no memory or flags are touched.
        unsafe {
            core::arch::asm!("mov {0}, x29", out(reg) fp, options(nomem, nostack, preserves_flags))
        };
        fp
    }
    #[cfg(not(target_arch = "aarch64"))]
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A made-up stack at `base` of `words` 8-byte words; reads outside it panic.
    struct Stack {
        base: u64,
        words: Vec<u64>,
    }

    impl Stack {
        fn new(base: u64, len: usize) -> Self {
            Stack {
                base,
                words: vec![0; len],
            }
        }
        fn range(&self) -> Range<u64> {
            self.base..self.base + 8 * self.words.len() as u64
        }
        fn record(&mut self, at: u64, caller_fp: u64, ret: u64) {
            let i = ((at - self.base) / 8) as usize;
            self.words[i] = caller_fp;
            self.words[i + 1] = ret;
        }
        fn walk(&self, fp: u64) -> (Vec<u64>, bool) {
            let range = self.range();
            let mut frames = Frames::new(fp, range.clone(), |addr| {
                assert!(range.contains(&addr) && addr % 8 == 0, "read at {addr:#x}");
                self.words[((addr - self.base) / 8) as usize]
            });
            let rets = frames.by_ref().collect();
            (rets, frames.was_cut())
        }
    }

    #[test]
    fn follows_a_chain_to_its_end() {
        let mut s = Stack::new(0x1000, 64);
        s.record(0x1010, 0x1040, 0xa1);
        s.record(0x1040, 0x10a0, 0xa2);
        s.record(0x10a0, 0, 0xa3);
        assert_eq!(s.walk(0x1010), (vec![0xa1, 0xa2, 0xa3], false));
        // A zero return address ends the chain without being reported.
        s.record(0x10a0, 0x10c0, 0);
        assert_eq!(s.walk(0x1010), (vec![0xa1, 0xa2], false));
    }

    #[test]
    fn never_reads_outside_the_stack_or_misaligned() {
        // A stack at 0x1000..0x1040; a caller's fp past its end, straddling its end,
        // misaligned, below it, near 2^64.
        let mut s = Stack::new(0x1000, 8);
        for bad in [0x1040, 0x1038, 0x1028, 0x0ff0, u64::MAX - 7, !15] {
            s.record(0x1000, bad, 0xa1);
            assert_eq!(s.walk(0x1000), (vec![0xa1], false), "caller fp {bad:#x}");
        }
        // A start outside or misaligned reads nothing.
        for start in [0, 0x0ff0, 0x1008, 0x1040, 0x1030 + 16] {
            assert_eq!(s.walk(start), (vec![], false), "start {start:#x}");
        }
        // The last whole record of the stack is read.
        s.record(0x1030, 0, 0xb1);
        assert_eq!(s.walk(0x1030), (vec![0xb1], false));
    }

    #[test]
    fn loops_and_descending_chains_stop() {
        let mut s = Stack::new(0x1000, 64);
        s.record(0x1020, 0x1020, 0xa1); // points at itself
        assert_eq!(s.walk(0x1020), (vec![0xa1], false));
        s.record(0x1020, 0x1060, 0xa1);
        s.record(0x1060, 0x1020, 0xa2); // back down: a loop
        assert_eq!(s.walk(0x1020), (vec![0xa1, 0xa2], false));
    }

    #[test]
    fn depth_is_bounded() {
        let len = 2 * (MAX_FRAMES + 10);
        let mut s = Stack::new(0x10000, len);
        for i in 0..MAX_FRAMES as u64 + 9 {
            let at = 0x10000 + 16 * i;
            s.record(at, at + 16, 0x100 + i);
        }
        let (rets, cut) = s.walk(0x10000);
        assert_eq!(rets.len(), MAX_FRAMES);
        assert_eq!(rets[0], 0x100);
        assert!(cut);
        // Exactly MAX_FRAMES records: not cut.
        let end = 0x10000 + 16 * (MAX_FRAMES as u64 - 1);
        s.record(end, 0, 0x1ff);
        assert_eq!(s.walk(0x10000), (s.walk(0x10000).0, false));
        assert_eq!(s.walk(0x10000).0.len(), MAX_FRAMES);
    }
}
