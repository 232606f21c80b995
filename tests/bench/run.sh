#!/usr/bin/env bash
# Benchmark: N HTTP checks every second against a local nginx, side by side
# in the same run with Monit (set daemon 1), the raw curl-multi floor
# (curlfloor.c) and, for the playbook's daily check, its bash script once a
# second against the same six checks written as drishti rules.
#   usage: tests/bench/run.sh [N ...]        (default: 10 100 1000 3000)
#   env:   DURATION=60 seconds per run; REPEAT=1 rounds of every agent at
#          each N (the ratios are then of medians); DRISHTI=path of the
#          binary (default: the static product, ./drishti)
# The floor is built twice: against Debian's libcurl (glibc, OpenSSL) and
# statically against the same musl libcurl-on-mbedTLS as the product, so
# each build has its own floor and the physical limit is in the table.
# Needs nginx, monit, bc, curl and a C compiler (make bench-deps installs
# them).  Prints one table; asserts nothing: it is a measurement, not a test.
set -u
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
D=${DRISHTI:-$top/drishti}
DURATION=${DURATION:-60}
REPEAT=${REPEAT:-1}
NS=${*:-10 100 1000 3000}
for t in nginx monit bc curl cc; do
	command -v $t >/dev/null || { echo "bench: $t is missing (make bench-deps)"; exit 69; }
done
. "$here/nginx.sh"
bench_nginx bench "log_format ua '\$http_user_agent'; access_log @TMP@/access.log ua buffer=64k flush=1s;"
cc -O2 -o "$tmp/curlfloor" "$here/curlfloor.c" -lcurl || exit 1
# the static floor: the product's own libcurl, mbedTLS, allocator and musl
# (make leaves them under build/ARCH/prefix); skipped when they are not built
arch=$(dpkg --print-architecture 2>/dev/null || echo amd64)
prefix=$top/build/$arch/prefix
spec=/usr/lib/$(uname -m)-linux-musl/musl-gcc.specs
floors="curlfloor"
if [ -f "$prefix/lib/libcurl.a" ] && [ -f "$spec" ] &&
    gcc -specs "$spec" -static -O2 -o "$tmp/curlfloor-static" "$here/curlfloor.c" \
    $(ls "$prefix/lib/mimalloc.o" 2>/dev/null) -I"$prefix/include" -L"$prefix/lib" -lcurl -lmbedtls -lmbedx509 -lmbedcrypto -lz; then
	floors="curlfloor curlfloor-static"
else
	echo "# no static floor: build/$arch/prefix has no musl libcurl (make deps)"
fi


