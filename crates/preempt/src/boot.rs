//! The kernel's boot sequence on core 0, entered from the arch layer's `_start`.

use alloc::boxed::Box;

use crate::kernel::{self, stack::Stack, ThreadInfo};
use crate::{board, heap};

extern "C" {
    static __text_start: u8;
    static __text_end: u8;
    static __rodata_end: u8;
    static __cpu_stacks_start: u8;
    static __cpu_stacks_end: u8;
    static __heap_start: u8;
}

// The image reserves stacks for as many cores as the scheduler can drive.
const _: () = assert!(preempt_arch::layout::MAX_CPUS == sched_core::MAX_CPUS);

extern "Rust" {
    /// The program's `main`, defined by [`entry!`](crate::entry).
    fn __preempt_main();
}

/// Stack size of the thread that runs the program's `main`.
const MAIN_STACK_SIZE: usize = 128 * 1024;

#[no_mangle]
extern "C" fn preempt_kernel_main(dtb: usize) -> ! {
    kernel::percpu::init_this_core();
    board::before_mmu();
    let addr = |sym: *const u8| sym as u64;
    let image = preempt_arch::mmu::Image {
        text: addr(&raw const __text_start)..addr(&raw const __text_end),
        rodata: addr(&raw const __text_end)..addr(&raw const __rodata_end),
        cpu_stacks: addr(&raw const __cpu_stacks_start)..addr(&raw const __cpu_stacks_end),
    };
    // No atomic read-modify-write before this returns (real hardware needs cacheable memory
    // for exclusives).
    // SAFETY: first thing on the boot core, MMU off; the board's map covers image, RAM and
    // devices, the linker symbols bound text and rodata, and page 0 is free (`before_mmu`).
    if let Err(e) = unsafe { preempt_arch::mmu::enable(board::MEMORY_MAP, &image) } {
        kernel::fault::kernel_halt(format_args!("the board memory map is invalid: {e:?}"));
    }
    let info = board::init(dtb);
    let image_end = core::ptr::addr_of!(__heap_start) as usize;
    if info.ram_end <= image_end + 4 * 1024 * 1024 {
        kernel::fault::kernel_halt(format_args!(
            "RAM ends at {:#x}, below the kernel image",
            info.ram_end
        ));
    }
    let heap_start = page_map_heap(image_end, info.ram_end);
    // SAFETY: everything from the end of the image (and of the heap's page tables) to the end
    // of RAM is unused; the per-core stacks and BSS lie below `__heap_start` (see the linker
    // script).
    unsafe { heap::init(heap_start, info.ram_end - heap_start) };
    crate::console::init_log();
    kernel::init_sched();
    log::info!(
        "preempt {} on {}, EL{}, counter {} Hz, time slice {:?}, heap {} KiB",
        env!("CARGO_PKG_VERSION"),
        info.description,
        preempt_arch::cpu::current_el(),
        preempt_arch::timer::frequency(),
        crate::config::time_slice(),
        heap::free() / 1024
    );
    let stack = Stack::new(MAIN_STACK_SIZE)
        .unwrap_or_else(|e| kernel::fault::kernel_halt(format_args!("{e}")));
    let main_thread =
        kernel::shared::Shared::try_new(ThreadInfo::main(sched_core::DEFAULT_PRIORITY))
            .ok()
            .and_then(|info| kernel::new_thread(stack, Box::new(Some(run_main)), info).ok());
    let Some(main) = main_thread else {
        kernel::fault::kernel_halt(format_args!("out of memory at boot"))
    };
    kernel::start(main, sched_core::DEFAULT_PRIORITY)
}

/// A secondary core's Rust entry, from the arch layer's `preempt_secondary_entry` (EL1, its own
/// stacks, FP and vectors on, MMU off, IRQs masked), once core 0 started it (`kernel::smp`).
#[no_mangle]
extern "C" fn preempt_secondary_main(_core: usize) -> ! {
    // No atomic read-modify-write before the MMU and caches are on.
    // SAFETY: core 0 built the tables (`mmu::enable` in `preempt_kernel_main`) before it
    // started this core; this core's MMU is off.
    unsafe { preempt_arch::mmu::enable_on_core() };
    kernel::percpu::init_this_core();
    board::init_this_core();
    kernel::start_secondary()
}

/// Remaps the RAM after the image with 4 KiB pages, so that guard pages can be cut out of the
/// heap below every thread stack; the level-3 tables this needs are carved from the start of
/// that RAM (4 KiB per 2 MiB). Returns where the heap starts.
fn page_map_heap(image_end: usize, ram_end: usize) -> usize {
    use preempt_arch::mmu::{self, PageTable, PAGE_SIZE};
    let range = image_end as u64..ram_end as u64;
    let count = mmu::page_tables_needed(&range);
    let tables_start = image_end.next_multiple_of(PAGE_SIZE);
    // SAFETY: the RAM after the image is unused (nothing has been allocated yet); the tables
    // are page-aligned, zero-initialised here before use, and lie below the heap's start, so
    // nothing else will ever use them.
    let tables = unsafe {
        let p = tables_start as *mut PageTable;
        core::ptr::write_bytes(p, 0, count);
        core::slice::from_raw_parts_mut(p, count)
    };
    // SAFETY: boot core, MMU on, no other core or thread yet, nothing in the remapped range
    // is in use (the boot stack and this code are in the image).
    if let Err(e) = unsafe { mmu::map_with_pages(range, tables) } {
        kernel::fault::kernel_halt(format_args!("cannot map the heap with pages: {e:?}"));
    }
    tables_start + count * core::mem::size_of::<PageTable>()
}

fn run_main() {
    crate::console::init_line_lock();
    // SAFETY: `__preempt_main` is the safe `fn()` wrapper generated by `entry!`.
    unsafe { __preempt_main() };
    kernel::trace::main_returned();
    crate::exit(0)
}
