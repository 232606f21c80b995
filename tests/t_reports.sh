# Reports: r:section / r:item / r:note / r:chart built by a rule, rendered as
# text, JSON and a standalone HTML page (opened in a real headless Chromium);
# `drishti report NAME [--format] [--send]`; scheduled reports through the
# outbox; broken and hostile builds.
. "$TESTDIR/lib.sh"
plan 60
trap '[ -n "${pid:-}" ] && kill -9 $pid 2>/dev/null' EXIT
mkdir -p rules
cat > rules/r.lua <<'LUA'
check "api" { every = "1s", run = function()
  metric("response_time", 0.25, "s")
  return ok("fine")
end }
report "weekly" { every = "1h", build = function(r)
  r:section("Availability")
  r:item("Uptime (7d)", history.uptime("api", "7d"), { target = 0.999, format = "pct" })
  r:item("Avg response", history.avg("response_time", "7d"), { max = 2, format = "ms" })
  r:item("Storage", 1.5 * 2^30, { format = "bytes" })
  r:section("Money")
  r:item("Revenue", 1234.5, { format = "money", target = 2000 })
  r:item("Last restore test", "2026-11-01")
  r:item("Runs a week ago", history.count("api", "ok", "1h", { ago = "7d" }))
  local judged = r:item("Cost share", nil, { max = 0.2, format = "pct" })
  r:item("Figures", "not set: see business.lua", { target = 1 })
  r:note("%d <things> & to do", 2)
  r:note("cost share judged: %s", tostring(judged))
  local pts = {}
  for i = 6, 0, -1 do pts[#pts + 1] = { now() - i * 86400, history.uptime("api", "1d", { ago = i * 86400 }) } end
  r:chart("Uptime per day", pts, { format = "pct", target = 0.999 })
  r:chart("Response", { 0.2, 0.3, 0.25, 0.5 }, { format = "ms", target = 2 })
end }
report "broken" { every = "1h", build = function(r)
  r:section("Half")
  r:item("Done", 1, { target = 1 })
  error("the database is gone")
end }
report "huge" { every = "1h", build = function(r)
  for i = 1, 10000 do r:note(string.rep("x", 100)) end
end }
kept = nil
report "keeper" { every = "2s", build = function(r) kept = r; r:note("kept") end }
report "one" { every = "1h", build = function(r)
  r:item("Uptime", 0.5, { target = 0.999, format = "pct" })
  r:chart("Single", { { now(), 0.5 } }, { format = "pct", target = 1 })
end }
report "badopt" { every = "1h", build = function(r) r:item("x", 1, { colour = "red" }) end }
report "badval" { every = "1h", build = function(r) r:item("x", {}) end }
report "fast" { every = "2s", build = function(r) r:item("Checks OK", history.count("api", "ok", "1h"), { target = 1 }) end }
check "reuse" { every = "1s", run = function()
  if kept == nil then return ok("nothing kept yet") end
  local ok_, err = pcall(function() kept:note("late") end)
  return ok(tostring(err))
end }
LUA
cat > c.ini <<INI
[agent]
name = rep-agent
rules = rules
state = $PWD/state.db
log = $PWD/agent.log
watch = false
[output]
textfile = $PWD/drishti.prom
[reporter "log"]
type = file
path = $PWD/events.jsonl
events = report
INI
expect_exit 0 "lint accepts the report rules" -- "$D" lint -c c.ini
# some history first
"$D" run -c c.ini 2>>run.err & pid=$!
has_runs() { [ "$(sqlite3 state.db 'SELECT count(*) FROM runs' 2>/dev/null || echo 0)" -ge 3 ]; }
wait_for 30 has_runs || not_ok "no runs recorded"
got_report() { grep -q '"kind":"report","check":"fast"' events.jsonl 2>/dev/null; }
wait_for 30 got_report && ok "a scheduled report goes through the outbox" || not_ok "no scheduled report: $(tail -3 agent.log)"
python3 - events.jsonl <<'PY' && ok "... carrying its document: items met, agent, time" || not_ok "report event wrong: $(grep fast events.jsonl | head -1)"
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1]) if '"check":"fast"' in l][0]
r = ev["report"]
item = r["sections"][0]["rows"][0]
sys.exit(0 if r["agent"] == "rep-agent" and r["at"] > 0 and item["item"] == "Checks OK"
         and item["value"] >= 1 and item["met"] is True and r["met"] == 1 and ev["summary"] == "fast: 1 met, 0 missed" else 1)
