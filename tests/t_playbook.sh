# The shipped rules (rules/*.lua) against the playbook: every daily verdict
# on fixtures made here (a local HTTP server answering 200, 500 and after
# 2.5 s; app logs with 4 and 7 errors in the last 100 lines; backups fresh,
# 2 days old, corrupt, shrunken; disk thresholds just above and below the real
# usage), the weekly and monthly reports on a seeded state file with every
# figure recomputed, and business, tiers, scaling and heartbeat.
. "$TESTDIR/lib.sh"
plan 66
. "$TESTDIR/certs.sh"
trap 'stop_all' EXIT
RULES=$(cd "$TESTDIR/../rules" && pwd)
start_httpd web || exit 0
U="http://127.0.0.1:$PORT_web"
mkdir -p logs backups/fresh backups/old backups/corrupt backups/shrunk backups/empty
# app logs: errors in the last 100 lines, with many more before them
mklog() {   # FILE N: 300 lines, 20 errors early on, N among the last 100
	{ for i in $(seq 1 20); do echo "2026-11-01 ERROR early $i"; done
	  for i in $(seq 1 180); do echo "2026-11-01 INFO fine $i"; done
	  for i in $(seq 1 100); do
		if [ "$i" -le "$2" ]; then echo "2026-11-02 FATAL boom $i"; else echo "2026-11-02 INFO ok $i"; fi
	  done; } > "$1"
}
mklog logs/four.log 4
mklog logs/seven.log 7
mklog logs/five.log 5
# dumps
dump() { head -c "$2" /dev/urandom | base64 | gzip > "$1"; }
dump backups/fresh/db-1.sql.gz 200000; touch -d '1 day ago 2 hours ago' backups/fresh/db-1.sql.gz
dump backups/fresh/db-2.sql.gz 210000
dump backups/old/db-1.sql.gz 200000; touch -d '2 days ago' backups/old/db-1.sql.gz
dump backups/corrupt/db-1.sql.gz 200000; touch -d '1 day ago 2 hours ago' backups/corrupt/db-1.sql.gz
dump backups/corrupt/db-2.sql.gz 200000; head -c 50000 backups/corrupt/db-2.sql.gz > t && mv t backups/corrupt/db-2.sql.gz
dump backups/shrunk/db-1.sql.gz 200000; touch -d '1 day ago 2 hours ago' backups/shrunk/db-1.sql.gz
dump backups/shrunk/db-2.sql.gz 60000
cfg() {   # NAME then vars lines on stdin
	{ cat <<INI
[agent]
name = shop
rules = $RULES
state = $PWD/state.$1.db
log = $PWD/agent.log
watch = false
[sandbox]
read_paths = $PWD/logs, $PWD/backups, $PWD/data
[vars]
INI
	  cat; } > "$1.ini"
}
verdict() {   # INI CHECK WANT_STATUS WANT_SUMMARY_PATTERN NAME
	OUT=$("$D" once -c "$1" "$2" 2>&1)
	local st; st=$(status_of "$2")
	if [ "$st" = "$3" ] && printf '%s\n' "$(summary_of "$2")" | grep -qE -- "$4"; then ok "$5"
	else not_ok "$5 (got $st: $(summary_of "$2"))"; printf '%s\n' "$OUT" | sed 's/^/#   /' | head -5; fi
}

# 1-3: API health, website, response time
printf 'api_health_url = %s/status/200\nsite_url = %s/\n' "$U" "$U" | cfg up
printf 'api_health_url = %s/status/500\nsite_url = %s/status/500\n' "$U" "$U" | cfg down
printf 'api_health_url = %s/slow/2.5\n' "$U" | cfg slow
verdict up.ini daily.api OK 'API healthy \(HTTP 200' "API /health answering 200: healthy"
verdict down.ini daily.api CRIT 'API unhealthy \(HTTP 500\)' "API /health answering 500: unhealthy"
verdict up.ini daily.website OK 'website healthy' "website answering 200: healthy"
verdict down.ini daily.website CRIT 'website unhealthy \(HTTP 500\)' "website answering 500: unhealthy"
verdict up.ini daily.api_latency OK 'API answers in [0-9]+ ms' "API answering at once: not slow"
verdict slow.ini daily.api_latency WARN 'API slow: 2\.[5-9][0-9] s' "API answering after 2.5 s: slow (>= 2.0 s)"
verdict slow.ini daily.api OK 'API healthy' "... yet healthy: the status and the time are separate verdicts"
printf 'api_url = %s/status/404\n' "$U" | cfg base
OUT=$("$D" lint -c base.ini 2>&1)
expect_in "api_url gives the health URL api_url/health" "$("$D" once -c base.ini daily.api 2>&1)" 'HTTP 404'

