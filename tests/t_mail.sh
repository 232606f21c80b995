# Mail as mail clients expect it (issue 14): sent to a real SMTP server
# (python3-aiosmtpd) and parsed with Python's email package.  A UTF-8
# subject is RFC 2047 encoded; a body is quoted-printable, 7-bit, no line
# over 76 characters, and a 1000-byte line of "é" comes back whole (no
# character cut); a report goes as multipart/alternative, text and HTML,
# and the HTML part renders in headless Chromium.
. "$TESTDIR/lib.sh"
plan 12
PY3=/usr/bin/python3
pids=
trap 'for p in $pids; do kill $p 2>/dev/null; done; true' EXIT
$PY3 "$TESTDIR/smtpd.py" smtp.port mail.log plain 2>smtpd.err & pids="$pids $!"
wait_for 20 test -s smtp.port || not_ok "smtpd did not start: $(tail -3 smtpd.err)"
mkdir -p rules
cat > rules/m.lua <<'LUA'
check "m.ete" { every = "1h", run = function()
  return crit("%s", string.rep("é", 500))
end }
report "m.weekly" { cron = "0 9 * * 1", build = function(r)
  r:section("Café")
  r:item("Uptime", 0.9995, { target = 0.999, format = "pct" })
  r:chart("Per day", { 1, 0.99, 1, 1 }, { format = "pct" })
  r:note("naïve résumé, 日本語")
end }
LUA
cat > c.ini <<INI
[agent]
name = café-1
rules = rules
state = state.db
log = agent.log
watch = false
[reporter "mail"]
type = smtp
url = smtp://127.0.0.1:$(cat smtp.port)
starttls = off
from = drishti@example.org
to = me@example.org
events = alert, report
INI
"$D" run -c c.ini 2>run.err & pids="$pids $!"; agent=$!
wait_for 30 grep -q "m.ete" mail.log || not_ok "no alert mail: $(tail -3 agent.log)"
kill -TERM $agent; wait $agent 2>/dev/null
"$D" report -c c.ini m.weekly --send >report.out 2>&1
wait_for 10 sh -c '[ $(wc -l < mail.log) -ge 2 ]'
$PY3 - mail.log <<'PY' > parsed.txt
import email, email.policy, json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
for r in rows:
    raw = r["data"]
    m = email.message_from_string(raw, policy=email.policy.default)
    print("SUBJECT", m["subject"])
    print("RAWSUBJECT", raw.split("\r\n\r\n")[0].split("Subject:")[1].split("\r\nDate")[0].strip().replace("\r\n", " "))
    print("ASCII", all(ord(ch) < 128 for ch in raw))
    print("LONGEST", max(len(l) for l in raw.split("\r\n")))
    print("TYPE", m.get_content_type())
    if m.is_multipart():
        parts = [p for p in m.iter_parts()]
        print("PARTS", " ".join(p.get_content_type() for p in parts))
        for p in parts:
            if p.get_content_type() == "text/html":
                open("report.html", "w").write(p.get_content())
            else:
                print("TEXTCTE", p["Content-Transfer-Encoding"])
                print("TEXT", p.get_content().replace("\n", " | ")[:300])
    else:
        print("CTE", m["Content-Transfer-Encoding"])
        body = m.get_content()
        print("WHOLE", ("é" * 500) in body)
PY
cat parsed.txt | cut -c1-200 | sed 's/^/# /'
expect_in "the alert's subject decodes to its UTF-8 headline" "$(sed -n 1p parsed.txt)" \
    '^SUBJECT \[café-1\] CRIT m\.ete: éééé'
expect_in "and is RFC 2047 encoded words on the wire" "$(sed -n 2p parsed.txt)" '^RAWSUBJECT =\?UTF-8\?B\?[A-Za-z0-9+/=]+\?= +=\?UTF-8\?B\?'
expect_eq "the whole alert message is 7-bit" "$(sed -n 3p parsed.txt)" "ASCII True"
expect_in "no line is longer than 76 characters" "$(sed -n 4p parsed.txt)" '^LONGEST ([0-9]|[1-6][0-9]|7[0-6])$'
expect_eq "the body is quoted-printable" "$(grep -m1 '^CTE' parsed.txt)" "CTE quoted-printable"
expect_eq "a 1000-byte line of é comes back whole (no character cut)" "$(grep -m1 '^WHOLE' parsed.txt)" "WHOLE True"
expect_eq "the report goes as multipart/alternative" "$(grep -m2 '^TYPE' parsed.txt | tail -1)" "TYPE multipart/alternative"
expect_eq "with a text part and an HTML part" "$(grep -m1 '^PARTS' parsed.txt)" "PARTS text/plain text/html"
expect_in "its text part decodes (UTF-8 intact)" "$(grep -m1 '^TEXT ' parsed.txt)" 'naïve résumé, 日本語'
expect_in "its HTML part is the report page" "$(cat report.html 2>/dev/null | head -c 400)" '^<!DOCTYPE html>'
CHROME=$(command -v chromium || true)
if [ -n "$CHROME" ] && [ -s report.html ]; then
	"$CHROME" --headless --no-sandbox --disable-gpu --user-data-dir="$PWD/chrome-profile" \
	    --window-size=800,900 --screenshot="$PWD/mail.png" "file://$PWD/report.html" >/dev/null 2>&1
	$PY3 - mail.png <<'PY' && ok "Chromium renders the mailed HTML part: a screenshot" || not_ok "no screenshot of the HTML part"
import struct, sys
b = open(sys.argv[1], "rb").read()
w, h = struct.unpack(">II", b[16:24])
sys.exit(0 if b[:8] == b"\x89PNG\r\n\x1a\n" and (w, h) == (800, 900) and len(b) > 10000 else 1)
PY
	"$CHROME" --headless --no-sandbox --disable-gpu --user-data-dir="$PWD/chrome-profile" \
	    --dump-dom "file://$PWD/report.html" > dom.html 2>/dev/null
	expect_in "its DOM holds the section, the note and the chart" "$(tr -d '\n' < dom.html)" \
	    '<h2>Café</h2>.*<polyline.*naïve résumé, 日本語'
else
	not_ok "chromium is missing or no HTML part"; not_ok "no DOM"
fi
