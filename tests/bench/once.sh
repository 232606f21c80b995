#!/usr/bin/env bash
# Benchmark: `drishti once` with the shipped rules (the playbook's daily
# check: API, site, response time, log errors, last night's backup, disk,
# plus host and scaling) against the playbook's bash script (daily.sh) doing
# the same by hand, both against one local nginx, R runs each, one after the
# other in the same run; then the idle PSS of `drishti run` with the shipped
# rules.  Each binary given is measured: the static product and the dev
# (glibc, shared libraries) build side by side.
#   usage: tests/bench/once.sh BINARY [BINARY ...]     env: R=30 runs
# Prints medians and ratios; asserts nothing: a measurement, not a test.
set -u
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
R=${R:-30}
[ $# -ge 1 ] || { echo "usage: once.sh BINARY [BINARY ...]" >&2; exit 64; }
for t in nginx curl bc; do
	command -v $t >/dev/null || { echo "bench: $t is missing (make bench-deps)"; exit 69; }
done
. "$here/nginx.sh"
bench_nginx once
mkdir -p "$tmp/backups"; seq 1 1000 | gzip > "$tmp/backups/db-1.sql.gz"
for i in $(seq 200); do echo "INFO line $i"; done > "$tmp/app.log"
cat > "$tmp/c.ini" <<INI
[agent]
rules = $top/rules
state = $tmp/state.db
log = $tmp/agent.log
watch = false
[sandbox]
read_paths = $tmp, /var/log
[vars]
api_url = $URL/health
site_url = $URL/
app_log = $tmp/app.log
backup_glob = $tmp/backups/db-*.sql.gz
INI

ms_now() { date +%s%N; }
median() { sort -n | awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
time_runs() {  # LABEL CMD... : R wall times in ms, median printed
	local label=$1; shift
	"$@" >/dev/null 2>&1    # warm the page cache
	for i in $(seq "$R"); do
		local t0; t0=$(ms_now); "$@" >/dev/null 2>&1; local t1; t1=$(ms_now)
		echo "$(( (t1 - t0) / 1000 ))" | awk '{ printf "%.2f\n", $1 / 1000 }'
	done | median > "$tmp/$label.med"
}
pss_idle() {  # BINARY: PSS in kB of `run` with the shipped rules, idle 10 s
	"$1" run -c "$tmp/c.ini" >/dev/null 2>&1 & local pid=$!
	sleep 10
	local sum=0 p v
	# the parent, its roles and the roles' rule workers
	for p in $pid $(pgrep -P $pid) $(for c in $(pgrep -P $pid); do pgrep -P $c; done); do
		v=$(awk '/^Pss:/ {print $2}' /proc/$p/smaps_rollup 2>/dev/null); sum=$((sum + ${v:-0}))
	done
	kill -TERM $pid; wait $pid 2>/dev/null
	echo "$sum"
}

echo "# drishti once (shipped rules) vs the playbook's bash script, $R runs each, $(nproc) cores"
printf '%-44s %12s %10s %14s\n' "what" "median ms" "x bash" "idle PSS kB"
time_runs bash "$here/daily.sh" "$URL" "$tmp/app.log" "$tmp/backups"
bash_ms=$(cat "$tmp/bash.med")
n=0
for b in "$@"; do
	n=$((n + 1))
	"$b" once -c "$tmp/c.ini" > "$tmp/once.out" 2>&1
	checks=$(grep -cE ' (OK|WARN|CRIT|UNKNOWN) ' "$tmp/once.out")
	[ -n "${SHOW:-}" ] && cat "$tmp/once.out"
	time_runs "b$n" "$b" once -c "$tmp/c.ini"
	ms=$(cat "$tmp/b$n.med")
	kind=$(file -b "$(readlink -f "$b")" | grep -q 'statically linked' && echo static || echo dynamic)
	printf '%-44s %12s %10s %14s\n' "drishti once, $kind ($checks checks)" "$ms" \
	    "$(echo "scale=2; $ms / $bash_ms" | bc)" "$(pss_idle "$b")"
done
printf '%-44s %12s %10s %14s\n' "bash daily.sh (6 checks, curl x3, find, df)" "$bash_ms" "1.00" "-"