# 4: errors in the last 100 lines of the app log
printf 'app_log = %s/logs/four.log\n' "$PWD" | cfg four
printf 'app_log = %s/logs/seven.log\n' "$PWD" | cfg seven
printf 'app_log = %s/logs/five.log\n' "$PWD" | cfg five
verdict four.ini daily.log_errors OK 'normal: 4 of the last 100' "4 errors in the last 100 lines (24 in the file): normal"
verdict seven.ini daily.log_errors WARN 'high: 7 of the last 100' "7 errors in the last 100 lines: high"
verdict five.ini daily.log_errors WARN 'high: 5 of the last 100' "5 errors: high (the playbook wants fewer than 5)"

# 5: backups
for b in fresh old corrupt shrunk empty; do
	printf 'backup_glob = %s/backups/%s/*.sql.gz\n' "$PWD" "$b" | cfg "bk-$b"
done
verdict bk-fresh.ini daily.backup OK 'backup recent: .*db-2.sql.gz, 0\.[0-9] h old' "a fresh, whole dump: recent"
verdict bk-old.ini daily.backup CRIT 'overdue: newest .* is 4[89] h old' "a 2-day-old dump: overdue"
verdict bk-corrupt.ini daily.backup CRIT 'corrupt' "a fresh but truncated dump: corrupt"
verdict bk-shrunk.ini daily.backup CRIT 'shrank to [0-9]+ bytes from [0-9]+' "a fresh dump less than half the one before: shrunk"
verdict bk-empty.ini daily.backup CRIT 'overdue: no file matches' "no dump at all: overdue"

# 6: disk, thresholds just above and below the real usage of /
pct=$(df --output=pcent / | tail -1 | tr -dc 0-9)
printf 'disk_warn = %s\ndisk_crit = 100\n' $((pct + 1)) | cfg disk-above
printf 'disk_warn = %s\ndisk_crit = 100\n' $((pct - 1)) | cfg disk-below
verdict disk-above.ini host.disk OK "/ $pct% used|/ $((pct + 1))% used|/ $((pct - 1))% used" "disk below disk_warn ($((pct + 1)) %): sufficient"
verdict disk-below.ini host.disk WARN '% used' "disk past disk_warn ($((pct - 1)) %): low"

# 7: the daily summary, as a report
: | cfg bare
printf 'api_health_url = %s/status/200\nsite_url = %s/\napp_log = %s/logs/four.log\nbackup_glob = %s/backups/fresh/*.sql.gz\n' "$U" "$U" "$PWD" "$PWD" | cfg good
printf 'api_health_url = %s/status/500\nsite_url = %s/\napp_log = %s/logs/seven.log\nbackup_glob = %s/backups/old/*.sql.gz\n' "$U" "$U" "$PWD" "$PWD" | cfg bad
for c in good bad; do
	"$D" run -c $c.ini >>run.out 2>>run.err & pid=$!
	ran_all() { [ "$(sqlite3 "file:state.$1.db?mode=ro" 'SELECT count(*) FROM alerts WHERE last_status IS NOT NULL' 2>/dev/null || echo 0)" -ge 6 ]; }
	wait_for 30 ran_all $c || not_ok "$c: the daily checks did not all run"
	kill -TERM $pid; wait $pid
