//! Where the per-core stacks of [`layout`](crate::layout) are, and which of them an address
//! belongs to — for fault reports that say which stack overflowed.

use core::ops::Range;

use crate::layout::{
    BOOT_STACK_SIZE, BOOT_STACK_TOP, CPU_STACKS_SIZE, EXCEPTION_STACK_SIZE, EXCEPTION_STACK_TOP,
    FATAL_STACK_SIZE, FATAL_STACK_TOP, GUARD_SIZE, MAX_CPUS,
};

/// One of a core's own stacks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CpuStack {
    /// Fatal-exception reports.
    Fatal,
    /// Interrupt handlers and fault handlers (`SP_EL1`).
    Exception,
    /// Boot, then the core's idle thread (`SP_EL0`).
    Boot,
}

impl CpuStack {
    /// A name for reports.
    pub fn name(self) -> &'static str {
        match self {
            CpuStack::Fatal => "fatal-exception stack",
            CpuStack::Exception => "exception stack",
            CpuStack::Boot => "boot/idle stack",
        }
    }

    fn size(self) -> usize {
        match self {
            CpuStack::Fatal => FATAL_STACK_SIZE,
            CpuStack::Exception => EXCEPTION_STACK_SIZE,
            CpuStack::Boot => BOOT_STACK_SIZE,
        }
    }

    fn top_offset(self) -> usize {
        match self {
            CpuStack::Fatal => FATAL_STACK_TOP,
            CpuStack::Exception => EXCEPTION_STACK_TOP,
            CpuStack::Boot => BOOT_STACK_TOP,
        }
    }
}

fn blocks_start() -> usize {
    #[cfg(target_arch = "aarch64")]
    {
        extern "C" {
            static __cpu_stacks_start: u8;
        }
        core::ptr::addr_of!(__cpu_stacks_start) as usize
    }
    #[cfg(not(target_arch = "aarch64"))]
    0
}

/// The usable range of `core`'s `stack`.
pub fn range(core: usize, stack: CpuStack) -> Range<usize> {
    let top = blocks_start() + core * CPU_STACKS_SIZE + stack.top_offset();
    top - stack.size()..top
}

/// The one of `core`'s stacks whose usable range holds `addr`, and that range: where a
/// backtrace of kernel code may read.
pub fn containing(core: usize, addr: u64) -> Option<(CpuStack, Range<usize>)> {
    let addr = usize::try_from(addr).ok()?;
    [CpuStack::Fatal, CpuStack::Exception, CpuStack::Boot]
        .into_iter()
        .map(|s| (s, range(core, s)))
        .find(|(_, r)| r.contains(&addr))
}

/// The stack whose guard page holds byte `offset` of a core's block, if any: the one place
/// that knows where the guards are (the MMU leaves exactly these pages unmapped).
pub fn guard_at(offset: usize) -> Option<CpuStack> {
    [CpuStack::Fatal, CpuStack::Exception, CpuStack::Boot]
        .into_iter()
        .find(|s| {
            let bottom = s.top_offset() - s.size();
            (bottom - GUARD_SIZE..bottom).contains(&offset)
        })
}

/// If `addr` is in the guard page below one of the cores' stacks: which core and stack.
pub fn guard_hit(addr: u64) -> Option<(usize, CpuStack)> {
    let offset = usize::try_from(addr).ok()?.checked_sub(blocks_start())?;
    let core = offset / CPU_STACKS_SIZE;
    if core >= MAX_CPUS {
        return None;
    }
    guard_at(offset % CPU_STACKS_SIZE).map(|s| (core, s))
}
