# Reporters against real peers on 127.0.0.1: a real SMTP server (Debian's
# python3-aiosmtpd) with STARTTLS, SMTPS, AUTH and a refused recipient; a
# real Alertmanager (Debian's prometheus-alertmanager) that must show our
# firing alert with our labels, then resolve it, and learn it again after a
# restart; public-key pinning; the outbox bounds.
. "$TESTDIR/lib.sh"
plan 36
. "$TESTDIR/certs.sh"
trap 'stop_all; [ -n "${pid:-}" ] && kill -9 $pid 2>/dev/null' EXIT
PY3=/usr/bin/python3
mkcerts
mkdir -p rules data
echo ok > data/a
printf 's3cret-%s' "$RANDOM" > pw; chmod 600 pw
cat > rules/r.lua <<'LUA'
check "a" { every = "1s", labels = { team = "web" }, description = "the a service",
  run = function()
    local t = log.tail(vars.dir .. "/a", 1)
    if t[1] == "crit" then return crit("a is down") end
    if t[1] == "warn" then return warn("a is slow") end
    return ok("a is up")
  end }
LUA
start_smtpd() {   # NAME MODE [user]
	local name=$1 mode=$2; shift 2
	rm -f "smtp.$name"
	$PY3 "$TESTDIR/smtpd.py" "smtp.$name" "mail.$name" "$mode" good.crt good.key "$@" 2>>smtpd.err &
	echo $! >> pids
	wait_for 20 test -s "smtp.$name" || { not_ok "smtpd $name did not start: $(tail -3 smtpd.err)"; return 1; }
	eval "SMTP_$name=$(cat "smtp.$name")"
}
start_smtpd tls starttls ops "$(cat pw)"
start_smtpd ssl smtps
start_smtpd plain plain
base() {
	cat <<INI
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
INI
}
{ base; cat <<INI
[reporter "mail"]
type = smtp
url = smtp://localhost:$SMTP_tls
from = drishti@example.org
to = ops@example.org, owner@example.org
username = ops
password_file = $PWD/pw
ca_file = $PWD/ca.crt
[reporter "mail-ssl"]
type = smtp
url = smtps://localhost:$SMTP_ssl
from = drishti@example.org
to = ops@example.org
ca_file = $PWD/ca.crt
events = test
[reporter "mail-plain"]
type = smtp
url = smtp://127.0.0.1:$SMTP_plain
starttls = off
from = drishti@example.org
to = ops@example.org
events = test
[reporter "mail-notls"]
type = smtp
url = smtp://127.0.0.1:$SMTP_plain
from = drishti@example.org
to = ops@example.org
events = test
[reporter "mail-untrusted"]
type = smtp
url = smtp://localhost:$SMTP_tls
username = ops
password_file = $PWD/pw
from = drishti@example.org
to = ops@example.org
events = test
[reporter "mail-refused"]
type = smtp
url = smtp://127.0.0.1:$SMTP_plain
starttls = off
from = drishti@example.org
to = nobody@example.org
events = test
INI
} > c.ini

expect_exit 0 "notify-test by mail over STARTTLS with AUTH" -- "$D" notify-test -c c.ini mail
expect_in "notify-test says the mail server took it" "$OUT" '^mail: accepted by the mail server'
$PY3 - mail.tls <<'PY' && ok "the mail arrived: subject, sender, both recipients, headers, body" || not_ok "mail wrong: $(head -c 600 mail.tls)"
import json, sys, email
m = [json.loads(l) for l in open(sys.argv[1])][-1]
msg = email.message_from_string(m["data"])
ok = (m["from"] == "drishti@example.org" and sorted(m["to"]) == ["ops@example.org", "owner@example.org"]
      and msg["Subject"].startswith("[test-agent] OK agent: drishti test event from test-agent")
      and msg["Content-Type"].startswith("text/plain") and msg["Message-ID"].startswith("<test-")
      and msg["X-Drishti-Event-Id"] and "drishti test event" in msg.get_payload())
