//! `cargo xtask image`: the boot folder of a Raspberry Pi SD card.
//!
//! Builds one example for the board's *hardware* configuration (without `qemu-exit`: on the
//! Pi `preempt::exit` prints the code and halts instead of making a semihosting call, which
//! would trap without a debugger), turns it into the raw image the firmware loads at
//! `0x8_0000` (`kernel8.img`), and writes it into the output folder with the `config.txt` the
//! chosen console needs and a `README.txt` saying which firmware files to add, how to wire
//! the serial console and what it will show. The firmware itself is not downloaded: it is
//! Broadcom's, from the Raspberry Pi firmware repository, and the user copies it beside ours.

use std::path::PathBuf;

use crate::board::{Board, Image};
use crate::{build, run, Error};

/// Where the firmware files come from.
pub const FIRMWARE_URL: &str = "https://github.com/raspberrypi/firmware/tree/master/boot";

/// Options of `cargo xtask image`.
#[derive(Debug)]
pub struct Options {
    /// Example to build into the image.
    pub example: String,
    /// Board (one with an SD card).
    pub board: &'static Board,
    /// Output folder; `None`: `<target>/sdcard/<board>`.
    pub out: Option<PathBuf>,
    /// Console on the mini UART instead of the PL011.
    pub mini_uart: bool,
}

/// Runs the command; returns the process exit status.
pub fn run(opts: &Options) -> Result<i32, Error> {
    let card = opts.board.sd_card()?;
    let alt_console = opts
        .mini_uart
        .then(|| opts.board.alt_console())
        .transpose()?;
    let Image::Raw { file_name } = opts.board.image else {
        return Err(Error::new(format!(
            "board `{}` has no raw image format",
            opts.board.name
        )));
    };
    let ws = build::workspace()?;
    run::check_example(&ws.root, &opts.example)?;

    let mut cargo_args = card.cargo_args.to_vec();
    if let Some(alt) = alt_console {
        cargo_args.extend(["--features", alt.feature]);
    }
    eprintln!(
        "Building example `{}` for the {} hardware{}",
        opts.example,
        opts.board.name,
        build::first_build_note(&ws)
    );
    let artifacts = build::kernels(&ws, opts.board, &cargo_args, &["--example", &opts.example])?;
    let artifact = artifacts
        .iter()
        .find(|a| a.kind == build::Kind::Example && a.name == opts.example)
        .ok_or_else(|| {
            Error::new(format!(
                "cargo built no executable for example `{}`",
                opts.example
            ))
        })?;

    let out = opts
        .out
        .clone()
        .unwrap_or_else(|| ws.target_dir.join("sdcard").join(opts.board.name));
    std::fs::create_dir_all(&out)
        .map_err(|e| Error::new(format!("creating {}: {e}", out.display())))?;
    let kernel = out.join(file_name);
    build::raw_image(&ws.root, &artifact.executable, &kernel)?;
    let write = |name: &str, text: String| {
        let path = out.join(name);
        std::fs::write(&path, text)
            .map_err(|e| Error::new(format!("writing {}: {e}", path.display())))
    };
    write("config.txt", config_txt(file_name, opts.mini_uart))?;
    write(
        "README.txt",
        readme(&opts.example, file_name, opts.mini_uart),
    )?;

    let size = std::fs::metadata(&kernel).map(|m| m.len()).unwrap_or(0);
    println!("Wrote the boot folder {}:", out.display());
    println!("  {file_name:<12} example `{}`, {size} bytes", opts.example);
    println!(
        "  config.txt   firmware settings ({} console)",
        console_name(opts.mini_uart)
    );
    println!("  README.txt   what to copy beside them and what the console shows");
    println!("Add bootcode.bin, start.elf and fixup.dat from {FIRMWARE_URL}");
    println!("and copy everything onto a FAT32-formatted SD card.");
    Ok(0)
}

fn console_name(mini_uart: bool) -> &'static str {
    if mini_uart {
        "mini UART"
    } else {
        "PL011"
    }
}

