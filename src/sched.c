/* sched.c — the arithmetic of schedules, kept apart from the engine so it
 * can be tested alone.  Slots of an `every` schedule are laid on a fixed
 * grid from the first one (no drift from run times); a slot missed because
 * the previous run was still going is skipped, not queued.  Cron slots are
 * found in local wall-clock time (cron.c) and turned into monotonic time,
 * so a clock step moves the next cron run but never a running timer.
 * Checks that share an interval do not all start on the same instant: each
 * `every` grid is shifted by a phase drawn from the check's name (as
 * Prometheus spreads its scrapes), so a thousand checks every second start
 * a thousand times a second in small groups, not in one burst that holds
 * a thousand connections, runs and results at once.  The phase is at most
 * a second, so a new check still runs within a second of start; groups
 * hold about SCHED_GROUP checks, so a handful of checks still wake the
 * agent once, not once per check. */
#include <stdlib.h>
#include "sched.h"

double
sched_phase(const char *name, int64_t every_ms, size_t nsame)
{
	uint32_t h = 2166136261u;       /* FNV-1a: stable across restarts */
	int64_t span = every_ms < SCHED_SPREAD_MS ? every_ms : SCHED_SPREAD_MS;
	size_t steps = (size_t)(span / SCHED_STEP_MS);
	size_t want = (nsame + SCHED_GROUP - 1) / SCHED_GROUP;

	/* a few checks start together: one wake-up costs less than several */
	if (want < steps)
		steps = want;
	if (name == NULL || steps < 2)
		return 0.0;
	for (const unsigned char *p = (const unsigned char *)name; *p; p++)
		h = (h ^ *p) * 16777619u;
	return (double)((int64_t)(h % steps) * SCHED_STEP_MS) / 1000.0;
}

int
sched_init(struct sched *s, int64_t every_ms, const char *cron, int64_t jitter_ms,
    double phase, double mono_now, time_t real_now)
{
	char err[128];

	s->every_ms = every_ms;
	s->jitter_ms = jitter_ms;
	if (every_ms > 0) {
		/* a check with jitter has its own spread */
		s->due = mono_now + (jitter_ms > 0 ? 0.0 : phase);
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