PY
expect_not_in "a report with every = 1h is not sent at start" "$(cat events.jsonl)" '"check":"weekly"'
wait_for 20 grep -q 'drishti_report_build_ok{report="fast"} 1' drishti.prom && ok "the textfile says when each report was built and that it finished" || not_ok "no report in the textfile: $(grep report drishti.prom)"
expect_not_in "... and does not call a report a check" "$(cat drishti.prom)" 'drishti_check_status\{check="fast"\}'
if command -v promtool >/dev/null; then
	promtool check metrics < drishti.prom >/dev/null 2>&1 && ok "promtool accepts it" || not_ok "promtool: $(promtool check metrics < drishti.prom 2>&1 | head -3)"
fi
kept_refused() { "$D" status -c c.ini | grep -q 'this report is finished'; }
wait_for 30 kept_refused && ok "a report kept in a global cannot be written after it is sent" || not_ok "kept report still writable: $("$D" status -c c.ini | grep reuse)"
kill -TERM $pid; wait $pid; pid=

expect_exit 0 "drishti report weekly" -- "$D" report -c c.ini weekly
expect_in "text: the header" "$OUT" '^Report "weekly" from rep-agent'
expect_in "text: counts" "$OUT" '^2 met, 1 missed$'
expect_in "text: a met uptime in pct" "$OUT" '\[met\] +Uptime \(7d\): 100\.00 %  \(target ≥ 99\.90 %\)'
expect_in "text: response time in ms against a max" "$OUT" '\[met\] +Avg response: 250 ms  \(target ≤ 2\.00 s\)'
expect_in "text: bytes" "$OUT" 'Storage: 1\.5 GiB$'
expect_in "text: money, missed" "$OUT" '\[MISSED\] Revenue: \$1,234\.50  \(target ≥ \$2,000\.00\)'
expect_in "text: a string value as given" "$OUT" 'Last restore test: 2026-11-01$'
expect_in "text: a window in the past (ago) counts nothing there" "$OUT" 'Runs a week ago: 0$'
expect_in "text: a formatted note" "$OUT" '- 2 <things> & to do'
expect_in "no data against a target is neither met nor missed" "$OUT" '^ +Cost share: no data  \(target ≤ 20\.00 %\)$'
expect_in "and r:item returns nil for it: no action item follows" "$OUT" '- cost share judged: nil$'
expect_in "a string against a target is not judged either" "$OUT" '^ +Figures: not set: see business\.lua  \(target ≥ 1\)$'
expect_in "text: a chart as a sparkline" "$OUT" 'Response: ▁▃▂█  min 200 ms, max 500 ms, last 500 ms'
expect_exit 0 "--format json" -- "$D" report -c c.ini weekly --format json
echo "$OUT" > weekly.json
python3 - weekly.json <<'PY' && ok "json: the document, items marked met or missed" || not_ok "json wrong"
import json, sys
d = json.load(open(sys.argv[1]))
items = [r for s in d["sections"] for r in s["rows"] if "item" in r]
met = {r["item"]: r.get("met") for r in items}
sys.exit(0 if d["name"] == "weekly" and d["met"] == 2 and d["missed"] == 1 and met["Revenue"] is False
         and met["Uptime (7d)"] is True and met["Storage"] is None and met["Cost share"] is None
         and len(d["sections"]) == 2 else 1)
PY
expect_exit 0 "--format html" -- "$D" report -c c.ini weekly --format html
echo "$OUT" > weekly.html
python3 - weekly.html <<'PY' && ok "html: well formed, escaped, two inline SVG charts, no external reference" || not_ok "html wrong"
import re, sys, xml.etree.ElementTree as ET
h = open(sys.argv[1]).read()
svgs = re.findall(r"<svg.*?</svg>", h, re.S)
for s in svgs:
    ET.fromstring(s)
ok = (h.startswith("<!DOCTYPE html>") and len(svgs) == 2 and "&lt;things&gt; &amp; to do" in h
      and "<things>" not in h and not re.search(r'(src|href)=', h) and "<script" not in h
      and h.count("<polyline") == 2)
