//! Event flags: a 32-bit word of events threads can wait on (any or all of a mask), set from
//! threads or interrupt handlers, with FreeRTOS's event-group semantics: one `set` releases
//! every waiter its bits satisfy (each sees the same value) and only then clears what the
//! released clear-on-exit waiters asked for, so several threads waiting with clear all get
//! the event; `sync` is the rendezvous (`xEventGroupSync`). The policy lives in `sched-core`
//! (`scheduler/events.rs`), where the argument that no wake-up is lost is written down.

use core::sync::atomic::AtomicU64;
use core::time::Duration;

use sched_core::{EventId, EventPoll, WaitResult};

pub use sched_core::EventMode as WaitMode;

use crate::kernel::wait::{self, Wait};
use crate::kernel::{self, Sched};

/// A set of 32 event bits.
#[derive(Debug, Default)]
pub struct EventFlags {
    handle: AtomicU64,
}

impl EventFlags {
    /// All bits clear (usable in a `static`).
    pub const fn new() -> Self {
        Self {
            handle: AtomicU64::new(0),
        }
    }

    fn id(&self, s: &mut Sched) -> EventId {
        let raw = wait::lazy_handle(&self.handle, s, |s| s.create_event_flags().as_u64());
        EventId::from_u64(raw).expect("event flags handle")
    }

    /// Sets `bits`, waking every waiter whose condition the new value satisfies (each sees
    /// that value); then clears the union of the masks of the woken waiters that asked for
    /// clear-on-exit. Callable from interrupt handlers.
    pub fn set(&self, bits: u32) {
        wait::notify(|s| {
            let id = self.id(s);
            let _ = s.event_set(id, bits);
        });
    }

    /// Clears `bits`.
    pub fn clear(&self, bits: u32) {
        kernel::with_sched(|s, _| {
            let id = self.id(s);
            let _ = s.event_clear(id, bits);
        });
    }

    /// The bits set now.
    pub fn get(&self) -> u32 {
        kernel::with_sched(|s, _| {
            let id = self.id(s);
            s.event_bits(id).unwrap_or(0)
        })
    }

    /// Blocks until any (`WaitMode::Any`) or all (`WaitMode::All`) of `mask` are set; returns
    /// the bits seen. With `clear`, the bits of `mask` are cleared on return.
    pub fn wait(&self, mask: u32, mode: WaitMode, clear: bool) -> u32 {
        self.wait_until(mask, mode, clear, None).unwrap_or(0)
    }

    /// Like [`wait`](Self::wait), giving up after `timeout` (`None`).
    pub fn wait_timeout(
        &self,
        mask: u32,
        mode: WaitMode,
        clear: bool,
        timeout: Duration,
    ) -> Option<u32> {
        self.wait_until(mask, mode, clear, Some(wait::deadline_after(timeout)))
    }

    /// Rendezvous (FreeRTOS `xEventGroupSync`): sets `set` (waking waiters as
    /// [`set`](Self::set) does), then waits until *all* of `wait_for` are set, as one atomic
    /// step. Returns `Some(bits)` with the bits seen — at once if the value right after
    /// setting already holds all of `wait_for` — and clears `wait_for` on the way out;
    /// `None` if `timeout` passes first; the timeout itself changes no bits (this caller's
    /// `set` bits stay set unless a waiter released meanwhile cleared them). An empty `wait_for` only sets, and returns the bits after
    /// setting.
    ///
    /// Typical use: each of N threads owns one bit, and all call
    /// `sync(my_bit, all_bits, timeout)`; none returns until all have arrived, and the bits
    /// are clear again for the next round.
    ///
    /// # Panics
    /// In an interrupt handler (it may block).
    pub fn sync(&self, set: u32, wait_for: u32, timeout: Duration) -> Option<u32> {
        wait::assert_may_block("EventFlags::sync");
        let deadline = wait::deadline_after(timeout);
        let r = wait::wait(
            |s, cpu| {
                let id = self.id(s);
                match s.event_sync(cpu, id, set, wait_for, Some(deadline)) {
                    Ok(EventPoll::Satisfied(bits)) => Wait::Done(Ok(Some(bits))),
                    Ok(EventPoll::Blocked(next)) => Wait::Block(next),
                    Err(e) => Wait::Done(Err(e)),
                }
            },
            |_, _, res| match res {
                WaitResult::Events(bits) => Ok(Some(bits)),
                _ => Ok(None),
            },
        );
        // Out of the scheduler lock: a panic here ends the calling thread only.
        r.unwrap_or_else(|e| panic!("EventFlags::sync: {e}"))
    }

    fn wait_until(
        &self,
        mask: u32,
        mode: WaitMode,
        clear: bool,
        deadline: Option<u64>,
    ) -> Option<u32> {
        wait::assert_may_block("EventFlags::wait");
        if mask == 0 {
            return Some(self.get());
        }
        wait::wait(
            |s, cpu| {
                let id = self.id(s);
                match s.event_wait(cpu, id, mask, mode, clear, deadline) {
                    Ok(EventPoll::Satisfied(bits)) => Wait::Done(Some(bits)),
                    Ok(EventPoll::Blocked(next)) => Wait::Block(next),
                    Err(e) => panic!("event wait: {e}"),
                }
            },
            |_, _, res| match res {
                WaitResult::Events(bits) => Some(bits),
                _ => None,
            },
        )
    }
}

impl Drop for EventFlags {
    fn drop(&mut self) {
        if let Some(id) = EventId::from_u64(*self.handle.get_mut()) {
            kernel::with_sched(|s, _| {
                let _ = s.destroy_event_flags(id);
            });
        }
    }
}
