/* outbox.c — delivery.  Every event is in the state file before it counts
 * as sent (store.c); here each reporter walks the events in order with a
 * cursor kept in the same file, so delivery is at least once, in order per
 * reporter, with the same event id on every retry.  A failed send is retried
 * with capped exponential backoff and full jitter (a random wait between 0
 * and min(cap, base * 2^attempts)), never sooner than a Retry-After; a 4xx
 * other than 408 and 429 is the receiver refusing the event for good: it is
 * kept as dead (drishti status shows it) and the reporter moves on.
 * What each type is sent is reporter.c's business and the send itself
 * deliver.c's: in `drishti run` this runs in the state role, which holds no
 * secret, and each send is a job handed to the delivery role (a sender,
 * outbox.h); the one-shot commands (notify-test, report --send) send here
 * with deliver.c directly.
 * The outbox is bounded per reporter ([store] outbox_max, outbox_age): past
 * a bound the oldest undelivered events are skipped, counted and logged.
 * An alertmanager reporter also re-sends, every `resend`, what is firing
 * and what was resolved in the last RESOLVED_RESEND seconds, so a restarted
 * Alertmanager learns both and none of ours times out there by itself. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <sys/random.h>
#include <unistd.h>
#include "clock.h"
#include "file.h"
#include "deliver.h"
#include "log.h"
#include "loop.h"
#include "outbox.h"
#include "priv.h"
#include "report.h"
#include "reporter.h"
#include "secret.h"
#include "store.h"

#define RESOLVED_RESEND 900.0       /* seconds a resolve is re-sent to Alertmanager */
#define BOUND_EVERY 10.0            /* seconds between checks of the outbox bounds */
#define AM_BATCH 64                 /* alerts in one re-send POST */

struct rep {
	struct outbox *o;
	char   *name;
	const struct config_reporter *cfg;
	int     busy;
	int     in_pump;            /* finish() from inside pump(): no recursion */
	uint64_t job;               /* the send in flight (busy), by the sender's id */
	loop_timer_id retry_t;
	int64_t seq;                /* cursor: the last event done */
	int     attempts;
	double  next_at;            /* unix seconds */
	struct store_event ev;      /* the one in flight */
	uint64_t resend_job;        /* alertmanager: the re-send in flight, or 0 */
	loop_timer_id resend_t;
	int     resend_failing;     /* log a failing re-send once, not every minute */
};

struct outbox {
	struct loop *loop;
	struct store *store;
	const struct config *cfg;
	outbox_decl_fn decl;
	void   *ud;
	struct rep *reps;
	size_t  nreps;
	const struct outbox_sender *sender;
	loop_timer_id poll_t;
	double  bound_at;           /* next check of the bounds */
};

static const struct rule_decl *
decl_of(const struct outbox *o, const struct store_event *ev)
{
	return ev->check[0] && o->decl ? o->decl(o->ud, ev->check) : NULL;
}

/* ---- which events a reporter gets -------------------------------------------- */

static int
wants(const struct rep *r, const struct store_event *ev, outbox_decl_fn decl, void *ud)
{
	const char *kind = ev->kind;
	/* the agent's own troubles travel as alerts */
	if (strcmp(kind, "agent") == 0 || strcmp(kind, "quarantine") == 0)
		kind = "alert";
	const char *list = r->cfg->events ? r->cfg->events : "";
	size_t kl = strlen(kind);
	int listed = 0;
	for (const char *p = list; *p && !listed;) {
		while (*p == ' ' || *p == ',')
			p++;
		size_t l = strcspn(p, ", ");
		listed = l == kl && strncmp(p, kind, l) == 0;
		p += l;
	}
	if (!listed)
		return 0;
	/* Alertmanager routes alerts; a report is no alert */
	/* Alertmanager and PagerDuty route incidents; a report or a silence
	 * is none */
	if ((strcmp(r->cfg->type, "alertmanager") == 0 || strcmp(r->cfg->type, "pagerduty") == 0) &&
	    (strcmp(ev->kind, "report") == 0 || strcmp(ev->kind, "silence") == 0))
		return 0;
	/* held back by a silence or a maintenance window: recorded, not sent */
	if (ev->muted[0] != '\0')
		return 0;
	/* severity: a resolve is as severe as what it resolves.  UNKNOWN is
	 * no severity (the check could not tell): it has its own switch, and
	 * min_severity ranks OK < WARN < CRIT only */
	enum status sev = strcmp(ev->kind, "resolve") == 0 ? ev->previous : ev->status;
	enum status min = ST_WARN;
	if (r->cfg->min_severity != NULL)
		result_status_parse(r->cfg->min_severity, &min);
	if (strcmp(ev->kind, "report") != 0 && strcmp(ev->kind, "silence") != 0 &&
	    strcmp(ev->kind, "test") != 0) {
		if (sev == ST_UNKNOWN) {
			if (r->cfg->unknown != NULL && strcmp(r->cfg->unknown, "drop") == 0)
				return 0;
		} else if (sev < min)
			return 0;
	}
	const struct rule_decl *d = ev->check[0] && decl ? decl(ud, ev->check) : NULL;
	if (d != NULL && d->notify != NULL) {
		for (size_t i = 0; i < d->nnotify; i++)
			if (strcmp(d->notify[i], r->name) == 0)
				return 1;
		return 0;
	}
	return 1;
}

