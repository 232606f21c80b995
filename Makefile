# drishti — build, test and install.  Every variable can be overridden:
#   make CC=clang   make SAN=1 test   make PREFIX=/usr DESTDIR=/tmp/pkg install
# CROSS is a toolchain prefix (CROSS=aarch64-linux-gnu-); the static cross
# builds live in cross/.

CROSS    ?=
CC       := $(CROSS)gcc
PKG_CONFIG ?= pkg-config
PREFIX   ?= /usr/local
DESTDIR  ?=
BINDIR   ?= $(PREFIX)/bin
SHAREDIR ?= $(PREFIX)/share/drishti
VERSION  ?= 0.1.0
BUILD    ?= build

LUA_PC   ?= lua5.4
WARN     ?= -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
            -Wformat=2 -Wno-format-nonliteral -Wvla -Werror
OPT      ?= -O2 -g
CFLAGS   ?= $(OPT)
CPPFLAGS ?=
LDFLAGS  ?=
DEP_CFLAGS ?= $(shell $(PKG_CONFIG) --cflags $(LUA_PC) libcurl libcjson 2>/dev/null)
LIBS     ?= $(shell $(PKG_CONFIG) --libs $(LUA_PC) 2>/dev/null || echo -llua5.4) \
            -linih -lcjson -lz -lsqlite3 -lcurl -lmbedtls -lmbedx509 -lmbedcrypto -lm

ifeq ($(SAN),1)
SANFLAGS ?= -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
OPT      := -O1 -g
BUILD    := build/san
endif

ALL_CFLAGS = -std=c11 -D_GNU_SOURCE -DDRISHTI_VERSION='"$(VERSION)"' \
             -DDRISHTI_SHAREDIR='"$(SHAREDIR)"' -iquote include $(DEP_CFLAGS) \
             $(WARN) $(CFLAGS) $(SANFLAGS) $(CPPFLAGS) -MMD -MP

SRCS := $(wildcard src/*.c)
OBJS := $(SRCS:src/%.c=$(BUILD)/%.o)
BIN  := $(BUILD)/drishti

.PHONY: all deps bench-deps test check bench install clean
ifeq ($(SAN),1)
all: $(BIN)
else
all: $(BIN) drishti
endif

$(BUILD)/%.o: src/%.c | $(BUILD)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(BIN): $(OBJS)
	$(CC) $(SANFLAGS) $(LDFLAGS) -o $@ $(OBJS) $(LIBS)

# The top-level ./drishti is a link to the last build, so the README's
# commands work from a checkout.
drishti: $(BIN)
	ln -sf $(BIN) drishti

$(BUILD):
	mkdir -p $@

# Debian packages this build and its tests need (run as root).
DEB_PKGS ?= build-essential pkg-config liblua5.4-dev libcurl4-openssl-dev \
            libinih-dev libmbedtls-dev libsqlite3-dev libcjson-dev zlib1g-dev \
            python3 openssl sqlite3 python3-aiosmtpd
deps:
	# an index that fails to download (a mirror mid-sync, a foreign
	# architecture's security index) must not block: the install below
	# fails loudly if something it needs is really missing
	apt-get update -qq || echo "make deps: apt-get update reported errors; going on" >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(DEB_PKGS)
	# promtool checks the textfile in the tests; the server itself is not needed
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus
	@(systemctl disable --now prometheus || service prometheus stop) >/dev/null 2>&1 || true
	# a real Alertmanager and a real browser for the delivery and report tests;
	# the tests start their own Alertmanager on 127.0.0.1
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	    prometheus-alertmanager chromium
	@(systemctl disable --now prometheus-alertmanager || service prometheus-alertmanager stop) >/dev/null 2>&1 || true

UNIT := $(BUILD)/unit_cron $(BUILD)/unit_alert
$(BUILD)/unit_cron: tests/unit_cron.c $(BUILD)/cron.o $(BUILD)/sched.o
	$(CC) $(ALL_CFLAGS) $(SANFLAGS) $(LDFLAGS) -o $@ tests/unit_cron.c $(BUILD)/cron.o $(BUILD)/sched.o
$(BUILD)/unit_alert: tests/unit_alert.c $(BUILD)/alert.o
	$(CC) $(ALL_CFLAGS) $(SANFLAGS) $(LDFLAGS) -o $@ tests/unit_alert.c $(BUILD)/alert.o

test check: all $(UNIT)
	DRISHTI=$(abspath $(BIN)) SAN=$(SAN) sh tests/run.sh

# the peers the benchmark measures beside drishti
bench-deps:
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light monit bc curl

bench: all
	DRISHTI=$(abspath $(BIN)) tests/bench/run.sh

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(SHAREDIR)/rules
	install -m 0755 $(BIN) $(DESTDIR)$(BINDIR)/drishti
	install -m 0644 rules/*.lua $(DESTDIR)$(SHAREDIR)/rules/
	install -d $(DESTDIR)$(SHAREDIR)/rules/types
	install -m 0644 rules/.luarc.json $(DESTDIR)$(SHAREDIR)/rules/
	install -m 0644 rules/types/drishti.lua $(DESTDIR)$(SHAREDIR)/rules/types/
	install -d $(DESTDIR)$(PREFIX)/lib/systemd/system
	sed 's|@BINDIR@|$(BINDIR)|' docs/drishti.service > $(DESTDIR)$(PREFIX)/lib/systemd/system/drishti.service

clean:
	rm -rf build drishti tests/tmp

-include $(OBJS:.o=.d)
