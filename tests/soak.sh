#!/usr/bin/env bash
# soak.sh — `make soak MINUTES=N` (not in CI): the agent, as root with its
# roles as the unprivileged user, runs 500 healthy checks (50 files of 10,
# every 10 s, five of them flapping) beside hostile rule files (a CPU
# burner in C, a memory hog, an endless loop, a crash, a worker that sends
# garbage), delivering to a receiver that fails half its requests, for N
# minutes.  Every 30 s it samples the PSS of every process of the agent, the
# open descriptors of the parent and the two roles, and the state file's
# size (with its WAL).  At the end it prints the samples and checks:
#   - no event is lost: every alert/resolve id in the outbox reached the
#     receiver (which counts unique ids), and it got none the outbox lacks;
#   - PSS, descriptors and the state file are flat after warm-up (the last
#     sample within 20 % + 2 MB / +4 fds / 20 % + 1 MB of the one after the
#     first fifth);
#   - every healthy check is on schedule (each ran within 3 intervals of
#     the end; the agent's own count of skipped runs and p99 lateness).
# Exit 0 when all hold.
set -u
MINUTES=${MINUTES:-30}
D=${DRISHTI:-$(cd "$(dirname "$0")/.." && pwd)/drishti}
here=$(cd "$(dirname "$0")" && pwd)
W=$(mktemp -d /tmp/drishti-soak.XXXXXX); chmod 1777 "$W"; cd "$W"
umask 000
export DRISHTI_TEST_HOOKS=1
cleanup() { [ -n "${pid:-}" ] && kill -9 $pid 2>/dev/null; [ -n "${rpid:-}" ] && kill $rpid 2>/dev/null; }
trap cleanup EXIT

printf 'k3y-%s' "$RANDOM$RANDOM" > secret; chmod 600 secret
echo flap > mode
python3 "$here/receiver.py" port secret got.log mode & rpid=$!
for i in $(seq 100); do [ -s port ] && break; sleep 0.1; done
port=$(cat port)

mkdir -p rules
for f in $(seq -w 1 50); do
	{
	for c in $(seq 0 9); do
		if [ "$f" = 01 ] && [ $c -lt 5 ]; then
			# five flapping checks: an alert and a resolve about every 40 s
			printf 'local n%d = 0\ncheck "h%s.c%d" { every = "10s", run = function()\n' $c "$f" $c
			printf '  n%d = n%d + 1\n  if n%d %% 4 < 2 then return crit("down") end\n  return ok("up")\nend }\n' $c $c $c
		else
			printf 'check "h%s.c%d" { every = "10s", run = function()\n' "$f" $c
			printf '  local t = {} for i = 1, 50 do t[i] = i * %d end\n  return ok("fine %%d", #t)\nend }\n' $c
		fi
	done
	} > rules/healthy_$f.lua