done
OUT=$("$D" report -c good.ini daily)
expect_in "daily report: all six pass -> All systems operational" "$OUT" '^  - All systems operational$'
expect_in "... each check met" "$OUT" '^[0-9]+ met, 0 missed$'
OUT=$("$D" report -c bad.ini daily)
expect_in "daily report: a failure -> Some issues detected" "$OUT" '^  - Some issues detected$'
expect_in "... naming what failed" "$OUT" '\[MISSED\] API /health: CRIT'
expect_in "... and the backup" "$OUT" '\[MISSED\] Database backup: CRIT'
OUT=$("$D" report -c bare.ini daily)
expect_in "with nothing configured it says what is not checked" "$OUT" 'API /health: not checked: set \[vars\] api_url'
# this host's own figures decide OK, WARN or CRIT (a busy test machine's
# load warns): what is asserted is that every shipped rule ran, none failed
rc=0; OUT=$("$D" once -c bare.ini 2>&1) || rc=$?
if [ "$rc" -le 2 ] && ! printf '%s\n' "$OUT" | grep -qE 'UNKNOWN|^rules:'; then
	ok "the shipped rules run on built-in defaults (drishti once, exit $rc)"
else
	not_ok "the shipped rules run on built-in defaults (drishti once): exit $rc"
	printf '%s\n' "$OUT" | sed 's/^/#   /'
fi

# weekly and monthly on a seeded state file, every figure recomputed
mkdir -p data
: > data/auth.log
now=$(date +%s)
for d in 1 2 3 5 6; do for i in 1 2 3; do
	echo "$(date -d "@$((now - d * 86400))" '+%b %e %H:%M:%S') web sshd[1]: Failed password for root from 10.0.0.$i port 22 ssh2" >> data/auth.log
done; done
for d in 9 12; do
	echo "$(date -d "@$((now - d * 86400))" '+%b %e %H:%M:%S') web sshd[1]: Failed password for bob from 10.0.0.9 port 22 ssh2" >> data/auth.log
done
sort -k1,1M -k2,2n -k3,3 data/auth.log -o data/auth.log
dump data/db-9.sql.gz 300000
restore=$(date -d '40 days ago' +%F); drill=$(date -d '20 days ago' +%F)
printf 'api_health_url = %s/status/200\nauth_log = %s/data/auth.log\nbackup_glob = %s/data/*.sql.gz\nlast_restore_test = %s\nlast_dr_drill = %s\nmrr = 5000\n' \
    "$U" "$PWD" "$PWD" "$restore" "$drill" | cfg seeded
"$D" status -c seeded.ini >/dev/null 2>&1   # no file yet: nothing
"$D" run -c seeded.ini >>run.out 2>>run.err & pid=$!
has_schema() { sqlite3 state.seeded.db 'SELECT count(*) FROM samples; SELECT count(*) FROM outbox' >/dev/null 2>&1; }
wait_for 60 has_schema || not_ok "the agent made no state file"
kill -TERM $pid; wait $pid
sqlite3 state.seeded.db 'DELETE FROM runs; DELETE FROM samples; DELETE FROM rollups; DELETE FROM events; DELETE FROM alerts'
python3 "$TESTDIR/playbook_state.py" seed state.seeded.db
size=$(stat -c %s data/db-9.sql.gz)
rdays=$(( (now - $(date -d "$restore" +%s)) / 86400 )); ddays=$(( (now - $(date -d "$drill" +%s)) / 86400 ))
expect_exit 0 "the weekly report builds from the seeded history" -- "$D" report -c seeded.ini weekly --format json
printf '%s\n' "$OUT" > weekly.json
OUT=$(python3 "$TESTDIR/playbook_state.py" check state.seeded.db weekly.json weekly failed_logins=15 \
    restore_days=$rdays backup_size=$size backup_whole=1 2>&1)
expect_in "weekly: every figure matches its recomputation" "$OUT" '# weekly: [0-9]+ items checked against a recomputation, 0 mismatches'
expect_exit 0 "the monthly report builds from the seeded history" -- "$D" report -c seeded.ini monthly --format json
printf '%s\n' "$OUT" > monthly.json
OUT=$(python3 "$TESTDIR/playbook_state.py" check state.seeded.db monthly.json monthly restore_days=$rdays dr_days=$ddays 2>&1)
expect_in "monthly: every figure matches its recomputation" "$OUT" '# monthly: [0-9]+ items checked against a recomputation, 0 mismatches'
OUT=$("$D" report -c seeded.ini monthly)
expect_in "monthly: the 3-hour incident missed the 5-minute target" "$OUT" '\[MISSED\] daily.api CRIT, .*: 3h 0m'
expect_in "monthly: the 2-minute one met it" "$OUT" '\[met\] +daily.api CRIT, .*: 2m 0s'
expect_in "monthly: the tier for MRR past 5K" "$OUT" 'Tool tier for this MRR: \$5K-10K'
expect_in "monthly: the next milestone" "$OUT" 'Next scaling milestone: \$10,000.00'
expect_in "monthly: the restore test is overdue, so it is in the plan" "$OUT" '- Restore test due'
OUT=$("$D" report -c seeded.ini weekly --format html)
expect_in "weekly as HTML" "$OUT" '<polyline'