/* ---- sending ---------------------------------------------------------------------- */

static void pump(struct rep *r);

static void
on_retry(struct loop *l, void *ud)
{
	struct rep *r = ud;

	(void)l;
	r->retry_t = 0;
	pump(r);
}

static void
finish(struct rep *r, enum deliver_outcome outcome, const char *error, double retry_after)
{
	struct outbox *o = r->o;

	r->busy = 0;
	r->job = 0;
	if (outcome == DELIVER_OK || outcome == DELIVER_DEAD) {
		/* done, or dead: the cursor moves on */
		if (outcome == DELIVER_DEAD)
			log_error("reporter \"%s\": event %s refused for good: %s; kept as dead",
			    r->name, r->ev.id, error);
		else if (r->attempts > 0)
			log_info("reporter \"%s\": event %s delivered after %d retr%s", r->name,
			    r->ev.id, r->attempts, r->attempts == 1 ? "y" : "ies");
		r->seq = r->ev.seq;
		r->attempts = 0;
		r->next_at = 0;
		store_cursor_set(o->store, r->name, r->seq, 0, 0,
		    outcome == DELIVER_DEAD ? error : NULL, outcome == DELIVER_DEAD);
		if (!r->in_pump)
			pump(r);
		return;
	}
	/* a retry: full jitter under a capped exponential */
	double cap = fmin(OUTBOX_BACKOFF_CAP, OUTBOX_BACKOFF_BASE * pow(2, r->attempts));
	double wait = cap * ((double)random() / (double)RAND_MAX);
	if (retry_after > wait)
		wait = fmin(retry_after, OUTBOX_BACKOFF_CAP * 4);
	r->attempts++;
	r->next_at = clock_real() + wait;
	if (r->attempts == 1 || r->attempts % 10 == 0)
		log_warn("reporter \"%s\": %s; retrying event %s in %.1f s (attempt %d)", r->name,
		    error ? error : "failed", r->ev.id, wait, r->attempts + 1);
	store_cursor_set(o->store, r->name, r->seq, r->attempts, r->next_at, error, false);
	r->retry_t = loop_timer_at(o->loop, loop_update_now(o->loop) + wait, on_retry, r);
}

void
outbox_done(struct outbox *o, uint64_t job, enum deliver_outcome outcome, double retry_after,
    const char *error)
{
	for (size_t i = 0; o != NULL && job != 0 && i < o->nreps; i++) {
		struct rep *r = &o->reps[i];
		if (r->busy && r->job == job) {
			finish(r, outcome, error, retry_after);
			return;
		}
		if (r->resend_job == job) {
			r->resend_job = 0;
			if (outcome == DELIVER_OK) {
				if (r->resend_failing)
					log_info("reporter \"%s\": re-sending firing alerts works again",
					    r->name);
				r->resend_failing = 0;
			} else if (!r->resend_failing++)
				log_warn("reporter \"%s\": re-sending firing alerts failed: %s", r->name,
				    error ? error : "failed");
			return;
		}
	}
}

void
outbox_lost(struct outbox *o)
{
	/* the sends in flight went with the delivery role: each is sent again
	 * (same event, same id) once it is back; no attempt is counted */
	for (size_t i = 0; o != NULL && i < o->nreps; i++) {
		o->reps[i].busy = 0;
		o->reps[i].job = 0;
		o->reps[i].resend_job = 0;
	}
}

