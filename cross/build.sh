#!/usr/bin/env bash
# cross/build.sh TARGET — one static, stripped drishti for TARGET (aarch64,
# armhf, x86_64), from Debian's own source packages, linked against musl.
#
# Why musl for every target: a static glibc binary cannot resolve names (its
# getaddrinfo loads NSS modules with dlopen, from the glibc it was built
# with, which a Raspberry Pi does not have).  musl's resolver is plain code
# inside the binary: it reads /etc/hosts, /etc/resolv.conf and asks DNS
# itself.  Debian ships musl for each architecture (musl-dev:arm64 ...) with
# a gcc specs file, so Debian's own cross compilers build against it.
#
# Each dependency is built once per target into build/TARGET/prefix and
# remembered by a stamp file, so a second run only relinks drishti:
#   zlib, lua5.4, mbedtls, sqlite3, cjson, curl   Debian source packages
#                                                 (apt-get source)
#   inih                                          Debian's static library
#                                                 (libinih-dev:ARCH): its
#                                                 source package is not on
#                                                 the archive mirror; it
#                                                 calls only libc functions
#                                                 musl has
# curl is configured with mbedTLS and only HTTP, HTTPS, SMTP and SMTPS.
set -euo pipefail
T=${1:?usage: build.sh aarch64|armhf|x86_64}
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
B=$here/build
S=$B/src
W=$B/$T
P=$W/prefix
J=${JOBS:-$(nproc)}

case $T in
aarch64) triple=aarch64-linux-gnu; arch=arm64; musl=/usr/lib/aarch64-linux-musl ;;
armhf) triple=arm-linux-gnueabihf; arch=armhf; musl=/usr/lib/arm-linux-musleabihf ;;
x86_64) triple=x86_64-linux-gnu; arch=amd64; musl=/usr/lib/x86_64-linux-musl ;;
*) echo "build.sh: unknown target $T (aarch64, armhf, x86_64)" >&2; exit 64 ;;
esac
if [ "$T" = x86_64 ]; then TC=; else TC=$triple-; fi
CC="${TC}gcc -specs $musl/musl-gcc.specs"
AR=${TC}ar
STRIP=${TC}strip
CF="-Os -ffunction-sections -fdata-sections -fno-plt"
for tool in "${TC}gcc" "$AR" "$musl/musl-gcc.specs"; do
	command -v "$tool" >/dev/null 2>&1 || [ -e "$tool" ] ||
	    { echo "build.sh: $tool is missing: run 'sudo make -C cross deps'" >&2; exit 69; }
done
mkdir -p "$S" "$W/stamp" "$P/lib" "$P/include"
log() { printf '# %s: %s\n' "$T" "$*"; }
t0=$(date +%s)

# ---- sources: fetched once, shared by every target --------------------------
fetch() {   # PACKAGE: unpacked (Debian patches applied) under $S
	if ! ls -d "$S/$1"-[0-9]* >/dev/null 2>&1; then
		log "apt-get source $1" >&2
		(cd "$S" && apt-get source -qq "$1" >/dev/null 2>&1) ||
		    { echo "build.sh: apt-get source $1 failed: run 'sudo make -C cross deps'" >&2; exit 69; }
	fi
	ls -d "$S/$1"-[0-9]* | head -1
}
done_() { [ -e "$W/stamp/$1" ]; }
mark() { touch "$W/stamp/$1"; }
fresh() { rm -rf "$W/$1"; cp -a "$2" "$W/$1"; }

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
	fi
	log "sqlite3"
	mkdir -p "$W/sqlite"
	(cd "$W/sqlite" && $CC $CF -DSQLITE_THREADSAFE=0 -DSQLITE_OMIT_LOAD_EXTENSION -DHAVE_USLEEP=1 \
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
	log "inih (libinih-dev:$arch)"
	rm -rf "$W/inih"; mkdir -p "$W/inih"
	(cd "$W/inih" && apt-get download -qq "libinih-dev:$arch" >/dev/null &&
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
t1=$(date +%s)

# ---- drishti itself: the project's Makefile, pointed at the prefix ----------
# musl's specs keep glibc's headers out, and the kernel's with them: the
# Linux UAPI headers (Landlock, prctl) come from the cross toolchain's tree
kinc=$W/kinc
if [ ! -d "$kinc" ]; then
	mkdir -p "$kinc"
	if [ "$T" = x86_64 ]; then kroot=/usr/include; asm=/usr/include/x86_64-linux-gnu/asm
	else kroot=/usr/$triple/include; asm=$kroot/asm; fi
	ln -s "$kroot/linux" "$kinc/linux"
	ln -s "$asm" "$kinc/asm"
	ln -s "$kroot/asm-generic" "$kinc/asm-generic"
fi
log "drishti"
make -s -C "$top" BUILD="$W/obj" CC="$CC" OPT="-Os -g0" \
    CFLAGS="-Os -ffunction-sections -fdata-sections" LDFLAGS="-static -Wl,--gc-sections" \
    DEP_CFLAGS="-I$P/include -idirafter $kinc" \
    LIBS="-L$P/lib -llua -linih -lcjson -lsqlite3 -lcurl -lmbedtls -lmbedx509 -lmbedcrypto -lz -lm" \
    "$W/obj/drishti" >/dev/null
cp "$W/obj/drishti" "$W/drishti"
$STRIP --strip-all "$W/drishti"
t2=$(date +%s)
size=$(stat -c %s "$W/drishti")
printf '%s: %s, %d bytes (%.2f MiB), static: %s; dependencies %d s, drishti %d s\n' "$T" "$W/drishti" \
    "$size" "$(echo "$size / 1048576" | bc -l)" \
    "$(file -b "$W/drishti" | grep -o 'statically linked' || echo NO)" $((t1 - t0)) $((t2 - t1))
[ "$size" -le $((3 * 1048576)) ] || echo "# $T: larger than the 3 MiB target" >&2
