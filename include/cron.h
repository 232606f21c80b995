/* cron.h — 5-field cron expressions in local time. */
#ifndef DRISHTI_CRON_H
#define DRISHTI_CRON_H
#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct cron {
	uint64_t minute;        /* bit i: minute i matches */
	uint32_t hour;
	uint32_t mday;          /* bits 1..31 */
	uint16_t month;         /* bits 1..12 */
	uint8_t  wday;          /* bits 0..6, Sunday 0 */
	uint8_t  mday_star, wday_star;
};

/* "m h dom mon dow", names (jan, mon) and @hourly @daily @weekly @monthly
 * @yearly accepted.  Returns 0 / -1 with err. */
int    cron_parse(const char *expr, struct cron *c, char *err, size_t errlen);
/* The first matching local minute strictly after t; -1 if none in 5 years.
 * A time skipped by a DST change is not run; a repeated hour runs once. */
time_t cron_next(const struct cron *c, time_t t);

#endif
