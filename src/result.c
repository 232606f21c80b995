/* result.c — names of statuses and the one way to fill a result's verdict. */
#include <stdarg.h>
#include <stdio.h>
#include <strings.h>
#include "result.h"
#include "utf8.h"

static const char *const names[] = { "OK", "WARN", "CRIT", "UNKNOWN" };

const char *
result_status_name(enum status st)
{
	return (unsigned)st <= ST_UNKNOWN ? names[st] : "UNKNOWN";
}

int
result_status_parse(const char *s, enum status *st)
{
	for (int i = 0; i <= ST_UNKNOWN; i++)
		if (strcasecmp(s, names[i]) == 0) {
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
