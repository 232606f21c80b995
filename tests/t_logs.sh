# The agent's own log as a service manager and logrotate expect it: stderr
# lines carry a time stamp, unless stderr is the journal (JOURNAL_STREAM
# names it), where they carry a <N> priority instead; a log file is opened
# again on SIGHUP after logrotate moved it (nothing written into the moved
# file after the HUP); log = syslog sends to a real datagram socket at
# /dev/log (a private bind mount when the machine has its own).
. "$TESTDIR/lib.sh"
plan 10
mkdir -p rules
cat > rules/l.lua <<'LUA'
check "l.tick" { every = "1s", run = function() return ok("tick") end }
LUA
pid=
trap '[ -n "$pid" ] && kill $pid 2>/dev/null; [ -n "${spid:-}" ] && kill $spid 2>/dev/null; true' EXIT
stop() { kill -TERM "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; pid=; }

# ---- stderr: time-stamped, or the journal's priority prefix -------------------
printf '[agent]\nrules = rules\nstate = st.db\nwatch = false\n' > a.ini
"$D" run -c a.ini 2>stderr.log & pid=$!
wait_for 30 grep -q 'running' stderr.log || wait_for 30 grep -q 'l.tick' stderr.log
stop
first=$(grep -m1 . stderr.log)
expect_in "stderr lines start with a local time stamp" "$first" \
    '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}[+-][0-9]{4} drishti: (info|warn|error): '
expect_eq "every stderr line is stamped" "$(grep -cvE '^[0-9]{4}-[0-9]{2}-[0-9]{2}T' stderr.log)" "0"

: > journal.log
js=$(stat -c '%d:%i' journal.log)
JOURNAL_STREAM=$js "$D" run -c a.ini 2>>journal.log & pid=$!
wait_for 30 grep -q 'drishti: info' journal.log
stop
expect_in "with stderr the journal's stream, lines carry a <N> priority" "$(grep -m1 . journal.log)" \
    '^<[3-7]>drishti: (info|warn|error): '
expect_eq "and no time stamp (the journal stamps them)" "$(grep -cE '^[0-9]{4}-' journal.log)" "0"
grep -E "^[0-9]{4}-" journal.log | sed "s/^/#   stamped: /"
# JOURNAL_STREAM inherited by a process whose stderr is elsewhere counts not
JOURNAL_STREAM=1:1 "$D" run -c a.ini 2>other.log & pid=$!
wait_for 30 grep -q 'drishti: info' other.log
stop
expect_in "a JOURNAL_STREAM that names another stream is ignored" "$(grep -m1 . other.log)" '^[0-9]{4}-'

# ---- a log file, moved by logrotate, reopened on SIGHUP -------------------------
printf '[agent]\nrules = rules\nstate = st2.db\nlog = logs/agent.log\nlog_level = debug\nwatch = false\n' > f.ini
mkdir -p logs
"$D" run -c f.ini 2>f.err & pid=$!
wait_for 30 grep -q 'l.tick' logs/agent.log
mv logs/agent.log logs/agent.log.1
kill -HUP $pid
wait_for 30 grep -q 'reloaded' logs/agent.log && ok "after SIGHUP the log file is written again by its name" ||
    not_ok "no new logs/agent.log after SIGHUP: $(ls logs)"
n1=$(wc -l < logs/agent.log.1)
wait_for 30 sh -c '[ $(grep -c l.tick logs/agent.log) -ge 2 ]'
expect_eq "nothing more goes into the moved file" "$(wc -l < logs/agent.log.1)" "$n1"
expect_in "file lines are time-stamped" "$(head -1 logs/agent.log)" '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+[+-][0-9]{4} (debug|info): '
stop

# ---- log = syslog, to a real socket -------------------------------------------------
printf '[agent]\nrules = rules\nstate = st3.db\nlog = syslog\nwatch = false\n' > s.ini
cat > syslogd.py <<'PY'
import socket, sys, os
path, out = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path); os.chmod(path, 0o666)
open(out + ".ready", "w").close()
with open(out, "a") as f:
    while True:
        d = s.recv(65536)
        f.write(d.decode("utf-8", "replace").rstrip("\n") + "\n"); f.flush()
PY
if [ "$(id -u)" = 0 ] && command -v unshare >/dev/null; then
	if [ -e /dev/log ]; then
		python3 syslogd.py "$SCRATCH/log.sock" syslog.out & spid=$!
		wait_for 20 test -e syslog.out.ready
		unshare -m sh -c "mount --bind '$SCRATCH/log.sock' /dev/log && exec '$D' run -c s.ini" 2>s.err & pid=$!
	else
		python3 syslogd.py /dev/log syslog.out & spid=$!
		wait_for 20 test -e syslog.out.ready
		"$D" run -c s.ini 2>s.err & pid=$!
	fi
	wait_for 30 grep -q 'l.tick' syslog.out
	stop
	kill $spid 2>/dev/null; wait $spid 2>/dev/null; spid=
	[ -S /dev/log ] && [ ! -e /run/systemd/journal/dev-log ] && [ "$(readlink -f /dev/log)" = /dev/log ] &&
	    ! pgrep -x 'rsyslogd|syslogd|systemd-journal' >/dev/null && rm -f /dev/log
	expect_in "log = syslog reaches the socket with facility daemon and the pid" "$(grep -m1 . syslog.out)" \
	    '^<(27|28|30|31)>.*drishti\[[0-9]+\]: '
	expect_eq "nothing goes to stderr with log = syslog" "$(grep -c drishti s.err)" "0"
else
	echo "ok - # skip syslog: needs root to own /dev/log"
	echo "ok - # skip syslog: needs root to own /dev/log"
fi
