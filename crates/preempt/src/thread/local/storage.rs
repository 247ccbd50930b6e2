//! The storage behind [`thread_local!`](crate::thread_local): one block per thread, made on
//! the thread's first use of any key, found through `TPIDR_EL0`, owned by the control block.
//!
//! Why this shape:
//! - **A table indexed by key.** Every key gets a small index on its first use anywhere (an
//!   atomic counter, index 0 never given out); a thread's block holds a slot per index, and a
//!   slot points at that thread's boxed value. Looking up a key that is already initialised
//!   is a handful of loads and compares: no lock, no hashing, no call. The table grows (in
//!   the thread itself) when a key with a larger index is first used; values never move, so
//!   a reference handed to a `with` closure stays valid while the table is reallocated.
//! - **`TPIDR_EL0` is the fast path, not the truth.** The context switch saves and restores
//!   it per thread (`preempt_arch::context`), so it is the cheapest per-thread word there is,
//!   and the kernel reserves it for this: it points at the running thread's block (0 until
//!   first use). But user code can write it (`msr tpidr_el0` needs no privilege), so nothing
//!   trusts it. The block's first word is its own address mixed with a constant; the fast
//!   path reads that word (in assembly, as the address may be anything) and falls back to
//!   the slow path unless it matches. The authoritative pointer is the one the control block
//!   keeps ([`TlsRoot`]): the slow path reads it under the scheduler lock and points
//!   `TPIDR_EL0` back at the block, and the exit path and the freeing of the control block
//!   use only it. A thread that writes `TPIDR_EL0` and then uses a thread-local either finds
//!   its block again (the word did not match) or, if it wrote an address that is not mapped,
//!   faults — ending that thread only.
//! - **Heap work only in the thread's own context.** The block, its table and the values are
//!   allocated by the thread that uses them, with IRQs on and no lock held; destructors run
//!   in the exiting thread, before its exit is visible to `join`. A thread that panics or
//!   faults runs none (there is no unwinding): its values are leaked, as anything else it had
//!   allocated, but the block and its table are freed with its control block, which is only
//!   deallocation (no user code runs there).
//! - **Interrupt handlers have no thread of their own**: `TPIDR_EL0` there is the interrupted
//!   thread's, so the fast path first checks that it does not run on the exception stack, and
//!   the slow path panics there rather than touch another thread's values.

use alloc::alloc::{alloc, dealloc, Layout};
use alloc::boxed::Box;
use core::cell::Cell;
use core::ptr::{self, NonNull};
use core::sync::atomic::{AtomicPtr, AtomicUsize, Ordering};

use preempt_arch::cpu;

use super::AccessError;
use crate::kernel::{self, shared::try_box};

/// Mixed into a block's address to make its check word (see the module docs).
const CHECK: usize = 0x5f3c_a91e_7d24_b06b;

/// The most keys a program may use (indices 1..MAX_KEYS); a table slot is 32 bytes.
pub(crate) const MAX_KEYS: usize = 4096;

/// Slots a block starts with (index 0 included, never used).
const INITIAL_SLOTS: usize = 8;

/// A slot's states. `value` is non-null exactly in [`ALIVE`], the only state the fast path
/// needs to recognise.
const UNINIT: u8 = 0;
const INITIALIZING: u8 = 1;
const ALIVE: u8 = 2;
/// Terminal: a key's value is destroyed at most once per thread and never made again.
const DESTROYED: u8 = 3;

/// Drops a value given as the pointer its `Box` was leaked into.
pub(super) type DropFn = unsafe fn(NonNull<u8>);

/// One key's value in one thread.
#[repr(C)]
struct Slot {
    value: Cell<*mut u8>,
    drop: Cell<DropFn>,
    /// The slot initialised just before this one in this thread (0: none): the list the
    /// destructors are run from, newest first.
    prev: Cell<usize>,
    state: Cell<u8>,
}

impl Slot {
    fn empty() -> Self {
        Self {
            value: Cell::new(ptr::null_mut()),
            drop: Cell::new(drop_nothing),
            prev: Cell::new(0),
            state: Cell::new(UNINIT),
        }
    }
}

/// # Safety
/// None needed: drops nothing (the `drop` of a slot that never held a value).
unsafe fn drop_nothing(_: NonNull<u8>) {}

