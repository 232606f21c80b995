/* result.c — names of statuses and the one way to fill a result's verdict. */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "result.h"
#include "utf8.h"

/* the one table of status names: as shown, and as sent and stored */
static const struct { const char *upper, *lower; } names[] = {
	[ST_OK] = { "OK", "ok" }, [ST_WARN] = { "WARN", "warn" },
	[ST_CRIT] = { "CRIT", "crit" }, [ST_UNKNOWN] = { "UNKNOWN", "unknown" },
};

const char *
result_status_name(enum status st)
{
	return (unsigned)st <= ST_UNKNOWN ? names[st].upper : "UNKNOWN";
}

const char *
result_status_lower(enum status st)
{
	return (unsigned)st <= ST_UNKNOWN ? names[st].lower : "unknown";
}

int
result_status_parse(const char *s, enum status *st)
{
	for (int i = 0; i <= ST_UNKNOWN; i++)
		if (strcasecmp(s, names[i].upper) == 0) {
			*st = (enum status)i;
			return 0;
		}
	return -1;
}

void
result_set(struct result *r, enum status st, const char *fmt, ...)
{
	va_list ap;

	r->status = st;
	va_start(ap, fmt);
	vsnprintf(r->summary, sizeof r->summary, fmt, ap);
	va_end(ap);
	/* the cap may cut a character, and the text may come from a rule:
	 * valid UTF-8 either way */
	utf8_fix(r->summary, sizeof r->summary);
}

size_t
result_size(const struct result *r)
{
	int n = r->nmetrics < 0 ? 0 : r->nmetrics > RESULT_METRICS_MAX ? RESULT_METRICS_MAX :
	    r->nmetrics;
	return offsetof(struct result, metrics) + (size_t)n * sizeof r->metrics[0];
}

int
result_keep(struct result **dst, const struct result *r)
{
	static const struct result empty;

	if (r == NULL)
		r = &empty;
	if (*dst == r)
		return 0;
	size_t n = result_size(r);
	/* a check's results are mostly the same size: no realloc then */
	struct result *p = *dst != NULL && result_size(*dst) == n ? *dst : realloc(*dst, n);
	if (p == NULL)
		return -1;
	memcpy(p, r, n);
	*dst = p;
	return 0;
}
