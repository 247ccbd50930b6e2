//! Where the per-core stacks of [`layout`](crate::layout) are, and which of them an address
//! belongs to — for fault reports that say which stack overflowed.

use core::ops::Range;

use crate::layout::{
    BOOT_STACK_TOP, CPU_STACKS_SIZE, EXCEPTION_STACK_TOP, FATAL_STACK_TOP, GUARD_SIZE, MAX_CPUS,
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
    let block = blocks_start() + core * CPU_STACKS_SIZE;
    let top = block + stack.top_offset();
    let size = match stack {
        CpuStack::Fatal => crate::layout::FATAL_STACK_SIZE,
        CpuStack::Exception => crate::layout::EXCEPTION_STACK_SIZE,
        CpuStack::Boot => crate::layout::BOOT_STACK_SIZE,
    };
    top - size..top
}

/// If `addr` is in the guard page below one of the cores' stacks: which core and stack.
pub fn guard_hit(addr: u64) -> Option<(usize, CpuStack)> {
    let addr = usize::try_from(addr).ok()?;
    (0..MAX_CPUS).find_map(|core| {
        [CpuStack::Fatal, CpuStack::Exception, CpuStack::Boot]
            .into_iter()
            .find(|&s| {
                let bottom = range(core, s).start;
                (bottom - GUARD_SIZE..bottom).contains(&addr)
            })
            .map(|s| (core, s))
    })
}
