# The C unit tests: cron next-run tables with DST changes, the every grid,
# the alert state machine, the hot path's two allocators (mem.c).  Their
# exit status counts (run.sh fails a script that exits non-zero).
. "$TESTDIR/lib.sh"
plan 79         # unit_cron 38, unit_alert 29, unit_mem 12
rc=0
for t in unit_cron unit_alert unit_mem; do
	u="${UNITS:-$(dirname "$D")}/$t"
	if [ -x "$u" ]; then "$u" >"$t.out" || rc=1; cat "$t.out"; else rc=1; echo "# $u is missing (make test builds it)"; fi
done
exit $rc