sys.exit(0 if ok else 1)
PY
CHROME=$(command -v chromium || true)
if [ -n "$CHROME" ]; then
	"$CHROME" --headless --no-sandbox --disable-gpu --enable-logging=stderr --v=0 \
	    --user-data-dir="$PWD/chrome-profile" --window-size=800,1000 \
	    --screenshot="$PWD/weekly.png" "file://$PWD/weekly.html" >chrome.out 2>chrome.err
	python3 - weekly.png <<'PY' && ok "Chromium renders the HTML report: a screenshot of the page" || not_ok "no usable screenshot"
import struct, sys
b = open(sys.argv[1], "rb").read()
w, h = struct.unpack(">II", b[16:24])
sys.exit(0 if b[:8] == b"\x89PNG\r\n\x1a\n" and (w, h) == (800, 1000) and len(b) > 20000 else 1)
PY
	expect_not_in "... with no console errors" "$(cat chrome.err)" 'CONSOLE|Uncaught'
	"$CHROME" --headless --no-sandbox --disable-gpu --user-data-dir="$PWD/chrome-profile" \
	    --dump-dom "file://$PWD/weekly.html" > dom.html 2>/dev/null
	expect_eq "... and its DOM holds both charts" "$(grep -o '<polyline' dom.html | wc -l)" 2
else
	not_ok "chromium is not installed (make deps installs it)"
fi

# broken and hostile builds
# a one-point chart: a labelled point in the middle; a target at the top
# keeps its label inside the plot; the value columns have fixed widths
"$D" report -c c.ini one --format html > one.html 2>/dev/null
python3 - one.html <<'PY' && ok "html: one point drawn in the middle with its value, the target label inside the plot, columns fixed" || not_ok "one-point chart: $(grep -o '<circle[^>]*>\|<text[^>]*>[^<]*' one.html | head -5)"
import re, sys
h = open(sys.argv[1]).read()
c = re.search(r'<circle cx="([0-9.]+)" cy="([0-9.]+)" r="5"', h)
label = re.search(r'<text x="[0-9.]+" y="([0-9.]+)" class="axis" text-anchor="middle">50\.00 %</text>', h)
target = re.search(r'<text x="[0-9.]+" y="([0-9.]+)" class="axis" text-anchor="end">target ', h)
ok = (c and float(c.group(1)) == 350.0 and 20 < float(c.group(2)) < 146 and label
      and target and float(target.group(1)) >= 18 and "table-layout:fixed" in h)
sys.exit(0 if ok else 1)
PY
expect_exit 1 "a build that raises exits 1" -- "$D" report -c c.ini broken
expect_in "... but still prints what it got to" "$OUT" '\[met\] +Done: 1'
expect_in "... and says why it did not finish" "$OUT" 'This report did not finish: .*the database is gone'
expect_exit 1 "a report past 60 KB" -- "$D" report -c c.ini huge
expect_in "... is refused with a clear error" "$OUT" 'larger than 60 KB'
expect_exit 1 "an unknown item option" -- "$D" report -c c.ini badopt
expect_in "... is named" "$OUT" 'unknown option "colour"'
expect_exit 1 "a table as an item value" -- "$D" report -c c.ini badval
expect_in "... is refused" "$OUT" 'value must be a number, string, boolean or nil, not a table'
expect_exit 64 "an unknown report name" -- "$D" report -c c.ini nope
expect_exit 64 "a check is not a report" -- "$D" report -c c.ini api
expect_exit 64 "--format must be text, json or html" -- "$D" report -c c.ini weekly --format pdf

# --send: through every reporter that takes reports, answers on stderr
rm -f events.jsonl
"$D" report -c c.ini weekly --send > sent.out 2> sent.err; rc=$?
expect_eq "--send exits 0 when delivered" "$rc" 0
expect_in "--send still prints the report" "$(cat sent.out)" '^Report "weekly"'
expect_in "--send prints each receiver's answer" "$(cat sent.err)" '^log: accepted'
expect_in "the report arrived" "$(cat events.jsonl)" '"kind":"report","check":"weekly".*"report":\{'