static int
send_event(struct rep *r)
{
	struct outbox *o = r->o;
	const struct rule_decl *d = decl_of(o, &r->ev);
	uint64_t job = 0;

	/* busy first: a sender may answer before it returns */
	r->busy = 1;
	r->job = 0;
	int rc = o->sender->send(o->sender->ud, (size_t)(r - o->reps), &r->ev, &d, 1, &job);
	if (rc < 0) {
		r->busy = 0;        /* the delivery role is not there: wait for it */
		return -1;
	}
	if (r->busy)
		r->job = job;
	return 0;
}

/* Sends this reporter's next due event, if any and if it is free. */
static void
pump(struct rep *r)
{
	struct outbox *o = r->o;

	r->in_pump = 1;
	while (!r->busy && r->retry_t == 0) {
		if (r->next_at > clock_real()) {
			r->retry_t = loop_timer_at(o->loop, loop_update_now(o->loop) +
			    (r->next_at - clock_real()), on_retry, r);
			break;
		}
		int rc = store_event_after(o->store, r->seq, &r->ev);
		if (rc <= 0)
			break;
		if (!wants(r, &r->ev, o->decl, o->ud)) {
			r->seq = r->ev.seq;     /* not for this reporter: pass it */
			store_cursor_set(o->store, r->name, r->seq, 0, 0, NULL, false);
			continue;
		}
		if (send_event(r) < 0)
			break;
	}
	r->in_pump = 0;
}

/* The outbox bounds: a receiver gone for a week must not grow the state
 * file without end.  What is skipped is logged and counted (status). */
static void
bound(struct outbox *o)
{
	double now = clock_real(), age = (double)o->cfg->outbox_age_ms / 1000.0;
	long dropped;

	if (now < o->bound_at)
		return;
	o->bound_at = now + BOUND_EVERY;
	for (size_t i = 0; i < o->nreps; i++) {
		struct rep *r = &o->reps[i];
		if (r->busy || store_outbox_bound(o->store, r->name, o->cfg->outbox_max,
		    age > 0 ? age : 1e12, now, &dropped) < 0 || dropped == 0)
			continue;
		log_error("reporter \"%s\": %ld undelivered event%s dropped, the oldest first"
		    " (outbox bounds: %llu events, %.0f s)", r->name, dropped, dropped == 1 ? "" : "s",
		    (unsigned long long)o->cfg->outbox_max, age);
		loop_timer_cancel(o->loop, r->retry_t);
		r->retry_t = 0;
		store_cursor(o->store, r->name, &r->seq, &r->attempts, &r->next_at);
	}
}

static void
on_poll(struct loop *l, void *ud)
{
	struct outbox *o = ud;

	o->poll_t = loop_timer_at(l, loop_tick(l, 1.0), on_poll, o);
	bound(o);
	outbox_kick(o);
}

/* ---- Alertmanager: re-send what is firing ----------------------------------------- */

struct am_set {
	struct outbox *o;
	struct store_event ev[AM_BATCH];
	const struct rule_decl *d[AM_BATCH];
	size_t n;
	double now;
};

static void
am_collect(const struct store_active *a, void *ud)
{
	struct am_set *set = ud;

	if (set->n >= AM_BATCH)
		return;
	struct store_event *ev = &set->ev[set->n];
	memset(ev, 0, sizeof *ev);
	snprintf(ev->kind, sizeof ev->kind, "%s", a->ended > 0 ? "resolve" : "alert");
	snprintf(ev->id, sizeof ev->id, "resend");
	snprintf(ev->check, sizeof ev->check, "%s", a->check);
	snprintf(ev->summary, sizeof ev->summary, "%s", a->summary ? a->summary : "");
	snprintf(ev->metrics, sizeof ev->metrics, "{}");
	ev->status = a->status;
	ev->previous = a->status;
	ev->since = a->since;
	ev->at = a->ended > 0 ? a->ended : set->now;
	set->d[set->n] = decl_of(set->o, ev);
	set->n++;
}

static void
on_resend(struct loop *l, void *ud)
{
	struct rep *r = ud;
	struct outbox *o = r->o;

	r->resend_t = loop_timer_at(l, loop_update_now(l) + (double)r->cfg->resend_ms / 1000.0,
	    on_resend, r);
	if (r->resend_job != 0)
		return;
	struct am_set *set = calloc(1, sizeof *set);
	if (set == NULL)
		return;
	set->o = o;
	set->now = clock_real();
	store_each_active(o->store, set->now - RESOLVED_RESEND, am_collect, set);
	uint64_t job = 0;
	if (set->n > 0 && o->sender->send(o->sender->ud, (size_t)(r - o->reps), set->ev, set->d,
	    set->n, &job) == 0)
		r->resend_job = job;
	free(set);
}

