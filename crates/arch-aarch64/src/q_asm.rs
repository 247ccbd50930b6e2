//! The sixteen `stp`/`ldp` instructions that move q0–q31 between the registers and a frame,
//! written once for every assembly block that needs them (the exception frame and the IRQ
//! frame save and restore the same register file, each at its own `{q}` offset).
//!
//! A `macro_rules!` expanding to one string literal, because `global_asm!` templates must be
//! literals and assembler macros do not cross `global_asm!` blocks reliably.

/// `q_pairs!("stp" | "ldp", base)`: q0–q31 to or from `[base, #{q} + 0 … 480]`; the using
/// block supplies the `q` operand (the offset of q0 in its frame).
#[rustfmt::skip] // one instruction per line
macro_rules! q_pairs {
    ($op:literal, $base:literal) => {
        concat!(
            $op, " q0, q1, [", $base, ", #{q} + 0]\n",
            $op, " q2, q3, [", $base, ", #{q} + 32]\n",
            $op, " q4, q5, [", $base, ", #{q} + 64]\n",
            $op, " q6, q7, [", $base, ", #{q} + 96]\n",
            $op, " q8, q9, [", $base, ", #{q} + 128]\n",
            $op, " q10, q11, [", $base, ", #{q} + 160]\n",
            $op, " q12, q13, [", $base, ", #{q} + 192]\n",
            $op, " q14, q15, [", $base, ", #{q} + 224]\n",
            $op, " q16, q17, [", $base, ", #{q} + 256]\n",
            $op, " q18, q19, [", $base, ", #{q} + 288]\n",
            $op, " q20, q21, [", $base, ", #{q} + 320]\n",
            $op, " q22, q23, [", $base, ", #{q} + 352]\n",
            $op, " q24, q25, [", $base, ", #{q} + 384]\n",
            $op, " q26, q27, [", $base, ", #{q} + 416]\n",
            $op, " q28, q29, [", $base, ", #{q} + 448]\n",
            $op, " q30, q31, [", $base, ", #{q} + 480]",
        )
    };
}