/// A thread's thread-local block. Only its thread touches it while it lives (it is not
/// `Sync`); the kernel frees it once the thread has ended.
#[repr(C)]
pub(crate) struct Block {
    /// At offset 0, read by the fast path: the block's address XOR [`CHECK`] (0 once freed).
    check: Cell<usize>,
    /// Slots in `slots` (at least 1: slot 0, which is never alive).
    len: Cell<usize>,
    slots: Cell<*mut Slot>,
    /// The slot initialised last (0: none), head of the list through `Slot::prev`.
    last: Cell<usize>,
}

impl Block {
    /// The slot of `index`, which must be below `len`.
    fn slot(&self, index: usize) -> &Slot {
        assert!(index < self.len.get(), "thread-local slot out of range");
        // SAFETY: `slots` holds `len` initialised slots, owned by this block; the reference
        // is used before any user code could make the table grow (callers re-fetch after).
        unsafe { &*self.slots.get().add(index) }
    }

    /// The value of key `index` if it is alive in this thread (the fast path: index 0, the
    /// key not yet numbered, is never alive).
    #[inline(always)]
    pub(super) fn alive(&self, index: usize) -> Option<NonNull<u8>> {
        if index >= self.len.get() {
            return None;
        }
        // SAFETY: as in `slot`; only `value` is read.
        NonNull::new(unsafe { (*self.slots.get().add(index)).value.get() })
    }

    /// Grows the table to hold `index` (a new power-of-two size); panics when the heap
    /// cannot.
    fn grow_to(&self, index: usize) {
        let len = self.len.get();
        if index < len {
            return;
        }
        let new_len = (index + 1).next_power_of_two().max(INITIAL_SLOTS);
        let new = alloc_slots(new_len);
        let old = self.slots.get();
        for i in 0..new_len {
            let slot = if i < len {
                // SAFETY: `old` holds `len` slots.
                let s = unsafe { &*old.add(i) };
                Slot {
                    value: Cell::new(s.value.get()),
                    drop: Cell::new(s.drop.get()),
                    prev: Cell::new(s.prev.get()),
                    state: Cell::new(s.state.get()),
                }
            } else {
                Slot::empty()
            };
            // SAFETY: `new` has room for `new_len` slots, each written once.
            unsafe { new.add(i).write(slot) };
        }
        self.slots.set(new);
        self.len.set(new_len);
        // SAFETY: `old` was allocated by `alloc_slots(len)` and nothing refers to it now (no
        // slot reference outlives user code, and none is live here).
        unsafe { free_slots(old, len) };
    }
}

/// Allocates `n` slots (uninitialised); panics in the calling thread when the heap cannot.
fn alloc_slots(n: usize) -> *mut Slot {
    let layout = Layout::array::<Slot>(n).unwrap_or_else(|_| out_of_memory());
    // SAFETY: `n` >= 1 and `Slot` is not zero-sized, so the layout is not empty.
    let p = unsafe { alloc(layout) }.cast::<Slot>();
    if p.is_null() {
        out_of_memory()
    }
    p
}

/// # Safety
/// `p` came from `alloc_slots(n)` and is not used afterwards.
unsafe fn free_slots(p: *mut Slot, n: usize) {
    if let Ok(layout) = Layout::array::<Slot>(n) {
        // SAFETY: allocated with this layout (per the contract).
        unsafe { dealloc(p.cast(), layout) };
    }
}

#[cold]
#[inline(never)]
#[track_caller]
fn out_of_memory() -> ! {
    panic!("out of memory for thread-local storage")
}

/// The thread-local block of a thread, as its control block keeps it: the pointer the
/// kernel trusts (never `TPIDR_EL0`). Set by the thread itself on first use (under the
/// scheduler lock, `kernel::set_current_tls`); the block is freed when the control block is
/// dropped, in thread context with IRQs on (`kernel::retire`).
pub(crate) struct TlsRoot(AtomicPtr<Block>);

impl TlsRoot {
    /// No block yet.
    pub(crate) const fn new() -> Self {
        Self(AtomicPtr::new(ptr::null_mut()))
    }
    /// The block, or null before the thread's first use of a key.
    pub(crate) fn get(&self) -> *mut Block {
        self.0.load(Ordering::Acquire)
    }
    /// Records the thread's block (once: the thread itself, under the scheduler lock).
    pub(crate) fn set(&self, block: NonNull<Block>) {
        self.0.store(block.as_ptr(), Ordering::Release);
    }
}