sys.exit(0 if ok else 1)
PY
printf wrong > pw2; chmod 600 pw2
sed "s#password_file = $PWD/pw\$#password_file = $PWD/pw2#" c.ini > c2.ini
expect_exit 1 "a wrong SMTP password is refused" -- "$D" notify-test -c c2.ini mail
expect_in "... with the server's 535" "$OUT" 'SMTP 535'
expect_not_in "the password is never printed" "$OUT$(cat agent.log 2>/dev/null)" "$(cat pw)"
expect_exit 0 "notify-test by mail over SMTPS" -- "$D" notify-test -c c.ini mail-ssl
expect_eq "the SMTPS mail arrived" "$(wc -l < mail.ssl 2>/dev/null)" 1
expect_exit 0 "notify-test by plain SMTP with starttls = off" -- "$D" notify-test -c c.ini mail-plain
expect_exit 1 "STARTTLS is required by default: a server without it is refused" -- "$D" notify-test -c c.ini mail-notls
expect_exit 1 "a server certificate from an unknown CA is refused" -- "$D" notify-test -c c.ini mail-untrusted
expect_in "... saying why" "$OUT" 'certificate|SSL|verif'
expect_exit 1 "a refused recipient fails the test" -- "$D" notify-test -c c.ini mail-refused
expect_in "... with the server's 550" "$OUT" 'SMTP 550'
expect_eq "nothing else reached the plain server" "$(wc -l < mail.plain)" 1

