/* outbox.c — delivery.  Every event is in the state file before it counts
 * as sent (store.c); here each reporter walks the events in order with a
 * cursor kept in the same file, so delivery is at least once, in order per
 * reporter, with the same event id on every retry.  A failed send is retried
 * with capped exponential backoff and full jitter (a random wait between 0
 * and min(cap, base * 2^attempts)), never sooner than a Retry-After; a 4xx
 * other than 408 and 429 is the receiver refusing the event for good: it is
 * kept as dead (drishti status shows it) and the reporter moves on.
 * Webhooks are signed: X-Drishti-Signature = sha256=HEX(HMAC-SHA256(secret,
 * timestamp "." body)), the secret read once at start from secret_file. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include "crypto.h"
#include "http.h"
#include "json.h"
#include "log.h"
#include "loop.h"
#include "outbox.h"
#include "store.h"

#define SECRET_MAX 4096

struct rep {
	struct outbox *o;
	char   *name;
	const struct config_reporter *cfg;
	unsigned char *secret;
	size_t  secret_len;
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
};

static const char *const lower[] = { "ok", "warn", "crit", "unknown" };

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
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	unsigned char buf[SECRET_MAX];
	ssize_t n;

	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	n = read(fd, buf, sizeof buf);
	close(fd);
	if (n <= 0) {
		snprintf(err, errlen, "%s: empty or unreadable", path);
		return -1;
	}
	/* a trailing newline from an editor is not part of the key */
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		n--;
	*out = malloc((size_t)n);
	if (*out == NULL) {
		crypto_wipe(buf, sizeof buf);
		return -1;
	}
	memcpy(*out, buf, (size_t)n);
	*len = (size_t)n;
	crypto_wipe(buf, sizeof buf);
	return 0;
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
	/* severity: a resolve is as severe as what it resolves */
	enum status sev = strcmp(ev->kind, "resolve") == 0 ? ev->previous : ev->status;
	enum status min = ST_WARN;
	if (r->cfg->min_severity != NULL)
		result_status_parse(r->cfg->min_severity, &min);
	if (strcmp(ev->kind, "report") != 0 && sev < min)
		return 0;
	const struct rule_decl *d = ev->check[0] && decl ? decl(ud, ev->check) : NULL;
	if (d != NULL && d->notify != NULL) {
		for (size_t i = 0; i < d->nnotify; i++)
			if (strcmp(d->notify[i], r->name) == 0)
				return 1;
		return 0;
	}
	return 1;
}

static char *
body_json(const struct outbox *o, const struct store_event *ev)
{
	struct json *b = json_new(JSON_OBJECT), *labels = json_new(JSON_OBJECT);
	char e[64];

	json_add(b, "version", json_new_number(1));
	json_add(b, "id", json_new_string(ev->id));
	json_add(b, "agent", json_new_string(o->cfg->name));
	json_add(b, "kind", json_new_string(ev->kind));
	json_add(b, "check", ev->check[0] ? json_new_string(ev->check) : json_new(JSON_NULL));
	json_add(b, "status", json_new_string(lower[ev->status & 3]));
	json_add(b, "previous", json_new_string(lower[ev->previous & 3]));
	json_add(b, "summary", json_new_string(ev->summary));
	json_add(b, "since", ev->since > 0 ? json_new_number(floor(ev->since)) : json_new(JSON_NULL));
	json_add(b, "at", json_new_number(floor(ev->at)));
	struct json *m = json_parse(ev->metrics, strlen(ev->metrics), e, sizeof e);
	json_add(b, "metrics", m ? m : json_new(JSON_OBJECT));
	const struct rule_decl *d = ev->check[0] && o->decl ? o->decl(o->ud, ev->check) : NULL;
	for (size_t i = 0; d != NULL && i < d->nlabels; i++)
		json_add(labels, d->labels[2 * i], json_new_string(d->labels[2 * i + 1]));
	json_add(b, "labels", labels);
	char *s = json_print(b, false);
	json_free(b);
	return s;
}

/* "[web-1] CRIT api.health: API unhealthy (HTTP 503) — alert" */
static char *
human_text(const struct outbox *o, const struct store_event *ev)
{
	static const char *const upper[] = { "OK", "WARN", "CRIT", "UNKNOWN" };
	char buf[RESULT_SUMMARY_MAX + 512];
	const char *what = strcmp(ev->kind, "resolve") == 0 ? "resolved" :
	    strcmp(ev->kind, "escalation") == 0 ? "changed" : ev->kind;

	if (strcmp(ev->kind, "resolve") == 0)
		snprintf(buf, sizeof buf, "[%s] RESOLVED %s (was %s): %s", o->cfg->name,
		    ev->check[0] ? ev->check : "agent", upper[ev->previous & 3], ev->summary);
	else
		snprintf(buf, sizeof buf, "[%s] %s %s: %s (%s)", o->cfg->name, upper[ev->status & 3],
		    ev->check[0] ? ev->check : "agent", ev->summary, what);
	return strdup(buf);
}

