# Rule workers: a pattern bomb that no hook can stop and a worker killed by
# SIGSEGV and SIGABRT, beside a healthy file whose 1 s check keeps running;
# the bomb's file is quarantined after 3 kills in a row.
. "$TESTDIR/lib.sh"
plan 16
mkdir -p rules
cat > rules/healthy.lua <<'LUA'
local n = 0
check "ok.tick" { every = "1s", run = function() n = n + 1 return ok("tick %d", n) end }
LUA
cat > rules/bomb.lua <<'LUA'
check "bomb" { every = "1s", run = function()
  -- backtracking inside string.find: the count hook never fires in there
  local s = ("a"):rep(2e5)
  return ok("%s", tostring(s:find(".-b")))
end }
LUA
cat > rules/crashy.lua <<'LUA'
check "crashy" { every = "1s", run = function() return ok("alive") end }
LUA
cat > c.ini <<INI
[agent]
rules = rules
log = $PWD/agent.log
log_level = debug
watch = false
[sandbox]
timeout = 2s
; the hard deadline is what this script tests: no CPU budget (t_faults has it)
cpu = 0s
INI
# under ASan the signals this script sends are the test, not a bug: let
# them take the worker as they would the static build
[ "${SAN:-}" = 1 ] && export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}handle_segv=0:handle_abort=0"
"$D" run -c c.ini 2>run.err &
pid=$!
wait_for 20 grep -q 'started:' agent.log && ok "daemon started" || not_ok "daemon did not start"
# the bomb's worker is killed past its hard deadline, three times, then set aside
wait_for 40 grep -q 'bomb.lua: quarantined' agent.log && ok "bomb file quarantined after 3 kills" \
    || not_ok "bomb file not quarantined"
expect_in "bomb run reported as sandbox: killed" "$(cat agent.log)" 'check "bomb": - -> UNKNOWN: sandbox: killed$'
expect_eq "killed exactly 3 times" "$(grep -c 'worker killed past a run.s hard deadline' agent.log)" "3"

# the pid of the worker of a file, from the process table
worker_of() {
	for p in $(pgrep -x drishti-worker); do
		# under qemu-user (the cross tests) the interpreter comes first
		case "$(tr '\0' ' ' < /proc/$p/cmdline 2>/dev/null)" in
		# (the file's path is absolute: the config's directory is prepended)
		"drishti __worker $1 "|*" drishti __worker $1 "|*"__worker /"*"/$1 ") echo "$p" ;;
		esac
	done
}
new_worker() { w=$(worker_of rules/crashy.lua); [ -n "$w" ] && [ "$w" != "$1" ]; }

# crash the crashy worker with real signals; it is restarted each time
for sig in SEGV ABRT; do
	wpid=$(worker_of rules/crashy.lua)
	[ -n "$wpid" ] && kill -"$sig" "$wpid"
	want="worker died of $sig"
	wait_for 10 grep -qE "crashy.lua: $want" agent.log && ok "worker death by SIG$sig seen" \
	    || not_ok "worker death by SIG$sig not seen"
	wait_for 10 new_worker "$wpid" && ok "crashy worker restarted after SIG$sig" \
	    || not_ok "crashy worker not restarted after SIG$sig"
done
sleep 2
expect_in "crashy runs again after the crashes" "$(tail -n 30 agent.log)" 'check "crashy"'

# meanwhile the healthy 1 s check kept its schedule: count its runs
ticks=$(grep -c 'check "ok.tick"' agent.log)
started=$(sed -n 's/^\([^ ]*\) info: started.*/\1/p' agent.log | head -1)
now=$(date +%s); t0=$(date -d "$started" +%s)
span=$(( now - t0 ))
[ "$ticks" -ge $(( span * 8 / 10 - 1 )) ] && ok "healthy check ran $ticks times in ${span}s" \
    || not_ok "healthy check ran only $ticks times in ${span}s"
expect_not_in "healthy check never skipped" "$(cat agent.log)" 'ok.tick.*skipped'

kill -TERM "$pid"
wait "$pid"; rc=$?
expect_eq "SIGTERM: exit 0" "$rc" "0"
expect_eq "no worker left behind" "$(worker_of rules/healthy.lua)$(worker_of rules/crashy.lua)" ""

# started as root with [agent] user: the worker runs as that user, with
# no_new_privs; the supervisor stays as started
if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1; then
	chmod 755 "$PWD"; chmod 644 rules/healthy.lua
	mkdir -p only; cp rules/healthy.lua only/
	chmod 755 only; chmod 644 only/healthy.lua
	cat > u.ini <<INI
[agent]
rules = only
user = nobody
log = $PWD/user.log
watch = false
INI
	"$D" run -c u.ini 2>/dev/null &
	upid=$!
	wait_for 20 grep -q 'check "ok.tick": - -> OK' user.log && ok "checks run in a worker as nobody" \
	    || not_ok "no check ran as nobody"
	wp=$(worker_of only/healthy.lua)
	expect_eq "worker uid is nobody's" "$(awk '/^Uid:/ {print $2}' /proc/$wp/status 2>/dev/null)" "$(id -u nobody)"
	expect_eq "worker has no_new_privs" "$(awk '/^NoNewPrivs:/ {print $2}' /proc/$wp/status 2>/dev/null)" "1"
	kill -TERM $upid; wait $upid
else
	ok "# skip: privilege drop needs root and a nobody user"
fi
