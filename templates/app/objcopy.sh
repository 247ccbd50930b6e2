# Sourced by qemu-run.sh and sdcard.sh: sets $objcopy to an llvm-objcopy, the pinned toolchain's
# (rustup component llvm-tools) first, else one on PATH; exits 127 with a hint when none exists.
objcopy=
for f in "$(rustc --print sysroot)"/lib/rustlib/*/bin/llvm-objcopy; do
    if [ -x "$f" ]; then objcopy=$f; break; fi
done
for f in rust-objcopy llvm-objcopy; do
    if [ -z "$objcopy" ] && command -v "$f" >/dev/null 2>&1; then objcopy=$f; fi
done
if [ -z "$objcopy" ]; then
    echo "$(basename "$0"): llvm-objcopy not found; install it: rustup component add llvm-tools" >&2
    exit 127
fi
