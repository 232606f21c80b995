#!/usr/bin/env bash
# cross/binfmt.sh ARCH — lets the kernel run ARCH's binaries through
# qemu-user-static (binfmt_misc), so a test can exec the binary and the
# binary can exec itself.  The machine's own architecture needs nothing.  Needs root once per boot.
set -eu
case $1 in
aarch64|arm64) name=qemu-aarch64 ;;
armhf|armel) name=qemu-arm ;;
*) exit 0 ;;
esac
[ -e /proc/sys/fs/binfmt_misc/register ] ||
    mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc 2>/dev/null ||
    { echo "binfmt.sh: cannot mount binfmt_misc (not root?)" >&2; exit 69; }
[ -e "/proc/sys/fs/binfmt_misc/$name" ] || update-binfmts --enable "$name" >/dev/null 2>&1 ||
    update-binfmts --import "$name" >/dev/null
[ -e "/proc/sys/fs/binfmt_misc/$name" ] ||
    { echo "binfmt.sh: $name is not registered (is qemu-user-static installed?)" >&2; exit 69; }
