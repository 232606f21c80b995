/* outbox.c — delivery.  Every event is in the state file before it counts
 * as sent (store.c); here each reporter walks the events in order with a
 * cursor kept in the same file, so delivery is at least once, in order per
 * reporter, with the same event id on every retry.  A failed send is retried
 * with capped exponential backoff and full jitter (a random wait between 0
 * and min(cap, base * 2^attempts)), never sooner than a Retry-After; a 4xx
 * other than 408 and 429 is the receiver refusing the event for good: it is
 * kept as dead (drishti status shows it) and the reporter moves on.
 * What each type is sent is reporter.c's business; secrets (secret_file,
 * password_file) are read once here at start and never leave this process.
 * The outbox is bounded per reporter ([store] outbox_max, outbox_age): past
 * a bound the oldest undelivered events are skipped, counted and logged.
 * An alertmanager reporter also re-sends, every `resend`, what is firing
 * and what was resolved in the last RESOLVED_RESEND seconds, so a restarted
 * Alertmanager learns both and none of ours times out there by itself. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <sys/random.h>
#include <unistd.h>
#include "crypto.h"
#include "file.h"
#include "http.h"
#include "log.h"
#include "loop.h"
#include "outbox.h"
#include "report.h"
#include "reporter.h"
#include "store.h"

#define SECRET_MAX 4096
#define RESOLVED_RESEND 900.0       /* seconds a resolve is re-sent to Alertmanager */
#define BOUND_EVERY 10.0            /* seconds between checks of the outbox bounds */
#define AM_BATCH 64                 /* alerts in one re-send POST */

/* What a reporter reads from files at start: its secret (HMAC key or
 * token), its SMTP password, its body template and its headers with the
 * values of header_file read in.  Kept here, wiped when it goes. */
struct rep_files {
	unsigned char *secret;
	size_t  secret_len;
	char   *password;
	char   *tmpl;
	char   *headers[16];        /* "Name: value" */
	size_t  nheaders;
};

struct rep {
	struct outbox *o;
	char   *name;
	const struct config_reporter *cfg;
	struct rep_files f;
	int     busy;
	int     in_pump;            /* finish() from inside pump(): no recursion */
	int     outcome;            /* notify-test: how the one send went */
	char    answer[512];        /* notify-test: what the receiver said */
	struct http_xfer *xfer;
	struct loop_timer *retry_t;
	int64_t seq;                /* cursor: the last event done */
	int     attempts;
	double  next_at;            /* unix seconds */
	struct store_event ev;      /* the one in flight */
	struct http_xfer *resend_x; /* alertmanager: the re-send in flight */
	struct loop_timer *resend_t;
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
	int     http_ready;
	struct loop_timer *poll_t;
	double  bound_at;           /* next check of the bounds */
};

static const char *const lower[] = { "ok", "warn", "crit", "unknown" };
/* The file reporter writes the webhook body, unsigned, one per line. */
static const struct config_reporter webhook_shape = { .type = "webhook" };

static const struct rule_decl *
decl_of(const struct outbox *o, const struct store_event *ev)
{
	return ev->check[0] && o->decl ? o->decl(o->ud, ev->check) : NULL;
}

static int
http_ready(struct outbox *o)
{
	char err[256];

	if (o->http_ready)
		return 0;
	if (http_init(o->loop, err, sizeof err) < 0) {
		log_error("%s", err);
		return -1;
	}
	o->http_ready = 1;
	return 0;
}

