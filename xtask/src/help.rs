//! The help texts: an overview (`cargo xtask`, `cargo xtask help`) and one page per command
//! (`cargo xtask help COMMAND`, `cargo xtask COMMAND --help`).

/// One command: its name, a one-line summary, and its options page.
struct Page {
    name: &'static str,
    summary: &'static str,
    usage: &'static str,
    options: &'static str,
}

const PAGES: &[Page] = &[
    Page {
        name: "run",
        summary: "Build an example of the kernel and run it in QEMU (console on this terminal)",
        usage: "cargo xtask run [options] [-- QEMU-ARGS...]",
        options: "  --example NAME    example of crates/preempt/examples/ to run (default: demo)
  --board BOARD     virt (default) or rpi-zero2w
  --gic 2|3         GIC version of the virt machine (default: 3)
  --icount          deterministic timing: -icount shift=0,sleep=off
  --smp N           run on N cores, 1 to 4 (default: 4); virt: QEMU -smp N; rpi-zero2w
                    (raspi3b always has 4): the kernel's cap, smp=N on the semihosting command line
  --timeout SECS    kill QEMU after SECS seconds, exit 124 (default: 60; 0: never)
  --mini-uart       rpi-zero2w: console on the mini UART (QEMU serial 1) instead of the PL011
  -- ARGS...        extra arguments appended to QEMU's command line

The exit status is QEMU's, which is the program's (`preempt::exit(code)`, or 0).
Fault and panic reports end with a backtrace (`pc`, `lr`, `#N` return addresses); each
address in the program's code gets `function (file:line)` appended, from the ELF's debug info.
",
    },
    Page {
        name: "test",
        summary: "Run the host tests, then every in-QEMU test and example on every board",
        usage: "cargo xtask test [options]",
        options: "  --board BOARD     only this board: virt or rpi-zero2w (default: every board; virt runs
                    with GICv2 and GICv3, rpi-zero2w on QEMU raspi3b)
  --jobs N          QEMU runs in parallel (default: number of CPUs)
  --filter SUBSTR   only run in-QEMU tests and examples whose name contains SUBSTR
                    (`template`: only the application template's checks)
  --smp N           cores for every run whose file does not say `smp=N` (default: 4 on
                    every configuration, and 1 as well on virt's first)

Each QEMU run prints one line, `[done/total] test  NAME [CONFIG] ... ok (SECS s)`; the
last line is `N passed, M failed`. Unless --filter is given, `test` ends with
`bench --quick --check`, `profile --self-test` and `trace --self-test` on virt
(`--filter profile` or `--filter trace`: only that one). Before that, templates/app is copied to the temp folder,
pointed at this checkout and checked with `cargo run`, `cargo test`, `cargo run --features
rpi` and `./sdcard.sh` (one line each; builds in target/template).

In-QEMU tests (crates/preempt/tests/*.rs) and examples state expectations in their
leading comment lines: `//! xtask: expect-exit=N`, `//! xtask: expect-output=TEXT`
(repeatable), `//! xtask: timeout=SECS` (default 120), `//! xtask: gic=2|3`,
`//! xtask: smp=N` (run with N cores, whatever --smp says; `smp=host`: the host's cores,
2 to 4, for real-time stress runs), `//! xtask: icount=off` (real time, cores in
parallel), `//! xtask: features=F,…`
(built once more with these cargo features of preempt, e.g. `trace`; QEMU then runs in
target/qemu-tests/<name>-<config>.files/, where a trace file lands).
Logs: target/qemu-tests/<name>-<config>.log (backtrace addresses named as in `run`;
expect-output is checked against that text)
",
    },
    Page {
        name: "image",
        summary: "Write an SD-card boot folder (kernel8.img, config.txt, README.txt) for a Pi",
        usage: "cargo xtask image [options]",
        options: "  --board BOARD     rpi-zero2w (the default; the only board that is hardware)
  --example NAME    example to put in kernel8.img (default: demo)
  --out DIR         folder to write (default: target/sdcard/<board>)
  --mini-uart       console on the mini UART instead of the PL011 (config.txt to match)
",
    },
    Page {
        name: "bench",
        summary: "Run the benchmark kernels (bench/) in QEMU; table, target/bench/results.json",
        usage: "cargo xtask bench [options]",
        options: "  --board BOARD     virt (default) or rpi-zero2w
  --check           fail if a metric is >3% worse than bench/baseline.json, or missing
  --quick           fewer samples per metric (1,000 instead of 10,000)
  --save-baseline   write the results to bench/baseline.json (not with --quick)
  --jobs N          QEMU runs in parallel (default: number of CPUs)
  --smp N           run the benchmark kernels on N cores, 1 to 4 (default: 1; the baseline
                    and `test`'s gate are single-core); kernels whose file says `smp=N`
                    (the SMP ones: smp, smp_scaling) always run on their N
  --filter SUBSTR   run only the kernels (bench/src/bin/NAME.rs) whose name contains SUBSTR;
                    --check then compares only the metrics they report
",
    },
    Page {
        name: "profile",
        summary: "Instructions per function of one measured window of a benchmark metric",
        usage: "cargo xtask profile --metric NAME [options]",
        options: "  --metric NAME     the metric (`yield_switch`, `timer_irq_cost`, `sem_wake_switch`, …: every
                    instruction-count metric of `bench` measured between two counter reads)
  --board BOARD     virt (default) or rpi-zero2w
  --listing         also list every address: count, instruction, source line, inlined functions
  --keep-log        keep QEMU's execution log (target/profile/METRIC.exec.log; deleted otherwise)
  --smp N           run the kernel on N cores, 1 to 4 (default 1), as `bench --smp N`; the
                    window is cut from one core's instructions
  --self-test       profile yield_switch and timer_irq_cost and check each table sums to the
                    kernel's own figure (part of `cargo xtask test`)

Runs the metric's benchmark kernel (the --quick build) under QEMU with the benchmark's flags
plus `-singlestep -d exec,nochain,in_asm`, drops the log entries QEMU marks as not run, cuts
out one window between the two counter reads of a sample that gives the kernel's median, and
prints its instructions by function (innermost, inlined ones included), by workspace function
and by symbol; each table sums exactly to the metric. `timer_irq_cost` is an excess: a spin-loop iteration a timer interrupt fell in,
minus an undisturbed iteration. See docs/performance.md, \"Profiling a path\".
",
    },
    Page {
        name: "gdb",
        summary: "Debug an example or test: QEMU halted, gdb-multiarch attached, break at main",
        usage: "cargo xtask gdb [options]",
        options: "  --example NAME    example of crates/preempt/examples/ to debug (default: demo)
  --test NAME       in-QEMU test of crates/preempt/tests/ to debug instead
  --board BOARD     virt (default) or rpi-zero2w
  --gic 2|3         GIC version of the virt machine (default: 3)
  --smp N           run on N cores, 1 to 4 (default: 4; each core is a gdb thread)

Builds the program, starts QEMU halted at reset with its gdb stub on localhost:1234 (or a
free port, announced), and starts gdb-multiarch with the program's ELF symbols, attached,
with a breakpoint at the program's main (the function given to `preempt::entry!`):
`continue` runs to it. The console shares this terminal; QEMU has no time limit and is
stopped when gdb exits. Needs gdb-multiarch (Debian/Ubuntu: sudo apt install gdb-multiarch).
Crash reports' `pc`/`lr`/`#N` addresses work with `list *0xADDR` and `info symbol 0xADDR`.
",
    },
    Page {
        name: "trace",
        summary: "Run an example with the scheduler trace on: Perfetto JSON, SVG timeline, summary",
        usage: "cargo xtask trace [options]",
        options: "  --example NAME    example of crates/preempt/examples/ to trace (default: demo)
  --board BOARD     virt (default) or rpi-zero2w
  --smp N           run on N cores, 1 to 4 (default: 4)
  --out DIR         folder for the outputs (default: target/trace/<example>)
  --timeout SECS    give up if the program has not ended after SECS seconds (default: 60)
  --self-test       trace the `mutex` example and check its priority-inheritance story and
                    the outputs (part of `cargo xtask test`)

Builds the example with `--features trace`, runs it under -icount (deterministic: the same
trace every run), console on this terminal; the kernel writes its per-core event rings to
preempt-trace.bin as the program exits (the program must end). Then writes:
  trace.json     Chrome trace-event JSON: open it in https://ui.perfetto.dev (\"Open trace
                 file\") or chrome://tracing. One track per core; a slice per thread run
                 (how it ended, its priority), interrupt handlers inside; instants for wakes,
                 spawns, exits, boosts, restores, deadlines and marks
                 (`preempt::trace::mark(\"text\")`); an arrow from each wake to the woken
                 thread's next run
  timeline.svg   the same as a picture any browser shows: a lane per core, a colour per
                 thread (legend), interrupt ticks, wake triangles, marks, a time axis in µs
and prints per thread: CPU time and share, runs, preemptions, longest run, worst
wake-to-run latency; and records the kernel's rings dropped, if any.
",
    },
    Page {
        name: "fuzz",
        summary: "Fuzz sched-core's operation interpreter (cargo-fuzz, nightly)",
        usage: "cargo xtask fuzz [options]",
        options: "  --seconds N       how long the fuzzer runs (default: 60)
",
    },
    Page {
        name: "help",
        summary: "Print this overview, or the options of one command",
        usage: "cargo xtask help [COMMAND]",
        options: "",
    },
];

/// The command names, for parsing and suggestions.
pub fn commands() -> impl Iterator<Item = &'static str> {
    PAGES.iter().map(|p| p.name)
}

/// The options `name`'s page lists (`--example`, …), for suggestions.
pub fn flags(name: &str) -> Vec<&'static str> {
    PAGES
        .iter()
        .filter(|p| p.name == name)
        .flat_map(|p| p.options.lines())
        .filter(|line| line.starts_with("  --"))
        .filter_map(|line| line.split_whitespace().next())
        .filter(|flag| *flag != "--")
        .collect()
}

/// `cargo xtask help`: the commands and where to read more.
pub fn overview() -> String {
    let mut text = String::from("Usage: cargo xtask <command> [options]\n\nCommands:\n");
    for page in PAGES {
        text.push_str(&format!("  {:<8} {}\n", page.name, page.summary));
    }
    text.push_str(
        "\nOptions take their value as `--flag value` or `--flag=value`.\n\
         See 'cargo xtask help COMMAND' (or 'cargo xtask COMMAND --help') for its options.\n",
    );
    text
}

/// `cargo xtask help COMMAND`: its usage line, summary and options; `None` for no command.
pub fn page(name: &str) -> Option<String> {
    let page = PAGES.iter().find(|p| p.name == name)?;
    let mut text = format!("Usage: {}\n\n{}.\n", page.usage, page.summary);
    if !page.options.is_empty() {
        text.push_str("\nOptions:\n");
        text.push_str(page.options);
    }
    Some(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_command_has_a_page() {
        for name in commands() {
            let text = page(name).unwrap();
            assert!(
                text.starts_with(&format!("Usage: cargo xtask {name}")),
                "{text}"
            );
            assert!(overview().contains(&format!("  {name} ")), "{name}");
        }
        assert!(page("tset").is_none());
        assert!(page("run").unwrap().contains("--example NAME"));
    }
}
