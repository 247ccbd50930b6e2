//! `std::sync`-shaped error types: poisoning and non-blocking failures.

use core::fmt;

/// A lock was acquired, but its previous owner died (panicked or faulted) while holding it:
/// the data may be half-updated. The guard is still available through [`into_inner`].
///
/// [`into_inner`]: PoisonError::into_inner
pub struct PoisonError<G> {
    guard: G,
}

impl<G> PoisonError<G> {
    /// Wraps a guard.
    pub fn new(guard: G) -> Self {
        Self { guard }
    }
    /// The guard, to use the data anyway.
    pub fn into_inner(self) -> G {
        self.guard
    }
    /// A reference to the guard.
    pub fn get_ref(&self) -> &G {
        &self.guard
    }
    /// A mutable reference to the guard.
    pub fn get_mut(&mut self) -> &mut G {
        &mut self.guard
    }
}

impl<G> fmt::Debug for PoisonError<G> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PoisonError { .. }")
    }
}

impl<G> fmt::Display for PoisonError<G> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("poisoned lock: another thread died while holding it")
    }
}

/// Result of a blocking lock.
pub type LockResult<G> = Result<G, PoisonError<G>>;

/// Why a non-blocking or timed lock attempt failed.
pub enum TryLockError<G> {
    /// Acquired, but poisoned.
    Poisoned(PoisonError<G>),
    /// Someone else holds it (or the timeout passed).
    WouldBlock,
}

impl<G> fmt::Debug for TryLockError<G> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Poisoned(_) => f.write_str("Poisoned(..)"),
            Self::WouldBlock => f.write_str("WouldBlock"),
        }
    }
}

impl<G> fmt::Display for TryLockError<G> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Poisoned(p) => p.fmt(f),
            Self::WouldBlock => f.write_str("lock would block"),
        }
    }
}

impl<G> From<PoisonError<G>> for TryLockError<G> {
    fn from(p: PoisonError<G>) -> Self {
        Self::Poisoned(p)
    }
}

/// Result of a non-blocking or timed lock.
pub type TryLockResult<G> = Result<G, TryLockError<G>>;

/// Wraps `guard` as `Ok` or as a poison error.
pub(crate) fn result<G>(guard: G, poisoned: bool) -> LockResult<G> {
    if poisoned {
        Err(PoisonError::new(guard))
    } else {
        Ok(guard)
    }
}