# alerts by mail from the daemon: the alert, then the resolve
: > mail.tls
"$D" run -c c.ini 2>>run.err & pid=$!
wait_for 20 sh -c "grep -q started: agent.log" || not_ok "agent did not start"
echo crit > data/a
has_mail() { grep -q "$1" mail.tls 2>/dev/null; }
wait_for 20 has_mail 'Subject: \[test-agent\] CRIT a: a is down (alert)' && ok "an alert arrives by mail" || not_ok "no alert mail: $(tail -c 400 mail.tls)"
echo ok > data/a
wait_for 20 has_mail 'Subject: \[test-agent\] RESOLVED a (was CRIT): a is up' && ok "its resolve arrives by mail" || not_ok "no resolve mail"
# the bodies decoded (quoted-printable) as a mail client shows them
decoded=$($PY3 -c 'import json, sys, email, email.policy
for l in open(sys.argv[1]):
    print(email.message_from_string(json.loads(l)["data"], policy=email.policy.default).get_content().replace("\n", " | "))' mail.tls)
expect_in "the alert mail names the check, its description and labels" "$decoded" 'About:    the a service.*Label:    team=web'
kill -TERM $pid; wait $pid; pid=

# ---- Alertmanager -------------------------------------------------------------
cat > am.yml <<'YML'
route:
  receiver: "null"
  group_wait: 1s
receivers:
  - name: "null"
YML
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
AMPORT=$(free_port)
start_am() {
	rm -rf am-data; mkdir am-data
	prometheus-alertmanager --config.file=am.yml --storage.path=am-data \
	    --web.listen-address=127.0.0.1:$AMPORT --cluster.listen-address= >>am.log 2>&1 &
	ampid=$!; echo $ampid >> pids
	wait_for 30 curl -sf "http://127.0.0.1:$AMPORT/-/ready" >/dev/null || not_ok "alertmanager did not start: $(tail -3 am.log)"
}
start_am
{ base; cat <<INI
[reporter "am"]
type = alertmanager
url = http://127.0.0.1:$AMPORT
resend = 2s
INI
} > am.ini
am_alerts() { curl -sf "http://127.0.0.1:$AMPORT/api/v2/alerts?active=true&silenced=true&inhibited=true&unprocessed=true"; }
am_has() {   # SEVERITY: our alert is active with that severity and our labels
	am_alerts | python3 -c '
import json, sys
al = [a for a in json.load(sys.stdin) if a["labels"].get("alertname") == "a"]
sys.exit(0 if any(a["labels"].get("severity") == sys.argv[1] and a["labels"].get("instance") == "test-agent"
                  and a["labels"].get("team") == "web" and a["status"]["state"] == "active"
                  and a["annotations"].get("summary") for a in al) else 1)' "$1"
}
am_active() {   # how many of our alerts are active
	am_alerts | python3 -c '
import json, sys
print(sum(1 for a in json.load(sys.stdin) if a["labels"].get("alertname") == "a"))'
}
expect_exit 0 "notify-test to Alertmanager" -- "$D" notify-test -c am.ini am
expect_in "... HTTP 200" "$OUT" '^am: HTTP 200'
echo ok > data/a
"$D" run -c am.ini 2>>run.err & pid=$!
echo warn > data/a
wait_for 30 am_has warn && ok "a firing check is in Alertmanager with our labels" || not_ok "not in alertmanager: $(am_alerts | head -c 600)"
echo crit > data/a
wait_for 30 am_has crit && ok "an escalation shows the new severity" || not_ok "no crit alert"
gone_warn() { ! am_has warn; }
wait_for 30 gone_warn && ok "... and ends the old severity's alert" || not_ok "warn alert lingers"
# a restarted Alertmanager with empty storage learns it again: re-sent while firing
kill $ampid; wait $ampid 2>/dev/null
start_am
wait_for 30 am_has crit && ok "re-sent while firing: a restarted Alertmanager has it again" || not_ok "not re-sent"
echo ok > data/a
none_active() { [ "$(am_active)" = 0 ]; }
wait_for 30 none_active && ok "after recovery it is resolved in Alertmanager" || not_ok "still active: $(am_alerts | head -c 600)"
kill -TERM $pid; wait $pid; pid=

# ---- pinning and TLS to a webhook ---------------------------------------------
start_httpd tls --tls good.crt good.key
pin=$(openssl x509 -in good.crt -pubkey -noout | openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | base64)
wrong=$(openssl x509 -in self.crt -pubkey -noout | openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | base64)
{ base; cat <<INI
[reporter "pinned"]
type = webhook
url = https://localhost:$PORT_tls/echo
ca_file = $PWD/ca.crt
pin = sha256//$pin
[reporter "mispinned"]
type = webhook
url = https://localhost:$PORT_tls/echo
ca_file = $PWD/ca.crt
pin = sha256//$wrong
[reporter "unverified"]
type = webhook
url = https://localhost:$PORT_tls/echo
INI
} > pin.ini
expect_exit 0 "a webhook with the right public-key pin" -- "$D" notify-test -c pin.ini pinned
expect_exit 1 "a webhook with a wrong pin is refused" -- "$D" notify-test -c pin.ini mispinned
expect_in "... saying so" "$OUT" 'pinned|public key'
expect_exit 1 "TLS is verified by default (no ca_file: the system CAs)" -- "$D" notify-test -c pin.ini unverified
{ base; printf '[reporter "x"]\ntype = webhook\nurl = https://localhost/\npin = md5//abc\n'; } > badpin.ini
expect_exit 78 "a pin that is not sha256// is a config error" -- "$D" lint -c badpin.ini
expect_in "... naming file, section and key" "$OUT" 'badpin.ini:[0-9]*: \[reporter "x"\] pin: must be sha256//'
{ base; printf '[reporter "x"]\ntype = smtp\nurl = https://mail/\nfrom = a@b\nto = c@d\n'; } > badsmtp.ini
expect_exit 78 "an smtp url that is not smtp:// or smtps://" -- "$D" lint -c badsmtp.ini
expect_in "... says which schemes" "$OUT" 'url: must start with smtp://'

# ---- the outbox bounds: a receiver gone for good ------------------------------
DEADPORT=$(free_port)
{ base; cat <<INI
[store]
outbox_max = 2
outbox_age = 1h
[reporter "gone"]
type = webhook
url = http://127.0.0.1:$DEADPORT/x
timeout = 1s
INI
} > bound.ini
rm -f state.db*
"$D" run -c bound.ini 2>>run.err & pid=$!
for i in 1 2 3 4 5 6; do
	[ $(( i % 2 )) = 1 ] && echo crit > data/a || echo ok > data/a
	sleep 1.5
done
wait_for 30 sh -c "grep -q 'undelivered events\? dropped' agent.log" && ok "past outbox_max the oldest events are dropped and logged" || not_ok "nothing dropped"
OUT=$("$D" status -c bound.ini)
expect_in "status counts the dropped events" "$OUT" 'dropped \(outbox bounds\)'
waiting=$("$D" status -c bound.ini --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["outbox"]["depth"])')
[ "$waiting" -le 3 ] && ok "at most outbox_max (+1 in flight) events wait ($waiting)" || not_ok "$waiting events wait"
kill -TERM $pid; wait $pid; pid=