# business figures from vars, a JSON file and a JSON URL
printf '{"mrr": 2400, "users": 310, "active_users": 120, "infra_cost": 60, "tool_cost": 71}\n' > data/biz.json
printf 'business_file = %s/data/biz.json\nrevenue = 2500\n' "$PWD" | cfg biz-file
verdict biz-file.ini business.figures OK 'mrr 2400, revenue 2500, infra_cost 60, tool_cost 71, users 310, active_users 120' \
    "business figures from a JSON file, revenue from vars"
printf 'business_url = %s/json\n' "$U" | cfg biz-url
verdict biz-url.ini business.figures UNKNOWN 'none found' "a JSON URL without the figures is UNKNOWN"
printf 'mrr = lots\n' | cfg biz-bad
OUT=$("$D" once -c biz-bad.ini 2>&1)
expect_in "a [vars] figure that is no number is a config error naming the line and who declares it" "$OUT" \
    '^rules:business\.lua +UNKNOWN +- +.*biz-bad\.ini:[0-9]+: \[vars\] mrr: want a number, not "lots" \(declared at .*business\.lua:[0-9]+ as number\)'
# tiers: the tier for the MRR, a crossing, and tool spend
printf 'mrr = 3000\ntool_cost = 71\n' | cfg tier
verdict tier.ini tiers.fit OK 'tier \$1K-5K fits \(Better Uptime \$15, AWS S3 \$10, CloudFlare \$20, Sentry Pro \$26\); at \$5000 add LogRocket' \
    "MRR 3000: tier 1K-5K, and what the next one adds"
printf 'mrr = 800\ntool_cost = 300\n' | cfg tier-spend
verdict tier-spend.ini tiers.fit WARN 'tool spend \$300 is 38% of revenue' "tool spend past 20 % of revenue warns"
verdict seeded.ini tiers.fit OK 'tier \$5K-10K fits' "seeded MRR 5200: tier 5K-10K"
sqlite3 state.seeded.db "UPDATE samples SET value = 900 WHERE metric = 'mrr' AND ts > strftime('%s','now') - 3600*6"
verdict seeded.ini tiers.fit WARN 'fell into tier \$0-1K \(from \$5K-10K\)' "MRR falling across a boundary warns, saying what may go"
sqlite3 state.seeded.db "UPDATE samples SET value = 12000 WHERE metric = 'mrr' AND ts > strftime('%s','now') - 3600*6"
verdict seeded.ini tiers.fit WARN 'crossed up into tier \$10K\+' "MRR rising across a boundary warns, saying what to add"
verdict seeded.ini scaling.revenue WARN 'crossed \$10000 this month' "scaling: a revenue milestone crossed says the next step"
verdict seeded.ini scaling.response OK 'p95 response [0-9]+ ms over 7 days' "scaling: p95 under 2 s over 7 days"
echo 'latency_max = 0.2' >> seeded.ini
verdict seeded.ini scaling.response WARN 'p95 response 0\.[0-9]+ s over 7 days \(> 0\.2 s\): next step' "scaling: p95 past latency_max warns with the next step"
verdict seeded.ini scaling.disk OK 'disk 6[0-9]% used, growing 0\.[0-9]+ points a day: full in [0-9]+ days' "scaling: the disk trend is fitted"
sqlite3 state.seeded.db "UPDATE rollups SET sum = sum * 1.35, min = min * 1.35, max = max * 1.35 WHERE kind = 1 AND name = 'disk_used_pct' AND hour > strftime('%s','now') / 3600 - 24*4"
sqlite3 state.seeded.db "UPDATE samples SET value = value * 1.35 WHERE metric = 'disk_used_pct'"
verdict seeded.ini scaling.disk WARN 'disk (8[0-9]|9[0-9])% used' "scaling: disk past 80 % warns"
verdict seeded.ini scaling.memory OK 'memory [45][0-9]% used over a day' "scaling: memory under 85 % over a day"
verdict seeded.ini scaling.load OK 'load 0\.[0-9]+ per core over a day' "scaling: load under the core count"

