#!/usr/bin/env bash
# cross/rss.sh BINARY [SECONDS] — memory of `drishti run` with the shipped
# rules, idle: the supervisor and its workers' RSS and PSS summed (kB), read
# from /proc/PID/smaps_rollup after SECONDS (default 10).  The same for any
# build, so the static binary and the host build compare directly; run it on
# the binary's own architecture (under qemu the emulator's memory counts).
set -eu
bin=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
secs=${2:-10}
top=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$tmp"' EXIT
cat > "$tmp/c.ini" <<INI
[agent]
rules = $top/rules
state = $tmp/state.db
log = $tmp/agent.log
watch = false
INI
"$bin" run -c "$tmp/c.ini" >/dev/null 2>&1 & pid=$!
sleep "$secs"
rss=0 pss=0 n=0
for p in $pid $(pgrep -P $pid); do
	r=$(awk '/^Rss:/ {print $2}' /proc/$p/smaps_rollup)
	s=$(awk '/^Pss:/ {print $2}' /proc/$p/smaps_rollup)
	rss=$((rss + r)) pss=$((pss + s)) n=$((n + 1))
done
printf '%s: %d processes, RSS %d kB, PSS %d kB (shipped rules, idle %ss)\n' "$1" "$n" "$rss" "$pss" "$secs"