void
outbox_kick(struct outbox *o)
{
	for (size_t i = 0; o != NULL && i < o->nreps; i++)
		pump(&o->reps[i]);
}

struct outbox *
outbox_new(struct loop *l, struct store *s, const struct config *cfg, outbox_decl_fn decl,
    void *ud, const struct outbox_sender *sender, char *err, size_t errlen)
{
	struct outbox *o = calloc(1, sizeof *o);

	if (o == NULL)
		return NULL;
	o->loop = l;
	o->store = s;
	o->cfg = cfg;
	o->decl = decl;
	o->ud = ud;
	o->sender = sender;
	size_t n = cfg->nreporters ? cfg->nreporters : 1;
	o->reps = calloc(n, sizeof *o->reps);
	if (o->reps == NULL) {
		free(o);
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		struct rep *r = &o->reps[o->nreps];
		r->o = o;
		r->cfg = cfg->nreporters ? &cfg->reporters[i] : &reporter_stdout;
		r->name = r->cfg->name;
		if (strcmp(r->cfg->type, "alertmanager") == 0 && r->cfg->resend_ms > 0)
			r->resend_t = loop_timer_at(l, loop_now(l) + (double)r->cfg->resend_ms / 1000.0,
			    on_resend, r);
		if (store_cursor(s, r->name, &r->seq, &r->attempts, &r->next_at) < 0) {
			snprintf(err, errlen, "reporter \"%s\": cannot read its place in the outbox", r->name);
			o->nreps++;
			outbox_free(o);
			return NULL;
		}
		o->nreps++;
	}
	const char *names[64];
	if (cfg->nreporters <= 64) {
		for (size_t i = 0; i < o->nreps; i++)
			names[i] = o->reps[i].name;
		store_cursors_keep(s, names, o->nreps);
	}
	o->poll_t = loop_timer_at(l, loop_now(l), on_poll, o);
	return o;
}

void
outbox_free(struct outbox *o)
{
	if (o == NULL)
		return;
	for (size_t i = 0; i < o->nreps; i++) {
		struct rep *r = &o->reps[i];
		loop_timer_cancel(o->loop, r->retry_t);
		loop_timer_cancel(o->loop, r->resend_t);
		store_event_clear(&r->ev);
	}
	loop_timer_cancel(o->loop, o->poll_t);
	free(o->reps);
	free(o);
}

const struct config_reporter *
outbox_reporter(const struct outbox *o, size_t i)
{
	return o != NULL && i < o->nreps ? o->reps[i].cfg : NULL;
}

/* ---- one-shot sends: notify-test, report --send ------------------------------------ */

struct once {
	struct loop *loop;
	int     done;
	enum deliver_outcome outcome;
	char    answer[512];
};

static void
once_done(void *ud, enum deliver_outcome outcome, double retry_after, const char *error,
    const char *answer)
{
	struct once *w = ud;

	(void)retry_after;
	w->done = 1;
	w->outcome = outcome;
	snprintf(w->answer, sizeof w->answer, "%s", answer ? answer : error ? error : "failed");
	loop_stop(w->loop);
}

/* Started as root, a one-shot send runs as the agent's user once the
 * secrets are read, as the delivery role would: curl and TLS never run as
 * root, and a file the file reporter makes is that user's. */
static int
drop_root(const struct config *cfg)
{
	char err[256];

	if (geteuid() != 0 || priv_drop(priv_user(cfg->user), err, sizeof err) == 0)
		return 0;
	fprintf(stderr, "drishti: %s\n", err);
	return -1;
}

/* One event through one reporter, now, once, with its secrets read before:
 * nothing stored, the answer printed.  0 accepted, else 1. */
static int
send_now(struct loop *l, const struct config *cfg, const struct config_reporter *rc,
    const struct secret_files *f, const struct store_event *ev)
{
	struct once w = { .loop = l, .outcome = DELIVER_RETRY };
	char err[512];

	if (reporter_is_remote(rc->type) && deliver_init(l, err, sizeof err) < 0) {
		fprintf(stderr, "drishti: %s\n", err);
		return 1;
	}
	struct deliver_req rq = { .cfg = rc, .agent = cfg->name, .f = f, .evs = ev, .n = 1 };
	const struct rule_decl *none = NULL;
	rq.decls = &none;
	if (deliver_start(&rq, once_done, &w) != NULL && !w.done)
		loop_run(l);
	printf("%s: %s\n", rc->name, w.answer[0] ? w.answer : "no answer");
	fflush(stdout);
	deliver_shutdown();
	return w.outcome == DELIVER_OK ? 0 : 1;
}