pss_tree() {  # PSS in KiB of a process and all its descendants (rule
	# workers are the state role's children, the parent's grandchildren)
	local sum=0 p v
	v=$(awk '/^Pss:/ {print $2}' "/proc/$1/smaps_rollup" 2>/dev/null)
	sum=${v:-0}
	for p in $(pgrep -P "$1"); do
		sum=$(( sum + $(pss_tree "$p") ))
	done
	echo "$sum"
}
# PSS of a tree: the median of five samples spread over the run, each at
# another phase of the second (checks start on the second: one sample
# would catch the burst or the lull)
pss_run() {  # PID SECONDS -> sleeps SECONDS in all, prints the median
	local pid=$1 secs=$2 i step left samples=""
	step=$(awk -v s="$secs" 'BEGIN { printf "%.2f", s / 6 }')
	for i in 1 2 3 4 5; do
		sleep "$(awk -v s="$step" -v i="$i" 'BEGIN { printf "%.2f", s + i * 0.17 }')"
		samples="$samples $(pss_tree "$pid")"
	done
	left=$(awk -v s="$secs" -v st="$step" 'BEGIN { l = s - 5 * st - 2.55; printf "%.2f", (l > 0 ? l : 0) }')
	sleep "$left"
	echo $samples | tr ' ' '\n' | sort -n | sed -n 3p
}
served() { sleep 1.2; grep -c "^$1" "$tmp/access.log" 2>/dev/null || echo 0; }
# requests logged so far (USR1 makes nginx write its buffered lines out)
served_now() { kill -USR1 "$(cat "$tmp/nginx.pid")"; sleep 0.3; grep -c "^$1" "$tmp/access.log" 2>/dev/null || echo 0; }
# CPU time in µs of a process and all its descendants, every thread
# (schedstat: nanoseconds, not the 10 ms ticks of /proc/PID/stat)
cpu_tree() {
	local sum=0 p t v
	for t in /proc/"$1"/task/*/schedstat; do
		v=$(awk '{print int($1 / 1000)}' "$t" 2>/dev/null); sum=$(( sum + ${v:-0} ))
	done
	for p in $(pgrep -P "$1"); do sum=$(( sum + $(cpu_tree "$p") )); done
	echo "$sum"
}
# User and system time of a tree in clock ticks (/proc/PID/task/TID/stat:
# utime, stime), to split the schedstat total: where a check's CPU goes,
# the agent's own code or the kernel's TCP and system calls
ticks_tree() {
	local u=0 s=0 p t a b
	for t in /proc/"$1"/task/*/stat; do
		read -r a b < <(awk '{print $14, $15}' "$t" 2>/dev/null) || continue
		u=$(( u + ${a:-0} )); s=$(( s + ${b:-0} ))
	done
	for p in $(pgrep -P "$1"); do
		read -r a b < <(ticks_tree "$p"); u=$(( u + a )); s=$(( s + b ))
	done
	echo "$u $s"
}
# nginx's worker CPU in µs (its share of every request: the server side of
# each connection, charged to it, not to the agent)
ng_cpu() { cpu_tree "$(cat "$tmp/nginx.pid")"; }
# µs per check of user and system time: TOTAL split by the ticks' ratio
split_us() {  # TOTAL_US_PER_CHECK U0 S0 U1 S1 -> "user sys"
	awk -v t="$1" -v u="$(( $4 - $2 ))" -v s="$(( $5 - $3 ))" \
	    'BEGIN { if (u + s > 0) printf "%d %d\n", t * u / (u + s), t * s / (u + s); else print "- -" }'
}
# The steady state: CPU per check is measured from WARM seconds after the
# start to the end of the window, CPU of the tree over requests served
# meanwhile, for every agent alike.  Start-up (config, Lua, forking the
# roles, SQLite's open) is a one-time cost: over a 20 s window at N = 100 it
# was a third of drishti's figure.  It is printed apart (start ms).
WARM=${WARM:-3}
reset_log() { : > "$tmp/access.log"; kill -USR1 "$(cat "$tmp/nginx.pid")"; sleep 0.2; }
cpu_of() { awk '{printf "%d\n", ($1 + $2) * 1e6}' "$1"; }   # /usr/bin/time -f "%U %S" -> µs
row() { printf '%-6s %-12s %9s/%-9s %12s %6s %6s %8s %10s %10s %10s %8s\n' "$@"; }

# The measured window of one agent, alike for all: requests served (by
# user agent UA), CPU, ticks and nginx's CPU before and after SECS seconds
# of PSS samples.  Sets W_PER (µs/check), W_US ("user sys"), W_NG (nginx
# µs/request) and W_PSS.
window() {  # PID UA SECS
	local pid=$1 ua=$2 c0 u0 k0 n0 c1 u1 k1 n1
	c0=$(served_now "$ua"); u0=$(cpu_tree "$pid"); k0=$(ticks_tree "$pid"); n0=$(ng_cpu)
	W_PSS=$(pss_run "$pid" "$3")
	u1=$(cpu_tree "$pid"); k1=$(ticks_tree "$pid"); n1=$(ng_cpu); c1=$(served_now "$ua")
	W_PER=$(( c1 > c0 && u1 > u0 ? (u1 - u0) / (c1 - c0) : 0 ))
	W_US=$(split_us "$W_PER" $k0 $k1)
	W_NG=$(( c1 > c0 ? (n1 - n0) / (c1 - c0) : 0 ))
}

