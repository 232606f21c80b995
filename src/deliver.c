/* deliver.c — one send through one reporter (deliver.h).  The request is
 * built by reporter.c with the secrets handed in; a network reporter goes
 * through http.c (curl's multi interface on the caller's loop), the stdout
 * reporter prints, the file reporter appends the webhook body, unsigned,
 * one per line, and fsyncs.  reporter_outcome reads the answer. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "deliver.h"
#include "http.h"
#include "log.h"
#include "report.h"
#include "reporter.h"
#include "result.h"

struct deliver {
	const struct config_reporter *cfg;
	struct http_xfer *x;
	deliver_fn fn;
	void   *ud;
};

static int http_up;

int
deliver_init(struct loop *l, char *err, size_t errlen)
{
	if (http_up)
		return 0;
	if (http_init(l, err, errlen) < 0)
		return -1;
	http_up = 1;
	return 0;
}

void
deliver_shutdown(void)
{
	if (http_up)
		http_shutdown();
	http_up = 0;
}

static void
on_http(struct http_xfer *x, const struct http_response *resp, void *ud)
{
	struct deliver *d = ud;
	char e[HTTP_ERROR_MAX + 64], answer[HTTP_ERROR_MAX + 320];
	double ra = 0;

	(void)x;
	int outcome = reporter_outcome(d->cfg, resp, &ra, e, sizeof e);
	int bl = (int)(resp->body_len < 200 ? resp->body_len : 200);
	if (strcmp(d->cfg->type, "smtp") == 0)
		snprintf(answer, sizeof answer, "%s", outcome == 0 ? "accepted by the mail server" : e);
	else
		snprintf(answer, sizeof answer, "HTTP %ld %.*s%s", resp->status, bl, resp->body,
		    resp->error);
	deliver_fn fn = d->fn;
	void *fud = d->ud;
	free(d);
	fn(fud, (enum deliver_outcome)outcome, ra, outcome == 0 ? NULL : e, answer);
}

/* stdout and file: done before this returns */
static void
local(const struct deliver_req *rq, deliver_fn fn, void *ud)
{
	static const struct config_reporter webhook_shape = { .type = "webhook" };
	const struct store_event *ev = &rq->evs[0];
	char err[256];

	if (strcmp(rq->cfg->type, "stdout") == 0) {
		if (ev->doc != NULL) {
			char *text = report_render(ev->doc, REPORT_TEXT, err, sizeof err);
			if (text != NULL)
				fputs(text, stdout);
			free(text);
		} else
			printf("%s %s %s: %s\n", ev->kind, result_status_lower(ev->status),
			    ev->check[0] ? ev->check : "(agent)", ev->summary);
		int rc = fflush(stdout);
		fn(ud, rc == 0 ? DELIVER_OK : DELIVER_RETRY, 0, rc == 0 ? NULL : strerror(errno),
		    rc == 0 ? "accepted" : strerror(errno));
		return;
	}
	struct reporter_ctx c = { .cfg = &webhook_shape, .agent = rq->agent };
	struct reporter_msg m;
	if (reporter_build(&c, ev, rq->decls, 1, &m, err, sizeof err) < 0) {
		fn(ud, DELIVER_RETRY, 0, err, err);
		return;
	}
	FILE *f = fopen(rq->cfg->path, "ae");
	int rc = f == NULL || fprintf(f, "%s\n", m.body) < 0 || fflush(f) != 0 ||
	    fsync(fileno(f)) != 0 ? -1 : 0;
	int saved = errno;
	if (f != NULL)
		fclose(f);
	reporter_msg_free(&m);
	if (rc < 0)
		snprintf(err, sizeof err, "%s: %s", rq->cfg->path, strerror(saved));
	fn(ud, rc == 0 ? DELIVER_OK : DELIVER_RETRY, 0, rc == 0 ? NULL : err,
	    rc == 0 ? "accepted" : err);
}

struct deliver *
deliver_start(const struct deliver_req *rq, deliver_fn fn, void *ud)
{
	char err[512];

	if (!reporter_is_remote(rq->cfg->type)) {
		local(rq, fn, ud);
		return NULL;
	}
	const struct secret_files *f = rq->f;
	struct reporter_ctx c = { .cfg = rq->cfg, .agent = rq->agent };
	if (f != NULL) {
		c.secret = f->secret;
		c.secret_len = f->secret_len;
		c.password = f->password;
		c.tmpl = f->tmpl;
		c.headers = (const char *const *)f->headers;
		c.nheaders = f->nheaders;
	}
	if (!http_up) {
		fn(ud, DELIVER_RETRY, 0, "the network is not set up", "not sent");
		return NULL;
	}
	struct reporter_msg m;
	if (reporter_build(&c, rq->evs, rq->decls, rq->n, &m, err, sizeof err) < 0) {
		log_error("reporter \"%s\": %s", rq->cfg->name, err);
		fn(ud, DELIVER_RETRY, 0, err, err);
		return NULL;
	}
	struct deliver *d = calloc(1, sizeof *d);
	if (d == NULL) {
		reporter_msg_free(&m);
		fn(ud, DELIVER_RETRY, 0, "out of memory", "not sent");
		return NULL;
	}
	d->cfg = rq->cfg;
	d->fn = fn;
	d->ud = ud;
	d->x = http_start(&m.rq, on_http, d, err, sizeof err);
	reporter_msg_free(&m);
	if (d->x == NULL) {
		free(d);
		fn(ud, DELIVER_RETRY, 0, err, err);
		return NULL;
	}
	return d;
}

void
deliver_cancel(struct deliver *d)
{
	if (d == NULL)
		return;
	http_cancel(d->x);
	free(d);
}
