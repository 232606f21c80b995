# Delivery to a real receiver on 127.0.0.1 (tests/receiver.py) that checks
# every signature: alerts and resolves in order; a receiver down, answering
# 429 with Retry-After, 400, garbage, resetting; kill -9 of the agent during
# deliveries; notify-test.
. "$TESTDIR/lib.sh"
plan 25
trap '[ -n "${rpid:-}" ] && kill $rpid 2>/dev/null; [ -n "${pid:-}" ] && kill -9 $pid 2>/dev/null' EXIT
mkdir -p rules data
start_receiver
echo ok > data/a
cat > rules/d.lua <<'LUA'
check "a" { every = "1s", labels = { team = "web" }, run = function()
  local t = log.tail(vars.dir .. "/a", 1)
  if t[1] == "crit" then return crit("a is down") end
  return ok("a is up")
end }
LUA
cat > c.ini <<INI
[agent]
name = test-agent
rules = rules
state = $PWD/state.db
log = $PWD/agent.log
watch = false
[sandbox]
read_paths = $PWD/data
[vars]
dir = $PWD/data
[reporter "hook"]
type = webhook
url = http://127.0.0.1:$port/hook
secret_file = $PWD/secret
timeout = 2s
[reporter "log"]
type = file
path = $PWD/events.jsonl
[reporter "slack"]
type = slack
url = http://127.0.0.1:$port/slack
secret_file = $PWD/secret
events = test
[reporter "discord"]
type = discord
url = http://127.0.0.1:$port/discord
secret_file = $PWD/secret
events = test
[reporter "ntfy"]
type = ntfy
url = http://127.0.0.1:$port/ntfy
secret_file = $PWD/secret
events = test
INI
nstarted() { grep -c "started:" agent.log 2>/dev/null || echo 0; }
started_more() { [ "$(nstarted)" -gt "$1" ]; }
start() { local n; n=$(nstarted); "$D" run -c c.ini 2>>run.err & pid=$!; wait_for 20 started_more "$n"; }
got() { python3 -c 'import json,sys; print(" ".join(j["kind"] + ":" + str(j["status"]) for j in map(json.loads, open("got.log")) if j["answer"] == 200))' 2>/dev/null; }
got_is() { [ "$(got)" = "$1" ]; }

expect_exit 0 "notify-test through the webhook" -- "$D" notify-test -c c.ini hook
expect_in "notify-test prints the receiver's answer" "$OUT" '^hook: HTTP 200 ok'
expect_exit 0 "notify-test through the file reporter" -- "$D" notify-test -c c.ini log
expect_exit 64 "notify-test of an unknown reporter" -- "$D" notify-test -c c.ini nope
for r in slack discord ntfy; do
	expect_exit 0 "notify-test through $r" -- "$D" notify-test -c c.ini $r
done
python3 - got.log <<'PY' && ok "slack, discord and ntfy get human text in their own shapes" || not_ok "chat bodies wrong: $(tail -3 got.log)"
import json, sys
rows = {j["path"]: j for j in map(json.loads, open(sys.argv[1]))}
s, d, n = rows["/slack"], rows["/discord"], rows["/ntfy"]
good = (json.loads(s["raw"])["text"].startswith("[test-agent] OK agent: drishti test event")
        and json.loads(d["raw"])["content"].startswith("[test-agent] OK agent:")
        and n["raw"].startswith("[test-agent] OK agent:") and n["title"] == "drishti test test-agent")
sys.exit(0 if good else 1)
PY
: > got.log

start
echo crit > data/a
wait_for 15 got_is "alert:crit" && ok "alert delivered" || not_ok "alert not delivered: $(got)"
echo ok > data/a
wait_for 15 got_is "alert:crit resolve:ok" && ok "resolve delivered after it, in order" || not_ok "got: $(got)"
python3 - got.log <<'PY' && ok "every request was signed and fresh; ids match their header" || not_ok "a bad signature"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
sys.exit(0 if rows and all(r["sig_ok"] and r["id"] == r["event_id_header"] for r in rows) else 1)
PY
expect_in "the body carries labels and agent" "$(cat events.jsonl)" '"agent":"test-agent","kind":"alert","check":"a","status":"crit".*"labels":\{"team":"web"\}'

