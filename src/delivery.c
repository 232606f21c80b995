/* delivery.c — the delivery role of `drishti run` (DESIGN §9): the only
 * process that talks to receivers and the only one that holds the
 * reporters' secrets, which the parent read and handed over (MSG_SECRET).
 * It runs as the agent's user, confined to the network, the name service
 * and TLS files and the file reporters' directories, under a seccomp
 * filter with no exec and no new processes.
 *
 * It keeps no state of its own: the state role sends it jobs (MSG_JOB, one
 * event for one reporter, or Alertmanager's re-send), it runs each through
 * deliver.c and answers MSG_DONE.  If it dies, the parent starts another,
 * and the state role sends the jobs that had no answer again (the same
 * event ids: at least once).  Its config is the parent's text; it says
 * which generation it serves (MSG_HELLO), so the state role never sends a
 * job to a delivery role of another config. */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cli.h"
#include "config.h"
#include "crypto.h"
#include "deliver.h"
#include "delivery.h"
#include "file.h"
#include "job.h"
#include "log.h"
#include "loop.h"
#include "msg.h"
#include "priv.h"
#include "reporter.h"
#include "secret.h"

struct inflight {
	struct inflight *next, **prev;
	struct dlv *dv;
	uint64_t id;
	struct deliver *d;
};

struct dlv {
	struct loop *loop;
	struct msg_conn *parent, *state;
	struct config cfg;
	int     have_cfg;
	uint32_t gen;
	struct secret_files *files;         /* per reporter */
	size_t  nfiles;
	int     go;
	int     exit_code;
	struct inflight *jobs;
};

static void
forget(struct inflight *j)
{
	*j->prev = j->next;
	if (j->next)
		j->next->prev = j->prev;
	free(j);
}

static void
cancel_all(struct dlv *dv)
{
	while (dv->jobs != NULL) {
		deliver_cancel(dv->jobs->d);
		forget(dv->jobs);
	}
}

static void
on_done(void *ud, enum deliver_outcome outcome, double retry_after, const char *error,
    const char *answer)
{
	struct inflight *j = ud;
	struct dlv *dv = j->dv;
	struct msg m;

	job_encode_done(&m, j->id, outcome, retry_after, error, answer);
	forget(j);
	msg_send(dv->state, &m);
}

static int
on_job(struct dlv *dv, struct msg *m)
{
	struct job jb;

	if (job_decode(m, &jb) < 0)
		return -1;
	const struct config_reporter *rc = dv->cfg.nreporters ? (jb.rep < dv->cfg.nreporters ?
	    &dv->cfg.reporters[jb.rep] : NULL) : (jb.rep == 0 ? &reporter_stdout : NULL);
	if (rc == NULL || strcmp(rc->name, jb.reporter) != 0) {
		/* a job of another config: the state role only sends after our
		 * hello of its generation, so this is a protocol error */
		job_free(&jb);
		return -1;
	}
	struct inflight *j = calloc(1, sizeof *j);
	if (j == NULL) {
		struct msg a;
		job_encode_done(&a, jb.id, DELIVER_RETRY, 0, "out of memory", "not sent");
		job_free(&jb);
		return msg_send(dv->state, &a) < 0 ? 0 : 0;
	}
	j->dv = dv;
	j->id = jb.id;
	j->next = dv->jobs;
	j->prev = &dv->jobs;
	if (dv->jobs)
		dv->jobs->prev = &j->next;
	dv->jobs = j;
	struct deliver_req rq = { .cfg = rc, .agent = dv->cfg.name,
	    .f = jb.rep < dv->nfiles ? &dv->files[jb.rep] : NULL, .evs = jb.evs,
	    .decls = jb.decls, .n = jb.n };
	/* on_done may run before this returns (stdout, file): j is gone then,
	 * and deliver_start returns NULL */
	struct deliver *d = deliver_start(&rq, on_done, j);
	if (d != NULL)
		j->d = d;
	job_free(&jb);
	return 0;
}