# ---- a file of reports only has no process between its runs: its worker
# exits once loaded and idle, and loads again when a report is due --------------
mkdir -p park/rules && cd park
cat > rules/reports.lua <<'LUA'
report "tick" { every = "2s", build = function(r)
  r:item("Checks OK", history.count("beat", "ok", "1h"), { target = 1 })
end }
LUA
cat > rules/beat.lua <<'LUA'
check "beat" { every = "1s", run = function() return ok("up") end }
LUA
cat > c.ini <<INI
[agent]
rules = rules
state = $PWD/state.db
log = $PWD/agent.log
log_level = debug
user = nobody
watch = false
[reporter "log"]
type = file
path = $PWD/events.jsonl
events = report
INI
"$D" run -c c.ini 2>>run.err & pid=$!
worker_of() { pgrep -f "__worker $PWD/rules/$1" >/dev/null; }
no_reports_worker() { ! worker_of reports.lua && worker_of beat.lua; }
wait_for 30 grep -q 'reports.lua: idle until its next run; its worker stops' agent.log &&
    wait_for 30 no_reports_worker && ok "a file of reports only: its worker exits once loaded, the checks' stays" ||
    not_ok "the reports' worker stays: $(pgrep -af __worker)"
reports_sent() { [ "$(grep -c '"kind":"report","check":"tick"' events.jsonl 2>/dev/null)" -ge 3 ]; }
wait_for 40 reports_sent && ok "... and each report due loads it again and goes out (3 in a row)" ||
    not_ok "reports from a parked file: $(grep -c tick events.jsonl 2>/dev/null) sent; $(tail -3 agent.log)"
python3 - events.jsonl <<'PY' && ok "... each one built from history, the target met" || not_ok "parked report wrong: $(grep tick events.jsonl | tail -1)"
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1]) if '"check":"tick"' in l][-1]
item = ev["report"]["sections"][0]["rows"][0]
sys.exit(0 if item["value"] >= 1 and item["met"] is True else 1)
PY
parks=$(grep -c 'reports.lua: idle until its next run; its worker stops' agent.log)
wait_for 30 no_reports_worker && [ "$parks" -ge 4 ] && ok "... and after each one its worker exits again ($parks times)" ||
    not_ok "worker stays after a report ($parks parks)"
# a reload (SIGHUP) while parked: the new set loads the file, parks it again,
# and its reports go on; no worker of the old set is left behind
n=$(grep -c '"kind":"report","check":"tick"' events.jsonl)
kill -HUP $pid
wait_for 30 grep -q 'reloaded' agent.log || not_ok "no reload"
after_reload() { [ "$(grep -c '"kind":"report","check":"tick"' events.jsonl)" -ge $(( n + 2 )) ] && no_reports_worker &&
    [ "$(pgrep -fc "__worker $PWD/rules/beat.lua")" = 1 ]; }
wait_for 40 after_reload && ok "a reload while parked: reports go on, one worker per file with checks, none for reports" ||
    not_ok "after reload: $(pgrep -af __worker); $(grep -v beat agent.log | tail -3)"
kill -TERM $pid; wait $pid; pid=
line=$(grep 'scheduled checks' agent.log)
expect_in "parking is not a crash, a kill or a restart" "$line" 'worker kills 0, crashes 0, restarts 0'
# `drishti report` (no daemon) runs the same file at once
expect_exit 0 "drishti report on a file of reports only" -- "$D" report -c c.ini tick

# a wake-up that cannot fork: the agent runs under a limit of 4 processes
# (beyond any others) for the unprivileged user its roles run as (nobody) (state, delivery and the two
# workers at load); a fifth process of that user takes the last place.  The
# report gets its verdict, not silence; once forks work again, it goes out.
# Natively only: under qemu-user each process has threads of qemu's own,
# and the limit counts threads.
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null && [ -z "${QEMU_CPU:-}" ]; then
	: > agent.log; : > events.jsonl
	# the last agent's roles gone first (under ASan they exit slowly)
	wait_for 60 sh -c '! pgrep -f "drishti __" >/dev/null' || true
	# other processes of that user (none on a test machine) keep their places
	others=$(pgrep -c -U nobody || true)
	lim=$(( ${others:-0} + 4 ))
	prlimit --nproc=$lim:$lim "$D" run -c c.ini 2>>run.err & pid=$!
	wait_for 30 no_reports_worker || not_ok "did not park"
	user=$(stat -c %u "/proc/$(pgrep -f 'drishti __state' | tail -1)")
	setpriv --reuid="$user" --regid="$user" --clear-groups sleep 8 & hog=$!
	wait_for 30 grep -q 'report "tick" did not finish: sandbox: the worker could not start' agent.log &&
	    ok "a report whose worker cannot start says so" || not_ok "no verdict: $(grep -v beat agent.log | tail -3)"
	wait $hog
	n=$(grep -c . events.jsonl)
	more_sent() { [ "$(grep -c '"kind":"report","check":"tick"' events.jsonl)" -gt "$n" ]; }
	wait_for 40 more_sent && ok "... and reports go out again once it can" || not_ok "no report after the limit: $(grep -v beat agent.log | tail -3)"
	kill -TERM $pid; wait $pid; pid=
