# drishti run as a daemon: SIGHUP with a good and with a broken config, a
# rule file saved broken and then fixed (inotify), SIGTERM with a check in
# flight, and systemd's notify protocol spoken to a real datagram socket.
. "$TESTDIR/lib.sh"
plan 23
. "$TESTDIR/certs.sh"
trap 'stop_all; [ -n "${pid:-}" ] && kill -9 $pid 2>/dev/null' EXIT
start_httpd plain
mkdir -p rules
cat > rules/a.lua <<'LUA'
check "a.tick" { every = "1s", run = function() return ok("a") end }
LUA
write_config() {
	cat > c.ini <<INI
[agent]
rules = rules
log = $PWD/agent.log
log_level = debug
[vars]
url = http://127.0.0.1:$PORT_plain
$1
INI
}
write_config ""
python3 "$TESTDIR/notify_listen.py" "$PWD/notify.sock" notify.out &
echo $! >> pids
wait_for 10 grep -q LISTENING notify.out || not_ok "notify listener did not start"

NOTIFY_SOCKET=$PWD/notify.sock WATCHDOG_USEC=400000 "$D" run -c c.ini 2>run.err &
pid=$!
wait_for 20 grep -q 'started:' agent.log && ok "daemon started" || not_ok "daemon did not start"
wait_for 10 grep -q '^READY=1' notify.out && ok "sd_notify READY=1" || not_ok "no READY=1"
wait_for 10 grep -q '^WATCHDOG=1' notify.out && ok "sd_notify WATCHDOG=1 pings" || not_ok "no WATCHDOG=1"
count() { grep -c "check \"$1\"" agent.log; }
ran_more() { [ "$(count "$1")" -gt "$2" ]; }
wait_for 10 ran_more a.tick 1 && ok "a.tick runs" || not_ok "a.tick does not run"

# SIGHUP with a good change: a new file and a new var
cat > rules/b.lua <<'LUA'
check "b.var" { every = "1s", run = function() return ok("b %s", tostring(vars.color)) end }
LUA
write_config "color = blue"
kill -HUP $pid
wait_for 10 grep -q 'reloaded:' agent.log && ok "SIGHUP reloads" || not_ok "SIGHUP did not reload"
wait_for 10 grep -q 'check "b.var": - -> OK: b blue' agent.log && ok "new rule and var after reload" \
    || not_ok "new rule not running after reload"
grep -q '^RELOADING=1' notify.out && ok "sd_notify RELOADING=1" || not_ok "no RELOADING=1"

# SIGHUP with a broken config: the error names file, line and key; all stays
write_config "color = red
[sandbox]
timeout = forever"
kill -HUP $pid
wait_for 10 grep -q 'reload failed' agent.log && ok "broken config refused" || not_ok "broken config not refused"
expect_in "error names file, line, key" "$(cat agent.log)" "reload failed: c.ini:9: \[sandbox\] timeout: bad duration \"forever\""
before=$(count b.var)
wait_for 10 ran_more b.var "$before" && ok "previous set keeps running" || not_ok "checks stopped after a broken reload"
expect_not_in "old vars kept" "$(tail -n 5 agent.log)" 'b red'
write_config "color = blue"

# a rule file saved broken: FILE:LINE logged, the file is the failing check
# rules:a.lua, the other files run on
lines=$(wc -l < agent.log)
cat > rules/a.lua <<'LUA'
check "a.tick" { every = "1s", run = function() return ok("a") end }
check "a.broken" { evrey = "1s", run = function() return ok() end }
LUA
wait_for 10 grep -q 'rules/a.lua:2: check "a.broken": unknown key "evrey"' agent.log \
    && ok "broken save: FILE:LINE logged" || not_ok "broken save not reported"
wait_for 10 sh -c "tail -n +$lines agent.log | grep -q 'check \"rules:a.lua\": .*UNKNOWN'" && ok "broken save: rules:a.lua fails" \
    || not_ok "broken save: no rules:a.lua check"
before=$(count b.var)
wait_for 10 ran_more b.var "$before" && ok "the other files keep running" || not_ok "b.var stopped"
# fixed: reloaded within a second or so
t0=$(date +%s%N)
cat > rules/a.lua <<'LUA'
check "a.tick" { every = "1s", run = function() return ok("a2") end }
LUA
wait_for 10 grep -q 'check "a.tick": OK: a2\|check "a.tick": - -> OK: a2' agent.log && ok "fixed save reloaded" \
    || not_ok "fixed save not reloaded"
t1=$(date +%s%N)
echo "# saved file running after $(( (t1 - t0) / 1000000 )) ms"

# SIGTERM with a check in flight: it finishes, then exit 0
cat > rules/slow.lua <<'LUA'
check "slow" { every = "1m", run = function()
  local r = http.get(vars.url .. "/slow/2")
  return ok("slow finished %d", r.status)
end }
LUA
wait_for 10 grep -q 'reloaded:.*' agent.log
wait_for 10 sh -c "grep -c reloaded: agent.log | grep -q 3" || true
sleep 0.5
kill -TERM $pid
wait $pid; rc=$?
pid=
expect_eq "SIGTERM exits 0" "$rc" "0"
expect_in "in-flight check finished before exit" "$(cat agent.log)" 'check "slow": - -> OK: slow finished 200'
expect_in "stopped logged" "$(tail -n 3 agent.log)" 'info: stopped$'
grep -q '^STOPPING=1' notify.out && ok "sd_notify STOPPING=1" || not_ok "no STOPPING=1"

# a broken config at start: exit 78 with the error
write_config "[bogus]"
expect_exit 78 "broken config at start exits 78" -- "$D" run -c c.ini
expect_in "start error names the line" "$OUT" 'c.ini:7: \[bogus\]: unknown section'
write_config ""
echo 'check "x" {' > rules/zz.lua
# a broken rule file at start: the agent runs the others and the file is
# the failing check rules:zz.lua (lint stays strict)
expect_exit 124 "broken rule at start: the agent runs on" -- timeout 5 "$D" run -c c.ini
expect_in "rule error at start" "$(grep zz.lua agent.log | tail -n 3)" 'rules:zz.lua.*rules/zz.lua:2: unexpected symbol near <eof>' 
