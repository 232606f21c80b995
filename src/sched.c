/* sched.c — the arithmetic of schedules, kept apart from the engine so it
 * can be tested alone.  Slots of an `every` schedule are laid on a fixed
 * grid from the first one (no drift from run times); a slot missed because
 * the previous run was still going is skipped, not queued.  Cron slots are
 * found in local wall-clock time (cron.c) and turned into monotonic time,
 * so a clock step moves the next cron run but never a running timer. */
#include <stdlib.h>
#include "sched.h"

int
sched_init(struct sched *s, int64_t every_ms, const char *cron, int64_t jitter_ms,
    double mono_now, time_t real_now)
{
	char err[128];

	s->every_ms = every_ms;
	s->jitter_ms = jitter_ms;
	if (every_ms > 0) {
		s->due = mono_now;
		return 0;
	}
	if (cron == NULL || cron_parse(cron, &s->cron, err, sizeof err) < 0)
		return -1;
	time_t next = cron_next(&s->cron, real_now);
	s->slot = next;
	s->due = next < 0 ? mono_now + 86400.0 * 365 : mono_now + (double)(next - real_now);
	return 0;
}

void
sched_advance(struct sched *s, double mono_now, time_t real_now, uint64_t *missed)
{
	*missed = 0;
	if (s->every_ms > 0) {
		double step = (double)s->every_ms / 1000.0;
		s->due += step;
		if (s->due <= mono_now) {
			/* behind: skip the slots already gone, keep the grid */
			double behind = mono_now - s->due;
			uint64_t n = (uint64_t)(behind / step) + 1;
			*missed = n;
			s->due += (double)n * step;
		}
		return;
	}
	/* from the slot just run, even if the clock reads a little before it:
	 * a timer that fires early must not run the same minute twice */
	time_t next = cron_next(&s->cron, real_now > s->slot ? real_now : s->slot);
	s->slot = next;
	s->due = next < 0 ? mono_now + 86400.0 * 365 : mono_now + (double)(next - real_now);
}

double
sched_start_at(const struct sched *s)
{
	if (s->jitter_ms <= 0)
		return s->due;
	return s->due + (double)(random() % (s->jitter_ms + 1)) / 1000.0;
}
