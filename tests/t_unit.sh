# The C unit tests (cron next-run tables with DST changes, the every grid).
. "$TESTDIR/lib.sh"
u="$(dirname "$D")/unit_cron"
if [ -x "$u" ]; then "$u" || true; else not_ok "unit test binary $u is missing (make test builds it)"; fi
