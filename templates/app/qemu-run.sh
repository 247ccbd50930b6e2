#!/bin/sh
# Cargo's runner (.cargo/config.toml): boots the ELF that `cargo run` / `cargo test` built in
# QEMU and exits with the program's exit status (the kernel ends QEMU through semihosting).
#
# The board is read from the ELF's entry address: 0x80000 is the Raspberry Pi build
# (`--features rpi`), which becomes a raw image booted on QEMU raspi3b (as the firmware would,
# at EL2 with cores 1-3 on the spin table); anything else is QEMU virt, which loads the ELF.
#
# Environment: QEMU_TIMEOUT  seconds before QEMU is stopped (default 60, 0: none; status 124)
#              QEMU_GIC      virt's interrupt controller, 2 or 3 (default 3)
#              QEMU_SMP      cores to run on, 1 to 4 (default 1): virt gets -smp N; raspi3b
#                            always has 4, so the kernel also reads smp=N from the semihosting
#                            command line
#              QEMU_ARGS     extra QEMU arguments, e.g. "-icount shift=0,sleep=off"
# Arguments after the ELF (`cargo test -- ARGS`) are ignored.
set -eu

elf=${1:?usage: qemu-run.sh ELF}
qemu=qemu-system-aarch64
if ! command -v "$qemu" >/dev/null 2>&1; then
    echo "qemu-run.sh: $qemu not found; install QEMU (Debian/Ubuntu: sudo apt-get install qemu-system-arm)" >&2
    exit 127
fi

# e_entry: 8 little-endian bytes at offset 24 of an ELF64 header, printed as hex.
entry=$(od -An -tx1 -j24 -N8 "$elf" | awk '{ for (i = NF; i >= 1; i--) printf "%s", $i }')

if [ "$entry" = 0000000000080000 ]; then
    . "$(dirname "$0")/objcopy.sh" # sets $objcopy
    image=$elf.img
    "$objcopy" -O binary "$elf" "$image"
    set -- -M raspi3b
else
    image=$elf
    set -- -M "virt,gic-version=${QEMU_GIC:-3}" -cpu cortex-a53 -m 128M -smp "${QEMU_SMP:-1}"
fi

timeout=${QEMU_TIMEOUT:-60}
if [ "$timeout" != 0 ] && command -v timeout >/dev/null 2>&1; then
    # --foreground (GNU): QEMU keeps the terminal, so it can read keys and restore the
    # terminal mode when it is stopped.
    if timeout --foreground 1 true 2>/dev/null; then
        set -- timeout --foreground "$timeout" "$qemu" "$@"
    else
        set -- timeout "$timeout" "$qemu" "$@"
    fi
else
    set -- "$qemu" "$@"
fi
# shellcheck disable=SC2086 # QEMU_ARGS is split into words on purpose.
exec "$@" -nographic \
    -semihosting-config "enable=on,target=native,arg=preempt,arg=smp=${QEMU_SMP:-1}" \
    ${QEMU_ARGS:-} -kernel "$image"
