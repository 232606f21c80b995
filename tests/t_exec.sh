# exec() and nagios(): only allow-listed commands run (the path and what it
# resolves to), without a shell; exit code, output (capped), time; a command
# past its timeout is killed with its children; the Nagios plugin
# convention (exit code -> verdict, perfdata -> metrics); exec off by default.
. "$TESTDIR/lib.sh"
plan 22
trap '[ -n "${pid:-}" ] && kill -9 $pid 2>/dev/null' EXIT
mkdir -p plugins other rules
cat > plugins/check_disk <<'EOF'
#!/bin/sh
echo "DISK OK - free space: / 3326 MB (56%) | /=2643MB;3000;4000;0;5000 '/var log'=120MB;;;0 'inode use'=12%;80;90 time=0.5s"
echo "a second line of detail"
exit 0
EOF
cat > plugins/check_procs <<'EOF'
#!/bin/sh
echo "PROCS CRITICAL: $# args: $*"
exit 2
EOF
cat > plugins/check_warn <<'EOF'
#!/bin/sh
echo "LOAD WARNING - load average: 3.1"
exit 1
EOF
cat > plugins/check_odd <<'EOF'
#!/bin/sh
exit 7
EOF
cat > plugins/check_slow <<'EOF'
#!/bin/sh
# a child of its own, to be found by its odd argument (the sandbox lets a
# plugin write nothing, so it cannot leave a pid file)
sleep 299.5 &
wait
EOF
cat > plugins/check_big <<'EOF'
#!/bin/sh
yes x | head -c 1000000
echo to-stderr >&2
exit 1
EOF
cat > plugins/check_env <<'EOF'
#!/bin/sh
echo "env: $(env | sort | tr '\n' ' ')"
EOF
cat > other/check_evil <<'EOF'
#!/bin/sh
echo pwned
EOF
chmod +x plugins/* other/*
ln -s /bin/sh plugins/check_sh
ln -s "$PWD/other/check_evil" plugins/check_link
cat > rules/x.lua <<'LUA'
local P = vars.p
check "x.disk" { every = "1m", run = function() return nagios(P .. "/check_disk") end }
check "x.procs" { every = "1m", run = function() return nagios(P .. "/check_procs", "-w", 5, "a b") end }
check "x.warn" { every = "1m", run = function() return nagios(P .. "/check_warn") end }
check "x.odd" { every = "1m", run = function() return nagios(P .. "/check_odd") end }
check "x.slow" { every = "1m", run = function()
  local r = exec(P .. "/check_slow", { timeout = "1s" })
  return ok("code=%s error=%s time=%.1f", tostring(r.code), tostring(r.error), r.time)
end }
check "x.big" { every = "1m", run = function()
  local r = exec(P .. "/check_big")
  return ok("code=%d len=%d truncated=%s stderr=%s", r.code, #r.stdout, tostring(r.truncated),
    tostring(r.stdout:find("to-stderr", 1, true) ~= nil))
end }
check "x.env" { every = "1m", run = function() return ok("%s", exec(P .. "/check_env").stdout) end }
local function refused(...)
  local okk, err = pcall(exec, ...)
  return ok("%s", okk and "ran" or err)
end
check "x.sh" { every = "1m", run = function() return refused(P .. "/check_sh", "-c", "id") end }
check "x.link" { every = "1m", run = function() return refused(P .. "/check_link") end }
check "x.outside" { every = "1m", run = function() return refused(vars.o .. "/check_evil") end }
check "x.dotdot" { every = "1m", run = function() return refused(P .. "/../other/check_evil") end }
check "x.relative" { every = "1m", run = function() return refused("plugins/check_disk") end }
check "x.table_arg" { every = "1m", run = function() return refused(P .. "/check_disk", {}, "x") end }
check "x.many" { every = "1m", run = function()
  local t = {}
  for i = 1, 10 do t[i] = exec(P .. "/check_disk").code end
  return ok("%s", table.concat(t, ","))
end }
LUA
cat > c.ini <<INI
[agent]
rules = rules
state = $PWD/state.db
log = $PWD/agent.log
watch = false
[sandbox]
exec = $PWD/plugins/*
[vars]
p = $PWD/plugins
o = $PWD/other
INI
expect_exit 3 "once with plugins (one UNKNOWN)" -- "$D" once -c c.ini --json
echo "$OUT" > once.json
j() { python3 -c 'import json,sys; d={j["check"]: j for j in map(json.loads, open("once.json"))}; print(eval(sys.argv[1]))' "$1"; }
expect_eq "nagios: exit 0 is OK, the summary is the first line before |" "$(j 'd["x.disk"]["status"] + " " + d["x.disk"]["summary"]')" "ok DISK OK - free space: / 3326 MB (56%)"
expect_eq "nagios: perfdata become metrics ('/' is root; quoted labels; units)" \
    "$(j '" ".join("%s=%g%s" % (k, v["value"], v["unit"]) for k, v in sorted(d["x.disk"]["metrics"].items()))')" \
    "inode_use=12% root=2643MB time=0.5s var_log=120MB"
expect_eq "nagios: exit 2 is CRIT; arguments reach the plugin as given, no shell" "$(j 'd["x.procs"]["status"] + " " + d["x.procs"]["summary"]')" "crit PROCS CRITICAL: 3 args: -w 5 a b"
expect_eq "nagios: exit 1 is WARN" "$(j 'd["x.warn"]["status"]')" "warn"
expect_eq "nagios: any other exit is UNKNOWN" "$(j 'd["x.odd"]["status"] + " " + d["x.odd"]["summary"]')" "unknown plugin exited 7"
expect_in "a command past its timeout is killed" "$(j 'd["x.slow"]["summary"]')" '^code=nil error=timeout time=1\.[0-9]$'
no_sleeper() { ! pgrep -f 'sleep 299.5' >/dev/null; }
wait_for 10 no_sleeper && ok "... with the children it started" || not_ok "the plugin's child lives on: $(pgrep -af 'sleep 299.5')"
expect_eq "output is capped at 64 KiB, stderr comes with stdout" "$(j 'd["x.big"]["summary"]')" "code=1 len=65536 truncated=true stderr=false"
expect_in "the environment is PATH and LANG only (no secret, no HOME)" "$(j 'd["x.env"]["summary"]')" '^env: LANG=C PATH=[^ ]+ (PWD=[^ ]+ )?$'
expect_in "a symlink in the plugin directory to /bin/sh is refused" "$(j 'd["x.sh"]["summary"]')" 'check_sh -> /usr/bin/dash is not in \[sandbox\] exec|check_sh -> /bin/dash is not in \[sandbox\] exec'
expect_in "a symlink to a script outside is refused" "$(j 'd["x.link"]["summary"]')" 'check_link -> .*/other/check_evil is not in \[sandbox\] exec'
expect_in "a command outside the allow-list is refused" "$(j 'd["x.outside"]["summary"]')" 'other/check_evil is not in \[sandbox\] exec'
expect_in "a path climbing out with .. is refused" "$(j 'd["x.dotdot"]["summary"]')" 'is not in \[sandbox\] exec'
expect_in "a relative path is refused" "$(j 'd["x.relative"]["summary"]')" "give the command's absolute path"
expect_in "only strings and numbers are arguments" "$(j 'd["x.table_arg"]["summary"]')" 'arguments are strings or numbers'
expect_eq "ten runs in a row" "$(j 'd["x.many"]["summary"]')" "0,0,0,0,0,0,0,0,0,0"
[ ! -e pwned ] && ok "nothing outside the allow-list ran" || not_ok "it ran"

