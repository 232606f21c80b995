# One outage, one page (issue 13): the shipped daily rules against an app
# on 127.0.0.1 that is stopped and started again, with a real webhook
# receiver counting what is delivered; dependencies (blocked checks in
# status, a cycle refused by lint); routing (min_severity = crit lets CRIT
# only, unknown = drop); event kinds (escalation, deescalation, change);
# silences (added while failing, expiring while still failing: one alert;
# a check that recovered inside one: nothing; their own events); and a
# maintenance window over a failure: nothing delivered inside it.
. "$TESTDIR/lib.sh"
plan 35
pids=
trap 'for p in $pids $apid; do kill $p 2>/dev/null; done; true' EXIT

# ---- the app: /health and / answer 200 on a fixed port while it runs --------
aport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat > app.py <<'PY'
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass
    def do_GET(self):
        self.send_response(200); self.send_header("Content-Length", "3"); self.end_headers()
        self.wfile.write(b"ok\n")
ThreadingHTTPServer.allow_reuse_address = True
ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
PY
start_app() {
	python3 "$SCRATCH/app.py" "$aport" & apid=$!
	wait_for 20 curl -sf "http://127.0.0.1:$aport/health"
}
start_app

# ---- the outage ----------------------------------------------------------------
mkdir -p out && cd out
start_receiver; pids="$pids $rpid"
mkdir -p rules && cp "$TESTDIR/../rules/daily.lua" rules/
cat > c.ini <<INI
[agent]
rules = rules
state = state.db
log = agent.log
log_level = debug
watch = false
[sandbox]
read_paths = $SCRATCH/logs
[output]
textfile = $SCRATCH/out/drishti.prom
[vars]
api_url = http://127.0.0.1:$aport
site_url = http://127.0.0.1:$aport/
api_every = 1s
site_every = 1s
latency_every = 1s
[reporter "hook"]
type = webhook
url = http://127.0.0.1:$port/hook
secret_file = secret
INI
"$D" run -c c.ini 2>run.err & pids="$pids $!"; agent=$!
up3() { for c in daily.api daily.website daily.api_latency; do grep -q "check \"$c\": - -> OK" agent.log || return 1; done; }
wait_for 60 up3 || not_ok "the daily checks did not come up: $(tail -3 agent.log)"
kill $apid; wait $apid 2>/dev/null; apid=
wait_for 60 grep -q '"kind": "alert"' got.log
# the dependents fail on every run meanwhile: give them time to page if they would
n0=$(grep -c 'check "daily.website"' agent.log)
wait_for 60 sh -c "[ \$(grep -c 'check \"daily.website\"' agent.log) -ge $((n0 + 5)) ]"
before=$(grep -o '"kind": "[a-z]*", "check": "[a-z_.]*"' got.log | sort | uniq -c | tr -s ' ' | tr '\n' ';')
echo "# delivered during the outage: $before"
expect_eq "the app stops: exactly one alert goes out" "$(grep -c '"kind": "alert"' got.log)" "1"
expect_in "and it is daily.api's" "$(grep '"kind": "alert"' got.log)" '"check": "daily.api"'
OUT=$("$D" status -c c.ini 2>&1)
expect_in "status shows the website blocked by daily.api" "$OUT" '^daily\.website .*\[blocked by daily\.api\]'
expect_in "status shows the latency check blocked by daily.api" "$OUT" '^daily\.api_latency .*\[blocked by daily\.api\]'
wait_for 10 grep -q 'drishti_check_blocked{check="daily.website",by="daily.api"} 1' drishti.prom &&
    ok "the textfile shows the website blocked by daily.api" ||
    not_ok "textfile: $(grep drishti_check_blocked drishti.prom)"
expect_in "history keeps the dependents' real results" \
    "$(sqlite3 state.db "SELECT count(*) FROM runs WHERE check_name = 'daily.website' AND status = 2")" '^[1-9]'