static void
new_event_id(const char *prefix, char *id, size_t len, double *at)
{
	struct timespec ts;
	unsigned char rnd[4];

	clock_gettime(CLOCK_REALTIME, &ts);
	if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd)
		for (size_t i = 0; i < sizeof rnd; i++)
			rnd[i] = (unsigned char)random();
	snprintf(id, len, "%s-%lld-%02x%02x%02x%02x", prefix, (long long)ts.tv_sec,
	    rnd[0], rnd[1], rnd[2], rnd[3]);
	*at = (double)ts.tv_sec;
}

int
outbox_test(struct loop *l, const struct config *cfg, const char *reporter)
{
	const struct config_reporter *rc = NULL;
	struct store_event ev;

	for (size_t i = 0; i < cfg->nreporters; i++)
		if (strcmp(cfg->reporters[i].name, reporter) == 0)
			rc = &cfg->reporters[i];
	if (rc == NULL && cfg->nreporters == 0 && strcmp(reporter, "stdout") == 0)
		rc = &reporter_stdout;
	if (rc == NULL) {
		fprintf(stderr, "drishti notify-test: no reporter \"%s\" in the config\n", reporter);
		return 64;
	}
	memset(&ev, 0, sizeof ev);
	new_event_id("test", ev.id, sizeof ev.id, &ev.at);
	snprintf(ev.kind, sizeof ev.kind, "test");
	ev.status = ST_OK;
	snprintf(ev.summary, sizeof ev.summary, "drishti test event from %s", cfg->name);
	snprintf(ev.metrics, sizeof ev.metrics, "{}");
	struct secret_files f;
	char err[512];
	if (secret_files_load(rc, &f, err, sizeof err) < 0) {
		fprintf(stderr, "drishti: %s\n", err);
		return 78;
	}
	int rc2 = drop_root(cfg) < 0 ? 1 : send_now(l, cfg, rc, &f, &ev);
	secret_files_free(&f);
	return rc2;
}

int
outbox_send_report(struct loop *l, const struct config *cfg, const char *name,
    const char *headline, const char *doc)
{
	struct store_event ev;
	int rc = 0, sent = 0;

	memset(&ev, 0, sizeof ev);
	new_event_id("report", ev.id, sizeof ev.id, &ev.at);
	snprintf(ev.kind, sizeof ev.kind, "report");
	snprintf(ev.check, sizeof ev.check, "%s", name);
	snprintf(ev.summary, sizeof ev.summary, "%s", headline);
	snprintf(ev.metrics, sizeof ev.metrics, "{}");
	ev.doc = (char *)doc;
	size_t n = cfg->nreporters ? cfg->nreporters : 1;
	struct secret_files *files = calloc(n, sizeof *files);
	bool *want = calloc(n, sizeof *want);
	char err[512];
	if (files == NULL || want == NULL) {
		free(files);
		free(want);
		return 1;
	}
	/* every secret first: past drop_root they cannot be read */
	for (size_t i = 0; i < n; i++) {
		struct rep probe = { .cfg = cfg->nreporters ? &cfg->reporters[i] : &reporter_stdout };
		probe.name = probe.cfg->name;
		want[i] = wants(&probe, &ev, NULL, NULL);
		if (want[i] && secret_files_load(probe.cfg, &files[i], err, sizeof err) < 0) {
			fprintf(stderr, "drishti: %s\n", err);
			want[i] = false;
			rc = 78;
		}
		sent += want[i];
	}
	bool dropped = sent == 0 || drop_root(cfg) == 0;
	if (!dropped)
		rc = 1;
	for (size_t i = 0; dropped && i < n; i++) {
		if (!want[i])
			continue;
		int r = send_now(l, cfg, cfg->nreporters ? &cfg->reporters[i] : &reporter_stdout,
		    &files[i], &ev);
		if (r > rc)
			rc = r;
	}
	for (size_t i = 0; i < n; i++)
		secret_files_free(&files[i]);
	free(files);
	free(want);
	if (sent == 0 && rc == 0) {
		fprintf(stderr, "drishti report: no reporter takes reports (events = ... report)\n");
		return 1;
	}
	return rc;
}