static char *
chat_json(const char *type, const char *text)
{
	struct json *b = json_new(JSON_OBJECT);
	json_add(b, strcmp(type, "discord") == 0 ? "content" : "text", json_new_string(text));
	char *s = json_print(b, false);
	json_free(b);
	return s;
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

static double
retry_after(const char *headers)
{
	for (const char *p = headers; p && *p;) {
		if (strncasecmp(p, "retry-after:", 12) == 0)
			return atof(p + 12);
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return 0;
}

static void
http_done(struct http_xfer *x, const struct http_response *resp, void *ud)
{
	struct rep *r = ud;
	char e[HTTP_ERROR_MAX + 64];

	(void)x;
	r->xfer = NULL;
	if (r->o->store == NULL) {
		/* notify-test shows what the receiver said */
		int bl = (int)(resp->body_len < 200 ? resp->body_len : 200);
		snprintf(r->answer, sizeof r->answer, "HTTP %ld %.*s%s", resp->status, bl,
		    resp->body, resp->error);
		r->outcome = resp->status >= 200 && resp->status < 300 ? 0 : 1;
		r->busy = 0;
		loop_stop(r->o->loop);
		return;
	}
	if (resp->status >= 200 && resp->status < 300) {
		finish(r, 0, NULL, 0);
		return;
	}
	if (resp->status == 0)
		snprintf(e, sizeof e, "%s", resp->error);
	else
		snprintf(e, sizeof e, "HTTP %ld", resp->status);
	if (resp->status >= 400 && resp->status < 500 && resp->status != 408 && resp->status != 429)
		finish(r, 2, e, 0);
	else
		finish(r, 1, e, retry_after(resp->headers));
}

static int
send_event(struct rep *r)
{
	struct outbox *o = r->o;
	const char *type = r->cfg->type;
	char *body = body_json(o, &r->ev);
	char err[256];

	if (body == NULL)
		return -1;
	if (strcmp(type, "stdout") == 0 || strcmp(type, "file") == 0) {
		int rc = 0;
		if (strcmp(type, "stdout") == 0) {
			printf("%s %s %s: %s\n", r->ev.kind, lower[r->ev.status & 3],
			    r->ev.check[0] ? r->ev.check : "(agent)", r->ev.summary);
			fflush(stdout);
		} else {
			FILE *f = fopen(r->cfg->path, "ae");
			rc = f == NULL || fprintf(f, "%s\n", body) < 0 || fflush(f) != 0 ||
			    fsync(fileno(f)) != 0 ? -1 : 0;
			if (f != NULL)
				fclose(f);
		}
		free(body);
		r->busy = 1;
		if (rc < 0)
			finish(r, 1, strerror(errno), 0);
		else
			finish(r, 0, NULL, 0);
		return 0;
	}
	int chat = strcmp(type, "slack") == 0 || strcmp(type, "discord") == 0 ||
	    strcmp(type, "ntfy") == 0;
	if (strcmp(type, "webhook") != 0 && !chat) {
		free(body);
		finish(r, 2, "this reporter type is not delivered by this version", 0);
		return 0;
	}
	if (chat) {
		/* people read these: one line of text, in the shape each service takes */
		char *text = human_text(o, &r->ev);
		free(body);
		body = text == NULL ? NULL : strcmp(type, "ntfy") == 0 ? text : chat_json(type, text);
		if (body != text)
			free(text);
		if (body == NULL)
			return -1;
	}
	if (!o->http_ready) {
		if (http_init(o->loop, err, sizeof err) < 0) {
			free(body);
			log_error("%s", err);
			return -1;
		}
		o->http_ready = 1;
	}
	char ts[32], idh[80], tsh[64], sig[128], title[300];
	const char *hdrs[6] = { strcmp(type, "ntfy") == 0 ? "Content-Type: text/plain" :
	    "Content-Type: application/json", idh, tsh, sig, title };
	size_t nh = 3;
	snprintf(ts, sizeof ts, "%lld", (long long)time(NULL));
	snprintf(idh, sizeof idh, "X-Drishti-Event-Id: %s", r->ev.id);
	snprintf(tsh, sizeof tsh, "X-Drishti-Timestamp: %s", ts);
	if (r->secret != NULL) {
		size_t ml = strlen(ts) + 1 + strlen(body);
		char *msg = malloc(ml + 1), hex[65];
		if (msg == NULL) {
			free(body);
			return -1;
		}
		snprintf(msg, ml + 1, "%s.%s", ts, body);
		crypto_hmac_sha256_hex(r->secret, r->secret_len, msg, ml, hex);
		free(msg);
		snprintf(sig, sizeof sig, "X-Drishti-Signature: sha256=%s", hex);
		nh = 4;
	}
	if (strcmp(type, "ntfy") == 0) {
		/* ntfy's own headers: a title, and urgent for a CRIT */
		snprintf(title, sizeof title, "Title: drishti %s %s", r->ev.kind,
		    r->ev.check[0] ? r->ev.check : o->cfg->name);
		hdrs[nh++] = title;
		if (r->ev.status == ST_CRIT && strcmp(r->ev.kind, "resolve") != 0)
			hdrs[nh++] = "Priority: urgent";
	}
	struct http_request rq = { .method = "POST", .url = r->cfg->url, .body = body,
	    .body_len = strlen(body), .headers = hdrs, .nheaders = nh,
	    .timeout_ms = r->cfg->timeout_ms, .ca_file = r->cfg->ca_file && *r->cfg->ca_file ?
	    r->cfg->ca_file : NULL, .pin = r->cfg->pin && *r->cfg->pin ? r->cfg->pin : NULL,
	    .max_body = 64 << 10, .reuse = 1 };
	r->busy = 1;
	r->xfer = http_start(&rq, http_done, r, err, sizeof err);
	free(body);
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

static void
on_poll(struct loop *l, void *ud)
{
	struct outbox *o = ud;

	o->poll_t = loop_timer_at(l, loop_update_now(l) + 1.0, on_poll, o);
	outbox_kick(o);
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
	    .events = "alert, resolve, reminder, escalation, report, test", .min_severity = "warn" };

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
		if (r->cfg->secret_file && *r->cfg->secret_file &&
		    read_secret(r->cfg->secret_file, &r->secret, &r->secret_len, err, errlen) < 0) {
			outbox_free(o);
			return NULL;
		}
		if (store_cursor(s, r->name, &r->seq, &r->attempts, &r->next_at) < 0) {
			snprintf(err, errlen, "reporter \"%s\": cannot read its place in the outbox", r->name);
			o->nreps++;
			outbox_free(o);
			return NULL;
		}
		o->nreps++;
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
		loop_timer_cancel(o->loop, r->retry_t);
		if (r->secret != NULL) {
			crypto_wipe(r->secret, r->secret_len);
			free(r->secret);
		}
	}
	loop_timer_cancel(o->loop, o->poll_t);
	free(o->reps);
	if (o->http_ready)
		http_shutdown();
	free(o);
}

int
outbox_test(struct loop *l, const struct config *cfg, const char *reporter)
{
	struct outbox o = { .loop = l, .cfg = cfg };
	struct rep r = { .o = &o };
	char err[512];
	static struct config_reporter builtin = { .name = "stdout", .type = "stdout",
	    .events = "test", .min_severity = "ok" };

	for (size_t i = 0; i < cfg->nreporters; i++)
		if (strcmp(cfg->reporters[i].name, reporter) == 0)
			r.cfg = &cfg->reporters[i];
	if (r.cfg == NULL && cfg->nreporters == 0 && strcmp(reporter, "stdout") == 0)
		r.cfg = &builtin;
	if (r.cfg == NULL) {
		fprintf(stderr, "drishti notify-test: no reporter \"%s\" in the config\n", reporter);
		return 64;
	}
	r.name = r.cfg->name;
	if (r.cfg->secret_file && *r.cfg->secret_file &&
	    read_secret(r.cfg->secret_file, &r.secret, &r.secret_len, err, sizeof err) < 0) {
		fprintf(stderr, "drishti notify-test: %s\n", err);
		return 78;
	}
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	unsigned char rnd[8];
	for (size_t i = 0; i < sizeof rnd; i++)
		rnd[i] = (unsigned char)random();
	snprintf(r.ev.id, sizeof r.ev.id, "test-%lld-%02x%02x%02x%02x", (long long)ts.tv_sec,
	    rnd[0], rnd[1], rnd[2], rnd[3]);
	snprintf(r.ev.kind, sizeof r.ev.kind, "test");
	r.ev.status = ST_OK;
	snprintf(r.ev.summary, sizeof r.ev.summary, "drishti test event from %s", cfg->name);
	r.ev.at = (double)ts.tv_sec;
	snprintf(r.ev.metrics, sizeof r.ev.metrics, "{}");
	r.outcome = 1;
	if (send_event(&r) == 0 && r.busy)
		loop_run(l);
	printf("%s: %s\n", reporter, r.answer[0] ? r.answer : "no answer");
	if (r.secret != NULL) {
		crypto_wipe(r.secret, r.secret_len);
		free(r.secret);
	}
	if (o.http_ready)
		http_shutdown();
	return r.outcome == 0 ? 0 : 1;
}