start_app
wait_for 60 grep -q '"kind": "resolve"' got.log
n0=$(grep -c 'check "daily.website"' agent.log)
wait_for 60 sh -c "[ \$(grep -c 'check \"daily.website\"' agent.log) -ge $((n0 + 4)) ]"
after=$(grep -o '"kind": "[a-z]*", "check": "[a-z_.]*"' got.log | sort | uniq -c | tr -s ' ' | tr '\n' ';')
echo "# delivered in all: $after"
expect_eq "it restarts: exactly one resolve" "$(grep -c '"kind": "resolve"' got.log)" "1"
expect_eq "two events in all, alert and resolve of daily.api" \
    "$(grep -c '"kind"' got.log)/$(grep -c '"check": "daily.api"' got.log)" "2/2"
kill -TERM $agent; wait $agent 2>/dev/null
cd ..

# ---- dependencies: lint -----------------------------------------------------------
mkdir -p cyc
cat > cyc/c.lua <<'LUA'
check "c.a" { every = "1m", depends = "c.b", run = function() return ok("a") end }
check "c.b" { every = "1m", depends = { "c.c" }, run = function() return ok("b") end }
check "c.c" { every = "1m", depends = "c.a", run = function() return ok("c") end }
check "c.d" { every = "1m", depends = "c.nope", run = function() return ok("d") end }
LUA
cat > cyc/self.lua <<'LUA'
check "c.e" { every = "1m", depends = "c.e", run = function() return ok("e") end }
LUA
expect_exit 78 "a dependency cycle is a lint error (78)" -- "$D" lint cyc
expect_in "the cycle is named with FILE:LINE" "$OUT" '^(/.*/)?cyc/c\.lua:[0-9]+: check "c\.[abc]": depends: cycle c\.[abc] -> c\.[abc] -> c\.[abc] -> c\.[abc]$'
expect_in "an unknown name is named with FILE:LINE" "$OUT" 'cyc/c\.lua:4: check "c\.d": depends: no check "c\.nope"'
expect_in "a check cannot depend on itself" "$OUT" 'cyc/self\.lua:1: check "c\.e": depends: a check cannot depend on itself'

# ---- routing and kinds ------------------------------------------------------------
mkdir -p rt && cd rt
for r in all crit nounk; do
	mkdir -p $r; (cd $r && start_receiver && echo "$port" > ../$r.port && echo "$rpid" > ../$r.pid)
	pids="$pids $(cat $r.pid)"
done
mkdir -p rules
cat > rules/r.lua <<LUA
local function st(name) local f = fs.stat("$SCRATCH/rt/flags/" .. name) return f and f.size or 0 end
check "r.warn" { every = "1s", run = function() return warn("just a warning") end }
check "r.unk" { every = "1s", run = function() return unknown("cannot tell") end }
-- its status follows the size of the file ./level: 1 WARN, 2 CRIT, 3 UNKNOWN
check "r.moving" { every = "1s", run = function()
  local n = st("level")
  if n == 1 then return warn("level 1") elseif n == 2 then return crit("level 2")
  elseif n == 3 then return unknown("level 3") end
  return ok("level 0") end }
