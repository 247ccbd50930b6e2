//! Bringing up the other cores: core 0 starts them before `main` runs, each one makes its boot
//! flow its idle thread, starts its own timer and idles, and the scheduler (one global ready
//! queue) hands it threads, with a reschedule interrupt when one is due there.
//!
//! Core 0 does all the allocation: it makes every secondary's idle control block before it
//! starts that core and leaves it in [`IDLE`], so a starting core never touches the heap with
//! IRQs masked. Core 0 then waits, bounded by [`BRINGUP_TIMEOUT_MS`] of counter time, until
//! every started core has counted itself in; a core that has not by then is reported and the
//! system runs without it. The window closes under the scheduler lock ([`CLOSED`]), and a
//! core checks it under the same lock before it joins, so a core that comes up late never
//! joins halfway: it parks for good instead.
//!
//! How a core is started is the board's business (`board::start_core`): PSCI `CPU_ON` on
//! `virt`, a release word and a mailbox interrupt on the Raspberry Pi. How many: all the board
//! has (`board::cores_present`), at most `board::cpu_cap()` (`--smp N` of `cargo xtask`) and
//! [`MAX_CPUS`].

use alloc::boxed::Box;
use alloc::string::String;
use core::sync::atomic::{AtomicBool, AtomicPtr, Ordering};

use preempt_arch::{context::Context, cpu, timer};
use sched_core::{CpuId, MAX_CPUS};

use super::shared::Shared;
use super::{fault, irq, made, percpu, KThread, ThreadInfo, SCHED};
use crate::board;

/// How long core 0 waits for the cores it started to count themselves in. A core takes
/// microseconds on hardware; an emulator running in real time on a loaded host may schedule
/// a new core's thread only after tens of milliseconds (100 ms lost a core now and then), so
/// the bound is generous: it only matters when a core never comes.
const BRINGUP_TIMEOUT_MS: u64 = 1000;

/// The idle control block core 0 made for each secondary core, taken by that core as it
/// joins (null: none, or taken).
static IDLE: [AtomicPtr<KThread>; MAX_CPUS] =
    [const { AtomicPtr::new(core::ptr::null_mut()) }; MAX_CPUS];

/// Bring-up is over: a core that has not joined by now never does. Read and written under the
/// scheduler lock.
static CLOSED: AtomicBool = AtomicBool::new(false);

/// A core's idle thread: the control block its boot flow is saved into on its first switch.
pub(super) fn make_idle() -> Box<KThread> {
    let info = Shared::try_new(ThreadInfo::new(Some(String::from("idle")), 0))
        .unwrap_or_else(|_| fault::kernel_halt(format_args!("out of memory at boot")));
    Box::new(KThread {
        ctx: Context::default(),
        stack: None,
        main: None,
        info,
        id: None,
        exit_stack: None,
        next_dead: None,
        tls: crate::thread::local::TlsRoot::new(),
    })
}

/// Makes `idle` (boxed, so its `ctx` stays where it is) this core's idle thread and its
/// current one, under the scheduler lock the caller holds, and counts the core in.
pub(super) fn join(sched: &mut super::Sched, cpu: CpuId, mut idle: Box<KThread>) {
    let info = idle.info.clone();
    // The boot flow is this core's current thread: its first switch saves it here.
    percpu::this()
        .current_ctx
        .store(&mut idle.ctx, Ordering::Relaxed);
    let id = sched.add_idle(cpu, idle);
    info.id.store(id.as_u64(), Ordering::Relaxed);
    super::trace::named(id, &info);
    let first = sched.start(cpu);
    debug_assert_eq!(first, id);
    super::count_in(cpu);
}

/// Core 0, before `main` is spawned: starts the other cores and waits until they have joined
/// (or the time is up). Threads do not run yet, so nothing else allocates meanwhile.
pub(super) fn start_secondaries() {
    let wanted = board::cores_present()
        .min(board::cpu_cap().unwrap_or(MAX_CPUS))
        .min(MAX_CPUS);
    // Room in the thread table for every idle thread, so that a joining core's `add_idle`
    // never grows the table under the scheduler lock.
    if super::room::reserve(wanted.saturating_sub(1), 0).is_err() {
        fault::kernel_halt(format_args!("out of memory at boot"));
    }
    let mut started = 1;
    for (core, slot) in IDLE.iter().enumerate().take(wanted).skip(1) {
        slot.store(Box::into_raw(make_idle()), Ordering::Release);
        preempt_arch::boot::clean_boot_stack(core);
        match board::start_core(core) {
            Ok(()) => started += 1,
            Err(e) => log::warn!("core {core} could not be started: {e}"),
        }
    }
    if started > 1 {
        let deadline = timer::counter() + timer::frequency() * BRINGUP_TIMEOUT_MS / 1000;
        while super::cpus_started() < started && timer::counter() < deadline {
            cpu::spin_hint();
        }
    }
    {
        let _guard = SCHED.lock();
        CLOSED.store(true, Ordering::Relaxed);
    }
    // Whatever is left in the slots belongs to cores that did not join: free it here, with
    // the lock released.
    for (core, slot) in IDLE
        .iter()
        .enumerate()
        .skip(1)
        .take(wanted.saturating_sub(1))
    {
        let left = slot.swap(core::ptr::null_mut(), Ordering::AcqRel);
        if !left.is_null() {
            log::warn!("core {core} did not come up; running without it");
            // SAFETY: `left` came from `Box::into_raw` above and nobody else took it (the
            // slot was non-null, and a core takes its slot only before `CLOSED`).
            drop(unsafe { Box::from_raw(left) });
        }
    }
}

/// A secondary core's last boot step, after its MMU and its interrupt controller are set up:
/// its boot flow becomes its idle thread, its timer starts, and it idles (running threads when
/// the scheduler gives it some). A core that comes too late parks for good.
pub(crate) fn start_secondary() -> ! {
    let cpu = cpu::core_id();
    let joined = {
        let mut guard = SCHED.lock();
        let idle = match IDLE.get(cpu) {
            Some(slot) if !CLOSED.load(Ordering::Relaxed) => {
                slot.swap(core::ptr::null_mut(), Ordering::AcqRel)
            }
            _ => core::ptr::null_mut(),
        };
        if idle.is_null() {
            false
        } else {
            // SAFETY: core 0 stored a `Box::into_raw` in this slot before starting this core;
            // the swap made this core its only owner.
            let idle = unsafe { Box::from_raw(idle) };
            let sched = made(&mut guard);
            join(sched, cpu, idle);
            // Threads already ready that this core should run (none today: `main` is
            // spawned once every core has joined).
            super::sched_lock::end_hold(sched, cpu);
            true
        }
    };
    if !joined {
        loop {
            cpu::wait_for_interrupt();
        }
    }
    super::ipi::init_this_core();
    irq::start_timer();
    cpu::irq_enable();
    irq::idle_loop()
}