impl Drop for TlsRoot {
    /// Frees the block and its table. Values still alive (the thread panicked or faulted)
    /// are leaked, not dropped: their destructors are user code, which never runs here.
    fn drop(&mut self) {
        let p = *self.0.get_mut();
        if p.is_null() {
            return;
        }
        // SAFETY: the block was made by `new_block` (a leaked `Box<Block>`) and is owned by
        // this root; its thread has ended, so nothing else refers to it.
        let block = unsafe { Box::from_raw(p) };
        block.check.set(0); // a stale TPIDR_EL0 copy can never match it again
                            // SAFETY: the table was allocated by `alloc_slots(len)`; it goes with the block.
        unsafe { free_slots(block.slots.get(), block.len.get()) };
    }
}

/// The next key index to give out (0 is never given: it means "not numbered yet").
static NEXT_INDEX: AtomicUsize = AtomicUsize::new(1);

/// The index of the key whose index word is `word`, numbering it on its first use.
/// Two threads numbering the same key at once agree on the winner's; the loser's number is
/// left unused (a wasted slot, at most one per racing thread).
#[track_caller]
pub(super) fn key_index(word: &AtomicUsize) -> usize {
    let index = word.load(Ordering::Acquire);
    if index != 0 {
        return index;
    }
    let fresh = NEXT_INDEX.fetch_add(1, Ordering::Relaxed);
    if fresh >= MAX_KEYS {
        panic!(
            "too many thread_local! keys: at most {} are supported",
            MAX_KEYS - 1
        );
    }
    match word.compare_exchange(0, fresh, Ordering::AcqRel, Ordering::Acquire) {
        Ok(_) => fresh,
        Err(winner) => winner,
    }
}

/// Reads `TPIDR_EL0`.
#[inline(always)]
fn read_tpidr() -> usize {
    let v: usize;
    // SAFETY: reads a register, no side effects.
    unsafe {
        core::arch::asm!("mrs {0}, tpidr_el0", out(reg) v, options(nomem, nostack, preserves_flags))
    };
    v
}

/// Points `TPIDR_EL0` at `block`.
fn write_tpidr(block: NonNull<Block>) {
    // SAFETY: `TPIDR_EL0` is the thread's own register, saved and restored by the switch;
    // the kernel reserves it for this pointer and never trusts it.
    unsafe {
        core::arch::asm!("msr tpidr_el0, {0}", in(reg) block.as_ptr() as usize, options(nomem, nostack, preserves_flags))
    };
}

/// The calling thread's block as `TPIDR_EL0` names it: `None` in an interrupt handler, or
/// when the register holds 0 or anything but a block's address (checked by its first word).
#[inline(always)]
pub(super) fn fast_block() -> Option<&'static Block> {
    if cpu::on_exception_stack() {
        return None;
    }
    let tp = read_tpidr();
    if tp == 0 || !tp.is_multiple_of(core::mem::align_of::<Block>()) {
        return None;
    }
    let word: usize;
    // SAFETY: one aligned load from an address user code may have chosen: in assembly, so
    // that no Rust reference to unknown memory is made. Unmapped, it faults and ends this
    // thread (its own doing); mapped, it only yields a word compared below.
    unsafe {
        core::arch::asm!("ldr {0}, [{1}]", out(reg) word, in(reg) tp, options(readonly, nostack, preserves_flags))
    };
    if word != tp ^ CHECK {
        return None;
    }
    // Only a live block holds its own address XOR CHECK at offset 0 (the kernel points
    // TPIDR_EL0 only at the running thread's own block, and clears the word when it frees a
    // block). A block lives until its thread's control block is freed, after the thread has
    // ended; it is not `Sync`, so the reference cannot leave the thread.
    // SAFETY: by the above, the block lives for as long as the calling thread runs.
    Some(unsafe { &*(tp as *const Block) })
}

/// The calling thread's block, made on its first use of a key; `TPIDR_EL0` pointed at it.
///
/// # Panics
/// In an interrupt handler (no thread of its own), outside any thread, and when the heap
/// cannot hold the block.
#[track_caller]
pub(super) fn current_block() -> &'static Block {
    if cpu::on_exception_stack() {
        panic!("thread-local storage used in an interrupt handler, which has no thread of its own");
    }
    if let Some(block) = fast_block() {
        return block;
    }
    let Some(root) = kernel::current_tls() else {
        panic!("thread-local storage used outside a thread");
    };
    let block = match NonNull::new(root) {
        Some(block) => block,
        None => {
            let block = new_block();
            kernel::set_current_tls(block);
            block
        }
    };
    write_tpidr(block);
    // SAFETY: the control block's own pointer to this thread's live block (see `fast_block`
    // for its lifetime).
    unsafe { block.as_ref() }
}

