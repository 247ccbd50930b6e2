//! A barrier for a fixed number of threads, on top of `Mutex` and `Condvar`.

use super::{Condvar, Mutex};

/// Blocks threads until `n` of them have called [`wait`](Barrier::wait).
#[derive(Debug)]
pub struct Barrier {
    state: Mutex<(usize, u64)>,
    cvar: Condvar,
    n: usize,
}

/// Returned by [`Barrier::wait`]: exactly one thread per generation is the leader.
#[derive(Debug, Clone, Copy)]
pub struct BarrierWaitResult(bool);

impl BarrierWaitResult {
    /// Whether this thread was the last to arrive.
    pub fn is_leader(&self) -> bool {
        self.0
    }
}

impl Barrier {
    /// A barrier for `n` threads (`n == 0` behaves like 1).
    pub const fn new(n: usize) -> Self {
        Self {
            state: Mutex::new((0, 0)),
            cvar: Condvar::new(),
            n,
        }
    }

    /// Waits until all `n` threads have arrived.
    pub fn wait(&self) -> BarrierWaitResult {
        let mut g = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let generation = g.1;
        g.0 += 1;
        if g.0 >= self.n {
            g.0 = 0;
            g.1 = g.1.wrapping_add(1);
            drop(g);
            self.cvar.notify_all();
            return BarrierWaitResult(true);
        }
        let _g = self
            .cvar
            .wait_while(g, |s| s.1 == generation)
            .unwrap_or_else(|p| p.into_inner());
        BarrierWaitResult(false)
    }
}