# heartbeat: a dead man's switch
printf 'heartbeat_url = %s/echo\n' "$U" | cfg hb
verdict hb.ini heartbeat OK 'heartbeat sent$' "heartbeat pings the URL when all is quiet"
sqlite3 state.seeded.db "INSERT OR REPLACE INTO alerts (check_name, state, status, since_ms, fail_since_ms, fails, passes, history, nhistory, notified_ms) VALUES ('x', 2, 2, 0, 0, 1, 0, 0, 0, 0)"
printf 'heartbeat_url = %s/echo\n' "$U" >> seeded.ini
verdict seeded.ini heartbeat OK 'sent as a failure \(worst firing: CRIT\)' "heartbeat pings /fail with the worst status when something fires"
printf 'heartbeat_url = http://127.0.0.1:1/x\n' | cfg hb-down
verdict hb-down.ini heartbeat WARN 'heartbeat ping failed' "a ping that fails is a warning"

# the LuaLS definitions cover the whole API, and parse
cat > data/api.lua <<'LUA'
local names = {}
for _, g in ipairs({ "ok", "warn", "crit", "unknown", "metric", "now", "duration", "check", "report", "exec", "nagios" }) do
  if type(_ENV[g]) == "function" then names[#names + 1] = g end
end
for _, lib in ipairs({ "fs", "log", "sys", "http", "tcp", "tls", "json", "history" }) do
  for k, v in pairs(_ENV[lib]) do if type(v) == "function" then names[#names + 1] = lib .. "." .. k end end
end
table.sort(names)
print("API " .. table.concat(names, " "))
LUA
OUT=$("$D" lint data/api.lua 2>&1)
api=$(printf '%s\n' "$OUT" | sed -n 's/.*print: API //p')
missing=""
for n in $api; do grep -q "^function ${n}(" "$RULES/types/drishti.lua" || missing="$missing $n"; done
expect_eq "every API function has a LuaLS definition" "$missing" ""
[ "$(echo $api | wc -w)" -gt 30 ] && ok "... ($(echo $api | wc -w) functions)" || not_ok "API listing failed: $OUT"
expect_exit 0 "the definitions file parses" -- "$D" lint "$RULES/types/drishti.lua"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if "types" in d["workspace.library"] else 1)' "$RULES/.luarc.json" \
    && ok ".luarc.json points the editor at the definitions" || not_ok ".luarc.json"

# a one-day-old install: the weekly report judges what exists (issue 14)
printf 'backup_glob = %s/backups/fresh/db-*.sql.gz\n' "$PWD" | cfg fresh
"$D" run -c fresh.ini 2>fresh.err & fpid=$!
wait_for 30 sh -c "sqlite3 'file:state.fresh.db?mode=ro' \"SELECT count(*) FROM runs WHERE check_name = 'daily.backup'\" 2>/dev/null | grep -q '^[1-9]'"
kill -TERM $fpid; wait $fpid 2>/dev/null
OUT=$("$D" report -c fresh.ini weekly 2>&1)
printf '%s\n' "$OUT" | grep -E 'backup|Cost|Incidents|MISSED' | sed 's/^/# fresh weekly: /'
expect_in "a fresh install: backup days judged on the day of history there is" "$OUT" \
    '\[met\] +Days with a good backup \(1 day of history\): 1  \(target ≥ 1\)'
expect_not_in "a fresh install: no action item from figures that do not exist yet" "$OUT" \
    'A day went without a good backup|drop a tool tier'

# a path the config names outside read_paths is a config mistake, not an outage
cat > fence.ini <<INI
[agent]
rules = $RULES
state = $PWD/state.fence.db
log = $PWD/agent.log
[sandbox]
read_paths = $PWD/data
[vars]
app_log = $PWD/logs/four.log
backup_glob = $PWD/backups/fresh/db-*.sql.gz
INI
verdict fence.ini daily.backup UNKNOWN "^config: $PWD/backups/fresh is not under \\[sandbox\\] read_paths\$" \
    "a backup glob outside read_paths: UNKNOWN config, not CRIT backup overdue"
verdict fence.ini daily.log_errors UNKNOWN "^config: $PWD/logs/four.log is not under \\[sandbox\\] read_paths\$" \
    "a log outside read_paths: UNKNOWN config, the path said once"

# failed logins on a system with no auth.log (Debian 12 logs to the journal):
# the report says how to enable the figure, and counts it with journalctl
# once [sandbox] exec allows it.  No journald runs on a test machine, so a
# script prints what `journalctl -g ... -o cat` would.
mkdir -p jbin
printf '#!/bin/sh\nprintf "Failed password for root from 192.0.2.1\\nInvalid user admin from 192.0.2.2\\n"\n' > jbin/journalctl
chmod +x jbin/journalctl
printf '[agent]\nrules = %s\nstate = %s/state.j.db\n' "$RULES" "$PWD" > j-off.ini
OUT=$("$D" report -c j-off.ini weekly 2>&1)
if [ -e /var/log/auth.log ]; then
	ok "# skip: this machine has /var/log/auth.log"
else
	expect_in "no auth.log and no journalctl allowed: the report says how to get the figure" "$OUT" \
	    'Failed logins: not read: no /var/log/auth\.log \(logins go to the journal\): allow /usr/bin/journalctl in \[sandbox\] exec$'
fi
printf '[agent]\nrules = %s\nstate = %s/state.j.db\n[sandbox]\nexec = %s/jbin/journalctl\n[vars]\njournalctl = %s/jbin/journalctl\n' \
    "$RULES" "$PWD" "$PWD" "$PWD" > j-on.ini
OUT=$("$D" report -c j-on.ini weekly 2>&1)
if [ -e /var/log/auth.log ]; then
	ok "# skip: this machine has /var/log/auth.log"
else
	expect_in "with journalctl allowed, failed logins are counted from the journal" "$OUT" '\[met\] +Failed logins: 2  \(target ≤ 50\)'
fi

# the error rate is the share of 5xx in the web server's access log when there is one
now_clf=$(date -u '+%d/%b/%Y:%H:%M:%S +0000')
for i in 1 2 3 4 5 6 7 8; do echo "192.0.2.$i - - [$now_clf] \"GET /a HTTP/1.1\" 200 512 \"-\" \"curl\""; done > logs/access.log
for i in 1 2; do echo "192.0.2.9 - - [$now_clf] \"POST /b HTTP/1.1\" 503 0 \"-\" \"curl\""; done >> logs/access.log
printf 'api_url = %s\naccess_log = %s/logs/access.log\n' "$U" "$PWD" | cfg access
OUT=$("$D" report -c access.ini weekly 2>&1)
expect_in "with access_log, the error rate is the 5xx share of requests" "$OUT" \
    '\[MISSED\] Error rate \(5xx share of requests\): 20\.00 %  \(target ≤ 1\.00 %\)'
printf 'api_url = %s\n' "$U" | cfg noaccess
OUT=$("$D" report -c noaccess.ini weekly 2>&1)
expect_in "without it, the item is called failed health checks" "$OUT" 'Failed health checks: '
OUT=$("$D" report -c fresh.ini weekly 2>&1)
printf 'api_url = %s\n' "$U" | cfg fresh-api
"$D" run -c fresh-api.ini 2>fresh-api.err & fpid=$!
wait_for 30 sh -c "sqlite3 'file:state.fresh-api.db?mode=ro' \"SELECT count(*) FROM runs WHERE check_name = 'daily.api'\" 2>/dev/null | grep -q '^[1-9]'"
kill -TERM $fpid; wait $fpid 2>/dev/null
OUT=$("$D" report -c fresh-api.ini weekly 2>&1)
expect_in "a window longer than the history says so" "$OUT" \
    "- since $(date -u +%Y-%m-%d), 1 day of data: figures are judged on what exists"