run_drishti() {  # N RULESDIR LABEL
	local n=$1 rules=$2 label=$3
	mkdir -p "$tmp/d"; rm -f "$tmp/d/"*; cp "$rules"/*.lua "$tmp/d/"
	printf '[agent]\nrules = %s/d\nlog = %s/agent.log\nwatch = false\nstate = %s/state.db\n[sandbox]\nread_paths = %s\n[vars]\nurl = %s\n' \
	    "$tmp" "$tmp" "$tmp" "$tmp" "$URL" > "$tmp/d.ini"
	: > "$tmp/agent.log"; reset_log
	/usr/bin/time -f "%U %S" -o "$tmp/time" "$D" run -c "$tmp/d.ini" 2>/dev/null &
	local tp=$!
	for i in $(seq 100); do grep -q started: "$tmp/agent.log" && break; sleep 0.1; done
	local pid; pid=$(pgrep -P "$tp" | head -1)
	local t0; t0=$(date +%s%N)
	sleep "$WARM"
	window "$pid" drishti "$DURATION"
	kill -TERM "$pid"; local t1; t1=$(date +%s%N); wait "$tp"
	local slots=$(( (t1 - t0) / 1000000000 + 1 ))
	local got; got=$(served "drishti")
	local line; line=$(grep 'scheduled checks' "$tmp/agent.log")
	local runs p50 p99
	runs=$(echo "$line" | sed 's/.*ran \([0-9]*\) scheduled.*/\1/')
	p50=$(echo "$line" | sed 's/.*p50 \([0-9.]*\) ms.*/\1/')
	p99=$(echo "$line" | sed 's/.*p99 \([0-9.]*\) ms.*/\1/')
	# start: the whole run's CPU (time(1) counts the roles and workers
	# too) less what its checks cost in the steady state
	local cpu; cpu=$(cpu_of "$tmp/time")
	local st=$(( (${cpu%.*} - W_PER * ${runs:-0}) / 1000 ))
	row "$n" "$label" "$got" "$(( n * slots ))" "$W_PER" $W_US "$W_NG" "$W_PSS" "$p50" "$p99" "$(( st > 0 ? st : 0 ))"
	echo "$n $label $W_PER $W_PSS $W_US" >> "$tmp/summary"
}

run_monit() {  # N
	local n=$1 rc="$tmp/monitrc"
	{ echo "set daemon 1"; echo "set logfile $tmp/monit.log"; echo "set idfile $tmp/monit.id"
	  echo "set statefile $tmp/monit.state"; echo "set pidfile $tmp/monit.pid"
	  for i in $(seq "$n"); do
		echo "check host h$i with address 127.0.0.1"
		echo "  if failed port $port protocol http request \"/m$i\" with timeout 5 seconds then alert"
	  done; } > "$rc"
	chmod 600 "$rc"; reset_log
	/usr/bin/time -f "%U %S" -o "$tmp/time" monit -I -c "$rc" >/dev/null 2>&1 &
	local tp=$!
	sleep 1; local pid; pid=$(pgrep -P "$tp" -x monit | head -1)
	sleep $(( WARM - 1 ))
	window "$pid" Monit $(( DURATION - WARM ))
	kill -TERM "$pid"; wait "$tp"
	local got; got=$(served "Monit")
	row "$n" "monit 5.33" "$got" "$(( n * DURATION ))" "$W_PER" $W_US "$W_NG" "$W_PSS" "-" "-" "-"
	echo "$n monit $W_PER $W_PSS $W_US" >> "$tmp/summary"
}

run_floor() {  # N BINARY LABEL KEY
	local n=$1 bin=$2 label=$3 key=$4; reset_log
	/usr/bin/time -f "%U %S" -o "$tmp/time" "$tmp/$bin" "$n" "$DURATION" "$URL/" > "$tmp/floor.out" &
	local tp=$!
	sleep 0.5; local pid; pid=$(pgrep -P "$tp" | head -1)
	sleep "$(awk -v w="$WARM" 'BEGIN { print w - 0.5 }')"
	window "$pid" curlfloor $(( DURATION - WARM - 3 ))   # it stops on its own at DURATION
	wait "$tp"
	local got; got=$(served "curlfloor")
	read -r done50 p50 p99 < "$tmp/floor.out"
	row "$n" "$label" "$got" "$(( n * DURATION ))" "$W_PER" $W_US "$W_NG" "$W_PSS" "$p50" "$p99" "-"
	echo "$n $key $W_PER $W_PSS $W_US" >> "$tmp/summary"
}

