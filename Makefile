# drishti — build, test, install and package.
#
#   sudo make deps && make         the product: one static binary (musl, curl
#                                  on mbedTLS, every library inside) for this
#                                  machine, build/ARCH/drishti, linked as
#                                  ./drishti; cross/build.sh says how
#   make ARCH=arm64 | armhf        the same for a Raspberry Pi (armhf runs on
#                                  every Pi, the Zero and Pi 1 included);
#                                  `sudo make deps ARCH=...` first
#   sudo make test-deps && make test
#                                  the suite against the static binary
#   make dev                       glibc build against Debian's shared
#                                  libraries (build/dev), for debugging
#   make SAN=1 test                the suite on the dev build under
#                                  ASan + UBSan (build/san)
#   make install | uninstall       PREFIX=/usr/local, DESTDIR
#   make deb [ARCH=...]            build/drishti_VERSION_ARCH.deb
#   make bench                     tests/bench beside Monit and bash
#
# Every variable can be overridden (make CC=clang dev).

VERSION  ?= 0.2.0
HOST_ARCH := $(shell dpkg --print-architecture 2>/dev/null || \
               uname -m | sed 's/x86_64/amd64/;s/aarch64/arm64/;s/armv.*/armhf/')
ARCH     ?= $(HOST_ARCH)
override ARCH := $(patsubst x86_64,amd64,$(patsubst aarch64,arm64,$(ARCH)))

PREFIX   ?= /usr/local
DESTDIR  ?=
BINDIR   ?= $(PREFIX)/bin
SHAREDIR ?= $(PREFIX)/share/drishti
MANDIR   ?= $(PREFIX)/share/man
COMPDIR  ?= $(PREFIX)/share/bash-completion/completions
ifeq ($(PREFIX),/usr)
SYSCONFDIR ?= /etc
UNITDIR  ?= /lib/systemd/system
else
SYSCONFDIR ?= $(PREFIX)/etc
UNITDIR  ?= $(PREFIX)/lib/systemd/system
endif
STATEDIR ?= /var/lib/drishti
TEXTFILEDIR ?= /var/lib/prometheus/node-exporter

# ---- the dev / sanitizer build (glibc, Debian's shared libraries) ----------
# cross/build.sh reuses these rules with BUILD, CC, DEP_CFLAGS and LIBS
# pointed at its musl prefix
CROSS    ?=
CC       := $(CROSS)gcc
PKG_CONFIG ?= pkg-config
BUILD    ?= build/dev
LUA_PC   ?= lua5.4
WARN     ?= -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
            -Wformat=2 -Wno-format-nonliteral -Wvla -Werror
OPT      ?= -O2 -g
CFLAGS   ?= $(OPT)
CPPFLAGS ?=
LDFLAGS  ?=
DEP_CFLAGS ?= $(shell $(PKG_CONFIG) --cflags $(LUA_PC) libcurl libcjson 2>/dev/null)
LIBS     ?= $(shell $(PKG_CONFIG) --libs $(LUA_PC) 2>/dev/null || echo -llua5.4) \
            -linih -lcjson -lz -lsqlite3 -lcurl -lmbedtls -lmbedx509 -lmbedcrypto -lseccomp -lm

ifeq ($(SAN),1)
SANFLAGS ?= -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
CPPFLAGS += -DDRISHTI_SAN
OPT      := -O1 -g
BUILD    := build/san
endif

ALL_CFLAGS = -std=c11 -D_GNU_SOURCE -DDRISHTI_VERSION='"$(VERSION)"' -DDRISHTI_HAVE_SECCOMP \
             -DDRISHTI_SHAREDIR='"$(SHAREDIR)"' -DDRISHTI_SYSCONFDIR='"$(SYSCONFDIR)"' \
             -iquote include $(DEP_CFLAGS) \
             $(WARN) $(CFLAGS) $(SANFLAGS) $(CPPFLAGS) -MMD -MP

