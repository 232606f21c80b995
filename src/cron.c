/* cron.c — cron expressions: parsing and the next run time.
 *
 * The next run is found by walking local wall-clock fields (day, hour,
 * minute) and converting each candidate with mktime, rather than by adding
 * seconds: that is what makes "0 9 * * *" run once at 09:00 local on the
 * days DST changes.  A wall time that does not exist (spring forward) is
 * skipped, as Vixie cron's successors do for jobs not run every hour; a wall
 * time that exists twice (fall back) runs at its first occurrence only. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "cron.h"

static const char *const mon_names[] = { "jan", "feb", "mar", "apr", "may",
    "jun", "jul", "aug", "sep", "oct", "nov", "dec" };
static const char *const dow_names[] = { "sun", "mon", "tue", "wed", "thu",
    "fri", "sat" };

static int
parse_num(const char **pp, int lo, const char *const *names, int nnames,
    int base, int *out)
{
	const char *p = *pp;

	if (isdigit((unsigned char)*p)) {
		long v = 0;
		while (isdigit((unsigned char)*p) && v < 1000)
			v = v * 10 + (*p++ - '0');
		*out = (int)v;
		*pp = p;
		return 0;
	}
	for (int i = 0; names != NULL && i < nnames; i++)
		if (strncasecmp(p, names[i], 3) == 0 && !isalpha((unsigned char)p[3])) {
			*out = i + base;
			*pp = p + 3;
			return 0;
		}
	(void)lo;
	return -1;
}

/* One field: a comma list of "*", "N", "N-M", each with an optional "/S". */
static int
parse_field(const char *f, int lo, int hi, const char *const *names,
    int nnames, int base, uint64_t *bits, int *star)
{
	const char *p = f;

	*bits = 0;
	*star = 0;
	for (;;) {
		int a, b, step = 1;
		if (*p == '*') {
			a = lo;
			b = hi;
			p++;
			if (*p != '/')
				*star = 1;
		} else {
			if (parse_num(&p, lo, names, nnames, base, &a) < 0)
				return -1;
			b = a;
			if (*p == '-') {
				p++;
				if (parse_num(&p, lo, names, nnames, base, &b) < 0)
					return -1;
			}
		}
		if (*p == '/') {
			p++;
			if (!isdigit((unsigned char)*p))
				return -1;
			step = 0;
			while (isdigit((unsigned char)*p) && step < 1000)
				step = step * 10 + (*p++ - '0');
			if (step == 0)
				return -1;
			if (a == b && p[-1] != '*')
				b = hi;        /* "5/15": from 5 to the end */
		}
		if (a < lo || b > hi || a > b)
			return -1;
		for (int i = a; i <= b; i += step)
			*bits |= 1ULL << i;
		if (*p == ',') {
			p++;
			continue;
		}
		return *p == '\0' ? 0 : -1;
	}
}

int
cron_parse(const char *expr, struct cron *c, char *err, size_t errlen)
{
	static const struct { const char *name, *expr; } macros[] = {
		{ "@hourly", "0 * * * *" }, { "@daily", "0 0 * * *" },
		{ "@midnight", "0 0 * * *" }, { "@weekly", "0 0 * * 0" },
		{ "@monthly", "0 0 1 * *" }, { "@yearly", "0 0 1 1 *" },
		{ "@annually", "0 0 1 1 *" },
	};
	static const char *const fname[] = { "minute", "hour", "day of month",
	    "month", "day of week" };
	char buf[256], *fields[6], *save = NULL;
	int n = 0;
	uint64_t bits;
	int star;

	for (size_t i = 0; i < sizeof macros / sizeof macros[0]; i++)
		if (strcmp(expr, macros[i].name) == 0)
			expr = macros[i].expr;
	if (strlen(expr) >= sizeof buf) {
		snprintf(err, errlen, "cron expression too long");
		return -1;
	}
	snprintf(buf, sizeof buf, "%s", expr);
	for (char *t = strtok_r(buf, " \t", &save); t != NULL && n < 6;
	    t = strtok_r(NULL, " \t", &save))
		fields[n++] = t;
	if (n != 5) {
		snprintf(err, errlen, "bad cron \"%.64s\": want 5 fields "
		    "(minute hour day-of-month month day-of-week)", expr);
		return -1;
	}
	memset(c, 0, sizeof *c);
	static const int lo[] = { 0, 0, 1, 1, 0 }, hi[] = { 59, 23, 31, 12, 7 };
	for (int i = 0; i < 5; i++) {
		const char *const *names = i == 3 ? mon_names : i == 4 ? dow_names : NULL;
		int nn = i == 3 ? 12 : i == 4 ? 7 : 0;
		if (parse_field(fields[i], lo[i], hi[i], names, nn, i == 3 ? 1 : 0,
		    &bits, &star) < 0) {
			snprintf(err, errlen, "bad cron \"%.64s\": bad %s field \"%s\"",
			    expr, fname[i], fields[i]);
			return -1;
		}
		switch (i) {
		case 0: c->minute = bits; break;
		case 1: c->hour = (uint32_t)bits; break;
		case 2: c->mday = (uint32_t)bits; c->mday_star = (uint8_t)star; break;
		case 3: c->month = (uint16_t)bits; break;
		case 4:
			if (bits & (1ULL << 7))        /* 7 is Sunday too */
				bits |= 1;
			c->wday = (uint8_t)(bits & 0x7f);
			c->wday_star = (uint8_t)star;
			break;
		}
	}
	return 0;
}

static int
day_matches(const struct cron *c, const struct tm *tm)
{
	int dm = (c->mday >> tm->tm_mday) & 1, dw = (c->wday >> tm->tm_wday) & 1;

	if (!((c->month >> (tm->tm_mon + 1)) & 1))
		return 0;
	/* Vixie semantics: when both day fields are restricted, either matches */
	if (!c->mday_star && !c->wday_star)
		return dm || dw;
	return dm && dw;
}

time_t
cron_next(const struct cron *c, time_t t)
{
	struct tm day, at;

	localtime_r(&t, &day);
	at = day;
	day.tm_sec = 0;
	day.tm_min = 0;
	day.tm_hour = 0;
	for (int d = 0; d < 366 * 5; d++) {
		struct tm cur = day;
		cur.tm_mday += d;
		cur.tm_isdst = -1;
		cur.tm_hour = 12;       /* noon: a safe anchor to normalise the date */
		if (mktime(&cur) == (time_t)-1)
			return -1;
		if (!day_matches(c, &cur))
			continue;
		for (int h = 0; h < 24; h++) {
			if (!((c->hour >> h) & 1))
				continue;
			for (int m = 0; m < 60; m++) {
				if (!((c->minute >> m) & 1))
					continue;
				struct tm w = cur;
				w.tm_hour = h;
				w.tm_min = m;
				w.tm_sec = 0;
				w.tm_isdst = -1;
				time_t r = mktime(&w);
				/* mktime moves a nonexistent wall time; skip it */
				if (r == (time_t)-1 || w.tm_hour != h || w.tm_min != m ||
				    w.tm_mday != cur.tm_mday)
					continue;
				/* the same wall-clock minute as t, met again after a
				 * fall-back change, has run already */
				if (w.tm_year == at.tm_year && w.tm_yday == at.tm_yday &&
				    w.tm_hour == at.tm_hour && w.tm_min == at.tm_min)
					continue;
				if (r > t)
					return r;
			}
		}
	}
	return -1;
}
