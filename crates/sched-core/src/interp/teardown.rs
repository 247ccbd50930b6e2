//! The end of every scenario: wake, exit and reap everything through the same
//! checked operations, destroy every object, and require that nothing is
//! left. A leak here (an object that cannot be destroyed, a slot still
//! occupied, data never handed back) is a bug the step checks cannot see.

use crate::StoreKind;
use alloc::collections::BTreeSet;
use alloc::string::String;

use super::{Interp, Op};
use crate::State;

impl<S: StoreKind> Interp<S> {
    /// Wakes, exits and reaps every thread, destroys every object, then
    /// checks that only the idle threads remain.
    ///
    /// # Errors
    /// A description of the failed check.
    pub fn tear_down(&mut self) -> Result<(), String> {
        for _ in 0..10_000 {
            if self.s.thread_count() == 0 {
                break;
            }
            for id in self.known.clone() {
                match self.s.state(id) {
                    Some(State::Blocked | State::Sleeping) if !self.s.is_idle(id) => {
                        self.wake_thread(id)?;
                    }
                    Some(State::Zombie(_)) => self.reap_thread(id)?,
                    _ => {}
                }
            }
            self.restamp_moved_waiters();
            if self.cpus == 1 {
                self.preempt(0)?; // no kicks: the waker's own check
            }
            self.release(0)?;
            self.settle(false)?;
            self.check_always()?;
            for cpu in 0..self.cpus {
                self.apply(&Op::PreemptCheck(cpu as u8))?;
                if !self.s.is_idle(self.s.current(cpu)) {
                    self.apply(&Op::TakeResult(cpu as u8))?;
                    self.apply(&Op::Exit(cpu as u8, false))?;
                }
                self.check_always()?;
            }
        }
        ensure_eq!(self.s.thread_count(), 0, "threads left");
        ensure_eq!(
            self.s.live_entries(),
            self.cpus,
            "only the idle threads remain"
        );
        ensure_eq!(self.s.ready_count(), 0, "ready left");
        ensure_eq!(self.s.sleeping_count(), 0, "timers left");
        ensure_eq!(self.s.next_deadline(), None, "deadline left");
        for i in 0..self.objs.len() {
            if self.objs[i].alive {
                self.destroy_checked(i)?;
            }
        }
        ensure_eq!(self.s.object_count(), 0, "objects left");
        let all: BTreeSet<u32> = self.data_of.values().copied().collect();
        ensure_eq!(self.returned, all, "thread data not all handed back");
        for cpu in 0..self.cpus {
            ensure!(
                self.s.is_idle(self.s.current(cpu)),
                "cpu {cpu} runs a thread"
            );
        }
        self.s.check_invariants().map_err(String::from)
    }

    fn destroy_checked(&mut self, i: usize) -> Result<(), String> {
        let before = self.s.object_count();
        self.destroy(i)?;
        ensure!(
            !self.objs[i].alive,
            "object {:?} not destroyable",
            self.objs[i].handle
        );
        ensure_eq!(self.s.object_count(), before - 1, "object count");
        Ok(())
    }
}
