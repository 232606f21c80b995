#!/usr/bin/env bash
# cross/build.sh ARCH — the product: one static, stripped drishti for ARCH
# (Debian's names: amd64, arm64, armhf), from Debian's own source packages,
# linked against musl.  `make` runs it for the machine's own architecture,
# `make ARCH=arm64` for another; the old target names (x86_64, aarch64) are
# taken too.
#
# Why musl for every target: a static glibc binary cannot resolve names (its
# getaddrinfo loads NSS modules with dlopen, from the glibc it was built
# with, which a Raspberry Pi does not have).  musl's resolver is plain code
# inside the binary: it reads /etc/hosts, /etc/resolv.conf and asks DNS
# itself.  Debian ships musl for each architecture (musl-dev:arm64 ...) with
# a gcc specs file, so Debian's own compilers build against it.
#
# Why armel for armhf: Debian's armhf toolchain, musl and libgcc are ARMv7
# with Thumb-2; a Pi Zero or Pi 1 (ARMv6) dies on them with SIGILL.  Debian's
# armel port is ARMv5TE, which ARMv6 runs, so its cross compiler and
# musl-dev:armel build a binary for every Pi.  -march=armv6 -mfpu=vfp
# -mfloat-abi=softfp keeps the floating point on the VFP unit every Pi has;
# a static binary does not care about the system's float ABI, so it runs on
# Raspberry Pi OS (armhf, ARMv6) and Debian armhf (ARMv7) alike.
#
# Each dependency is built once per target into build/ARCH/prefix and
# remembered by a stamp file, so a second run only relinks drishti:
#   zlib, lua5.4, mbedtls, sqlite3, cjson, curl,  Debian source packages
#   libseccomp, mimalloc                          (apt-get source)
#   inih                                          Debian's static library
#                                                 (libinih-dev:ARCH): its
#                                                 source package is not on
#                                                 the archive mirror; it
#                                                 calls only libc functions
#                                                 musl has
# curl is configured with mbedTLS and only HTTP, HTTPS, SMTP and SMTPS.
set -euo pipefail
A=${1:?usage: build.sh amd64|arm64|armhf}
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
case $A in x86_64) A=amd64 ;; aarch64) A=arm64 ;; armv6|arm) A=armhf ;; esac
host=$(dpkg --print-architecture 2>/dev/null || echo unknown)
B=${BUILD_ROOT:-$top/build}
S=$B/src
W=$B/$A
P=$W/prefix
J=${JOBS:-$(nproc)}
ARCHF=

case $A in
amd64) triple=x86_64-linux-gnu; march=amd64; musl=/usr/lib/x86_64-linux-musl ;;
arm64) triple=aarch64-linux-gnu; march=arm64; musl=/usr/lib/aarch64-linux-musl ;;
armhf) triple=arm-linux-gnueabi; march=armel; musl=/usr/lib/arm-linux-musleabi
       ARCHF="-march=armv6 -mfpu=vfp -mfloat-abi=softfp -marm" ;;
*) echo "build.sh: unknown architecture $A (amd64, arm64, armhf)" >&2; exit 64 ;;
esac
# the machine's own compiler for its own architecture (armhf excepted: the
# native armhf compiler is ARMv7), a cross compiler for every other
if [ "$A" = "$host" ] && [ "$A" != armhf ]; then TC=; else TC=$triple-; fi
CC="${TC}gcc -specs $musl/musl-gcc.specs $ARCHF"
AR=${TC}ar
STRIP=${TC}strip
CF="-Os -ffunction-sections -fdata-sections -fno-plt"
for tool in "${TC}gcc" "$AR" "$musl/musl-gcc.specs"; do
	command -v "$tool" >/dev/null 2>&1 || [ -e "$tool" ] ||
	    { echo "build.sh: $tool is missing: run 'sudo make deps${ARCH_ARG:+ $ARCH_ARG}' (ARCH=$A)" >&2; exit 69; }
