/* sched.h — when a check runs next: `every` with jitter, or cron. */
#ifndef DRISHTI_SCHED_H
#define DRISHTI_SCHED_H
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include "cron.h"

struct sched {
	int64_t every_ms;       /* 0: cron */
	struct cron cron;
	int64_t jitter_ms;
	double  due;            /* monotonic seconds: the slot of the next run */
	time_t  slot;           /* cron: the wall-clock minute of that slot */
};

/* `every` grids are spread over this span in steps of this size (sched.c) */
#define SCHED_SPREAD_MS 1000
#define SCHED_STEP_MS   50
#define SCHED_GROUP     50      /* checks a step should hold, at least */

/* Sets up from a declaration; the first slot is now plus phase (every, no
 * jitter) or the next cron minute.  -1 if the cron expression does not
 * parse. */
int    sched_init(struct sched *s, int64_t every_ms, const char *cron, int64_t jitter_ms,
    double phase, double mono_now, time_t real_now);
/* The phase (seconds) of a check's `every` grid, given how many checks
 * share its interval: a multiple of SCHED_STEP_MS below min(every,
 * SCHED_SPREAD_MS), with at most nsame / SCHED_GROUP steps (rounded up);
 * the same for a name on every start. */
double sched_phase(const char *name, int64_t every_ms, size_t nsame);
/* The slot after the one just due; slots already past are skipped, their
 * number returned in *missed. */
void   sched_advance(struct sched *s, double mono_now, time_t real_now, uint64_t *missed);
/* When to start for the current slot: due plus a random share of jitter. */
double sched_start_at(const struct sched *s);

#endif