# exec is off unless [sandbox] exec names something
sed '/^exec = /d' c.ini > off.ini
OUT=$("$D" once -c off.ini x.disk x.relative 2>&1)
expect_in "with no [sandbox] exec, exec is off and says how to turn it on" "$(summary_of x.disk)" 'exec is off: allow commands with \[sandbox\] exec'

# in the daemon: plugin metrics land in history; a killed worker takes its plugin along
cat > rules/y.lua <<'LUA'
check "y.stuck" { every = "5s", timeout = "2s", run = function()
  -- asked for 60 s, the command gets what is left of the run's 2 s
  local r = exec(vars.p .. "/check_slow", { timeout = "60s" })
  return unknown("plugin %s after %.0f s", tostring(r.error), r.time)
end }
LUA
"$D" run -c c.ini >run.out 2>>run.err & pid=$!
got_timeout() { grep -q 'check "y.stuck": - -> UNKNOWN: plugin timeout after 2 s' agent.log; }
wait_for 30 got_timeout && ok "a plugin's timeout is bounded by its run's" || not_ok "no timeout: $(grep y.stuck agent.log | tail -2)"
wait_for 10 no_sleeper && ok "... and the plugin is killed with its children" || not_ok "the plugin outlived its run"
has_metric() { [ "$(sqlite3 state.db "SELECT count(*) FROM samples WHERE metric = 'inode_use'")" -ge 1 ]; }
wait_for 30 has_metric && ok "plugin perfdata are stored as history" || not_ok "no perfdata in history"
kill -TERM $pid; wait $pid; pid=