done
mkdir -p "$S" "$W/stamp" "$P/lib" "$P/include"
log() { printf '# %s: %s\n' "$A" "$*"; }
t0=$(date +%s)

# ---- sources: fetched once, shared by every target --------------------------
fetch() {   # PACKAGE: unpacked (Debian patches applied) under $S
	if ! ls -d "$S/$1"-[0-9]* >/dev/null 2>&1; then
		log "apt-get source $1" >&2
		# the newest first; a mirror may list a security update whose
		# source it does not hold (404), so each older version is tried
		local v ok=
		for v in "" $(apt-cache showsrc "$1" 2>/dev/null | sed -n 's/^Version: //p' | sort -Vru); do
			if (cd "$S" && apt-get source -qq "$1${v:+=$v}" >/dev/null 2>&1); then ok=1; break; fi
			rm -rf "$S/$1"-[0-9]*
		done
		[ -n "$ok" ] ||
		    { echo "build.sh: apt-get source $1 failed: run 'sudo make deps' (it adds deb-src entries)" >&2; exit 69; }
	fi
	ls -d "$S/$1"-[0-9]* | head -1
}
done_() { [ -e "$W/stamp/$1" ]; }
mark() { touch "$W/stamp/$1"; }
fresh() { rm -rf "$W/$1"; cp -a "$2" "$W/$1"; }

# musl's specs keep glibc's headers out, and the kernel's with them: the
# Linux UAPI headers (Landlock, prctl, seccomp) come from the toolchain's own tree
kinc=$W/kinc
if [ ! -d "$kinc" ]; then
	mkdir -p "$kinc"
	if [ -z "$TC" ]; then kroot=/usr/include; asm=/usr/include/$triple/asm
	else kroot=/usr/$triple/include; asm=$kroot/asm; fi
	ln -s "$kroot/linux" "$kinc/linux"
	ln -s "$asm" "$kinc/asm"
	ln -s "$kroot/asm-generic" "$kinc/asm-generic"
fi
if ! done_ zlib; then
	src=$(fetch zlib); fresh zlib "$src"; log "zlib"
	(cd "$W/zlib" && CC="$CC" AR="$AR" CFLAGS="$CF" CHOST=$triple ./configure --static --prefix="$P" >/dev/null &&
	    make -s -j"$J" libz.a >/dev/null && make -s install >/dev/null)
	mark zlib
fi