static void
hello(struct dlv *dv)
{
	struct msg m;

	m_init(&m, MSG_HELLO);
	m_add_u32(&m, dv->gen);
	msg_send(dv->state, &m);
}

static int
on_state_msg(struct msg_conn *c, struct msg *m, void *ud)
{
	(void)c;
	return m->type == MSG_JOB ? on_job(ud, m) : -1;
}

static void
on_state_gone(struct msg_conn *c, const char *why, void *ud)
{
	struct dlv *dv = ud;

	(void)c;
	(void)why;
	/* the state role went: its jobs are no one's now (its successor sends
	 * them again); wait for the parent to hand over the next one */
	cancel_all(dv);
}

/* The writable places: each file reporter's directory. */
static void
file_dirs(const struct config *cfg, char *out, size_t len)
{
	size_t used = 0;

	out[0] = '\0';
	for (size_t i = 0; i < cfg->nreporters; i++) {
		const struct config_reporter *r = &cfg->reporters[i];
		if (strcmp(r->type, "file") != 0 || r->path == NULL || *r->path == '\0')
			continue;
		const char *sl = strrchr(r->path, '/');
		int n = sl == NULL ? snprintf(out + used, len - used, "%s.", used ? "," : "") :
		    snprintf(out + used, len - used, "%s%.*s", used ? "," : "",
		    sl == r->path ? 1 : (int)(sl - r->path), r->path);
		if (n < 0 || (size_t)n >= len - used)
			break;
		used += (size_t)n;
	}
}

/* The readable places beside the name service and TLS files: each
 * reporter's own CA bundle. */
static void
ca_files(const struct config *cfg, char *out, size_t len)
{
	size_t used = 0;

	out[0] = '\0';
	for (size_t i = 0; i < cfg->nreporters; i++) {
		const char *ca = cfg->reporters[i].ca_file;
		if (ca == NULL || *ca == '\0')
			continue;
		int n = snprintf(out + used, len - used, "%s%s", used ? "," : "", ca);
		if (n < 0 || (size_t)n >= len - used)
			break;
		used += (size_t)n;
	}
}

static int
begin(struct dlv *dv)
{
	char err[1024], writes[4096], reads[4096];

	file_dirs(&dv->cfg, writes, sizeof writes);
	ca_files(&dv->cfg, reads, sizeof reads);
	if (priv_confine(ROLE_DELIVERY, reads, NULL, writes, err, sizeof err) < 0) {
		log_error("delivery role: %s", err);
		return -1;
	}
	if (deliver_init(dv->loop, err, sizeof err) < 0) {
		log_error("delivery role: %s", err);
		return -1;
	}
	dv->go = 1;
	if (msg_conn_alive(dv->state))
		hello(dv);
	return 0;
}

static int
on_secret(struct dlv *dv, struct msg *m)
{
	uint32_t rep, nh;
	const void *sec;
	size_t seclen;
	const char *pw, *tmpl;

	if (dv->go || !dv->have_cfg || m_get_u32(m, &rep) < 0 || rep >= dv->nfiles ||
	    m_get_data(m, &sec, &seclen, SECRET_MAX) < 0 || m_get_str(m, &pw, SECRET_MAX) < 0 ||
	    m_get_str(m, &tmpl, REPORTER_TEMPLATE_MAX) < 0 || m_get_u32(m, &nh) < 0 ||
	    nh > SECRET_HEADERS)
		return -1;
	struct secret_files *f = &dv->files[rep];
	secret_files_free(f);
	if (seclen > 0 && (f->secret = malloc(seclen + 1)) != NULL) {
		memcpy(f->secret, sec, seclen);
		f->secret[seclen] = '\0';
		f->secret_len = seclen;
	}
	f->password = *pw ? strdup(pw) : NULL;
	f->tmpl = *tmpl ? strdup(tmpl) : NULL;
	for (uint32_t i = 0; i < nh; i++) {
		const char *h;
		if (m_get_str(m, &h, 8192) < 0)
			return -1;
		f->headers[f->nheaders++] = strdup(h);
	}
	int rc = m_end(m);
	/* the message's copy of the secrets goes now, not when it is freed */
	crypto_wipe(m->buf, m->len);
	return rc;
}