echo "# drishti $("$D" version | cut -d' ' -f2), $(nproc) cores, ${DURATION}s per run, fresh connection per check"
row "N" "agent" "completed" "expected" "CPU us/check" "user" "sys" "nginx us" "PSS KiB" "late p50ms" "p99ms" "start ms"
for n in $NS; do
	# a rule file holds at most 1000 checks: N = 3000 is three files,
	# three workers
	rm -rf "$tmp/rules"; mkdir -p "$tmp/rules"
	for f in $(seq 0 $(( (n - 1) / 1000 ))); do
		lo=$(( f * 1000 + 1 )); hi=$(( (f + 1) * 1000 )); [ $hi -gt "$n" ] && hi=$n
		{ echo "for i = $lo, $hi do"
		  echo '  check("b" .. i) { every = "1s", run = function()'
		  echo '    local r = http.get(vars.url .. "/")'
		  echo '    if r.status ~= 200 then return crit("HTTP %d %s", r.status, r.error or "") end'
		  echo '    return ok("up") end }'
		  echo 'end'; } > "$tmp/rules/bench$f.lua"
	done
	# REPEAT rounds, the agents in turn: the VM's speed drifts by tens of
	# percent over minutes, so neighbours in time are compared, and the
	# ratios below are of medians
	for _ in $(seq "$REPEAT"); do
		run_drishti "$n" "$tmp/rules" "drishti"
		run_monit "$n"
		run_floor "$n" curlfloor "floor glibc" floor
		case $floors in *static*) run_floor "$n" curlfloor-static "floor static" sfloor ;; esac
	done
done

# the playbook's daily check: six checks, once a second
mkdir -p "$tmp/backups"; seq 1 1000 | gzip > "$tmp/backups/db.sql.gz"
for i in $(seq 200); do echo "INFO line $i"; done > "$tmp/app.log"
cat > "$tmp/daily.lua" <<'LUA'
local every = "1s"
check "api" { every = every, run = function()
  local r = http.get(vars.url .. "/health") return r.status == 200 and ok("") or crit("") end }
check "site" { every = every, run = function()
  local r = http.get(vars.url .. "/") return r.status == 200 and ok("") or crit("") end }
check "latency" { every = every, run = function()
  local r = http.get(vars.url .. "/health") return r.time < 2 and ok("") or warn("") end }
check "errors" { every = every, run = function()
  local n = log.count(vars.log, "ERROR|FATAL", { last = 100 }) return n < 5 and ok("") or warn("") end }
check "backup" { every = every, run = function()
  local b = fs.newest(vars.backups .. "/*.sql.gz") return b and b.age < 86400 and ok("") or crit("") end }
check "disk" { every = every, run = function()
  return fs.usage("/").pct < 80 and ok("") or warn("") end }
LUA
printf 'log = %s/app.log\nbackups = %s/backups\n' "$tmp" "$tmp" > "$tmp/vars.extra"
run_drishti_daily() {
	mkdir -p "$tmp/d"; rm -f "$tmp/d/"*; cp "$tmp/daily.lua" "$tmp/d/"
	printf '[agent]\nrules = %s/d\nlog = %s/agent.log\nwatch = false\nstate = %s/state.db\n[sandbox]\nread_paths = %s\n[vars]\nurl = %s\n' \
	    "$tmp" "$tmp" "$tmp" "$tmp" "$URL" > "$tmp/d.ini"
	cat "$tmp/vars.extra" >> "$tmp/d.ini"
	: > "$tmp/agent.log"
	/usr/bin/time -f "%U %S" -o "$tmp/time" "$D" run -c "$tmp/d.ini" 2>/dev/null &
	local tp=$!
	for i in $(seq 100); do grep -q started: "$tmp/agent.log" && break; sleep 0.1; done
	local pid; pid=$(pgrep -P "$tp" | head -1)
	# steady state as above: six checks a second over the window
	sleep "$WARM"; local u0; u0=$(cpu_tree "$pid"); local w0; w0=$(date +%s%N)
	sleep "$DURATION"
	local u1; u1=$(cpu_tree "$pid"); local w1; w1=$(date +%s%N)
	kill -TERM "$pid"; wait "$tp"
	local runs; runs=$(grep 'scheduled checks' "$tmp/agent.log" | sed 's/.*ran \([0-9]*\) scheduled.*/\1/')
	local per=$(( (u1 - u0) * 1000000000 / (6 * (w1 - w0)) ))
	local cpu; cpu=$(cpu_of "$tmp/time")
	row "6" "drishti" "$runs" "$(( 6 * (DURATION + WARM) ))" "$per" "-" "-" "-" "-" "-" "-" "$(( (${cpu%.*} - per * ${runs:-0}) / 1000 ))"
	echo "daily drishti $per" >> "$tmp/summary"
}
run_bash_daily() {
	cat > "$tmp/loop.sh" <<SH
t0=\$(date +%s); n=0
while [ \$(( \$(date +%s) - t0 )) -lt $DURATION ]; do
	"$here/daily.sh" "$URL" "$tmp/app.log" "$tmp/backups" >/dev/null; n=\$((n + 1))
	sleep \$(awk -v ns=\$(date +%N) 'BEGIN { printf "%.3f", 1 - ns / 1e9 }')
done
echo \$n > "$tmp/bash.runs"
SH
	/usr/bin/time -f "%U %S" -o "$tmp/time" bash "$tmp/loop.sh"
	local runs; runs=$(cat "$tmp/bash.runs"); local cpu; cpu=$(cpu_of "$tmp/time")
	row "6" "bash script" "$(( runs * 6 ))" "$(( 6 * DURATION ))" "$(( ${cpu%.*} / (runs * 6) ))" "-" "-" "-" "-" "-" "-" "-"
	echo "daily bash $(( ${cpu%.*} / (runs * 6) ))" >> "$tmp/summary"
}
echo "# the playbook's daily check (6 checks) once a second"
run_drishti_daily
run_bash_daily

