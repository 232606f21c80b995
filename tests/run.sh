#!/usr/bin/env bash
# Runs every tests/t_*.sh against the drishti binary in $DRISHTI and prints
# one closing line "N passed, N failed".  Each test script declares its plan
# first ("1..N", TAP's form, from lib.sh's `plan N`), then prints "ok - ..."
# or "not ok - ..." per assertion; it runs in its own scratch directory.
# A script fails the run (one extra "not ok" for it) when it has no plan,
# prints fewer or more assertions than planned, or exits non-zero: a script
# that dies halfway cannot pass.  TESTS="t_a t_b" runs only those.
set -u
here=$(cd "$(dirname "$0")" && pwd)
: "${DRISHTI:=$here/../drishti}"
export DRISHTI
results=$(mktemp)
for t in "$here"/t_*.sh; do
	name=$(basename "$t" .sh)
	# TESTS="t_cli t_net": only those (the cross builds run a subset)
	case " ${TESTS:-$name} " in *" $name "*) ;; *) continue ;; esac
	scratch=$(mktemp -d "${TMPDIR:-/tmp}/drishti-$name.XXXXXX")
	# started as root, the agent's roles and rules run as an unprivileged
	# user (drishti, else nobody): what a test makes is theirs to read and
	# write (a secret is made 0600 on purpose, and stays root's)
	chmod 1777 "$scratch"
	out="$scratch.out"
	echo "# $name"
	# a test that leaves [agent] state unset gets a state file of its own,
	# not the user's (two suites at once must not share one)
	( cd "$scratch" && umask 000 && TESTDIR="$here" SCRATCH="$scratch" XDG_STATE_HOME="$scratch/.state" \
	    bash "$t" ) >"$out" 2>&1
	rc=$?
	# a sanitizer's report from any process of the agent, wherever its
	# stderr went (the roles are restarted by the parent, so a report must
	# not hide behind a restart)
	if [ -n "${SAN:-}" ]; then
		for f in $(grep -rlIE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$scratch" 2>/dev/null); do
			# counted apart from the script's own plan
			echo "not ok - $name: sanitizer report in ${f#$scratch/}" | tee -a "$results"
			grep -m1 -A25 -E 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$f" | sed 's/^/#   /'
		done
	fi
	# shown only (grep finds nothing when all is well); the verdict is below
	grep -E '^(not ok|#)' "$out" | grep -v '^# *$' || true
	plan=$(grep -m1 -E '^1\.\.[0-9]+$' "$out" | cut -d. -f3)
	ran=$(grep -cE '^(ok|not ok) ' "$out")
	cat "$out" >>"$results"
	if [ -z "$plan" ]; then
		echo "not ok - $name: declares no plan (1..N)" | tee -a "$results"
	elif [ "$ran" -ne "$plan" ]; then
		echo "not ok - $name: planned $plan assertions, ran $ran" | tee -a "$results"
	fi
	if [ "$rc" -ne 0 ]; then
		echo "not ok - $name: exited with status $rc" | tee -a "$results"
		tail -5 "$out" | sed 's/^/#   /'
	fi
	rm -rf "$scratch" "$out"
done
pass=$(grep -c '^ok ' "$results")
failed=$(grep -c '^not ok ' "$results")
rm -f "$results"
echo "tests: $pass passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$pass" -gt 0 ]
