//! Assertions for in-QEMU tests and examples.
//!
//! A failed `core::assert!` would panic — and a panic in a thread ends only that thread, which a
//! test might not notice. These macros instead print the failure and stop the whole system with
//! exit status 1, so the host sees the failure in QEMU's exit status.

/// Exit status of a failed in-QEMU check.
pub const CHECK_FAILED_EXIT: u32 = 1;

#[doc(hidden)]
pub fn _fail(file: &str, line: u32, args: core::fmt::Arguments<'_>) -> ! {
    crate::println!("CHECK FAILED at {file}:{line}: {args}");
    crate::exit(CHECK_FAILED_EXIT)
}

/// Fault injection: after `Some(n)` more successful heap allocations (by anyone), every
/// allocation fails until this is called again with `None`. Lets a test drive each allocation
/// of a kernel path into failure in turn, and check that each failure is an `Err`, not a panic.
pub fn fail_allocations_after(n: Option<usize>) {
    crate::heap::fail_allocations_after(n);
}

/// Stops the system with exit status 1 unless `cond` holds.
#[macro_export]
macro_rules! check {
    ($cond:expr $(,)?) => {
        if !$cond {
            $crate::testing::_fail(file!(), line!(), format_args!("{}", stringify!($cond)))
        }
    };
    ($cond:expr, $($arg:tt)+) => {
        if !$cond {
            $crate::testing::_fail(file!(), line!(), format_args!($($arg)+))
        }
    };
}

/// Stops the system with exit status 1 unless `left == right`, printing both.
#[macro_export]
macro_rules! check_eq {
    ($left:expr, $right:expr $(,)?) => {
        match (&$left, &$right) {
            (l, r) => {
                if !(*l == *r) {
                    $crate::testing::_fail(
                        file!(),
                        line!(),
                        format_args!(
                            "{} == {}: left {:?}, right {:?}",
                            stringify!($left),
                            stringify!($right),
                            l,
                            r
                        ),
                    )
                }
            }
        }
    };
}