/// A new, empty block (a leaked `Box`, owned from now on by the thread's [`TlsRoot`]).
#[track_caller]
fn new_block() -> NonNull<Block> {
    let slots = alloc_slots(INITIAL_SLOTS);
    for i in 0..INITIAL_SLOTS {
        // SAFETY: room for INITIAL_SLOTS slots, each written once.
        unsafe { slots.add(i).write(Slot::empty()) };
    }
    let block = Block {
        check: Cell::new(0),
        len: Cell::new(INITIAL_SLOTS),
        slots: Cell::new(slots),
        last: Cell::new(0),
    };
    let Ok(block) = try_box(block) else {
        // SAFETY: just allocated, not shared.
        unsafe { free_slots(slots, INITIAL_SLOTS) };
        out_of_memory()
    };
    let p = NonNull::from(Box::leak(block));
    // SAFETY: just made, only this thread knows it.
    let b = unsafe { p.as_ref() };
    b.check.set(p.as_ptr() as usize ^ CHECK);
    p
}

/// Starts an access to key `index` that found no live value on the fast path: `Ok(Some)`
/// with the value if it is alive after all, `Ok(None)` when the caller must initialise it
/// now (the slot is marked as initialising: call [`finish_init`]), `Err` once the value has
/// been destroyed.
///
/// # Panics
/// When the key is being initialised already (its initialiser uses it).
#[track_caller]
pub(super) fn begin_init(block: &Block, index: usize) -> Result<Option<NonNull<u8>>, AccessError> {
    block.grow_to(index);
    let slot = block.slot(index);
    match slot.state.get() {
        ALIVE => Ok(NonNull::new(slot.value.get())),
        INITIALIZING => {
            panic!("a thread_local! initializer used its own key (re-entrant initialization)")
        }
        DESTROYED => Err(AccessError::new()),
        _ => {
            slot.state.set(INITIALIZING);
            Ok(None)
        }
    }
}

/// Ends what [`begin_init`] started: key `index` now holds `value`, dropped with `drop`.
pub(super) fn finish_init(block: &Block, index: usize, value: NonNull<u8>, drop: DropFn) {
    let slot = block.slot(index); // fetched again: the initialiser may have grown the table
    debug_assert_eq!(slot.state.get(), INITIALIZING);
    slot.drop.set(drop);
    slot.value.set(value.as_ptr());
    slot.state.set(ALIVE);
    slot.prev.set(block.last.replace(index));
}

/// Runs the destructors of the calling thread's thread-locals: called as its closure has
/// returned, before it exits (so `join` sees their effects). `root` is the block the control
/// block keeps (whatever `TPIDR_EL0` holds).
///
/// Newest first, as std does on most platforms: a value made later may use one made before
/// it. Each value is marked destroyed before its destructor runs, so the destructor (or a
/// later one) using that key gets `AccessError`; using a key not yet destroyed works, and
/// using one this thread never used makes it, to be destroyed next. Bounded: a key is made
/// at most once per thread (a destroyed key is never made again), so at most one destructor
/// runs per key, [`MAX_KEYS`] in all.
pub(crate) fn run_destructors(root: *mut Block) {
    let Some(p) = NonNull::new(root) else {
        return;
    };
    write_tpidr(p); // the destructors' own accesses take the fast path
                    // SAFETY: the thread's live block, from its control block (see `fast_block`).
    let block = unsafe { p.as_ref() };
    loop {
        let index = block.last.get();
        if index == 0 {
            return;
        }
        let slot = block.slot(index);
        block.last.set(slot.prev.get());
        debug_assert_eq!(slot.state.get(), ALIVE);
        let value = slot.value.replace(ptr::null_mut());
        slot.state.set(DESTROYED);
        let drop = slot.drop.get();
        if let Some(value) = NonNull::new(value) {
            // SAFETY: `value` is the leaked `Box` `drop` was registered for; the slot no
            // longer names it, so nothing reaches it after this.
            unsafe { drop(value) };
        }
    }
}
