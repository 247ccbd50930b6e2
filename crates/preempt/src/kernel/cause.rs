//! What a failed thread died of, kept for its `JoinError`: the formatted panic message, or a
//! record of the CPU fault.
//!
//! The two are captured differently because of where they happen. A panic is handled in the
//! thread's own context with IRQs on, so its message is formatted there, once, into a `String`
//! (fallibly, and capped at [`MESSAGE_CAP`] bytes: a panic caused by running out of memory
//! must still end only its thread); the report printed on the console is that same string, so
//! the user's `Display` runs only once. A fault is handled on the exception stack with IRQs
//! masked, where nothing may be allocated: it records the syndrome registers as plain values,
//! and the description is formatted by `join`, in the joining thread.

use alloc::string::String;
use core::fmt::{self, Write};

use preempt_arch::esr::Syndrome;

/// The most bytes of a panic message kept for `JoinError` (longer ones are cut at a character
/// boundary and end in `…`).
pub(crate) const MESSAGE_CAP: usize = 1024;

/// A CPU fault, as recorded by the fault handler.
#[derive(Clone, Copy, Debug)]
pub(crate) struct FaultRecord {
    pub syndrome: Syndrome,
    /// Where the faulting instruction is.
    pub elr: u64,
    /// The size of the stack the thread overflowed, when the fault was in its guard page.
    pub overflowed_stack: Option<usize>,
}

/// Why a thread failed.
#[derive(Debug)]
pub(crate) enum Cause {
    /// It panicked with this message (`None`: the message could not be kept, out of memory).
    Panic(Option<String>),
    /// It faulted.
    Fault(FaultRecord),
}

impl Cause {
    /// The description `JoinError` shows: the panic message, or what the fault was and where.
    pub fn describe(&self) -> String {
        match self {
            Self::Panic(Some(message)) => message.clone(),
            Self::Panic(None) => String::from("<panic message lost: out of memory>"),
            Self::Fault(f) => {
                let mut s = String::new();
                let _ = write_fault(&mut s, f);
                s
            }
        }
    }
}

fn write_fault(out: &mut String, f: &FaultRecord) -> fmt::Result {
    let syn = &f.syndrome;
    if let Some(size) = f.overflowed_stack {
        write!(out, "stack overflow of its {size}-byte stack: ")?;
    }
    write!(out, "{}", syn.class_name())?;
    if let Some(status) = syn.fault_status() {
        write!(out, ": {status}")?;
    }
    if syn.far_valid() {
        write!(out, " at address {:#x}", syn.far)?;
    }
    write!(out, ", instruction at {:#x}", f.elr)
}

/// Formats a panic's message into a string of at most [`MESSAGE_CAP`] bytes; `None` if the
/// heap cannot hold even that (the caller then prints the message straight to the console).
pub(crate) fn capture(message: &core::panic::PanicMessage<'_>) -> Option<String> {
    let mut out = Capped {
        text: String::new(),
        full: false,
    };
    match write!(out, "{message}") {
        Ok(()) => Some(out.text),
        Err(_) if out.full => {
            out.text.push('…'); // room was reserved for it
            Some(out.text)
        }
        Err(_) => None,
    }
}

/// A writer into a `String` that never allocates infallibly and stops at the cap.
struct Capped {
    text: String,
    full: bool,
}

/// Room kept for the `…` that marks a cut message.
const ELLIPSIS: usize = '…'.len_utf8();

impl Write for Capped {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let room = MESSAGE_CAP - self.text.len();
        let mut take = s.len().min(room);
        while !s.is_char_boundary(take) {
            take -= 1;
        }
        let cut = take < s.len();
        let reserve = take + if cut { ELLIPSIS } else { 0 };
        self.text.try_reserve(reserve).map_err(|_| fmt::Error)?;
        self.text.push_str(&s[..take]);
        if cut {
            self.full = true;
            return Err(fmt::Error);
        }
        Ok(())
    }
}
