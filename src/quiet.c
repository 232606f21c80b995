/* quiet.c — quiet time (DESIGN.md §7): silences made by `drishti silence
 * add` and kept in the state file, and [maintenance] windows from the
 * config, which are silences that recur.  The agent refreshes both every
 * second; a check inside one still runs and its alerts are still recorded,
 * but they are not delivered (outbox.c skips muted events).  A pattern is
 * a glob on check names (fnmatch) or label=value.  A window is open when
 * the last cron time at or before now is less than its duration ago. */
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "cron.h"
#include "quiet.h"
#include "store.h"

#define QUIET_MAX_SILENCES 1024     /* what we keep of the state file's list */

int
quiet_pattern(const char *pattern, const struct rule_decl *d)
{
	const char *eq = strchr(pattern, '=');

	if (eq == NULL)
		return fnmatch(pattern, d->name, 0) == 0;
	size_t kl = (size_t)(eq - pattern);
	for (size_t i = 0; i < d->nlabels; i++)
		if (strlen(d->labels[2 * i]) == kl && strncmp(d->labels[2 * i], pattern, kl) == 0 &&
		    fnmatch(eq + 1, d->labels[2 * i + 1], 0) == 0)
			return 1;
	return 0;
}

/* checks = "daily.*, host.load": any of them */
static int
any_pattern(const char *list, const struct rule_decl *d)
{
	char one[256];

	for (const char *p = list; p != NULL && *p != '\0';) {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		size_t n = strcspn(p, ",");
		size_t m = n;
		while (m > 0 && (p[m - 1] == ' ' || p[m - 1] == '\t'))
			m--;
		if (m > 0 && m < sizeof one) {
			memcpy(one, p, m);
			one[m] = '\0';
			if (quiet_pattern(one, d))
				return 1;
		}
		p += n;
	}
	return 0;
}

double
quiet_window_at(const struct config_maintenance *m, double now, int *open)
{
	struct cron c;
	char e[128];
	double dur = (double)m->duration_ms / 1000.0;

	*open = 0;
	if (cron_parse(m->cron, &c, e, sizeof e) < 0)
		return -1;
	/* the starts inside (now - dur, now]: the last of them keeps it open */
	time_t t = cron_next(&c, (time_t)(now - dur)), last = -1;
	for (int i = 0; t != (time_t)-1 && (double)t <= now && i < 100000; i++) {
		last = t;
		t = cron_next(&c, t);
	}
	if (last != -1 && (double)last + dur > now) {
		*open = 1;
		return (double)last + dur;
	}
	return t == (time_t)-1 ? -1 : (double)t;
}

/* The list grows as rows come (it is read every second: no block of
 * QUIET_MAX_SILENCES, 550 KiB, made and dropped each time). */
struct load {
	struct quiet_silence *sil;
	size_t n, cap;
	int failed;
};

static void
take(const struct store_silence *s, void *ud)
{
	struct load *l = ud;
	if (l->n >= QUIET_MAX_SILENCES || l->failed)
		return;
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 8;
		struct quiet_silence *n = realloc(l->sil, cap * sizeof *n);
		if (n == NULL) {
			l->failed = 1;
			return;
		}
		l->sil = n;
		l->cap = cap;
	}
	struct quiet_silence *q = &l->sil[l->n++];
	memset(q, 0, sizeof *q);
	q->id = s->id;
	snprintf(q->pattern, sizeof q->pattern, "%s", s->pattern);
	snprintf(q->reason, sizeof q->reason, "%s", s->reason);
	q->created = s->created;
	q->ends = s->ends;
	q->removed = s->removed;
	q->announced = s->announced;
}

int
quiet_refresh(struct quiet *q, struct store *s, const struct config *cfg, double now)
{
	q->cfg = cfg;
	if (q->nwin != cfg->nmaint) {
		free(q->win);
		q->win = calloc(cfg->nmaint ? cfg->nmaint : 1, sizeof *q->win);
		q->nwin = q->win != NULL ? cfg->nmaint : 0;
	}
	for (size_t i = 0; i < q->nwin; i++) {
		int open;
		double at = quiet_window_at(&cfg->maint[i], now, &open);
		q->win[i].open = open;
		q->win[i].closes = open ? at : 0;
		q->win[i].opens = open ? at - (double)cfg->maint[i].duration_ms / 1000.0 : at;
	}
	if (s == NULL)
		return 0;
	struct load l = { 0 };
	if (store_each_silence(s, false, take, &l) < 0 || l.failed) {
		free(l.sil);
		return -1;
	}
	free(q->sil);
	q->sil = l.sil;
	q->nsil = l.n;
	return 0;
}

void
quiet_free(struct quiet *q)
{
	free(q->sil);
	free(q->win);
	memset(q, 0, sizeof *q);
}

static void
clock_of(double t, char *out, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;
	localtime_r(&tt, &tm);
	strftime(out, len, "%Y-%m-%d %H:%M", &tm);
}

int
quiet_match(const struct quiet *q, const struct rule_decl *d, double now, char *why, size_t len)
{
	char when[40];

	for (size_t i = 0; i < q->nsil; i++) {
		const struct quiet_silence *s = &q->sil[i];
		if (s->removed > 0 || now < s->created || now >= s->ends || !quiet_pattern(s->pattern, d))
			continue;
		clock_of(s->ends, when, sizeof when);
		snprintf(why, len, "silence #%lld until %s%s%s%s", (long long)s->id, when,
		    *s->reason ? " (" : "", s->reason, *s->reason ? ")" : "");
		return 1;
	}
	for (size_t i = 0; q->cfg != NULL && i < q->nwin; i++) {
		if (!q->win[i].open || !any_pattern(q->cfg->maint[i].checks, d))
			continue;
		clock_of(q->win[i].closes, when, sizeof when);
		snprintf(why, len, "maintenance \"%s\" until %s", q->cfg->maint[i].name, when);
		return 1;
	}
	return 0;
}
