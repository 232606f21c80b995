# [output] status_page (issue 14): index.html and status.json for the checks
# a rule marks public, from the state file alone: the state now, 90 daily
# uptime bars (30 days seeded as hourly roll-ups, one of them with an
# outage), open and resolved incidents; no script; the private check never
# appears; a rule that crashes leaves the page standing.  Rendered in
# headless Chromium: a screenshot and the DOM.
. "$TESTDIR/lib.sh"
plan 15
pids=
trap 'for p in $pids; do kill $p 2>/dev/null; done; true' EXIT
mkdir -p rules data
cat > rules/p.lua <<LUA
local function down(n) return fs.stat("$SCRATCH/data/" .. n) ~= nil end
check "web" { every = "1s", public = true, run = function()
  return down("web") and crit("site down") or ok("site up") end }
check "api.health" { every = "1s", public = "Public API", run = function()
  return down("api") and crit("api down") or ok("api up") end }
check "secret.check" { every = "1s", run = function() return crit("internal only") end }
LUA
cat > c.ini <<INI
[agent]
name = shop-1
rules = rules
state = state.db
log = agent.log
watch = false
[sandbox]
read_paths = $SCRATCH/data
[output]
status_page = $SCRATCH/www/status
status_title = Shop status
INI
# thirty days of history before today: up, but for a bad day 3 days ago
"$D" once -c c.ini >/dev/null 2>&1
"$D" run -c c.ini 2>run.err & pids="$pids $!"; agent=$!
wait_for 30 test -s www/status/index.html || not_ok "no page: $(cat run.err)"
kill -TERM $agent; wait $agent 2>/dev/null
python3 - state.db <<'PY'
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1])
today = int(time.time()) // 86400 * 24      # the hour today (UTC) began
for name in ("web", "api.health"):
    for h in range(today - 30 * 24, today - 24):
        bad = name == "web" and today - 3 * 24 <= h < today - 2 * 24
        n = 60
        ok, crit = (30, 30) if bad else (60, 0)
        db.execute("INSERT OR REPLACE INTO rollups VALUES (0, ?, ?, ?, ?, 0, ?, 0, 0.06, 0.001, 0.001, NULL)",
                   (name, h, n, ok, crit))
db.commit()
PY
"$D" run -c c.ini 2>>run.err & pids="$pids $!"; agent=$!
touch data/api
wait_for 30 grep -q '"state": "outage"' www/status/status.json
rm data/api
wait_for 30 sh -c 'grep -q "\"resolved\": [0-9]" www/status/status.json'
touch data/web
wait_for 30 sh -c 'python3 -c "import json,sys; d=json.load(open(\"www/status/status.json\")); sys.exit(0 if any(s[\"check\"]==\"web\" and s[\"state\"]==\"outage\" for s in d[\"services\"]) else 1)"'
J=$(python3 - www/status/status.json <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
s = {x["check"]: x for x in d["services"]}
print("TITLE", d["title"])
print("SERVICES", " ".join(sorted(s)))
print("NAMES", " ".join(sorted(x["name"].replace(" ", "_") for x in d["services"])))
print("DAYS", " ".join(str(len(x["days"])) for x in d["services"]))
web = s["web"]["days"]
print("WEBDAY3", round(web[-4], 2) if web[-4] is not None else None)
print("WEBOLD", web[-20], "EMPTY", web[0])
print("STATE", s["web"]["state"], s["api.health"]["state"])
print("INC", " ".join(sorted("%s:%s" % (i["service"].replace(" ", "_"), "open" if i["resolved"] is None else "resolved") for i in d["incidents"])))
PY
)
echo "$J" | sed 's/^/# /'
expect_eq "status.json: the title" "$(echo "$J" | grep ^TITLE)" "TITLE Shop status"
expect_eq "only the public checks appear" "$(echo "$J" | grep ^SERVICES)" "SERVICES api.health web"
expect_eq "each under its public name" "$(echo "$J" | grep ^NAMES)" "NAMES Public_API web"
expect_eq "90 daily bars each" "$(echo "$J" | grep ^DAYS)" "DAYS 90 90"
expect_eq "the bad day three days ago is 50 % up" "$(echo "$J" | grep ^WEBDAY3)" "WEBDAY3 0.5"
expect_eq "a day with history is up, before history no data" "$(echo "$J" | grep ^WEBOLD)" "WEBOLD 1 EMPTY None"
expect_eq "the state now: web down, the API operational" "$(echo "$J" | grep ^STATE)" "STATE outage operational"
expect_eq "incidents: the API's resolved, the web's open" "$(echo "$J" | grep ^INC)" "INC Public_API:resolved web:open"
H=$(cat www/status/index.html)
expect_not_in "the page has no script" "$H" '<script|javascript:|[[:space:]]on[a-z]+='
expect_not_in "the private check is nowhere on it" "$H$(cat www/status/status.json)" 'secret\.check|internal only'
expect_eq "the files are world-readable for the web server" "$(stat -c %a www/status/index.html www/status/status.json | tr '\n' ' ')" "644 644 "
# a rule file that crashes its worker: the page is rebuilt from the state file anyway
cat > rules/boom.lua <<'LUA'
check "boom" { every = "1s", run = function() local t = {} while true do t[#t+1] = string.rep("x", 1e6) end end }
LUA
kill -HUP $agent
before=$(stat -c %Y www/status/status.json)
wait_for 90 sh -c "[ \$(stat -c %Y www/status/status.json) -gt $before ]" &&
    ok "a crashing rule leaves the page updated" || not_ok "the page stopped being written"
CHROME=$(command -v chromium || true)
if [ -n "$CHROME" ]; then
	"$CHROME" --headless --no-sandbox --disable-gpu --user-data-dir="$PWD/chrome-profile" \
	    --window-size=900,900 --screenshot="$PWD/status.png" "file://$PWD/www/status/index.html" >/dev/null 2>&1
	python3 - status.png <<'PY' && ok "Chromium renders the status page: a screenshot" || not_ok "no screenshot"
import struct, sys
b = open(sys.argv[1], "rb").read()
w, h = struct.unpack(">II", b[16:24])
sys.exit(0 if b[:8] == b"\x89PNG\r\n\x1a\n" and (w, h) == (900, 900) and len(b) > 10000 else 1)
PY
	"$CHROME" --headless --no-sandbox --disable-gpu --user-data-dir="$PWD/chrome-profile" \
	    --dump-dom "file://$PWD/www/status/index.html" > dom.html 2>/dev/null
	python3 - dom.html <<'PY' && ok "its DOM: the banner, both services with 90 bars, the incidents table" || not_ok "DOM: $(head -c 400 dom.html)"
import re, sys
h = open(sys.argv[1]).read()
bars = re.findall(r'<div class="bars"[^>]*>(.*?)</div>', h, re.S)
ok = ("Some systems are down" in h and h.count('class="svc"') == 2
      and all(b.count("<span") == 90 for b in bars) and len(bars) == 2
      and 'id="incidents"' in h and "Public API" in h and "(ongoing)" in h)
sys.exit(0 if ok else 1)
PY
	expect_in "the bad day's bar says so on hover" "$(cat dom.html)" 'title="[0-9-]+: 50\.00 % up"'
else
	not_ok "chromium is missing"; not_ok "chromium is missing"; not_ok "chromium is missing"
fi
kill -TERM $agent; wait $agent 2>/dev/null