else
	ok "# SKIP the process limit needs root (the roles then run unprivileged) and no emulator"
	ok "# SKIP"
fi
cd ..

# ---- a file whose checks all run at most every [sandbox] park (5m; 2s here)
# parks between runs like a file of reports: each run loads it afresh (a Lua
# global does not last), on schedule; a file of more frequent checks keeps
# its worker and its globals; park = 0s keeps every file of checks ----------
mkdir -p rare/rules && cd rare
cat > rules/rare.lua <<'LUA'
check "rare" { every = "2s", run = function() n = (n or 0) + 1 return ok("run %d", n) end }
LUA
cat > rules/often.lua <<'LUA'
check "often" { every = "1s", run = function() n = (n or 0) + 1 return ok("run %d", n) end }
LUA
conf() { printf '[agent]\nrules = rules\nstate = %s/state.db\nlog = %s/agent.log\nlog_level = debug\nwatch = false\n[sandbox]\npark = %s\n' "$PWD" "$PWD" "$1" > c.ini; }
conf 2s
"$D" run -c c.ini 2>>run.err & pid=$!
worker_of() { pgrep -f "__worker $PWD/rules/$1" >/dev/null; }
rare_parked() { ! worker_of rare.lua && worker_of often.lua; }
wait_for 30 rare_parked && ok "a file of checks every park or less often keeps no worker between runs" ||
    not_ok "rare.lua's worker stays: $(pgrep -af __worker)"
rare_runs() { [ "$(grep -c 'check "rare": OK: run 1' agent.log)" -ge 3 ]; }
wait_for 40 rare_runs && ! grep -q 'check "rare": OK: run 2' agent.log &&
    grep -q 'check "often": OK: run 5' agent.log &&
    ok "... its runs go on, each on a fresh load; the other file keeps its state" ||
    not_ok "rare runs: $(grep -c 'check "rare"' agent.log); $(grep 'check "rare"' agent.log | tail -2)"
# kill -9 the state role (the workers' parent) over and over while the file
# parks and loads again: the parent starts it again, runs go on, and no
# worker is left behind or doubled
for i in 1 2 3; do
	st=$(pgrep -P $pid -f 'drishti __state' | head -1)
	[ -n "$st" ] && kill -9 "$st"
	wait_for 30 sh -c "p=\$(pgrep -P $pid -f 'drishti __state' | head -1); [ -n \"\$p\" ] && [ \"\$p\" != '$st' ]" || true
	sleep 1.3
done
n=$(grep -c 'check "rare": OK: run 1' agent.log)
more_rare() { [ "$(grep -c 'check "rare": OK: run 1' agent.log)" -ge $(( n + 2 )) ] && rare_parked &&
    [ "$(pgrep -fc "__worker $PWD/rules/often.lua")" = 1 ]; }
wait_for 40 more_rare && ! grep -q 'check "rare": OK: run 2' agent.log &&
    ok "kill -9 of the state role while parking: runs go on, one worker per file, none left" ||
    not_ok "after kills: $(pgrep -af __worker); $(grep 'check "rare"' agent.log | tail -2)"
# park = 0s, reloaded: the file keeps its worker, its global counts on
conf 0s
kill -HUP $pid
rare_kept() { grep -q 'check "rare": OK: run 3' agent.log && worker_of rare.lua; }
wait_for 40 rare_kept && ok "park = 0s (reloaded): a file of checks keeps its worker and its globals" ||
    not_ok "park = 0s: $(grep 'check "rare"' agent.log | tail -2); $(pgrep -af __worker)"
kill -TERM $pid; wait $pid; pid=
expect_in "parking checks is not a crash, a kill or a restart" "$(grep 'scheduled checks' agent.log | tail -1)" \
    'worker kills 0, crashes 0, restarts 0'
cd ..