if ! done_ lua; then
	src=$(fetch lua5.4); fresh lua "$src"; log "lua 5.4"
	# Debian's luaconf.h names the multiarch triple (for package paths,
	# which drishti's sandbox never uses); its build generates this header
	printf '#define DEB_HOST_MULTIARCH "%s"\n' "$triple" > "$W/lua/src/lua5.4-deb-multiarch.h"
	(cd "$W/lua/src" && for f in *.c; do
		case $f in lua.c|luac.c) continue ;; esac
		$CC $CF -DLUA_USE_POSIX -c "$f"
	done && $AR rcs liblua.a ./*.o &&
	    cp liblua.a "$P/lib/" && cp lua.h luaconf.h lualib.h lauxlib.h lua5.4-deb-multiarch.h "$P/include/")
	mark lua
fi

if ! done_ mbedtls; then
	src=$(fetch mbedtls); fresh mbedtls "$src"; log "mbedtls"
	(cd "$W/mbedtls" && make -s -j"$J" -C library CC="$CC" AR="$AR" CFLAGS="$CF -I../include" static >/dev/null &&
	    cp library/libmbedtls.a library/libmbedx509.a library/libmbedcrypto.a "$P/lib/" &&
	    cp -r include/mbedtls include/psa "$P/include/")
	mark mbedtls
fi

if ! done_ sqlite; then
	src=$(fetch sqlite3)
	# the amalgamation is the same for every target: made once, natively
	if [ ! -e "$S/sqlite3.c" ]; then
		log "sqlite3 amalgamation (native tclsh)"
		rm -rf "$B/sqlite-native"; cp -a "$src" "$B/sqlite-native"
		(cd "$B/sqlite-native" && ./configure --disable-tcl >/dev/null && make -s sqlite3.c >/dev/null &&
		    cp sqlite3.c sqlite3.h "$S/")
		rm -rf "$B/sqlite-native"
	fi
	log "sqlite3"
	mkdir -p "$W/sqlite"
	# HAVE_PREAD/PWRITE: the amalgamation without configure falls back to
	# lseek + read/write, two system calls for every page (musl has both)
	(cd "$W/sqlite" && $CC $CF -DSQLITE_THREADSAFE=0 -DSQLITE_OMIT_LOAD_EXTENSION -DHAVE_USLEEP=1 \
	    -DHAVE_PREAD=1 -DHAVE_PWRITE=1 \
	    -DSQLITE_DEFAULT_MEMSTATUS=0 -c "$S/sqlite3.c" -o sqlite3.o && $AR rcs libsqlite3.a sqlite3.o &&
	    cp libsqlite3.a "$P/lib/" && cp "$S/sqlite3.h" "$P/include/")
	mark sqlite
fi

if ! done_ cjson; then
	src=$(fetch cjson); fresh cjson "$src"; log "cjson"
	(cd "$W/cjson" && $CC $CF -c cJSON.c && $AR rcs libcjson.a cJSON.o &&
	    mkdir -p "$P/include/cjson" && cp cJSON.h "$P/include/cjson/" && cp libcjson.a "$P/lib/")
	mark cjson
fi

if ! done_ inih; then
	log "inih (libinih-dev:$march)"
	rm -rf "$W/inih"; mkdir -p "$W/inih"
	(cd "$W/inih" && apt-get download -qq "libinih-dev:$march" >/dev/null &&
	    dpkg-deb -x libinih-dev_*.deb x && cp x/usr/include/ini.h "$P/include/" &&
	    cp x/usr/lib/*/libinih.a "$P/lib/")
	mark inih
fi

if ! done_ curl; then
	src=$(fetch curl); fresh curl "$src"; log "curl (mbedTLS; http, https, smtp, smtps)"
	(cd "$W/curl" && CC="$CC" AR="$AR" CFLAGS="$CF" CPPFLAGS="-I$P/include" LDFLAGS="-L$P/lib" \
	    ./configure --host=$triple --prefix="$P" --disable-shared --enable-static \
	    --with-mbedtls="$P" --with-zlib="$P" --with-ca-bundle=/etc/ssl/certs/ca-certificates.crt \
	    --with-ca-path=/etc/ssl/certs --enable-http --enable-smtp --disable-ftp --disable-file \
	    --disable-ldap --disable-ldaps --disable-rtsp --disable-dict --disable-telnet --disable-tftp \
	    --disable-pop3 --disable-imap --disable-gopher --disable-mqtt --disable-smb --disable-manual \
	    --disable-ntlm --disable-ntlm-wb --disable-alt-svc --disable-doh --disable-netrc \
	    --disable-progress-meter --disable-dict --without-libpsl --without-brotli --without-zstd \
	    --without-nghttp2 --without-libidn2 --without-librtmp --without-libssh2 --without-libgsasl \
	    --enable-threaded-resolver >configure.out 2>&1 || { tail -20 configure.out; exit 1; }
	    make -s -j"$J" -C lib >/dev/null && make -s -C lib install >/dev/null &&
	    make -s -C include install >/dev/null)
	mark curl
fi

if ! done_ seccomp; then
	# libseccomp's build generates its syscall table with gperf (make deps)
	src=$(fetch libseccomp); fresh seccomp "$src"; log "libseccomp"
	(cd "$W/seccomp" && CC="$CC" CFLAGS="$CF" CPPFLAGS="-idirafter $kinc" \
	    ./configure --host=$triple --prefix="$P" --disable-shared --enable-static \
	    --disable-python >configure.out 2>&1 || { tail -20 configure.out; exit 1; }
	    make -s -j"$J" -C src libseccomp.la >/dev/null 2>&1 &&
	    cp src/.libs/libseccomp.a "$P/lib/" && cp include/seccomp.h include/seccomp-syscalls.h "$P/include/")
	mark seccomp