LUA
mkdir -p flags
printf x > flags/level
cat > c.ini <<INI
[agent]
rules = rules
state = state.db
log = agent.log
watch = false
[sandbox]
read_paths = $SCRATCH/rt/flags
[reporter "all"]
type = webhook
url = http://127.0.0.1:$(cat all.port)/
secret_file = all/secret
[reporter "crit"]
type = webhook
url = http://127.0.0.1:$(cat crit.port)/
secret_file = crit/secret
min_severity = crit
[reporter "nounk"]
type = webhook
url = http://127.0.0.1:$(cat nounk.port)/
secret_file = nounk/secret
unknown = drop
INI
"$D" run -c c.ini 2>run.err & pids="$pids $!"; agent=$!
wait_for 60 sh -c 'grep -q "\"check\": \"r.warn\"" all/got.log && grep -q "\"check\": \"r.unk\"" all/got.log'
printf xx > flags/level      # WARN -> CRIT
wait_for 30 grep -q '"kind": "escalation"' all/got.log
printf x > flags/level       # CRIT -> WARN
wait_for 30 grep -q '"kind": "deescalation"' all/got.log
printf xxx > flags/level     # WARN -> UNKNOWN
wait_for 30 grep -q '"kind": "change"' all/got.log
printf xx > flags/level      # UNKNOWN -> CRIT
wait_for 30 sh -c '[ $(grep -c "\"kind\": \"change\"" all/got.log) -ge 2 ]'
: > flags/level
wait_for 30 grep -q '"kind": "resolve", "check": "r.moving"' all/got.log
sleep 1    # the other reporters are sent the same events in their own time
wait_for 20 grep -q '"check": "r.moving", "status": "crit"' crit/got.log
expect_in "min_severity = crit: no WARN alert reaches it" "$(grep -c '"check": "r.warn"' crit/got.log)" '^0$'
expect_in "min_severity = crit: UNKNOWN goes by its own switch (unknown = send)" \
    "$(grep -c '"check": "r.unk"' crit/got.log)" '^1$'
expect_eq "min_severity = crit: CRIT gets through" \
    "$(grep '"check": "r.moving"' crit/got.log | grep -c '"status": "crit"')" "2"
expect_eq "unknown = drop: no UNKNOWN alert" "$(grep -c '"check": "r.unk"' nounk/got.log)" "0"
expect_in "unknown = drop: WARN still arrives" "$(grep '"check": "r.warn"' nounk/got.log)" '"kind": "alert"'
kinds=$(grep '"check": "r.moving"' all/got.log | grep -o '"kind": "[a-z]*"' | cut -d'"' -f4 | tr '\n' ' ')
expect_eq "kinds: WARN->CRIT escalation, CRIT->WARN deescalation, to and from UNKNOWN change" \
    "$kinds" "alert escalation deescalation change change resolve "
kill -TERM $agent; wait $agent 2>/dev/null
cd ..

# ---- silences --------------------------------------------------------------------------
mkdir -p sil && cd sil
start_receiver; pids="$pids $rpid"
mkdir -p rules
cat > rules/s.lua <<LUA
local function bad(n) return fs.stat("$SCRATCH/sil/flags/" .. n) ~= nil end
check "s.one" { every = "1s", run = function() return bad("one") and crit("one down") or ok("one up") end }
check "s.two" { every = "1s", run = function() return bad("two") and crit("two down") or ok("two up") end }
LUA
cat > c.ini <<INI
[agent]
rules = rules
state = state.db
log = agent.log
watch = false
[sandbox]
read_paths = $SCRATCH/sil/flags
[reporter "hook"]
type = webhook
url = http://127.0.0.1:$port/hook
secret_file = secret
events = alert, resolve, silence
INI
"$D" run -c c.ini 2>run.err & pids="$pids $!"; agent=$!
wait_for 30 grep -q 'check "s.two": - -> OK' agent.log
OUT=$("$D" silence add -c c.ini 's.*' 6s --reason deploy 2>&1)
expect_in "silence add prints its id and end" "$OUT" '^silence #1 on s\.\* until '
wait_for 10 grep -q '"kind": "silence"' got.log && ok "the add is an event of kind silence" || not_ok "no silence event"
mkdir -p flags; (cd flags && touch one two)   # both fail inside the silence
wait_for 20 grep -q 'alert "s.two": alert CRIT.*not sent' agent.log
rm flags/two               # s.two recovers inside it
wait_for 20 grep -q 'alert "s.two": resolved' agent.log
OUT=$("$D" status -c c.ini 2>&1)
expect_in "status shows the silenced alert with the silence and its end" "$OUT" \
    '^s\.one +firing .*\[silenced: silence #1 until .* \(deploy\)\]'
