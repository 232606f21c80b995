# The notifiers people route alerts to (issue 13): Telegram, Pushover,
# Gotify, PagerDuty Events v2, and a templated webhook reaching Matrix (PUT,
# a transaction id in the URL, a bearer token from a file), against
# services.py, which checks each service's documented request shape.  Each
# gets an alert and its resolve, retries through 503s, dead-letters a 400,
# and answers notify-test; tokens come from files and never reach the log.
. "$TESTDIR/lib.sh"
plan 24
pids=
trap 'for p in $pids; do kill $p 2>/dev/null; done; true' EXIT
mkdir -p sec
printf '123456:ABC-tg-token-%s\n' "$RANDOM" > sec/telegram.token
printf -- '-100%s\n' "$RANDOM" > sec/telegram.to
printf 'azGDORePK8gMaC0QOYAMyEEuzJnyUi%s\n' "$RANDOM" > sec/pushover.token
printf 'uQiRzpo4DXghDmr9QzzfQu27cmVRsG\n' > sec/pushover.to
printf 'AgotifyTok%s\n' "$RANDOM" > sec/gotify.token
printf 'R0utingKeyR0utingKeyR0uting%s\n' "$RANDOM" > sec/pagerduty.token
printf 'syt_matrix_%s\n' "$RANDOM" > sec/matrix.token
printf 'Bearer %s\n' "$(cat sec/matrix.token)" > sec/matrix.auth
chmod 600 sec/*
: > mode
python3 "$TESTDIR/services.py" sport svc.log mode sec & pids="$pids $!"
wait_for 20 test -s sport || not_ok "services did not start"
sp=$(cat sport)
printf 'telegram fail 2\npushover fail 2\ngotify fail 2\npagerduty fail 2\nmatrix fail 2\n' > mode
cat > matrix.json <<'JSON'
{"msgtype": "m.text", "body": "{{text}}"}
JSON
mkdir -p rules
cat > rules/n.lua <<LUA
check "n.flip" { every = "1s", run = function()
  if fs.stat("$SCRATCH/down") then return crit("flip down") end
  return ok("flip up") end }
check "n.other" { every = "1s", run = function()
  if fs.stat("$SCRATCH/other") then return warn("other warns") end
  return ok("other fine") end }
LUA
cat > c.ini <<INI
[agent]
rules = rules
state = state.db
log = agent.log
watch = false
[sandbox]
# the flags the rules read; the secrets (sec/) are out of the rules' reach
read_paths = $SCRATCH/down, $SCRATCH/other
[reporter "tg"]
type = telegram
url = http://127.0.0.1:$sp
secret_file = sec/telegram.token
to = $(cat sec/telegram.to)
[reporter "po"]
type = pushover
url = http://127.0.0.1:$sp/1/messages.json
secret_file = sec/pushover.token
to = $(cat sec/pushover.to)
[reporter "go"]
type = gotify
url = http://127.0.0.1:$sp
secret_file = sec/gotify.token
[reporter "pd"]
type = pagerduty
url = http://127.0.0.1:$sp/v2/enqueue
secret_file = sec/pagerduty.token
[reporter "mx"]
type = webhook
method = PUT
url = http://127.0.0.1:$sp/_matrix/client/v3/rooms/%21room%3Aexample.org/send/m.room.message/{{id}}
template = matrix.json
header_file = Authorization: sec/matrix.auth
timeout = 5s
INI
"$D" run -c c.ini 2>run.err & pids="$pids $!"; agent=$!
wait_for 30 grep -q 'check "n.flip": - -> OK' agent.log || not_ok "agent did not start: $(cat run.err)"
touch down
delivered() { [ "$(grep "\"service\": \"$1\"" svc.log | grep '"answer": 20[02]' | grep -c "\"kind\": \"$2\"")" -ge 1 ]; }
all_got() { for s in telegram pushover gotify pagerduty matrix; do delivered $s "$1" || return 1; done; }
wait_for 90 all_got alert || echo "# not every service got the alert: $(cat svc.log | cut -c1-160)"
rm down
wait_for 90 all_got resolve || echo "# not every service got the resolve"
for s in telegram pushover gotify pagerduty matrix; do
	lines=$(grep "\"service\": \"$s\"" svc.log)
	expect_eq "$s: every request has the documented shape" "$(printf '%s\n' "$lines" | grep -c '"ok": false')" "0"
	expect_eq "$s: two 503s retried, then the alert and its resolve delivered" \
	    "$(printf '%s\n' "$lines" | grep -c '"answer": 503')/$(delivered $s alert && delivered $s resolve && echo both)" "2/both"
done
pd=$(grep '"service": "pagerduty"' svc.log | grep '"answer": 202')
expect_in "pagerduty: trigger then resolve, one dedup_key" "$(printf '%s\n' "$pd" | grep -o '\\"event_action\\": \\"[a-z]*\\", \\"dedup_key\\": \\"[^\\]*' | sort -u | tr '\n' ' ')" \
    'resolve.*/n\.flip.*trigger.*/n\.flip|trigger.*/n\.flip.*resolve.*/n\.flip'
expect_in "pagerduty: CRIT maps to severity critical" "$pd" '\\"severity\\": \\"critical\\"'
expect_in "pushover: CRIT is priority 1" "$(grep '"service": "pushover"' svc.log | grep '"answer": 200' | head -1)" '\\"priority\\": 1'
expect_in "gotify: CRIT is priority 8" "$(grep '"service": "gotify"' svc.log | grep '"answer": 200' | head -1)" '\\"priority\\": 8'
mx=$(grep '"service": "matrix"' svc.log | grep '"answer": 200' | grep -o '/send/m.room.message/[^"]*' | sort -u | wc -l)
expect_eq "matrix: each event its own transaction id in the URL" "$mx" "2"

# a refusal for good is dead-lettered, not retried, and the next event flows
printf 'telegram 400\npushover 400\ngotify 400\npagerduty 400\nmatrix 400\n' > mode
n400=$(grep -c '"answer": 400' svc.log)
touch other
wait_for 60 sh -c "[ \$(grep -c '\"answer\": 400' svc.log) -ge $((n400 + 5)) ]"
sleep 3
expect_eq "a 400 is tried once per reporter, not retried" "$(grep -c '"answer": 400' svc.log)" "$((n400 + 5))"
OUT=$("$D" status -c c.ini 2>&1)
expect_in "the refused events are dead letters in status" "$OUT" 'outbox: .*5 dead'
: > mode
rm other
wait_for 60 sh -c '[ $(grep "\"kind\": \"resolve\"" svc.log | grep -c "\"answer\": 20[02]") -ge 10 ]' &&
    ok "after a dead letter the next event is delivered" || not_ok "deliveries stopped after the dead letter"
kill -TERM $agent; wait $agent 2>/dev/null

# notify-test for each type, and no token in any log
for r in tg po go pd mx; do
	expect_exit 0 "notify-test $r is accepted" -- "$D" notify-test -c c.ini $r
done
leak=0
for f in sec/*.token; do
	grep -qF "$(cat "$f")" agent.log run.err && leak=1
done
expect_eq "no token reaches the agent's log" "$leak" "0"
