//! Which core the caller runs on, and how many cores run threads.
//!
//! Code that keeps per-core data (statistics, per-core buffers), or sizes its work by the
//! number of cores, needs these two answers, and they are worth asking through the kernel
//! rather than reading `MPIDR_EL1` by hand: the kernel knows which cores it started.
//!
//! Both answer from the real sources: the core number from `MPIDR_EL1`, the count from the
//! cores the kernel has started (up to 4, capped by `cargo xtask … --smp N` under QEMU; all
//! four on a Raspberry Pi Zero 2 W). With several cores, [`current`] is only a snapshot: a
//! thread may be moved to another core at any moment after it asked (unless it runs with
//! interrupts masked), so the answer must not be used to index per-core data without
//! guarding against that.

/// The number of the core the caller runs on at this instant (`MPIDR_EL1` affinity level 0:
/// `0..count()` while cores are started in order). Callable from threads and interrupt
/// handlers.
pub fn current() -> usize {
    preempt_arch::cpu::core_id()
}

/// The number of cores the kernel has started and that run threads. Callable from
/// threads and interrupt handlers.
pub fn count() -> usize {
    crate::kernel::cpus_started()
}

/// The cores that run threads, bit n for core n (what [`Builder::affinity`] masks are checked
/// against).
///
/// [`Builder::affinity`]: crate::thread::Builder::affinity
pub(crate) fn running_mask() -> u32 {
    crate::kernel::cpus_mask()
}
