/* unit_cron.c — table tests of cron parsing, next-run times (with DST
 * changes, TZ set here) and the every-grid of sched.c.  Prints ok / not ok
 * lines for tests/run.sh. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "cron.h"
#include "sched.h"

static int failed;

static void
check(int cond, const char *name, const char *detail)
{
	printf("%s - %s%s%s\n", cond ? "ok" : "not ok", name, cond ? "" : ": ", cond ? "" : detail);
	failed |= !cond;
}

static time_t
local(int y, int mo, int d, int h, int mi)
{
	struct tm tm = { .tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d,
	    .tm_hour = h, .tm_min = mi, .tm_isdst = -1 };
	return mktime(&tm);
}

static const char *
fmt(time_t t, char *buf, size_t len)
{
	struct tm tm;
	localtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%d %H:%M %Z", &tm);
	return buf;
}

static void
next_is(const char *expr, time_t from, const char *want)
{
	struct cron c;
	char err[128], got[64], name[256];

	snprintf(name, sizeof name, "next of \"%s\" after %s is %s", expr,
	    fmt(from, got, sizeof got), want);
	if (cron_parse(expr, &c, err, sizeof err) < 0) {
		check(0, name, err);
		return;
	}
	fmt(cron_next(&c, from), got, sizeof got);
	check(strcmp(got, want) == 0, name, got);
}

int
main(void)
{
	char err[128];
	struct cron c;
	static const char *bad[] = { "61 * * * *", "* * *", "*/0 * * * *", "a b c d e",
	    "* 24 * * *", "* * 0 * *", "* * * 13 *", "* * * * 8", "5-1 * * * *",
	    "* * * * * *", NULL };

	for (int i = 0; bad[i]; i++) {
		char name[128];
		snprintf(name, sizeof name, "cron \"%s\" is refused", bad[i]);
		check(cron_parse(bad[i], &c, err, sizeof err) < 0, name, "parsed");
	}

	setenv("TZ", "UTC", 1);
	tzset();
	next_is("0 9 * * *", local(2026, 11, 26, 8, 59), "2026-11-26 09:00 UTC");
	next_is("0 9 * * *", local(2026, 11, 26, 9, 0), "2026-11-27 09:00 UTC");
	next_is("*/15 * * * *", local(2026, 11, 26, 10, 7), "2026-11-26 10:15 UTC");
	next_is("0 0 1 * *", local(2026, 11, 26, 10, 7), "2026-12-01 00:00 UTC");
	next_is("0 9 * * 1", local(2026, 11, 26, 10, 0), "2026-11-30 09:00 UTC");
	next_is("0 9 * * mon", local(2026, 11, 26, 10, 0), "2026-11-30 09:00 UTC");
	next_is("0 0 13 * 5", local(2026, 11, 26, 10, 0), "2026-11-27 00:00 UTC");
	next_is("0 0 29 2 *", local(2026, 11, 26, 10, 0), "2028-02-29 00:00 UTC");
	next_is("@daily", local(2026, 12, 31, 23, 59), "2027-01-01 00:00 UTC");
	next_is("30 8-10/2 * * *", local(2026, 11, 26, 8, 30), "2026-11-26 10:30 UTC");
	next_is("0 9 * * 7", local(2026, 11, 26, 10, 0), "2026-11-29 09:00 UTC");

	/* Europe/Berlin: spring forward 2026-03-29 02:00 -> 03:00,
	 * fall back 2026-10-25 03:00 -> 02:00 */
	setenv("TZ", "Europe/Berlin", 1);
	tzset();
	next_is("0 9 * * *", local(2026, 3, 28, 10, 0), "2026-03-29 09:00 CEST");
	next_is("0 9 * * *", local(2026, 3, 29, 9, 0), "2026-03-30 09:00 CEST");
	next_is("30 2 * * *", local(2026, 3, 28, 10, 0), "2026-03-30 02:30 CEST");
	next_is("0 9 * * *", local(2026, 10, 24, 10, 0), "2026-10-25 09:00 CET");
	/* 02:30 happens twice on 2026-10-25; it runs once (mktime picks which) */
	cron_parse("30 2 * * *", &c, err, sizeof err);
	time_t first = cron_next(&c, local(2026, 10, 24, 12, 0));
	time_t second = cron_next(&c, first);
	char a[64], b[64];
	fmt(first, a, sizeof a);
	fmt(second, b, sizeof b);
	check(strncmp(a, "2026-10-25 02:30 ", 17) == 0, "fall back: 02:30 runs that night", a);
	check(strcmp(b, "2026-10-26 02:30 CET") == 0, "fall back: and not again that night", b);
	/* a 09:00 job runs once a day across both changes: 365 runs a year */
	cron_parse("0 9 * * *", &c, err, sizeof err);
	time_t t = local(2026, 1, 1, 0, 0);
	int runs = 0, wrong = 0;
	while ((t = cron_next(&c, t)) < local(2027, 1, 1, 0, 0)) {
		struct tm tm;
		localtime_r(&t, &tm);
		wrong += tm.tm_hour != 9 || tm.tm_min != 0;
		runs++;
	}
	check(runs == 365 && wrong == 0, "09:00 daily: 365 runs in 2026, all at 09:00 local", "count off");

	/* the every grid: slots never drift, missed ones are skipped and counted */
	struct sched s;
	uint64_t missed;
	sched_init(&s, 1000, NULL, 0, 0.0, 100.0, 0);
	check(s.due == 100.0, "every: first slot is now", "");
	sched_advance(&s, 100.5, 0, &missed);
	check(s.due == 101.0 && missed == 0, "every: next slot on the grid", "");
	sched_advance(&s, 105.2, 0, &missed);
	check(s.due == 106.0 && missed == 4, "every: 4 slots missed while behind, grid kept", "");
	sched_init(&s, 60000, NULL, 10000, 0.0, 0.0, 0);
	int in = 1;
	for (int i = 0; i < 1000; i++) {
		double at = sched_start_at(&s);
		in &= at >= 0.0 && at <= 10.0;
	}
	check(in, "jitter stays within its bound", "");

	/* the spread: a thousand checks every second fill every step of the
	 * second, each name always on the same one; a few checks share one */
	int steps[SCHED_SPREAD_MS / SCHED_STEP_MS] = { 0 }, off = 0, moved = 0;
	char name[32];
	for (int i = 0; i < 1000; i++) {
		snprintf(name, sizeof name, "site-%d.health", i);
		double ph = sched_phase(name, 1000, 1000);
		int64_t ms = (int64_t)(ph * 1000 + 0.5);
		if (ms < 0 || ms >= SCHED_SPREAD_MS || ms % SCHED_STEP_MS != 0)
			off++;
		else
			steps[ms / SCHED_STEP_MS]++;
		moved += sched_phase(name, 1000, 1000) != ph;
	}
	int empty = 0, most = 0;
	for (size_t k = 0; k < sizeof steps / sizeof steps[0]; k++) {
		empty += steps[k] == 0;
		most = steps[k] > most ? steps[k] : most;
	}
	check(off == 0 && moved == 0, "spread: phases on the 50 ms steps of the second, stable per name",
	    "a phase off the steps or changing");
	check(empty == 0 && most < 100, "spread: 1000 checks on all 20 steps, none with 100 or more",
	    "steps empty or crowded");
	int few = 0, two = 0;
	for (int i = 0; i < 50; i++) {
		snprintf(name, sizeof name, "c%d", i);
		few += sched_phase(name, 1000, 40) != 0.0;
		double ph = sched_phase(name, 1000, 100);
		two += ph != 0.0 && ph != SCHED_STEP_MS / 1000.0;
	}
	check(few == 0 && two == 0, "spread: 40 checks start together, 100 in two steps", "");
	check(sched_phase("x", 60000, 5000) < SCHED_SPREAD_MS / 1000.0 &&
	    sched_phase(NULL, 1000, 1000) == 0.0,
	    "spread: a minute's checks within the first second; no name, no phase", "");
	sched_init(&s, 1000, NULL, 0, 0.35, 100.0, 0);
	check(s.due > 100.35 - 1e-9 && s.due < 100.35 + 1e-9, "every: the first slot is now plus the phase", "");
	sched_init(&s, 2000, NULL, 500, 0.35, 100.0, 0);
	check(s.due == 100.0, "every with jitter: no phase (jitter spreads it)", "");
	return failed;
}
