# Rule workers: a pattern bomb that no hook can stop and a worker killed by
# SIGSEGV and SIGABRT, beside a healthy file whose 1 s check keeps running;
# the bomb's file is quarantined after 3 kills in a row.
. "$TESTDIR/lib.sh"
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
INI
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
		[ "$(tr '\0' ' ' < /proc/$p/cmdline 2>/dev/null)" = "drishti __worker $1 " ] && echo "$p"
	done
}
new_worker() { w=$(worker_of rules/crashy.lua); [ -n "$w" ] && [ "$w" != "$1" ]; }

# crash the crashy worker with real signals; it is restarted each time
for sig in SEGV ABRT; do
	wpid=$(worker_of rules/crashy.lua)
	[ -n "$wpid" ] && kill -"$sig" "$wpid"
	# under ASan the sanitizer catches the signal and exits 1 instead
	want="worker died of $sig"
	[ "${SAN:-}" = 1 ] && want="worker (died of $sig|exited with status 1)"
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
