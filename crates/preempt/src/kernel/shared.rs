//! Allocation that can fail: [`try_box`] and [`Shared`], a reference-counted pointer whose
//! creation returns `Err` instead of panicking when the heap is full.
//!
//! Why our own: `Box::try_new` and `Arc::try_new` are not stable, and `thread::Builder::spawn`
//! must answer `Err(OutOfMemory)` rather than panic in the caller. `Shared` is `Arc` cut down
//! to what the kernel needs (clone, deref, drop; no weak references), built on one
//! [`try_box`] allocation.

use alloc::alloc::{alloc, Layout};
use alloc::boxed::Box;
use core::ops::Deref;
use core::ptr::NonNull;
use core::sync::atomic::{fence, AtomicUsize, Ordering};

/// Moves `value` into a new heap block, or hands it back when the heap cannot hold it.
pub(crate) fn try_box<T>(value: T) -> Result<Box<T>, T> {
    let layout = Layout::new::<T>();
    if layout.size() == 0 {
        return Ok(Box::new(value)); // zero-sized: no allocation happens
    }
    // SAFETY: `layout` has a non-zero size.
    let ptr = unsafe { alloc(layout) }.cast::<T>();
    if ptr.is_null() {
        return Err(value);
    }
    // SAFETY: `ptr` is a fresh allocation from the global allocator with `T`'s layout, so it is
    // valid for a write of `T` and may be owned by a `Box<T>`, which frees it with that layout.
    unsafe {
        ptr.write(value);
        Ok(Box::from_raw(ptr))
    }
}

struct Inner<T> {
    count: AtomicUsize,
    value: T,
}

/// A shared, reference-counted `T` (like `Arc<T>`), created fallibly.
pub(crate) struct Shared<T> {
    ptr: NonNull<Inner<T>>,
}

// SAFETY: as for `Arc<T>`: the value is shared between threads (needs `Sync`) and may be dropped
// by whichever holder goes last (needs `Send`); the count is atomic.
unsafe impl<T: Send + Sync> Send for Shared<T> {}
// SAFETY: as above.
unsafe impl<T: Send + Sync> Sync for Shared<T> {}

impl<T> Shared<T> {
    /// Shares `value`, or hands it back when the heap cannot hold it.
    pub fn try_new(value: T) -> Result<Self, T> {
        let inner = try_box(Inner {
            count: AtomicUsize::new(1),
            value,
        })
        .map_err(|inner| inner.value)?;
        Ok(Self {
            ptr: NonNull::from(Box::leak(inner)),
        })
    }

    /// How many references exist (a snapshot: others may clone or drop meanwhile).
    pub fn count(this: &Self) -> usize {
        this.inner().count.load(Ordering::Relaxed)
    }

    fn inner(&self) -> &Inner<T> {
        // SAFETY: the block lives while any `Shared` (this one included) holds a count.
        unsafe { self.ptr.as_ref() }
    }
}

impl<T> Clone for Shared<T> {
    fn clone(&self) -> Self {
        // Relaxed, as in `Arc::clone`: a new reference is made from an existing one.
        let old = self.inner().count.fetch_add(1, Ordering::Relaxed);
        assert!(old < isize::MAX as usize, "Shared reference count overflow");
        Self { ptr: self.ptr }
    }
}

impl<T> Deref for Shared<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.inner().value
    }
}

impl<T> Drop for Shared<T> {
    fn drop(&mut self) {
        if self.inner().count.fetch_sub(1, Ordering::Release) != 1 {
            return;
        }
        // Every other holder's use happens before the free (the pairing used by `Arc`).
        fence(Ordering::Acquire);
        // SAFETY: the count reached zero, so this is the last reference; the block came from
        // `Box::leak` in `try_new`.
        drop(unsafe { Box::from_raw(self.ptr.as_ptr()) });
    }
}
