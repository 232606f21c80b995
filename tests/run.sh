#!/usr/bin/env bash
# Runs every tests/t_*.sh against the drishti binary in $DRISHTI and prints
# one closing line "N passed, N failed".  Each test script prints "ok - ..."
# or "not ok - ..." per assertion and is given its own scratch directory.
# TESTS="t_a t_b" runs only those.
set -u
here=$(cd "$(dirname "$0")" && pwd)
: "${DRISHTI:=$here/../build/drishti}"
export DRISHTI
pass=0 failed=0
results=$(mktemp)
for t in "$here"/t_*.sh; do
	name=$(basename "$t" .sh)
	# TESTS="t_cli t_net": only those (the cross builds run a subset)
	case " ${TESTS:-$name} " in *" $name "*) ;; *) continue ;; esac
	scratch=$(mktemp -d "${TMPDIR:-/tmp}/drishti-$name.XXXXXX")
	echo "# $name"
	( cd "$scratch" && TESTDIR="$here" SCRATCH="$scratch" bash "$t" ) 2>&1 | tee -a "$results" |
	    grep -E '^(not ok|ok|#)' | grep -v '^ok' || true
	rm -rf "$scratch"
done
pass=$(grep -c '^ok ' "$results")
failed=$(grep -c '^not ok ' "$results")
rm -f "$results"
echo "tests: $pass passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$pass" -gt 0 ]