/// `config.txt` for the firmware (`start.elf`).
pub fn config_txt(kernel: &str, mini_uart: bool) -> String {
    let mut text = format!(
        "# preempt on the Raspberry Pi Zero 2 W: settings for the firmware (start.elf).\n\
         # Load the 64-bit raw image at 0x80000 and enter it at EL2 on core 0 (cores 1-3 wait\n\
         # in the firmware's spin table).\n\
         arm_64bit=1\n\
         kernel={kernel}\n\
         \n"
    );
    if mini_uart {
        text.push_str(
            "# Console: mini UART (UART1) on GPIO 14 (TX, pin 8) / 15 (RX, pin 10), 115200 8N1.\n\
             # enable_uart=1 keeps the VideoCore core clock fixed; the mini UART's baud rate is\n\
             # derived from it (preempt asks the firmware for its rate), core_freq pins it\n\
             # at the value enable_uart implies on this family.\n\
             enable_uart=1\n\
             core_freq=250\n",
        );
    } else {
        text.push_str(
            "# Console: PL011 (UART0) on GPIO 14 (TX, pin 8) / 15 (RX, pin 10), 115200 8N1.\n\
             enable_uart=1\n\
             # The PL011 normally serves Bluetooth on this board: give it to the header pins\n\
             # (dtoverlay=miniuart-bt works too: Bluetooth then moves to the mini UART).\n\
             dtoverlay=disable-bt\n\
             # The PL011 reference clock; preempt computes the baud divisor from the rate the\n\
             # firmware reports, and this fixes it at the current firmware's default.\n\
             init_uart_clock=48000000\n",
        );
    }
    text
}

/// `README.txt`: the steps from this folder to a running board.
pub fn readme(example: &str, kernel: &str, mini_uart: bool) -> String {
    let console = console_name(mini_uart);
    format!(
        "preempt example `{example}` for the Raspberry Pi Zero 2 W\n\
         \n\
         This folder is the boot partition of an SD card, without the Raspberry Pi firmware.\n\
         \n\
         1. Format a micro-SD card with an MBR partition table and one FAT32 partition.\n\
         2. Copy {kernel} and config.txt from this folder onto it.\n\
         3. Copy these files from the official Raspberry Pi firmware repository,\n\
         \x20  {FIRMWARE_URL}\n\
         \x20  beside them (same release for start.elf and fixup.dat):\n\
         \x20    bootcode.bin  second-stage loader, read by the SoC's boot ROM\n\
         \x20    start.elf     VideoCore firmware: reads config.txt, loads {kernel}\n\
         \x20    fixup.dat     memory-split table that goes with start.elf\n\
         \x20  Optional: bcm2710-rpi-zero-2-w.dtb (the firmware then passes a device tree and\n\
         \x20  preempt takes the RAM size from it; without it preempt asks the firmware through\n\
         \x20  the mailbox) and overlays/ (for the dtoverlay= line of config.txt).\n\
         4. Wire a 3.3 V USB-serial adapter (never 5 V): adapter RX to GPIO 14 / TXD (header\n\
         \x20  pin 8), adapter TX to GPIO 15 / RXD (pin 10), GND to GND (pin 6). Open it at\n\
         \x20  115200 baud, 8N1, no flow control, e.g. `picocom -b 115200 /dev/ttyUSB0`.\n\
         5. Insert the card and power the board.\n\
         \n\
         On the console ({console}) you will see, a few seconds after power-on:\n\
         \n\
         \x20 [INFO  preempt::boot] preempt 0.1.0 on Raspberry Pi Zero 2 W (BCM2837), {console}\n\
         \x20   console (... Hz clock), RAM to 0x1c000000 (from firmware), EL1, counter 19200000 Hz,\n\
         \x20   time slice 1ms, heap ... KiB\n\
         \x20 ... the output of `{example}` ...\n\
         \x20 preempt: exit code 0\n\
         \n\
         After the exit line the board halts (interrupts off, core asleep); power-cycle it to\n\
         run the program again. A non-zero exit code is a failure: 101 a kernel panic, 102 a\n\
         kernel fault, 1 a failed check. No output at all: check the wiring (TX to RX), the\n\
         baud rate, and that config.txt and the firmware files are on the card.\n\
         \n\
         Real-hardware notes (clocks, the 19.2 MHz counter, caches) are in docs/hardware.md\n\
         of the preempt repository.\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_matches_the_console() {
        let pl011 = config_txt("kernel8.img", false);
        for line in [
            "arm_64bit=1",
            "kernel=kernel8.img",
            "enable_uart=1",
            "dtoverlay=disable-bt",
            "init_uart_clock=48000000",
        ] {
            assert!(pl011.lines().any(|l| l == line), "{line}");
        }
        let mini = config_txt("kernel8.img", true);
        assert!(mini.lines().any(|l| l == "enable_uart=1"));
        assert!(!mini.contains("dtoverlay=disable-bt"));
    }

    #[test]
    fn readme_lists_the_firmware() {
        let text = readme("demo", "kernel8.img", false);
        for file in [
            "bootcode.bin",
            "start.elf",
            "fixup.dat",
            FIRMWARE_URL,
            "pin 8",
            "pin 10",
        ] {
            assert!(text.contains(file), "{file}");
        }
    }
}
