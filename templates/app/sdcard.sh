#!/bin/sh
# Writes the boot folder of a Raspberry Pi Zero 2 W SD card: kernel8.img (this program built in
# release mode for the hardware: preempt/board-rpi without QEMU's semihosting exit, so `exit`
# prints the code and halts) and the config.txt the firmware reads.
#
# Usage: ./sdcard.sh [--mini-uart] [OUT_DIR]     (OUT_DIR default: target/sdcard)
# --mini-uart puts the console on the mini UART (UART1) instead of the PL011 (UART0).
set -eu

features=preempt/board-rpi
mini_uart=false
out=
for arg in "$@"; do
    case $arg in
        --mini-uart) mini_uart=true; features=$features,preempt/rpi-mini-uart ;;
        -h|--help) sed -n '2,7s/^# \{0,1\}//p' "$0"; exit 0 ;;
        -*) echo "sdcard.sh: unknown option $arg (see --help)" >&2; exit 2 ;;
        *) out=$arg ;;
    esac
done
case $out in
    '') ;;
    /*) ;;
    *) out=$PWD/$out ;;
esac
cd "$(dirname "$0")"
out=${out:-${CARGO_TARGET_DIR:-target}/sdcard}

# The ELF's path, from cargo's JSON messages (diagnostics still go to the terminal).
elf=$(cargo build --release --features "$features" --message-format=json-render-diagnostics |
    sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | tail -n 1)
if [ -z "$elf" ]; then
    echo "sdcard.sh: cargo built no executable" >&2
    exit 1
fi

. "$(dirname "$0")/objcopy.sh" # sets $objcopy

mkdir -p "$out"
"$objcopy" -O binary "$elf" "$out/kernel8.img"
{
    echo "# preempt on the Raspberry Pi Zero 2 W: settings for the firmware (start.elf)."
    echo "# Load the 64-bit raw image at 0x80000 and enter it at EL2 on core 0 (cores 1-3 wait"
    echo "# in the firmware's spin table)."
    echo "arm_64bit=1"
    echo "kernel=kernel8.img"
    echo
    if $mini_uart; then
        echo "# Console: mini UART (UART1) on GPIO 14 (TX, pin 8) / 15 (RX, pin 10), 115200 8N1."
        echo "# enable_uart=1 keeps the VideoCore core clock fixed; the mini UART's baud rate is"
        echo "# derived from it (preempt asks the firmware for its rate), core_freq pins it"
        echo "# at the value enable_uart implies on this family."
        echo "enable_uart=1"
        echo "core_freq=250"
    else
        echo "# Console: PL011 (UART0) on GPIO 14 (TX, pin 8) / 15 (RX, pin 10), 115200 8N1."
        echo "enable_uart=1"
        echo "# The PL011 normally serves Bluetooth on this board: give it to the header pins"
        echo "# (dtoverlay=miniuart-bt works too: Bluetooth then moves to the mini UART)."
        echo "dtoverlay=disable-bt"
        echo "# The PL011 reference clock; preempt computes the baud divisor from the rate the"
        echo "# firmware reports, and this fixes it at the current firmware's default."
        echo "init_uart_clock=48000000"
    fi
} >"$out/config.txt"

echo "Wrote $out/kernel8.img ($(wc -c <"$out/kernel8.img" | tr -d ' ') bytes) and $out/config.txt."
echo "Add bootcode.bin, start.elf and fixup.dat from"
echo "https://github.com/raspberrypi/firmware/tree/master/boot and copy all five files onto a"
echo "FAT32-formatted SD card; the console is 115200 8N1 on GPIO 14 (TX) / 15 (RX)."
