//! The trace points without the feature `trace`: every one is empty and inlined, so the
//! sites cost nothing (`cargo xtask bench --check` holds them to the instruction).

use sched_core::{CpuId, ExitStatus, Priority, ThreadId};

use crate::kernel::percpu::PerCpu;
use crate::kernel::{Sched, ThreadInfo};

#[inline(always)]
pub(crate) fn hold_begins(_: &mut Sched) {}
#[inline(always)]
pub(crate) fn hold_ends(_: &mut Sched, _: CpuId) {}
#[inline(always)]
pub(crate) fn yielding(_: CpuId) {}
#[inline(always)]
pub(crate) fn switch(_: &mut Sched, _: &PerCpu, _: ThreadId, _: ThreadId) {}
#[inline(always)]
pub(crate) fn spawned(_: &Sched, _: CpuId, _: ThreadId, _: Priority, _: &ThreadInfo) {}
#[inline(always)]
pub(crate) fn named(_: ThreadId, _: &ThreadInfo) {}
#[inline(always)]
pub(crate) fn exiting(_: &Sched, _: ExitStatus) {}
#[inline(always)]
pub(crate) fn irq_enter(_: u32) {}
#[inline(always)]
pub(crate) fn irq_exit(_: u32) {}
#[inline(always)]
pub(crate) fn mark(_: &'static str) {}
#[inline(always)]
pub(crate) fn at_exit() {}
#[inline(always)]
pub(crate) fn main_returned() {}
pub(crate) fn newest_here(_: usize) -> (u64, Option<crate::testing::trace::RecordFields>) {
    (0, None)
}