static int
on_parent_msg(struct msg_conn *c, struct msg *m, void *ud)
{
	struct dlv *dv = ud;
	char err[1024];

	(void)c;
	switch (m->type) {
	case MSG_CONFIG: {
		const char *path;
		const void *text;
		size_t len;
		if (dv->have_cfg || m_get_u32(m, &dv->gen) < 0 || m_get_str(m, &path, PATH_MAX) < 0 ||
		    m_get_data(m, &text, &len, FILE_CONFIG_MAX) < 0 || m_end(m) < 0)
			return -1;
		if ((*path == '\0' ? config_defaults(&dv->cfg, err, sizeof err) :
		    config_load_text(&dv->cfg, path, text, len, false, err, sizeof err)) < 0) {
			log_error("delivery role: %s", err);
			dv->exit_code = EXIT_CONFIG;
			loop_stop(dv->loop);
			return 0;
		}
		dv->have_cfg = 1;
		enum log_level lv;
		if (log_level_parse(dv->cfg.log_level, &lv) == 0)
			log_set_level(lv);
		log_open_role(dv->cfg.log);
		dv->nfiles = dv->cfg.nreporters ? dv->cfg.nreporters : 1;
		dv->files = calloc(dv->nfiles, sizeof *dv->files);
		return dv->files == NULL ? -1 : 0;
	}
	case MSG_SECRET:
		return on_secret(dv, m);
	case MSG_PEER:
		if (m_end(m) < 0)
			return -1;
		cancel_all(dv);
		msg_conn_free(dv->state);
		dv->state = msg_conn_new(dv->loop, m->fd, "state", on_state_msg, on_state_gone, dv);
		if (dv->state == NULL)
			close(m->fd);
		else if (dv->go)
			hello(dv);
		return 0;
	case MSG_GO:
		if (m_end(m) < 0 || dv->go || !dv->have_cfg)
			return -1;
		if (begin(dv) < 0) {
			dv->exit_code = EXIT_UNAVAILABLE;
			loop_stop(dv->loop);
		}
		return 0;
	case MSG_LOGFD:
		if (m_end(m) < 0)
			return -1;
		dup2(m->fd, STDERR_FILENO);
		close(m->fd);
		if (dv->have_cfg)
			log_open_role(dv->cfg.log);
		return 0;
	case MSG_STOP:
		if (m_end(m) < 0)
			return -1;
		loop_stop(dv->loop);
		return 0;
	case MSG_HOOK:
		return priv_test_hook(m);
	default:
		return -1;
	}
}

static void
on_parent_gone(struct msg_conn *c, const char *why, void *ud)
{
	struct dlv *dv = ud;

	(void)c;
	(void)why;
	loop_stop(dv->loop);
}

static void
on_term(struct loop *l, void *ud)
{
	(void)ud;
	loop_stop(l);
}

int
delivery_main(void)
{
	struct dlv dv;

	memset(&dv, 0, sizeof dv);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	log_open_role(NULL);            /* stderr as it is (the journal?) until the config says */
	dv.loop = loop_new();
	if (dv.loop == NULL)
		return EXIT_UNAVAILABLE;
	loop_signal(dv.loop, SIGTERM, on_term, &dv);
	loop_signal(dv.loop, SIGINT, on_term, &dv);
	dv.parent = msg_conn_new(dv.loop, ROLE_FD_PARENT, "parent", on_parent_msg, on_parent_gone,
	    &dv);
	if (dv.parent != NULL)
		loop_run(dv.loop);
	cancel_all(&dv);
	msg_conn_free(dv.state);
	msg_conn_free(dv.parent);
	deliver_shutdown();
	for (size_t i = 0; i < dv.nfiles; i++)
		secret_files_free(&dv.files[i]);
	free(dv.files);
	if (dv.have_cfg)
		config_free(&dv.cfg);
	loop_free(dv.loop);
	log_close();
	return dv.exit_code;
}
