#!/usr/bin/env bash
# cross/deb.sh ARCH VERSION — build/drishti_VERSION_ARCH.deb from the static
# binary of ARCH (make deb [ARCH=arm64|armhf] builds it first), with
# dpkg-deb: the files are the ones `make install PREFIX=/usr` puts in place,
# plus the maintainer scripts and Debian's documentation files in cross/deb.
# Built as an unprivileged user too: ownership is set in the archive
# (--root-owner-group), not on disk.
set -euo pipefail
A=${1:?usage: deb.sh ARCH VERSION}
V=${2:?usage: deb.sh ARCH VERSION}
top=$(cd "$(dirname "$0")/.." && pwd)
root=$top/build/deb/$A
out=$top/build/drishti_${V}_$A.deb
cd "$top"
[ -x "build/$A/drishti" ] || { echo "deb.sh: build/$A/drishti is missing (make ARCH=$A)" >&2; exit 1; }
rm -rf "$root"
make -s install PREFIX=/usr DESTDIR="$root" ARCH="$A" STATIC_DONE=1 >/dev/null
# rules.d is filled by postinst on first install, not shipped: a file you
# delete there stays deleted across upgrades
rm -rf "$root/etc/drishti/rules.d"
install -d -m 0755 "$root/var/lib/drishti" "$root/DEBIAN" "$root/usr/share/doc/drishti" \
    "$root/usr/share/lintian/overrides"
# Debian's manual pages and changelog are compressed; -n: no time stamp
gzip -9n "$root"/usr/share/man/man*/*
install -m 0644 cross/deb/copyright "$root/usr/share/doc/drishti/copyright"
install -m 0644 docs/rules.md docs/config.md docs/operations.md docs/install.md \
    "$root/usr/share/doc/drishti/"
install -m 0644 cross/deb/lintian-overrides "$root/usr/share/lintian/overrides/drishti"
date=$(git log -1 --format=%cD 2>/dev/null || date -R)
printf 'drishti (%s) unstable; urgency=medium\n\n  * Release %s: docs/ and the git history tell what changed.\n\n -- drishti developers <drishti@users.noreply.github.com>  %s\n' \
    "$V" "$V" "$date" | gzip -9n > "$root/usr/share/doc/drishti/changelog.gz"
chmod 0644 "$root/usr/share/doc/drishti/changelog.gz"
install -m 0755 cross/deb/postinst cross/deb/prerm cross/deb/postrm "$root/DEBIAN/"
echo /etc/drishti/drishti.ini > "$root/DEBIAN/conffiles"
size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
sed -e "s/@VERSION@/$V/" -e "s/@ARCH@/$A/" -e "s/@SIZE@/$size/" cross/deb/control.in > "$root/DEBIAN/control"
(cd "$root" && find . -path ./DEBIAN -prune -o -type f -print | sed 's|^\./||' | sort |
    xargs md5sum > DEBIAN/md5sums)
chmod 0644 "$root/DEBIAN/md5sums" "$root/DEBIAN/conffiles" "$root/DEBIAN/control"
find "$root" -type d -exec chmod 0755 {} +
dpkg-deb --root-owner-group -Zxz --build "$root" "$out" >/dev/null
echo "deb: $out ($(stat -c %s "$out") bytes)"
