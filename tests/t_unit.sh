# The C unit tests: cron next-run tables with DST changes, the every grid,
# the alert state machine.
. "$TESTDIR/lib.sh"
for t in unit_cron unit_alert; do
	u="$(dirname "$D")/$t"
	if [ -x "$u" ]; then "$u" || true; else not_ok "unit test binary $u is missing (make test builds it)"; fi
done
