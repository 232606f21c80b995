# History at scale: a state file seeded with a year of 1-minute runs for 50
# checks (one metric each) stays under the documented bound once pruned, and
# 30-day questions over it are answered from roll-ups (timed; the figure is
# printed, the assertion is a generous bound).
. "$TESTDIR/lib.sh"
plan 9
mkdir -p rules
echo 'check "x" { every = "1m", run = function() return ok() end }' > rules/x.lua
printf '[agent]\nrules = rules\nstate = %s/state.db\nlog = %s/agent.log\nwatch = false\n' "$PWD" "$PWD" > c.ini
"$D" run -c c.ini 2>/dev/null & pid=$!
wait_for 20 grep -q started: agent.log; kill -TERM $pid; wait $pid
# a year and a little, so pruning has work: 400 days of roll-ups are kept
python3 "$TESTDIR/seed_state.py" state.db 50 410 60 || not_ok "seeding failed"
before=$(stat -c %s state.db)
"$D" run -c c.ini 2>/dev/null & pid=$!
wait_for 20 grep -c started: agent.log
sleep 3
kill -TERM $pid; wait $pid
sqlite3 state.db "VACUUM"
after=$(stat -c %s state.db)
echo "# seeded $((before / 1048576)) MiB; after pruning $((after / 1048576)) MiB"
old=$(sqlite3 state.db "SELECT count(*) FROM rollups WHERE hour < (strftime('%s','now') / 3600) - 400 * 24")
raw=$(sqlite3 state.db "SELECT count(*) FROM runs WHERE ts < strftime('%s','now') - 48 * 3600 - 120")
expect_eq "roll-ups older than 400 days pruned" "$old" "0"
expect_eq "raw runs older than 48 h pruned" "$raw" "0"
# documented bound (docs/config.md): 150 MiB for 50 checks with a metric each
[ "$after" -lt $((150 * 1048576)) ] && ok "a year for 50 checks: $((after / 1048576)) MiB (< 150 MiB)" \
    || not_ok "state file is $((after / 1048576)) MiB"

cat > rules/q.lua <<'LUA'
check "q" { every = "1m", timeout = "60s", run = function()
  local t0 = os.clock()
  local w0 = now()
  local n = 100
  local up, p
  for i = 1, n do
    up = history.uptime("c" .. (i % 50), "30d")
    p = history.percentile("rt_c" .. (i % 50), 95, "30d")
  end
  local per = (now() - w0) / (2 * n) * 1000
  return ok("%.3f %.3f %.3f", up, p, per)
end }
LUA
OUT=$("$D" once -c c.ini q 2>&1)
read -r up p95 per <<<"$(summary_of q)"
echo "# 30-day history query: $per ms each (round trip worker -> supervisor -> SQLite)"
awk -v u="$up" 'BEGIN { exit !(u > 0.99 && u <= 1) }' && ok "30-day uptime from roll-ups ($up)" || not_ok "uptime $up"
awk -v p="$p95" 'BEGIN { exit !(p > 0.05 && p < 0.2) }' && ok "30-day p95 from histograms ($p95)" || not_ok "p95 $p95"
awk -v t="$per" 'BEGIN { exit !(t < 50) }' && ok "30-day query answered in $per ms" || not_ok "30-day query took $per ms"

# the window's edge: a run a minute inside the window counts, one a minute
# outside does not (raw rows: the window starts exactly at now - window)
python3 - state.db <<'PY'
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1]); now = time.time()
for ts, st in ((now - 3600 - 60, 2), (now - 3600 + 60, 0), (now - 1800, 0)):
    db.execute("INSERT INTO runs (check_name, ts, status, duration, summary) VALUES ('edge', ?, ?, 0.01, '')", (ts, st))
db.commit()
PY
cat > rules/q.lua <<'LUA'
check "e" { every = "1m", run = function()
  return ok("%d %d %s", history.count("edge", "ok", "1h"), history.count("edge", "crit", "1h"),
    tostring(history.uptime("edge", "1h")))
end }
LUA
OUT=$("$D" once -c c.ini e 2>&1)
expect_eq "window edge: inside counted, outside not" "$(summary_of e)" "2 0 1.0"

# a window of whole hours within raw retention: its whole hours come from
# the roll-ups, the partial hours at its ends from the runs, and the sum
# is the count of the runs themselves (seeded as the agent writes them:
# each run in runs and in its hour's roll-up)
want=$(python3 - state.db <<'PY'
import math, random, sqlite3, sys, time
db = sqlite3.connect(sys.argv[1]); now = time.time(); random.seed(3)
roll = {}
for k in range(60):
    ts = now - 150 - k * 300          # none within 150 s of the window's edges
    st = 2 if random.random() < 0.2 else 0
    db.execute("INSERT INTO runs (check_name, ts, status, duration, summary) VALUES ('span', ?, ?, 0.01, '')", (ts, st))
    r = roll.setdefault(int(ts // 3600), [0, 0, 0])
    r[0] += 1; r[1 if st == 0 else 2] += 1
for h, (n, okc, crit) in roll.items():
    db.execute("INSERT INTO rollups VALUES (0, 'span', ?, ?, ?, 0, ?, 0, ?, 0.01, 0.01, NULL)", (h, n, okc, crit, 0.01 * n))
db.commit()
n = sum(r[0] for r in roll.values()); okc = sum(r[1] for r in roll.values())
print("%d %d %.4f" % (okc, n - okc, okc / n))
PY
)
cat > rules/q.lua <<'LUA'
check "s" { every = "1m", run = function()
  return ok("%d %d %.4f", history.count("span", "ok", "5h"), history.count("span", "crit", "5h"),
    history.uptime("span", "5h"))
end }
LUA
OUT=$("$D" once -c c.ini s 2>&1)
expect_eq "5-hour window (whole hours from roll-ups, ends from runs) = the runs' own counts" "$(summary_of s)" "$want"

# a state file from before schema 6 (runs indexed by check) is migrated:
# the runs stay, indexed by time
sqlite3 state.db "DROP INDEX runs_ts_check; CREATE INDEX runs_check_ts ON runs(check_name, ts);
    CREATE INDEX runs_ts ON runs(ts); UPDATE meta SET value = '5' WHERE key = 'schema'"
n0=$(sqlite3 state.db "SELECT count(*) FROM runs WHERE check_name = 'span'")
rm -f rules/x.lua
: > agent.log; "$D" run -c c.ini 2>/dev/null & pid=$!
wait_for 20 grep -q started: agent.log; kill -TERM $pid; wait $pid
OUT=$("$D" once -c c.ini s 2>&1)
expect_eq "schema 5 -> 6: same runs, same answer; indexes and version" \
    "$(summary_of s) $(sqlite3 state.db "SELECT count(*) FROM runs WHERE check_name = 'span'; SELECT group_concat(name) FROM (SELECT name FROM sqlite_master WHERE tbl_name = 'runs' AND type = 'index' ORDER BY name); SELECT value FROM meta WHERE key = 'schema'" | paste -sd' ')" \
    "$want $n0 runs_ts_check 6"