static double
now_real(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
read_secret(const char *path, unsigned char **out, size_t *len, char *err, size_t errlen)
{
	unsigned char buf[SECRET_MAX];
	char *text;
	size_t tl;

	/* regular files only, bounded, read errors are errors (file.c) */
	if (file_read(path, SECRET_MAX, &text, &tl, err, errlen) < 0)
		return -1;
	memcpy(buf, text, tl);
	crypto_wipe(text, tl);
	free(text);
	ssize_t n = (ssize_t)tl;
	if (n <= 0) {
		snprintf(err, errlen, "%s: empty", path);
		return -1;
	}
	/* a trailing newline from an editor is not part of the key */
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		n--;
	*out = malloc((size_t)n + 1);
	if (*out == NULL) {
		crypto_wipe(buf, sizeof buf);
		return -1;
	}
	memcpy(*out, buf, (size_t)n);
	(*out)[n] = '\0';          /* a password is used as a string */
	*len = (size_t)n;
	crypto_wipe(buf, sizeof buf);
	return 0;
}

static void
rep_unload(struct rep_files *f)
{
	if (f->secret != NULL) {
		crypto_wipe(f->secret, f->secret_len);
		free(f->secret);
	}
	if (f->password != NULL) {
		crypto_wipe(f->password, strlen(f->password));
		free(f->password);
	}
	free(f->tmpl);
	for (size_t i = 0; i < f->nheaders; i++) {
		crypto_wipe(f->headers[i], strlen(f->headers[i]));
		free(f->headers[i]);
	}
	memset(f, 0, sizeof *f);
}

static int
rep_load(const struct config_reporter *rc, struct rep_files *f, char *err, size_t errlen)
{
	char e[400];
	size_t pl, tl;

	memset(f, 0, sizeof *f);
	if ((rc->secret_file && *rc->secret_file &&
	    read_secret(rc->secret_file, &f->secret, &f->secret_len, e, sizeof e) < 0) ||
	    (rc->password_file && *rc->password_file &&
	    read_secret(rc->password_file, (unsigned char **)&f->password, &pl, e, sizeof e) < 0))
		goto fail;
	if (rc->tmpl != NULL && *rc->tmpl != '\0') {
		if (file_read(rc->tmpl, REPORTER_TEMPLATE_MAX, &f->tmpl, &tl, e, sizeof e) < 0 ||
		    reporter_template_check(f->tmpl, e, sizeof e) < 0)
			goto fail;
	}
	for (size_t i = 0; i < rc->nheaders && i < 16; i++) {
		const char *h = rc->headers[i];
		if (h[0] == 'H')
			f->headers[f->nheaders] = strdup(h + 1);
		else {
			/* "FName: FILE": the value is the file's, a secret */
			const char *colon = strchr(h, ':');
			unsigned char *v = NULL;
			size_t vl;
			if (read_secret(colon + 2, &v, &vl, e, sizeof e) < 0)
				goto fail;
			if (memchr(v, '\n', vl) != NULL || memchr(v, '\r', vl) != NULL) {
				crypto_wipe(v, vl);
				free(v);
				snprintf(e, sizeof e, "%s: a header value is one line", colon + 2);
				goto fail;
			}
			size_t len = (size_t)(colon - h) + vl + 2;
			f->headers[f->nheaders] = malloc(len);
			if (f->headers[f->nheaders] != NULL)
				snprintf(f->headers[f->nheaders], len, "%.*s: %s", (int)(colon - h - 1),
				    h + 1, (char *)v);
			crypto_wipe(v, vl);
			free(v);
		}
		if (f->headers[f->nheaders] == NULL) {
			snprintf(e, sizeof e, "out of memory");
			goto fail;
		}
		f->nheaders++;
	}
	return 0;
fail:
	snprintf(err, errlen, "reporter \"%s\": %s", rc->name, e);
	rep_unload(f);
	return -1;
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
	r->retry_t = NULL;
	pump(r);
}

static void
finish(struct rep *r, int outcome, const char *error, double retry_after)
{
	struct outbox *o = r->o;

	r->busy = 0;
	r->outcome = outcome;
	if (o->store == NULL) {         /* notify-test: one send, nothing stored */
		snprintf(r->answer, sizeof r->answer, "%s", outcome == 0 ? "accepted" :
		    error ? error : "failed");
		loop_stop(o->loop);
		return;
	}
	if (outcome == 0 || outcome == 2) {
		/* done, or dead: the cursor moves on */
		if (outcome == 2)
			log_error("reporter \"%s\": event %s refused for good: %s; kept as dead",
			    r->name, r->ev.id, error);
		else if (r->attempts > 0)
			log_info("reporter \"%s\": event %s delivered after %d retr%s", r->name,
			    r->ev.id, r->attempts, r->attempts == 1 ? "y" : "ies");
		r->seq = r->ev.seq;
		r->attempts = 0;
		r->next_at = 0;
		store_cursor_set(o->store, r->name, r->seq, 0, 0, outcome == 2 ? error : NULL,
		    outcome == 2);
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
	r->next_at = now_real() + wait;
	if (r->attempts == 1 || r->attempts % 10 == 0)
		log_warn("reporter \"%s\": %s; retrying event %s in %.1f s (attempt %d)", r->name,
		    error, r->ev.id, wait, r->attempts + 1);
	store_cursor_set(o->store, r->name, r->seq, r->attempts, r->next_at, error, false);
	r->retry_t = loop_timer_at(o->loop, loop_update_now(o->loop) + wait, on_retry, r);
}

static void
http_done(struct http_xfer *x, const struct http_response *resp, void *ud)
{
	struct rep *r = ud;
	char e[HTTP_ERROR_MAX + 64];
	double ra;

	(void)x;
	r->xfer = NULL;
	int outcome = reporter_outcome(r->cfg, resp, &ra, e, sizeof e);
	if (r->o->store == NULL) {
		/* notify-test shows what the receiver said */
		int bl = (int)(resp->body_len < 200 ? resp->body_len : 200);
		if (strcmp(r->cfg->type, "smtp") == 0)
			snprintf(r->answer, sizeof r->answer, "%s", outcome == 0 ?
			    "accepted by the mail server" : e);
		else
			snprintf(r->answer, sizeof r->answer, "HTTP %ld %.*s%s", resp->status, bl,
			    resp->body, resp->error);
		r->outcome = outcome == 0 ? 0 : 1;
		r->busy = 0;
		loop_stop(r->o->loop);
		return;
	}
	finish(r, outcome, outcome == 0 ? NULL : e, ra);
}

static int
send_event(struct rep *r)
{
	struct outbox *o = r->o;
	const char *type = r->cfg->type;
	char err[256];

	if (!reporter_is_remote(type)) {
		int rc = 0;
		if (strcmp(type, "stdout") == 0) {
			if (r->ev.doc != NULL) {
				char *text = report_render(r->ev.doc, REPORT_TEXT, err, sizeof err);
				if (text != NULL)
					fputs(text, stdout);
				free(text);
			} else
				printf("%s %s %s: %s\n", r->ev.kind, lower[r->ev.status & 3],
				    r->ev.check[0] ? r->ev.check : "(agent)", r->ev.summary);
			fflush(stdout);
		} else {
			struct reporter_ctx c = { .cfg = &webhook_shape, .agent = o->cfg->name };
			struct reporter_msg m;
			const struct rule_decl *d = decl_of(o, &r->ev);
			if (reporter_build(&c, &r->ev, &d, 1, &m, err, sizeof err) < 0)
				return -1;
			FILE *f = fopen(r->cfg->path, "ae");
			rc = f == NULL || fprintf(f, "%s\n", m.body) < 0 || fflush(f) != 0 ||
			    fsync(fileno(f)) != 0 ? -1 : 0;
			if (f != NULL)
				fclose(f);
			reporter_msg_free(&m);
		}
		r->busy = 1;
		if (rc < 0)
			finish(r, 1, strerror(errno), 0);
		else
			finish(r, 0, NULL, 0);
		return 0;
	}
	if (http_ready(o) < 0)
		return -1;
	struct reporter_ctx c = { .cfg = r->cfg, .agent = o->cfg->name, .secret = r->f.secret,
	    .secret_len = r->f.secret_len, .password = r->f.password, .tmpl = r->f.tmpl,
	    .headers = (const char *const *)r->f.headers, .nheaders = r->f.nheaders };
	struct reporter_msg m;
	const struct rule_decl *d = decl_of(o, &r->ev);
	if (reporter_build(&c, &r->ev, &d, 1, &m, err, sizeof err) < 0) {
		log_error("reporter \"%s\": %s", r->name, err);
		return -1;
	}
	r->busy = 1;
	r->xfer = http_start(&m.rq, http_done, r, err, sizeof err);
	reporter_msg_free(&m);
	if (r->xfer == NULL)
		finish(r, 1, err, 0);
	return 0;
}

/* Sends this reporter's next due event, if any and if it is free. */
static void
pump(struct rep *r)
{
	struct outbox *o = r->o;

	r->in_pump = 1;
	while (!r->busy && r->retry_t == NULL) {
		if (r->next_at > now_real()) {
			r->retry_t = loop_timer_at(o->loop, loop_update_now(o->loop) +
			    (r->next_at - now_real()), on_retry, r);
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
	double now = now_real(), age = (double)o->cfg->outbox_age_ms / 1000.0;
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
		r->retry_t = NULL;
		store_cursor(o->store, r->name, &r->seq, &r->attempts, &r->next_at);
	}
}

static void
on_poll(struct loop *l, void *ud)
{
	struct outbox *o = ud;

	o->poll_t = loop_timer_at(l, loop_update_now(l) + 1.0, on_poll, o);
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
resend_done(struct http_xfer *x, const struct http_response *resp, void *ud)
{
	struct rep *r = ud;
	char e[HTTP_ERROR_MAX + 64];
	double ra;

	(void)x;
	r->resend_x = NULL;
	if (reporter_outcome(r->cfg, resp, &ra, e, sizeof e) == 0) {
		if (r->resend_failing)
			log_info("reporter \"%s\": re-sending firing alerts works again", r->name);
		r->resend_failing = 0;
	} else if (!r->resend_failing++)
		log_warn("reporter \"%s\": re-sending firing alerts failed: %s", r->name, e);
}

static void
on_resend(struct loop *l, void *ud)
{
	struct rep *r = ud;
	struct outbox *o = r->o;
	char err[256];

	r->resend_t = loop_timer_at(l, loop_update_now(l) + (double)r->cfg->resend_ms / 1000.0,
	    on_resend, r);
	if (r->resend_x != NULL)
		return;
	struct am_set *set = calloc(1, sizeof *set);
	if (set == NULL)
		return;
	set->o = o;
	set->now = now_real();
	store_each_active(o->store, set->now - RESOLVED_RESEND, am_collect, set);
	if (set->n > 0 && http_ready(o) == 0) {
		struct reporter_ctx c = { .cfg = r->cfg, .agent = o->cfg->name };
		struct reporter_msg m;
		if (reporter_build(&c, set->ev, set->d, set->n, &m, err, sizeof err) == 0) {
			r->resend_x = http_start(&m.rq, resend_done, r, err, sizeof err);
			reporter_msg_free(&m);
		}
	}
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
    void *ud, char *err, size_t errlen)
{
	struct outbox *o = calloc(1, sizeof *o);
	static struct config_reporter builtin = { .name = "stdout", .type = "stdout",
	    .events = REPORTER_EVENTS_DEFAULT, .min_severity = "warn" };

	if (o == NULL)
		return NULL;
	o->loop = l;
	o->store = s;
	o->cfg = cfg;
	o->decl = decl;
	o->ud = ud;
	size_t n = cfg->nreporters ? cfg->nreporters : 1;
	o->reps = calloc(n, sizeof *o->reps);
	if (o->reps == NULL) {
		free(o);
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		struct rep *r = &o->reps[o->nreps];
		r->o = o;
		r->cfg = cfg->nreporters ? &cfg->reporters[i] : &builtin;
		r->name = r->cfg->name;
		if (rep_load(r->cfg, &r->f, err, errlen) < 0) {
			o->nreps++;
			outbox_free(o);
			return NULL;
		}
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
		http_cancel(r->xfer);
		http_cancel(r->resend_x);
		loop_timer_cancel(o->loop, r->retry_t);
		loop_timer_cancel(o->loop, r->resend_t);
		rep_unload(&r->f);
		store_event_clear(&r->ev);
	}
	loop_timer_cancel(o->loop, o->poll_t);
	free(o->reps);
	if (o->http_ready)
		http_shutdown();
	free(o);
}

/* One event through one reporter, now, once: nothing stored, the answer
 * printed.  0 accepted, 1 not, 78 a secret could not be read. */
static int
send_now(struct loop *l, const struct config *cfg, const struct config_reporter *rc,
    const struct store_event *ev)
{
	struct outbox o = { .loop = l, .cfg = cfg };
	struct rep r = { .o = &o, .cfg = rc, .name = rc->name };
	char err[512];

	if (rep_load(rc, &r.f, err, sizeof err) < 0) {
		fprintf(stderr, "drishti: %s\n", err);
		return 78;
	}
	r.ev = *ev;
	r.outcome = 1;
	if (send_event(&r) == 0 && r.busy)
		loop_run(l);
	printf("%s: %s\n", rc->name, r.answer[0] ? r.answer : "no answer");
	fflush(stdout);
	rep_unload(&r.f);
	if (o.http_ready)
		http_shutdown();
	return r.outcome == 0 ? 0 : 1;
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
	static const struct config_reporter builtin = { .name = "stdout", .type = "stdout",
	    .events = "test", .min_severity = "ok" };
	const struct config_reporter *rc = NULL;
	struct store_event ev;

	for (size_t i = 0; i < cfg->nreporters; i++)
		if (strcmp(cfg->reporters[i].name, reporter) == 0)
			rc = &cfg->reporters[i];
	if (rc == NULL && cfg->nreporters == 0 && strcmp(reporter, "stdout") == 0)
		rc = &builtin;
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
	return send_now(l, cfg, rc, &ev);
}

int
outbox_send_report(struct loop *l, const struct config *cfg, const char *name,
    const char *headline, const char *doc)
{
	static struct config_reporter builtin = { .name = "stdout", .type = "stdout",
	    .events = "report" };
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
	for (size_t i = 0; i < n; i++) {
		struct rep probe = { .cfg = cfg->nreporters ? &cfg->reporters[i] : &builtin };
		probe.name = probe.cfg->name;
		if (!wants(&probe, &ev, NULL, NULL))
			continue;
		sent++;
		int r = send_now(l, cfg, probe.cfg, &ev);
		if (r > rc)
			rc = r;
	}
	if (sent == 0) {
		fprintf(stderr, "drishti report: no reporter takes reports (events = ... report)\n");
		return 1;
	}
	return rc;
}