# the median over the rounds of each agent's figures (field 3 on of the
# summary: CPU, PSS, user, system), one line per N and agent
median_rows() {
	local n k f vals line
	for n in $NS; do for k in drishti monit floor sfloor; do
		line="$n $k"
		for f in 3 4 5 6; do
			vals=$(awk -v n="$n" -v k="$k" -v f="$f" '$1 == n && $2 == k && $f != "-" { print $f }' "$tmp/summary" | sort -n)
			if [ -z "$vals" ]; then
				[ "$f" = 3 ] && continue 2
				line="$line -"; continue
			fi
			line="$line $(echo "$vals" | sed -n "$(( ($(echo "$vals" | wc -l) + 1) / 2 ))p")"
		done
		echo "$line"
	done; done
}
median_rows > "$tmp/medians"
echo "# ratios$([ "$REPEAT" -gt 1 ] && echo " (medians of $REPEAT rounds)")"
for n in $NS; do
	awk -v n="$n" '$1 == n { cpu[$2] = $3; pss[$2] = $4; usr[$2] = $5; sys[$2] = $6 }
	    function r(a, b) { return b > 0 ? sprintf("%.2f", a / b) : "-" }
	    END { printf "N=%s: drishti CPU/check = %s x Monit, %s x glibc floor, %s x static floor; ", n,
	              r(cpu["drishti"], cpu["monit"]), r(cpu["drishti"], cpu["floor"]), r(cpu["drishti"], cpu["sfloor"]);
	          printf "PSS = %s x Monit, %s x glibc floor, %s x static floor\n",
	              r(pss["drishti"], pss["monit"]), r(pss["drishti"], pss["floor"]), r(pss["drishti"], pss["sfloor"])
	          # Monit is not a curl client: set against what libcurl alone
	          # costs on each side of the system-call line
	          k = ("sfloor" in cpu) ? "sfloor" : "floor"
	          printf "N=%s: Monit CPU/check = %s x the %s floor (user %s vs %s, system %s vs %s us)\n", n,
	              r(cpu["monit"], cpu[k]), k == "sfloor" ? "static" : "glibc", usr["monit"], usr[k], sys["monit"], sys[k] }' "$tmp/medians"
	# drishti against Monit round by round: each pair ran a minute apart
	[ "$REPEAT" -gt 1 ] && awk -v n="$n" '$1 == n && $2 == "drishti" { d[++i] = $3 }
	    $1 == n && $2 == "monit" { m[++j] = $3 }
	    END { printf "N=%s: drishti / Monit by round:", n
	          for (x = 1; x <= i && x <= j; x++) printf " %s", (m[x] > 0 ? sprintf("%.2f", d[x] / m[x]) : "-")
	          print "" }' "$tmp/summary"
done
awk '$1 == "daily" { c[$2] = $3 } END { if (c["drishti"] > 0) printf "daily check: bash CPU/check = %.0f x drishti\n", c["bash"] / c["drishti"] }' "$tmp/summary"
