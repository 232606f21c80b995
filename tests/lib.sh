# lib.sh — helpers for the test scripts: assertions that print TAP-like
# "ok - name" / "not ok - name" lines, and a bounded wait for a condition.
D=${DRISHTI:?DRISHTI must point at the binary}

# plan N — the number of assertions this script makes, printed first (TAP's
# "1..N"); run.sh fails a script that makes fewer or more, or exits non-zero.
plan()   { echo "1..$1"; }

ok()     { echo "ok - $*"; }
not_ok() { echo "not ok - $*"; }

# expect_exit CODE NAME -- CMD...   runs CMD, keeps its output in $OUT
expect_exit() {
	local want=$1 name=$2; shift 3
	OUT=$("$@" 2>&1); local rc=$?
	if [ "$rc" = "$want" ]; then ok "$name"; else
		not_ok "$name (exit $rc, want $want)"; printf '%s\n' "$OUT" | sed 's/^/#   /' | head -20; fi
}

# expect_in NAME TEXT PATTERN   (grep -E on TEXT)
expect_in() {
	if printf '%s\n' "$2" | grep -qE -- "$3"; then ok "$1"; else
		not_ok "$1 (no /$3/)"; printf '%s\n' "$2" | sed 's/^/#   /' | head -20; fi
}

expect_not_in() {
	if printf '%s\n' "$2" | grep -qE -- "$3"; then
		not_ok "$1 (found /$3/)"; printf '%s\n' "$2" | sed 's/^/#   /' | head -20; else ok "$1"; fi
}

expect_eq() {
	if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1 (got [$2], want [$3])"; fi
}

# wait_for SECONDS CMD...  retries CMD until it succeeds or time runs out
wait_for() {
	local limit=$1; shift
	local end=$(( $(date +%s) + limit ))
	until "$@" >/dev/null 2>&1; do
		[ "$(date +%s)" -ge "$end" ] && return 1
		sleep 0.1
	done
}

# status_of CHECK  — the status column of `once` output in $OUT
status_of() {
	printf '%s\n' "$OUT" | awk -v c="$1" '$1 == c { print $2 }'
}
summary_of() {
	printf '%s\n' "$OUT" | awk -v c="$1" '$1 == c { $1 = ""; $2 = ""; $3 = ""; sub(/^ +/, ""); print }'
}

# start_receiver — the signature-checking webhook receiver (receiver.py) on
# 127.0.0.1 with a fresh 0600 secret; it answers as ./mode says (ok) and
# logs each request to got.log.  Sets $rpid and $port.
start_receiver() {
	printf 'k3y-%s' "$RANDOM$RANDOM" > secret; chmod 600 secret
	echo ok > mode
	python3 "$TESTDIR/receiver.py" port secret got.log mode & rpid=$!
	wait_for 20 test -s port || not_ok "receiver did not start"
	port=$(cat port)
}
