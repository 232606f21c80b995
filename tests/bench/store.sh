#!/usr/bin/env bash
# The state file's write path alone (store.c): CPU per recorded run for 100
# checks committed 20 at a time, on a fresh file and on one holding 400 days
# of roll-ups, the median of RUNS runs each.  Needs the dev build (make dev).
#   usage: tests/bench/store.sh          env: N=100 R=300 GROUP=20 RUNS=3
set -eu
here=$(cd "$(dirname "$0")/../.." && pwd)
N=${N:-100} R=${R:-300} GROUP=${GROUP:-20} RUNS=${RUNS:-3}
[ -f "$here/build/dev/store.o" ] || { echo "store bench: make dev first"; exit 69; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cc -std=c11 -O2 -D_GNU_SOURCE -iquote "$here/include" $(pkg-config --cflags lua5.4 libcjson) \
    -o "$tmp/store" "$here/tests/bench/store.c" $(ls "$here"/build/dev/*.o | grep -v '/main\.o$') \
    -llua5.4 -linih -lcjson -lz -lsqlite3 -lcurl -lmbedtls -lmbedx509 -lmbedcrypto -lseccomp -lm
for hours in 0 9600; do
	for i in $(seq "$RUNS"); do "$tmp/store" "$tmp/s.db" "$N" "$R" "$GROUP" "$hours"; done |
	    sort -n | sed -n "$(( (RUNS + 1) / 2 ))p"
done
