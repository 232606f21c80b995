# The C unit tests (cron next-run tables with DST changes, the every grid).
. "$TESTDIR/lib.sh"
"$(dirname "$D")/unit_cron" || true