expect_in "status lists the silence in force" "$OUT" '^silence #1: s\.\* until .* \(deploy\)'
expect_eq "nothing is delivered inside the silence" "$(grep -c '"kind": "alert"' got.log)" "0"
wait_for 30 grep -q '"kind": "alert", "check": "s.one"' got.log
sleep 2
expect_eq "the silence ends, s.one still fails: one alert" "$(grep -c '"check": "s.one"' got.log)" "1"
expect_eq "s.two recovered inside it: nothing" "$(grep -c '"check": "s.two"' got.log)" "0"
expect_eq "its end is an event too" "$(grep -c '"kind": "silence"' got.log)" "2"
"$D" silence add -c c.ini 's.one' 1h >/dev/null 2>&1
OUT=$("$D" silence list -c c.ini 2>&1)
expect_in "silence list shows the one in force" "$OUT" '^2 +s\.one +active '
expect_exit 0 "silence rm ends it" -- "$D" silence rm -c c.ini 2
expect_exit 1 "silence rm of one not in force says so" -- "$D" silence rm -c c.ini 2
kill -TERM $agent; wait $agent 2>/dev/null
cd ..

# ---- a maintenance window over a failure ---------------------------------------------------
mkdir -p mw && cd mw
start_receiver; pids="$pids $rpid"
mkdir -p rules
cat > rules/m.lua <<'LUA'
check "m.down" { every = "1s", run = function() return crit("down for maintenance") end }
check "x.down" { every = "1s", run = function() return crit("not in the window") end }
LUA
cat > c.ini <<INI
[agent]
rules = rules
state = state.db
log = agent.log
watch = false
[maintenance "always"]
cron = * * * * *
duration = 2h
checks = m.*, team=none
[reporter "hook"]
type = webhook
url = http://127.0.0.1:$port/hook
secret_file = secret
INI
"$D" run -c c.ini 2>run.err & pids="$pids $!"; agent=$!
wait_for 30 grep -q '"check": "x.down"' got.log
wait_for 20 grep -q 'alert "m.down": alert CRIT.*not sent: maintenance "always"' agent.log
sleep 2
expect_eq "a maintenance window over a failure: nothing delivered inside it" \
    "$(grep -c '"check": "m.down"' got.log)" "0"
OUT=$("$D" status -c c.ini 2>&1)
expect_in "status shows the window open" "$OUT" '^maintenance "always" \(m\.\*, team=none\): open until '
expect_in "help config documents [maintenance]" "$("$D" help config)" '^; \[maintenance "NAME"\]'
kill -TERM $agent; wait $agent 2>/dev/null

# ---- intervals from [vars]; status shows the next run; a changed schedule
# runs at once on reload, an unchanged one keeps its place ----------------------------
mkdir -p sc && cd sc
mkdir -p rules
cat > rules/k.lua <<'LUA'
check "k.var" { every = vars.k_every or "1h", run = function() return ok("var") end }
check "k.fixed" { every = "1h", run = function() return ok("fixed") end }
LUA
printf '[agent]\nrules = rules\nstate = state.db\nlog = agent.log\nlog_level = debug\nwatch = false\n[vars]\nk_every = 1h\n' > c.ini
"$D" run -c c.ini 2>run.err & pids="$pids $!"; agent=$!
wait_for 30 sh -c 'grep -q "check \"k.var\": - -> OK" agent.log && grep -q "check \"k.fixed\": - -> OK" agent.log'
OUT=$("$D" status -c c.ini 2>&1)
expect_in "status shows each check's next run" "$OUT" '^k\.fixed +ok +OK .* in (59|60)m +fixed'
sed -i 's/^k_every = 1h/k_every = 2h/' c.ini
kill -HUP $agent
wait_for 30 grep -q 'reloaded' agent.log
wait_for 30 sh -c '[ $(grep -c "check \"k.var\"" agent.log) -ge 2 ]'
sleep 1
expect_eq "on reload the check whose every changed ran at once" "$(grep -c 'check "k.var"' agent.log)" "2"
expect_eq "and the unchanged one kept its place" "$(grep -c 'check "k.fixed"' agent.log)" "1"
kill -TERM $agent; wait $agent 2>/dev/null
