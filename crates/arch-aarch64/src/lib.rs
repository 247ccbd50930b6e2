//! The AArch64 layer of preempt: everything that must be written against the architecture
//! rather than against a board or a scheduling policy.
//!
//! It owns the mechanisms — boot and the drop from EL2 to EL1, the exception vectors and the
//! exception frame, the context-switch primitive, the generic timer, per-CPU data through
//! `TPIDR_EL1` and the IRQ-masking spinlock — and none of the decisions. Who runs next is the
//! `sched-core` crate's answer; which interrupt controller is present is the board's. The
//! layer calls back into the kernel through a small set of `extern "C"` symbols (see
//! [`boot`] and [`exception`]), the same shape as Zephyr's `arch_switch` contract.
#![cfg_attr(not(test), no_std)]
#![cfg_attr(not(target_arch = "aarch64"), allow(unused))]

#[macro_use]
mod q_asm;
#[macro_use]
mod symbol;

pub mod backtrace;
pub mod boot;
mod boot_regs;
pub mod context;
pub mod cpu;
pub mod esr;
pub mod exception;
pub mod irq_entry;
pub mod layout;
pub mod mmu;
pub mod pmu;
pub mod spinlock;
pub mod stacks;
pub mod timer;

pub use context::{switch_context, Context};
pub use exception::{ExceptionKind, Frame};
pub use spinlock::{RawSpinLock, SpinLock, SpinLockGuard};