done
cat > rules/x_burner.lua <<'LUA'
check "x.burner" { every = "5s", run = function()
  local s = string.rep("a", 30000) .. "b"
  return ok(tostring(s:find(".-.-.-.-.-.-.-.-c")))
end }
LUA
cat > rules/x_hog.lua <<'LUA'
check "x.hog" { every = "5s", run = function()
  local t = {} for i = 1, 1e8 do t[i] = string.rep("x", 100) .. i end
  return ok("%d", #t)
end }
LUA
cat > rules/x_loop.lua <<'LUA'
check "x.loop" { every = "5s", run = function() while true do end end }
LUA
cat > rules/x_crash.lua <<'LUA'
check "x.crash" { every = "7s", run = function() return ok(tostring(string.rep("y", 1e12))) end }
LUA
printf 'check "hook.wire.garbage" { every = "9s", run = function() return ok("x") end }\n' > rules/x_wire.lua
cat > soak.ini <<INI
[agent]
rules = $W/rules
state = $W/st/state.db
log = $W/agent.log
watch = false
[store]
# raw results kept 5 minutes: past warm-up the file is pruned as it grows
raw = 5m
[output]
textfile = $W/tf/drishti.prom
[sandbox]
timeout = 3s
cpu = 1s
memory = 16M
[reporter "hook"]
type = webhook
url = http://127.0.0.1:$port/hook
secret_file = $W/secret
events = alert, resolve
INI
"$D" run -c soak.ini 2>run.err & pid=$!
for i in $(seq 300); do grep -q 'started:' agent.log 2>/dev/null && break; sleep 0.1; done

agent_pids() {
	local s
	echo $pid
	pgrep -P $pid
	s=$(pgrep -P $pid -f 'drishti __state' | head -1)
	[ -n "$s" ] && pgrep -P $s
}
# PSS: what the agent's processes cost together (RSS counts shared pages
# once per process)
rss_kb() { local t=0 p v; for p in $(agent_pids); do v=$(awk '/^Pss:/ { print $2 }' /proc/$p/smaps_rollup 2>/dev/null); t=$((t + ${v:-0})); done; echo $t; }
fds() { local t=0 p; for p in $pid $(pgrep -P $pid); do t=$((t + $(ls /proc/$p/fd 2>/dev/null | wc -l))); done; echo $t; }
db_kb() { du -sk st 2>/dev/null | cut -f1; }

end=$(( $(date +%s) + MINUTES * 60 ))
printf '%8s %10s %6s %10s %8s\n' "t(s)" "pss(kB)" "fds" "state(kB)" "procs" | tee samples.txt
t0=$(date +%s)
while [ "$(date +%s)" -lt "$end" ]; do
	printf '%8d %10d %6d %10d %8d\n' $(( $(date +%s) - t0 )) "$(rss_kb)" "$(fds)" "$(db_kb)" \
	    "$(agent_pids | wc -l)" | tee -a samples.txt
	sleep 30
done

# drain: the receiver answers 200; the flapping stops; what waits goes out
echo ok > mode
rm rules/healthy_01.lua
kill -HUP $pid
outbox_ids() { sqlite3 "file:$W/st/state.db?mode=ro" "select id from events where kind in ('alert','resolve')" 2>/dev/null | sort; }
got_ids() { python3 -c '
import json
ids = set()
for line in open("got.log"):
    try: d = json.loads(line)
    except ValueError: continue
    if d.get("answer") == 200 and d.get("kind") in ("alert", "resolve"): ids.add(d["id"])
print("\n".join(sorted(ids)))'; }
for i in $(seq 240); do [ "$(outbox_ids)" = "$(got_ids)" ] && break; sleep 0.5; done
status_out=$("$D" status -c soak.ini 2>/dev/null)
kill -TERM $pid; wait $pid; pid=

fail=0
say() { printf '%s\n' "$*"; }
n_out=$(outbox_ids | wc -l); n_got=$(got_ids | wc -l)
missing=$(comm -23 <(outbox_ids) <(got_ids) | wc -l); extra=$(comm -13 <(outbox_ids) <(got_ids) | wc -l)
say "events: $n_out alert/resolve in the outbox, $n_got unique ids received ($(wc -l < got.log) requests), missing $missing, unknown $extra"
[ "$missing" = 0 ] && [ "$extra" = 0 ] && [ "$n_out" -gt 0 ] || fail=1
# flat after warm-up: the sample after the first fifth against the last
n=$(($(wc -l < samples.txt) - 1))
w=$(( n / 5 + 1 )); [ $w -gt $n ] && w=$n
read -r _ r1 f1 d1 _ < <(sed -n "$((w + 1))p" samples.txt)
read -r _ r2 f2 d2 _ < <(tail -1 samples.txt)
say "after warm-up → end: PSS $r1 → $r2 kB, fds $f1 → $f2, state file $d1 → $d2 kB"
[ "$r2" -le $(( r1 * 12 / 10 + 2048 )) ] || { say "PSS grew"; fail=1; }
[ "$f2" -le $(( f1 + 4 )) ] || { say "descriptors grew"; fail=1; }
[ "$d2" -le $(( d1 * 12 / 10 + 1024 )) ] || { say "state file grew"; fail=1; }
late=$(printf '%s\n' "$status_out" | awk '$1 ~ /^h[0-9][0-9]\.c/ && $1 !~ /^h01\./ { n++; a = $6; if (a ~ /s$/ && a + 0 > 30) l++; if (a ~ /m$|h$|d$|^-$/) l++ } END { printf "%d %d", n, l }')
say "healthy checks in status: ${late% *}, last run more than 3 intervals ago: ${late#* }"
[ "${late#* }" = 0 ] && [ "${late% *}" -ge 490 ] || fail=1
grep -E 'ran [0-9]+ scheduled checks' agent.log | tail -1
grep -cE 'the worker sent|sandbox: (killed|cpu limit|memory limit|timeout)' agent.log | sed 's/^/hostile verdicts and kills logged: /'
say "$( [ $fail = 0 ] && echo "soak: PASS" || echo "soak: FAIL" ) ($MINUTES min, $W)"
exit $fail
