/* result.h — what one run of a check produces.  Plain data: it crosses the
 * pipe from a rule worker to the supervisor and lands in the state file. */
#ifndef DRISHTI_RESULT_H
#define DRISHTI_RESULT_H

enum status { ST_OK = 0, ST_WARN = 1, ST_CRIT = 2, ST_UNKNOWN = 3 };

#define RESULT_SUMMARY_MAX 1024
#define RESULT_METRICS_MAX 64
#define METRIC_NAME_MAX 64
#define METRIC_UNIT_MAX 16

struct metric {
	char   name[METRIC_NAME_MAX];
	char   unit[METRIC_UNIT_MAX];
	double value;
};

struct result {
	enum status   status;
	char          summary[RESULT_SUMMARY_MAX];
	double        started;          /* unix seconds */
	double        duration;         /* seconds */
	int           nmetrics;
	struct metric metrics[RESULT_METRICS_MAX];
};

/* The bytes of r that carry something: its head and the metrics used. */
size_t result_size(const struct result *r);
/* A kept result sized to what it holds (a check's last one: a thousand
 * checks would otherwise hold 6.7 MiB of empty metric slots).  *dst is
 * grown or shrunk to r and r copied in; -1 (nothing changed) when memory
 * is short.  *dst NULL: a fresh one; r NULL: an empty one. */
int  result_keep(struct result **dst, const struct result *r);

const char *result_status_name(enum status st);     /* "OK", "WARN" ... */
const char *result_status_lower(enum status st);    /* "ok", "warn" ... */
int  result_status_parse(const char *s, enum status *st);
/* Sets status and a printf-formatted summary, cut at the cap. */
void result_set(struct result *r, enum status st, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