# the receiver down for 3 attempts: retried with backoff, the same id each time
echo "down 3" > mode; : > got.log
echo crit > data/a
wait_for 30 got_is "alert:crit" && ok "delivered after the receiver came back" || not_ok "not delivered: $(got)"
ids=$(python3 -c 'import json; print(len({json.loads(l)["id"] for l in open("got.log")}), sum(1 for l in open("got.log")))')
expect_eq "4 attempts, one event id" "$ids" "1 4"

# 429 with Retry-After, garbage, a reset, a 30 s stall (past the 2 s timeout):
# all retried until accepted
for m in 429 garbage reset stall; do
	echo "$m" > mode; : > got.log
	[ "$(tail -1 data/a)" = crit ] && echo ok > data/a || echo crit > data/a
	sleep 2.5; echo ok > mode
	wait_for 30 sh -c "grep -q '\"answer\": 200' got.log" && ok "delivered after $m" || not_ok "not delivered after $m"
done

# 400: refused for good, kept as dead, and the next event still goes
echo 400 > mode; : > got.log
[ "$(tail -1 data/a)" = crit ] && echo ok > data/a || echo crit > data/a
wait_for 15 sh -c "grep -q 'refused for good' agent.log" && ok "a 400 is not retried: dead" || not_ok "no dead event"
OUT=$("$D" status -c c.ini)
expect_in "status shows the dead event" "$OUT" '; 1 dead$'
echo ok > mode
[ "$(tail -1 data/a)" = crit ] && echo ok > data/a || echo crit > data/a
wait_for 15 sh -c "grep -q '\"answer\": 200' got.log" && ok "the next event is delivered after a dead one" || not_ok "stuck after a dead event"

# kill -9 during deliveries, 20 times, the receiver flapping: in the end every
# event is delivered (at least once, same ids)
echo flap > mode
before=$(sqlite3 state.db "SELECT coalesce(max(seq), 0) FROM events")
for i in $(seq 1 20); do
	[ $(( i % 2 )) = 1 ] && echo crit > data/a || echo ok > data/a
	sleep 0.$(( RANDOM % 8 + 2 ))
	kill -9 $pid; wait $pid 2>/dev/null
	start
done
echo ok > mode
undelivered() { sqlite3 state.db "SELECT count(*) FROM events WHERE delivered = 0"; }
none_left() { [ "$(undelivered)" = 0 ]; }
wait_for 90 none_left && ok "after 20 kill -9, every event is delivered" || not_ok "$(undelivered) events undelivered"
python3 - got.log state.db "$before" <<'PY' && ok "the receiver accepted every event id stored since" || not_ok "an event id never arrived"
import json, sqlite3, sys
seen = {j["id"] for j in map(json.loads, open(sys.argv[1])) if j["answer"] == 200}
db = sqlite3.connect(sys.argv[2])
want = {r[0] for r in db.execute("SELECT id FROM events WHERE seq > ? AND kind IN ('alert', 'resolve')", (int(sys.argv[3]),))}
print("# %d events since the kills began, %d seen" % (len(want), len(want & seen)))
sys.exit(0 if want and want <= seen else 1)
PY
# after a reload the reporters follow the new config (and nothing of the old
# one is used after it is freed: ASan watches this under make SAN=1 test)
sed -i 's/^timeout = 2s$/timeout = 3s/' c.ini
nreload() { local n; n=$(grep -c "reloaded:" agent.log 2>/dev/null); echo "${n:-0}"; }
r0=$(nreload)
kill -HUP $pid
reloaded() { [ "$(nreload)" -gt "$r0" ]; }
wait_for 20 reloaded || not_ok "no reload"
: > got.log
[ "$(tail -1 data/a)" = crit ] && echo ok > data/a || echo crit > data/a
sleep 11   # past the outbox bounds check (every 10 s), which reads the config
wait_for 20 sh -c "grep -q '\"answer\": 200' got.log" && ok "delivery goes on after a reload" || not_ok "nothing delivered after a reload"
kill -TERM $pid; wait $pid; rc=$?; pid=
expect_eq "and the agent still exits 0" "$rc" 0