SRCS := $(wildcard src/*.c)
OBJS := $(SRCS:src/%.c=$(BUILD)/%.o)
BIN  := $(BUILD)/drishti
STATIC := build/$(ARCH)/drishti
UNIT := $(BUILD)/unit_cron $(BUILD)/unit_alert $(BUILD)/unit_mem

.PHONY: all static dev deps test-deps test check units bench bench-deps install \
        uninstall deb clean distclean $(STATIC)

ifeq ($(SAN),1)
all: $(BIN) $(UNIT)
else
all: static build/drishti.service build/drishti.ini
endif

# the product; cross/build.sh is itself incremental (dependencies cached
# under build/ARCH, drishti relinked only when an object changed)
static $(STATIC):
	bash cross/build.sh $(ARCH)
ifeq ($(ARCH),$(HOST_ARCH))
	ln -sfn $(STATIC) drishti
endif

dev: $(BIN) $(UNIT)

$(BUILD)/%.o: src/%.c | $(BUILD)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(BIN): $(OBJS)
	$(CC) $(SANFLAGS) $(LDFLAGS) -o $@ $(OBJS) $(LIBS)

$(BUILD):
	mkdir -p $@

$(BUILD)/unit_cron: tests/unit_cron.c $(BUILD)/cron.o $(BUILD)/sched.o
	$(CC) $(ALL_CFLAGS) $(SANFLAGS) $(LDFLAGS) -o $@ tests/unit_cron.c $(BUILD)/cron.o $(BUILD)/sched.o
$(BUILD)/unit_alert: tests/unit_alert.c $(BUILD)/alert.o
	$(CC) $(ALL_CFLAGS) $(SANFLAGS) $(LDFLAGS) -o $@ tests/unit_alert.c $(BUILD)/alert.o
# with $(LIBS): the static build's LIBS brings mimalloc, which mem.c uses
$(BUILD)/unit_mem: tests/unit_mem.c $(BUILD)/mem.o
	$(CC) $(ALL_CFLAGS) $(SANFLAGS) $(LDFLAGS) -o $@ tests/unit_mem.c $(BUILD)/mem.o $(LIBS)

# ---- generated files: the unit and the example config, for these paths ------
SUBST = sed -e 's|@BINDIR@|$(BINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' \
            -e 's|@SHAREDIR@|$(SHAREDIR)|g' -e 's|@MANDIR@|$(MANDIR)|g' \
            -e 's|@STATEDIR@|$(STATEDIR)|g' -e 's|@TEXTFILEDIR@|$(TEXTFILEDIR)|g' \
            -e 's|@VERSION@|$(VERSION)|g'
build/drishti.service: cross/drishti.service.in Makefile
	@mkdir -p build
	$(SUBST) $< > $@
build/drishti.ini: cross/drishti.ini.in Makefile
	@mkdir -p build
	$(SUBST) $< > $@

# ---- dependencies (run as root) ---------------------------------------------
# deps: what the static build needs, and nothing else.  Debian's source
# packages come through deb-src entries copied from the machine's own
# sources (no host name written here).
DEB_ARCH_PKGS_amd64 := musl-dev:amd64
DEB_ARCH_PKGS_arm64 := musl-dev:arm64 gcc-aarch64-linux-gnu libc6-dev-arm64-cross binutils-aarch64-linux-gnu
DEB_ARCH_PKGS_armhf := musl-dev:armel gcc-arm-linux-gnueabi libc6-dev-armel-cross binutils-arm-linux-gnueabi
DEB_FOREIGN_arm64 := arm64
DEB_FOREIGN_armhf := armel
ifeq ($(HOST_ARCH),arm64)
DEB_ARCH_PKGS_arm64 := musl-dev:arm64
endif
deps:
	@test "$$(id -u)" = 0 || { echo "make deps installs Debian packages: run it as root (sudo make deps)" >&2; exit 1; }
	sed 's/^Types: deb$$/Types: deb-src/' /etc/apt/sources.list.d/debian.sources \
	    > /etc/apt/sources.list.d/drishti-src.sources 2>/dev/null || \
	    sed -n 's/^deb /deb-src /p' /etc/apt/sources.list > /etc/apt/sources.list.d/drishti-src.list
	$(if $(DEB_FOREIGN_$(ARCH)),$(if $(filter $(DEB_FOREIGN_$(ARCH)),$(HOST_ARCH)),,dpkg --add-architecture $(DEB_FOREIGN_$(ARCH))))
	# an index that fails to download (a mirror mid-sync, a foreign
	# architecture's security index) must not block: the install below
	# fails loudly if something it needs is really missing
	apt-get update -qq || echo "make deps: apt-get update reported errors; going on" >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	    gcc make libc6-dev dpkg-dev musl-tools tcl gperf ca-certificates $(DEB_ARCH_PKGS_$(ARCH))

# test-deps: what the tests need beside the static build: the dev build's
# libraries (the sanitizer run), real peers (promtool, Alertmanager,
# Chromium, an SMTP server in Python), the packaging checks (lintian,
# mandoc, systemd-analyze) and, for another ARCH, qemu
TEST_PKGS ?= pkg-config liblua5.4-dev libcurl4-openssl-dev libinih-dev libmbedtls-dev \
             libsqlite3-dev libcjson-dev zlib1g-dev libseccomp-dev python3 python3-aiosmtpd openssl sqlite3 \
             mandoc man-db bsdextrautils lintian adduser systemd bash-completion file procps \
             clang libclang-rt-14-dev
test-deps: deps
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(TEST_PKGS) \
	    $(if $(filter $(ARCH),$(HOST_ARCH)),,qemu-user-static binfmt-support)
	# promtool checks the textfile in the tests; the server itself is not needed
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus
	@(systemctl disable --now prometheus || service prometheus stop) >/dev/null 2>&1 || true
	# a real Alertmanager and a real browser for the delivery and report tests;
	# the tests start their own Alertmanager on 127.0.0.1
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	    prometheus-alertmanager chromium
	@(systemctl disable --now prometheus-alertmanager || service prometheus-alertmanager stop) >/dev/null 2>&1 || true

# ---- tests -------------------------------------------------------------------
# make test: the suite against the static binary (host units built with the
# same musl toolchain); SAN=1: against the sanitizer build.  Another ARCH
# runs the end-to-end scripts under qemu-user through binfmt_misc (the
# binary execs itself for its workers, so they are emulated too); armhf runs
# as an ARM1176, the Pi Zero's and Pi 1's CPU.  t_unit is host C units and
# t_sched asserts scheduling under CPU load, which emulation turns into a
# test of qemu.
CROSS_TESTS ?= t_cli t_config t_rules t_sandbox t_probes t_net t_workers t_daemon \
               t_state t_delivery t_reporters t_reports t_playbook t_exec t_faults t_logs
QEMU_CPU_armhf := arm1176
QEMU_CPU_arm64 := cortex-a53
ifeq ($(SAN),1)
test check: $(BIN) $(UNIT)
	DRISHTI=$(abspath $(BIN)) UNITS=$(abspath $(BUILD)) SAN=1 bash tests/run.sh
else ifeq ($(ARCH),$(HOST_ARCH))
test check: all deb
	UNITS=1 bash cross/build.sh $(ARCH) >/dev/null
	DRISHTI=$(abspath $(STATIC)) UNITS=$(abspath build/$(ARCH)/obj) bash tests/run.sh
else
test check: all
	bash cross/binfmt.sh $(ARCH)
	QEMU_CPU=$(QEMU_CPU_$(ARCH)) DRISHTI=$(abspath $(STATIC)) TESTS="$(CROSS_TESTS)" SLOW=6 \
	    bash tests/run.sh
endif

# fuzz targets (libFuzzer, clang): the config parser, the small text
# parsers (JSON, durations, sizes, cron, UTF-8, body templates), the
# messages between processes (msg.c, job.c), JSON into Lua and the rows
# read back from a state file, each run for FUZZ_TIME (or
# SECONDS) seconds from the seeds in tests/fuzz; a crash or a
# sanitizer report fails it.  The objects are the project's own, built by
# this Makefile with clang into build/fuzz.
FUZZ_CC   ?= clang
FUZZ_TIME ?= $(if $(SECONDS),$(SECONDS),60)
FUZZ_SAN  := -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all
FUZZ_OBJS := $(filter-out build/fuzz/main.o,$(SRCS:src/%.c=build/fuzz/%.o))
FUZZERS   := build/fuzz/fuzz_config build/fuzz/fuzz_text build/fuzz/fuzz_msg \
             build/fuzz/fuzz_luajson build/fuzz/fuzz_rows
.PHONY: fuzz fuzz-objs
fuzz-objs:
	$(MAKE) BUILD=build/fuzz CC=$(FUZZ_CC) OPT="-O1 -g" SANFLAGS="$(FUZZ_SAN)" $(FUZZ_OBJS)
build/fuzz/fuzz_%: tests/fuzz/fuzz_%.c fuzz-objs
	$(FUZZ_CC) -std=c11 -D_GNU_SOURCE -iquote include $(DEP_CFLAGS) -O1 -g \
	    -fsanitize=fuzzer,address,undefined -o $@ $< $(FUZZ_OBJS) $(LIBS)
fuzz: $(FUZZERS)
	for f in $(notdir $(FUZZERS)); do \
	    mkdir -p build/fuzz/corpus-$$f && \
	    ./build/fuzz/$$f -max_total_time=$(FUZZ_TIME) -max_len=4096 -rss_limit_mb=1024 \
	        build/fuzz/corpus-$$f tests/fuzz/seeds-$${f#fuzz_} >build/fuzz/$$f.log 2>&1 || \
	        { tail -40 build/fuzz/$$f.log; exit 1; }; \
	    tail -1 build/fuzz/$$f.log; done

# soak: the agent for MINUTES (default 30) with 500 checks, hostile rule
# files and a flapping receiver; prints RSS, descriptors and state-file
# size over time and checks nothing is lost (not in CI)
MINUTES ?= 30
.PHONY: soak
soak: all
	MINUTES=$(MINUTES) DRISHTI=$(abspath $(STATIC)) bash tests/soak.sh

# the peers the benchmark measures beside drishti
bench-deps:
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light monit bc curl \
	    libcurl4-openssl-dev hyperfine linux-perf strace

# the static product and the dev build side by side in once.sh (the dev
# build needs test-deps' libraries)
bench: all dev
	tests/bench/once.sh $(abspath $(STATIC)) $(abspath build/dev/drishti)
	tests/bench/store.sh
	DRISHTI=$(abspath $(STATIC)) tests/bench/run.sh

# where one check's CPU goes, by part and by process (perf; docs/bench.md)
N ?= 1000
.PHONY: profile
profile: all dev
	tests/bench/profile.sh $(abspath $(STATIC)).unstripped $(N)
	tests/bench/profile.sh $(abspath build/dev/drishti) $(N)

# ---- install: the same files in the same places as the Debian package -------
MANPAGES := docs/man/drishti.1 docs/man/drishti.ini.5 docs/man/drishti-rules.7
# STATIC_DONE=1: the binary is built (cross/deb.sh calls install)
ifeq ($(STATIC_DONE),1)
install:
else
install: static
endif
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(SHAREDIR)/rules/types \
	    $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man7 \
	    $(DESTDIR)$(COMPDIR) $(DESTDIR)$(UNITDIR) $(DESTDIR)$(SHAREDIR)/examples
	install -m 0755 $(STATIC) $(DESTDIR)$(BINDIR)/drishti
	install -m 0644 rules/*.lua $(DESTDIR)$(SHAREDIR)/rules/
	install -m 0644 rules/.luarc.json $(DESTDIR)$(SHAREDIR)/rules/
	install -m 0644 rules/types/drishti.lua $(DESTDIR)$(SHAREDIR)/rules/types/
	install -m 0644 docs/man/drishti.1 $(DESTDIR)$(MANDIR)/man1/
	install -m 0644 docs/man/drishti.ini.5 $(DESTDIR)$(MANDIR)/man5/
	install -m 0644 docs/man/drishti-rules.7 $(DESTDIR)$(MANDIR)/man7/
	install -m 0644 cross/completion.bash $(DESTDIR)$(COMPDIR)/drishti
	$(SUBST) cross/drishti.service.in > $(DESTDIR)$(UNITDIR)/drishti.service
	$(SUBST) cross/drishti.ini.in > $(DESTDIR)$(SHAREDIR)/examples/drishti.ini
	# the config and its rules.d only when absent: a reinstall keeps yours
	install -d $(DESTDIR)$(SYSCONFDIR)/drishti
	test -e $(DESTDIR)$(SYSCONFDIR)/drishti/drishti.ini || \
	    install -m 0644 $(DESTDIR)$(SHAREDIR)/examples/drishti.ini $(DESTDIR)$(SYSCONFDIR)/drishti/drishti.ini
	test -e $(DESTDIR)$(SYSCONFDIR)/drishti/rules.d || \
	    { install -d $(DESTDIR)$(SYSCONFDIR)/drishti/rules.d && \
	      install -m 0644 rules/*.lua $(DESTDIR)$(SYSCONFDIR)/drishti/rules.d/; }

# what install put outside the config directory; your config, rules.d and
# state are yours and stay (say `rm -r $(SYSCONFDIR)/drishti` to drop them)
uninstall:
	rm -f $(DESTDIR)$(BINDIR)/drishti $(DESTDIR)$(UNITDIR)/drishti.service \
	    $(DESTDIR)$(MANDIR)/man1/drishti.1 $(DESTDIR)$(MANDIR)/man5/drishti.ini.5 \
	    $(DESTDIR)$(MANDIR)/man7/drishti-rules.7 $(DESTDIR)$(COMPDIR)/drishti
	rm -rf $(DESTDIR)$(SHAREDIR)
	@echo "make uninstall: kept $(DESTDIR)$(SYSCONFDIR)/drishti (your config and rules) and $(STATEDIR)"

# ---- the Debian package -----------------------------------------------------
deb: static
	bash cross/deb.sh $(ARCH) $(VERSION)

clean:
	rm -rf build/dev build/san build/*/obj build/deb build/*.deb drishti tests/tmp \
	    build/drishti.service build/drishti.ini

# also every dependency built for the static binaries, and their sources
distclean: clean
	rm -rf build

-include $(OBJS:.o=.d)