fi
# mimalloc for the hot path (issue 16): musl's mallocng hands freed groups
# back to the kernel at once (munmap, madvise), so every HTTP check's curl
# handle, buffers and Lua strings cost system calls; the curl floor alone
# ran 4x slower on it than on mimalloc.  But mimalloc in place of malloc
# everywhere holds pages musl gives back: idle PSS went from 3.1 to 8.2 MB.
# So it is linked as a plain library (mi_* names, malloc untouched) and
# src/mem.c gives it what a check allocates and frees, and only in a
# process that has become busy.
if ! done_ mimalloc; then
	src=$(fetch mimalloc); fresh mimalloc "$src"; log "mimalloc"
	# its 64-bit atomics: every Pi's CPU has ldrexd/strexd (the Pi 1 and
	# Zero are ARMv6KZ), which plain -march=armv6 does not let gcc use
	mf=; [ "$A" = armhf ] && mf=-march=armv6kz
	(cd "$W/mimalloc" && $CC $CF $mf -DNDEBUG -Iinclude -c src/static.c -o "$P/lib/mimalloc.o")
	mark mimalloc
fi
t1=$(date +%s)

# ---- drishti itself: the project's Makefile, pointed at the prefix ----------
# the objects and the unit tests are built by the project's Makefile with
# this toolchain (make's own dependency tracking: a changed .c recompiles)
MAKEFLAGS= make -s -j"$J" -C "$top" BUILD="$W/obj" CC="$CC" OPT="-Os -g0" \
    CFLAGS="-Os -ffunction-sections -fdata-sections" LDFLAGS="-static -Wl,--gc-sections -Wl,--sort-section=alignment" \
    DEP_CFLAGS="-I$P/include -idirafter $kinc" \
    LIBS="$P/lib/mimalloc.o -L$P/lib -llua -linih -lcjson -lsqlite3 -lcurl -lmbedtls -lmbedx509 -lmbedcrypto -lz -lseccomp -lm" \
    "$W/obj/drishti" ${UNITS:+"$W/obj/unit_cron" "$W/obj/unit_alert" "$W/obj/unit_mem"} >/dev/null
if ! cmp -s "$W/obj/drishti" "$W/drishti.unstripped" 2>/dev/null; then
	cp "$W/obj/drishti" "$W/drishti.unstripped"
	$STRIP --strip-all -o "$W/drishti.new" "$W/obj/drishti"
	mv -f "$W/drishti.new" "$W/drishti"
	log "linked $W/drishti"
fi
t2=$(date +%s)
size=$(stat -c %s "$W/drishti")
static=NO
LC_ALL=C ${TC}readelf -l "$W/drishti" 2>/dev/null | grep -q INTERP || static=yes
printf '%s: %s, %d bytes (%s MiB), static: %s; dependencies %d s, drishti %d s\n' "$A" "$W/drishti" \
    "$size" "$(awk -v s="$size" 'BEGIN { printf "%.2f", s / 1048576 }')" "$static" $((t1 - t0)) $((t2 - t1))
[ "$static" = yes ] || { echo "build.sh: $W/drishti is not static" >&2; exit 1; }
# the size budget per target (issue 12): a Pi Zero's SD card and RAM
# issue 15 added libseccomp (its syscall tables cover every architecture)
# and the parent, state and delivery roles: about 100 KiB each
case $A in amd64) max=2.1 ;; arm64) max=2.5 ;; armhf) max=2.0 ;; esac
awk -v s="$size" -v m="$max" 'BEGIN { exit !(s <= m * 1048576) }' ||
    { echo "build.sh: $W/drishti is over its budget of $max MiB" >&2; exit 1; }
