#!/usr/bin/env bash
# Benchmark: time to lint N rule files (default 100 copies of the shipped
# host.lua, renamed), and the memory each loaded file's state holds.
# Prints the median of RUNS runs.  Not a test: it asserts nothing.
set -eu
here=$(cd "$(dirname "$0")/../.." && pwd)
D=${DRISHTI:-$here/build/drishti}
N=${N:-100} RUNS=${RUNS:-11}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/rules"
for i in $(seq 1 "$N"); do
	sed "s/check \"host\./check \"h$i./" "$here/rules/host.lua" > "$tmp/rules/h$i.lua"
done
printf '[agent]\nrules = %s/rules\n' "$tmp" > "$tmp/c.ini"
times=()
for r in $(seq 1 "$RUNS"); do
	s=$(date +%s%N); "$D" lint -c "$tmp/c.ini" > "$tmp/out"; e=$(date +%s%N)
	times+=($(( (e - s) / 1000 )))
done
med=$(printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
rss=$(/usr/bin/time -f %M "$D" lint -c "$tmp/c.ini" 2>&1 >/dev/null | tail -1)
kib=$(grep -m1 'KiB loaded' "$tmp/out" | sed 's/.*, \([0-9.]*\) KiB loaded/\1/')
printf '%-34s %s\n' "rule files" "$N" "lint, median of $RUNS" "$(awk -v t="$med" 'BEGIN{printf "%.1f ms (%.0f us per file)", t/1000, t/'"$N"'}')" \
    "peak RSS of that lint" "$rss KiB" "one loaded host.lua state" "$kib KiB"
