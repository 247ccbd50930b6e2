//! The kernel's channel flags word (`crates/preempt/src/sync/mpsc/wake_flags.rs`) again,
//! against fences that are `AcqRel` where the kernel's are `SeqCst`: a planted bug of
//! `tests/channel.rs` (the Dekker pair without its total order: the sender and a receiver
//! about to wait may each read the other's old value).

/// The root [`atomics`](crate::atomics), but `fence(SeqCst)` made `fence(AcqRel)`.
pub(crate) mod atomics {
    pub(crate) use crate::atomics::{AtomicUsize, Ordering};

    /// loom's fence, `AcqRel` where `SeqCst` is asked for.
    pub(crate) fn fence(order: Ordering) {
        let order = if order == Ordering::SeqCst {
            Ordering::AcqRel // planted bug
        } else {
            order
        };
        loom::sync::atomic::fence(order)
    }
}

#[allow(dead_code)]
// Included twice on purpose: once as it is, once here with the planted bug.
#[allow(clippy::duplicate_mod)]
#[path = "../../preempt/src/sync/mpsc/wake_flags.rs"]
pub(crate) mod wake_flags;

/// The kernel's `WakeFlags` with `AcqRel` fences where it has `SeqCst` ones.
pub struct WeakFenceFlags(wake_flags::WakeFlags);
crate::kernel::wake_flags::door!(WeakFenceFlags, wake_flags::WakeFlags);
