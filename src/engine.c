/* engine.c — the supervisor's core.
 *
 * One worker process per rule file (worker.c), so a file that hangs inside
 * a C function, exhausts the process or crashes holds up only its own
 * checks.  The engine keeps every check's schedule, sends a RUN when a slot
 * comes (skipping it, counted and logged, if the previous run is still
 * going), and gives each run a hard deadline a little past its timeout: the
 * worker's own sandbox should have ended the run by then, so a worker still
 * silent is stuck where no hook reaches (a pattern bomb in string.find) and
 * is killed.  The run to blame (the black box names the run the worker was
 * executing) ends as UNKNOWN "sandbox: killed"; the file's other runs in
 * flight get no verdict from it and run again on the restarted worker.  The
 * worker is restarted with backoff, and a file killed ENGINE_KILLS_QUARANTINE
 * times in a row is quarantined: logged, and not run again until the next
 * reload.  A worker that crashes (SIGSEGV, abort) is handled the same way; one
 * the kernel ends for its CPU budget (SIGXCPU) has its run "sandbox: cpu
 * limit" and is restarted at once, not counted towards quarantine. */
#include <errno.h>
#include <stddef.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "depends.h"
#include "engine.h"
#include "log.h"
#include "loop.h"
#include "utf8.h"
#include "wire.h"
#include "worker.h"

/* W_PARKED: a file of reports or rare checks, loaded and idle; its worker
 * exited and starts again when a run is due (park, unpark). */
enum wstate { W_LOADING, W_READY, W_RESTARTING, W_QUARANTINED, W_GONE, W_PARKED };
/* An engine's way out: running; stopping (runs in flight get their grace);
 * stopped (the hook said so); being freed (no hook, no restart). */
enum stopping { STOP_NO, STOP_GRACE_RUNS, STOP_DONE, STOP_FREEING };

struct inflight {
	uint32_t id;
	struct eng_check *c;
	loop_timer_id hard;
	int     overdue;            /* its hard deadline passed */
	struct inflight *next, *prev;   /* its worker's runs; next: the spares */
};

struct eng_worker {
	struct engine *e;
	char   *path;
	pid_t   pid;
	int     fd;
	enum wstate state;
	int     first_load;         /* declarations come only with the first load */
	int     load_errors;
	loop_timer_id load_t;
	loop_timer_id restart_t;
	int     kills_in_row;
	int     draining;           /* reading what a dead worker left in its socket */
	int     waking;             /* loading again to run a report (unpark) */
	const char *kill_reason;    /* why we killed it, for its runs */
	struct inflight *runs;
	struct eng_check **decls;   /* by the worker's own index, for O(1) lookups */
	uint32_t ndecls;
	struct wire_batch *runq;    /* runs to send at the end of this iteration */
	int     loaded_ok;          /* its last load had no error */
	volatile uint32_t *box;     /* the run it executes now (worker_box_new) */
	int     box_fd;
	int     box_made;
};

struct engine {
	struct loop *loop;
	const struct config *cfg;
	struct engine_hooks hooks;
	struct eng_worker **workers;
	size_t  nworkers;
	struct eng_check **checks;
	size_t  nchecks;
	uint32_t next_id;
	int     loading;            /* workers still loading the first time */
	int     load_errors;
	int     global_errors;      /* errors that belong to no one file */
	int     park;               /* idle report-only workers exit (the daemon) */
	enum stopping stopping;
	loop_timer_id stop_t;
	loop_timer_id flush_t; /* sends the workers' pending runs */
	struct inflight *spare; /* finished run records, for the next runs */
	struct engine_stats stats;
};

static void worker_start(struct eng_worker *w);
static void worker_died(struct eng_worker *w, int status, int have_status);

/* Seconds past a run's timeout before its worker is killed ([sandbox]
 * kill_grace; ENGINE_HARD_GRACE by default). */
static double
grace(const struct engine *e)
{
	return e->cfg->kill_grace_ms > 0 ? (double)e->cfg->kill_grace_ms / 1000.0 : ENGINE_HARD_GRACE;
}

static double
real_now(void)
{
	return (double)time(NULL);
}

/* A run record comes from the engine's spares and goes back there: one
 * per check in flight at most, and with a thousand checks a second a
 * malloc and free each was the state role's page traffic (musl hands a
 * freed group back to the kernel).  The spares are as many as the most
 * runs ever in flight at once, freed with the engine. */
static struct inflight *
run_new(struct engine *e)
{
	struct inflight *r = e->spare;

	if (r != NULL)
		e->spare = r->next;
	else if ((r = malloc(sizeof *r)) == NULL)
		return NULL;
	memset(r, 0, sizeof *r);
	return r;
}

static void
run_free(struct engine *e, struct inflight *r)
{
	r->next = e->spare;
	e->spare = r;
}

/* A worker's runs in flight: a list both ways, so a result takes its run
 * off in constant time (a thousand in flight made it a long walk each). */
static void
run_link(struct eng_worker *w, struct inflight *r)
{
	r->prev = NULL;
	r->next = w->runs;
	if (w->runs != NULL)
		w->runs->prev = r;
	w->runs = r;
}

static void
run_unlink(struct eng_worker *w, struct inflight *r)
{
	if (r->prev != NULL)
		r->prev->next = r->next;
	else
		w->runs = r->next;
	if (r->next != NULL)
		r->next->prev = r->prev;
	r->next = r->prev = NULL;
}

struct engine *
engine_new(struct loop *l, const struct config *cfg, const struct engine_hooks *hooks)
{
	struct engine *e = calloc(1, sizeof *e);

	if (e == NULL)
		return NULL;
	e->loop = l;
	e->cfg = cfg;
	e->hooks = *hooks;
	e->next_id = 1;
	return e;
}

size_t
engine_count(const struct engine *e)
{
	return e->nchecks;
}

struct eng_check *
engine_check(struct engine *e, size_t i)
{
	return i < e->nchecks ? e->checks[i] : NULL;
}

struct eng_check *
engine_find(struct engine *e, const char *name)
{
	for (size_t i = 0; i < e->nchecks; i++)
		if (strcmp(e->checks[i]->d.name, name) == 0)
			return e->checks[i];
	return NULL;
}

const struct engine_stats *
engine_stats(const struct engine *e)
{
	return &e->stats;
}

double
engine_lateness(const struct engine *e, double p)
{
	uint64_t n = e->stats.scheduled_runs, want, seen = 0;

	if (n == 0)
		return 0;
	want = (uint64_t)((double)n * p / 100.0);
	if (want >= n)
		want = n - 1;
	for (int i = 0; i < ENGINE_LATE_BUCKETS; i++) {
		seen += e->stats.late[i];
		if (seen > want)
			return (double)(i + 1) / 10000.0;   /* the bucket's upper edge */
	}
	return (double)ENGINE_LATE_BUCKETS / 10000.0;
}

int
engine_global_errors(const struct engine *e)
{
	return e->global_errors;
}

int
engine_load_errors(const struct engine *e)
{
	return e->load_errors;
}

int
engine_in_flight(const struct engine *e)
{
	int n = 0;
	for (size_t i = 0; i < e->nchecks; i++)
		n += e->checks[i]->in_flight;
	return n;
}

/* ---- finishing runs ---------------------------------------------------------- */

static void schedule_next(struct eng_check *c);
static void maybe_stopped(struct engine *e);

static void
run_finished(struct eng_check *c, const struct result *r)
{
	struct engine *e = c->w->e;

	c->in_flight = 0;
	/* the hook sees the previous result in c->last */
	if (e->hooks.result != NULL)
		e->hooks.result(e, c, r, e->hooks.ud);
	free(c->doc);
	c->doc = NULL;
	if (c->cursors_new != NULL) {
		free(c->cursors);
		c->cursors = c->cursors_new;
		c->cursors_new = NULL;
	}
	c->runs++;
	if (result_keep(&c->last, r) == 0)
		c->has_last = 1;
	maybe_stopped(e);
}

/* The run `id` of the check at the worker's index windex, taken off the
 * list of runs in flight; NULL if it is not (any longer) in flight. */
static struct inflight *
take_run(struct eng_worker *w, uint32_t windex, uint32_t id)
{
	if (windex >= w->ndecls)
		return NULL;
	struct inflight *r = w->decls[windex]->inflight;
	if (r == NULL || r->id != id)
		return NULL;            /* a run we gave up on already */
	run_unlink(w, r);
	r->c->inflight = NULL;
	loop_timer_cancel(w->e->loop, r->hard);
	return r;
}

/* A run that could not happen, or was cut off: UNKNOWN with why. */
static void
run_failed(struct eng_check *c, const char *why)
{
	struct result res;

	memset(&res, 0, sizeof res);
	res.started = real_now();
	result_set(&res, ST_UNKNOWN, "%s", why);
	/* cursors moved by a run whose result never came: its count is lost,
	 * so the lines must be counted again */
	free(c->cursors_new);
	c->cursors_new = NULL;
	c->in_flight = 1;
	run_finished(c, &res);
}

/* The worker died with runs in flight.  Only the run to blame ends, as
 * UNKNOWN with why: the one the black box names (executing when the worker
 * died), else the ones past their hard deadline.  Its neighbours get no
 * verdict from this death (they are not paged as killed): each runs again
 * on the restarted worker.  When no run can be blamed (a crash between
 * runs), every run in flight ends with why, as before. */
static void
end_runs(struct eng_worker *w, const char *why, uint32_t culprit, int all)
{
	int named = 0, overdue = 0;

	if (all)
		culprit = 0;    /* no restart follows: every run gets its verdict now */

	for (struct inflight *r = w->runs; r != NULL; r = r->next) {
		named |= culprit != 0 && r->id == culprit;
		overdue |= r->overdue;
	}
	while (w->runs != NULL) {
		struct inflight *r = w->runs;
		run_unlink(w, r);
		loop_timer_cancel(w->e->loop, r->hard);
		r->c->inflight = NULL;
		struct eng_check *c = r->c;
		int blamed = all ? 1 : named ? r->id == culprit : overdue ? r->overdue : 1;
		run_free(w->e, r);
		if (blamed)
			run_failed(c, why);
		else {
			free(c->cursors_new);
			c->cursors_new = NULL;
			c->in_flight = 0;
			c->rerun = 1;
		}
	}
	maybe_stopped(w->e);
}

/* The runs a death cut short without blame, started again (the worker is
 * ready again). */
static void
rerun_neighbours(struct eng_worker *w)
{
	for (uint32_t i = 0; i < w->ndecls; i++)
		if (w->decls[i]->rerun) {
			w->decls[i]->rerun = 0;
			engine_run_now(w->e, w->decls[i]);
		}
}

/* ---- the worker's messages -------------------------------------------------------- */

/* Stops a worker that has no part in the set any more. */
static void
worker_gone(struct eng_worker *w)
{
	w->state = W_GONE;
	if (w->fd >= 0) {
		loop_fd_del(w->e->loop, w->fd);
		close(w->fd);       /* the worker exits when its socket closes */
		w->fd = -1;
	}
}

/* A file that declares only reports, or checks that run at most every
 * [sandbox] park, needs no process between its runs: a week (or an
 * hour) of an idle Lua state and sandbox is memory a small host lacks, and
 * loading the file again costs a few milliseconds per run.  Once loaded and
 * idle, its worker exits (its socket is closed); when a run is due the file
 * is loaded again, as after a crash, and the run starts (engine_run_now,
 * rerun_neighbours).  A check on a cron schedule keeps its worker (its
 * slots may be a minute apart).  Only the daemon parks (engine_schedule):
 * `once` and `report` run at once. */
static int
parkable(const struct eng_worker *w)
{
	if (!w->e->park || w->e->stopping != STOP_NO || w->state != W_READY ||
	    w->fd < 0 || w->runs != NULL || w->ndecls == 0 ||
	    (w->runq != NULL && w->runq->n > 0))
		return 0;
	for (uint32_t i = 0; i < w->ndecls; i++) {
		const struct eng_check *c = w->decls[i];
		if (c->in_flight || c->rerun || (c->d.kind != RULE_REPORT &&
		    (w->e->cfg->park_ms <= 0 || c->d.cron != NULL ||
		    c->d.every_ms < w->e->cfg->park_ms)))
			return 0;
	}
	return 1;
}

static void
park(struct eng_worker *w)
{
	log_debug("%s: idle until its next run; its worker stops", w->path);
	w->state = W_PARKED;
	loop_fd_del(w->e->loop, w->fd);
	close(w->fd);           /* the worker exits; SIGCHLD reaps it */
	w->fd = -1;
}

static void
unpark(struct eng_worker *w)
{
	if (w->pid > 0) {
		/* not reaped yet: it was told to go, so it is going; a SIGKILL
		 * bounds the wait (no sleeping in the loop) */
		if (waitpid(w->pid, NULL, WNOHANG) == 0) {
			kill(w->pid, SIGKILL);
			waitpid(w->pid, NULL, 0);
		}
		w->pid = 0;
	}
	w->waking = 1;
	worker_start(w);
}

/* A loaded file leaves the set: its checks go, its worker stops. */
static void
drop_worker(struct engine *e, struct eng_worker *w)
{
	w->loaded_ok = 0;
	for (uint32_t k = 0; k < w->ndecls; k++) {
		struct eng_check *c = w->decls[k];
		for (size_t n = 0; n < e->nchecks; n++)
			if (e->checks[n] == c) {
				memmove(e->checks + n, e->checks + n + 1,
				    (e->nchecks - n - 1) * sizeof *e->checks);
				e->nchecks--;
				break;
			}
		rules_decl_clear(&c->d);
		free(c->cursors);
		free(c->last);
		free(c);
	}
	w->ndecls = 0;
	worker_gone(w);
}

/* Names are unique across rule files (alerts and history key on them), as
 * lint has it: the first file in path order keeps a name; a later file that
 * declares it again does not load, with lint's own message. */
static void
drop_duplicates(struct engine *e)
{
	for (size_t i = 0; i < e->nworkers; i++) {
		struct eng_worker *w = e->workers[i];
		int dups = 0;
		for (uint32_t k = 0; k < w->ndecls; k++) {
			const struct eng_check *c = w->decls[k], *o = NULL;
			for (size_t j = 0; j < i && o == NULL; j++)
				for (uint32_t m = 0; m < e->workers[j]->ndecls && o == NULL; m++)
					if (strcmp(e->workers[j]->decls[m]->d.name, c->d.name) == 0)
						o = e->workers[j]->decls[m];
			if (o == NULL)
				continue;
			char msg[1024];
			snprintf(msg, sizeof msg, "%s:%d: %s \"%s\": declared twice (first at %s:%d)",
			    w->path, c->d.line, c->d.kind == RULE_CHECK ? "check" : "report", c->d.name,
			    o->file, o->d.line);
			if (e->hooks.load_error != NULL)
				e->hooks.load_error(e->hooks.ud, w->path, msg);
			dups++;
		}
		if (dups == 0)
			continue;
		e->load_errors += dups;
		drop_worker(e, w);
	}
}

struct dep_ctx {
	struct engine *e;
	struct eng_check **checks;
	int bad;
};

static void
depends_bad(void *ud, size_t i, const char *msg)
{
	struct dep_ctx *x = ud;
	struct eng_worker *w = x->checks[i]->w;

	if (x->e->hooks.load_error != NULL)
		x->e->hooks.load_error(x->e->hooks.ud, w->path, msg);
	x->e->load_errors++;
	w->loaded_ok = -1;          /* dropped below, once every error is said */
	x->bad++;
}

/* What depends names must be checks of the set, without a cycle (lint's
 * check and message): a file that breaks it does not load, as with a name
 * declared twice; its going may leave another's depends dangling, so again
 * until nothing changes. */
static void
drop_bad_depends(struct engine *e)
{
	for (int round = 0; round < 64; round++) {
		struct depends_item *it = calloc(e->nchecks ? e->nchecks : 1, sizeof *it);
		struct dep_ctx x = { .e = e, .checks = e->checks };
		if (it == NULL)
			return;
		for (size_t i = 0; i < e->nchecks; i++) {
			it[i].d = &e->checks[i]->d;
			it[i].file = e->checks[i]->file;
		}
		depends_check(it, e->nchecks, depends_bad, &x);
		free(it);
		if (x.bad == 0)
			return;
		for (size_t i = 0; i < e->nworkers; i++)
			if (e->workers[i]->loaded_ok == -1)
				drop_worker(e, e->workers[i]);
	}
}

static void
all_loaded_maybe(struct engine *e)
{
	if (e->loading > 0)
		return;
	e->loading = -1;            /* report once */
	drop_duplicates(e);
	drop_bad_depends(e);
	/* a file that loads is "ok" only once the whole set has been seen */
	for (size_t i = 0; i < e->nworkers && e->hooks.file_state != NULL; i++)
		if (e->workers[i]->loaded_ok)
			e->hooks.file_state(e, e->workers[i]->path, "ok", NULL, e->hooks.ud);
	if (e->hooks.loaded != NULL)
		e->hooks.loaded(e, e->load_errors, e->hooks.ud);
}

/* A worker just loaded: its checks' log cursors go to it before any RUN, so
 * log.count {new = true} goes on from where it was, across restarts. */
static void
seek_cursors(struct eng_worker *w)
{
	struct engine *e = w->e;

	for (uint32_t i = 0; i < w->ndecls && w->fd >= 0; i++) {
		struct eng_check *c = w->decls[i];
		if (c->cursors == NULL && !c->cursors_asked && e->hooks.cursors != NULL)
			c->cursors = e->hooks.cursors(e, c, e->hooks.ud);
		c->cursors_asked = 1;
		if (c->cursors != NULL && wire_send(w->fd, WIRE_SEEK, i, c->cursors,
		    strlen(c->cursors)) < 0)
			log_error("%s: cannot give the worker its log cursors: %s", w->path,
			    strerror(errno));
	}
}

static void
load_finished(struct eng_worker *w, int errors)
{
	struct engine *e = w->e;

	loop_timer_cancel(e->loop, w->load_t);
	w->load_t = 0;
	w->state = errors > 0 ? W_QUARANTINED : W_READY;
	w->loaded_ok = errors == 0;
	if (errors == 0 && !w->first_load && e->hooks.file_state != NULL)
		e->hooks.file_state(e, w->path, "ok", NULL, e->hooks.ud);
	if (errors == 0)
		seek_cursors(w);
	/* a reload to run something (after a crash, or to wake a parked
	 * worker): what waits runs now, or gets its verdict if it cannot */
	if (!w->first_load)
		rerun_neighbours(w);
	w->waking = 0;
	if (errors == 0 && w->ndecls == 0 && w->fd >= 0) {
		/* nothing declared (a shipped file waiting for its [vars]): no
		 * process need sit there; the worker exits when its socket closes
		 * and a reload starts a new one */
		log_debug("%s: declares nothing; its worker stops", w->path);
		worker_gone(w);
	}
	if (w->first_load) {
		w->first_load = 0;
		e->loading--;
		if (errors > 0)
			e->load_errors += errors;
		all_loaded_maybe(e);
	} else if (errors > 0)
		log_error("%s: no longer loads after a restart; quarantined", w->path);
	if (parkable(w))
		park(w);
}

static void
add_check(struct eng_worker *w, const char *body, size_t len)
{
	struct engine *e = w->e;
	struct eng_check *c = calloc(1, sizeof *c);

	if (c == NULL || result_keep(&c->last, NULL) < 0 ||
	    worker_decl_decode(body, len, &c->d) < 0) {
		log_error("%s: a declaration did not decode", w->path);
		if (c != NULL) {
			rules_decl_clear(&c->d);
			free(c->last);
		}
		free(c);
		return;
	}
	c->file = w->path;
	c->d.file = w->path;
	c->w = w;
	c->windex = w->ndecls;
	struct eng_check **n = realloc(e->checks, (e->nchecks + 1) * sizeof *n);
	struct eng_check **wd = realloc(w->decls, (w->ndecls + 1) * sizeof *wd);
	if (wd != NULL)
		w->decls = wd;
	if (n != NULL)
		e->checks = n;
	if (n == NULL || wd == NULL) {
		rules_decl_clear(&c->d);
		free(c->last);
		free(c);
		return;
	}
	w->decls[w->ndecls++] = c;
	e->checks[e->nchecks++] = c;
}

/* A worker that breaks the protocol has been taken over or is broken: it
 * goes (its runs end UNKNOWN) and a fresh one takes its place. */
static void
bad_message(struct eng_worker *w, const char *what)
{
	log_error("%s: the worker sent %s; killed and restarted", w->path, what);
	if (w->kill_reason == NULL)
		w->kill_reason = "sandbox: killed (bad message from the worker)";
	if (w->pid > 0)
		kill(w->pid, SIGKILL);
	worker_died(w, 0, 0);
}

static void
on_message(struct loop *l, int fd, uint32_t events, void *ud)
{
	static char buf[WIRE_MAX];
	struct eng_worker *w = ud;
	struct wire_hdr h;
	size_t len;

	(void)l;
	(void)events;
	/* a few messages per wake-up, so one chatty worker cannot starve others */
	for (int n = 0; n < 64; n++) {
		if (w->fd != fd)
			return;     /* the last message closed it */
		int rc = wire_recv(fd, &h, buf, &len);
		if (rc < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (rc <= 0) {
			if (w->draining)
				return;     /* worker_died is already on its way */
			if (rc < 0 && errno == EPROTO) {
				bad_message(w, "a malformed message");
				return;
			}
			if (rc < 0)
				log_error("%s: worker socket: %s", w->path, strerror(errno));
			worker_died(w, 0, 0);
			return;
		}
		switch (h.type) {
		case WIRE_LOG:
			buf[len < sizeof buf ? len : sizeof buf - 1] = '\0';
			log_line((enum log_level)h.id, buf);
			break;
		case WIRE_DECL:
			if (w->first_load)
				add_check(w, buf, len);
			break;
		case WIRE_LOADERR:
			buf[len < sizeof buf ? len : sizeof buf - 1] = '\0';
			w->load_errors++;
			if (w->e->hooks.load_error != NULL)
				w->e->hooks.load_error(w->e->hooks.ud, w->path, buf);
			else
				log_error("%s", buf);
			break;
		case WIRE_LOADED:
			load_finished(w, h.id > 0 ? (w->load_errors ? w->load_errors : 1) : 0);
			break;
		case WIRE_REPORT: {
			/* the document of a report whose RESULT follows */
			uint32_t windex;
			if (len < sizeof windex)
				break;
			memcpy(&windex, buf, sizeof windex);
			if (windex >= w->ndecls || w->decls[windex]->inflight == NULL ||
			    w->decls[windex]->inflight->id != h.id)
				break;
			struct eng_check *c = w->decls[windex];
			free(c->doc);
			c->doc = strndup(buf + sizeof windex, len - sizeof windex);
			break;
		}
		case WIRE_CURSORS: {
			/* the log cursors of a check whose RESULT follows */
			uint32_t windex;
			if (len < sizeof windex)
				break;
			memcpy(&windex, buf, sizeof windex);
			if (windex >= w->ndecls || w->decls[windex]->inflight == NULL ||
			    w->decls[windex]->inflight->id != h.id)
				break;
			struct eng_check *c = w->decls[windex];
			free(c->cursors_new);
			c->cursors_new = strndup(buf + sizeof windex, len - sizeof windex);
			break;
		}
		case WIRE_RESULT: {
			size_t off = 0, rlen;
			uint32_t id, windex;
			const char *rec;
			while (wire_batch_next(buf, len, &off, &id, &rec, &rlen)) {
				struct result res;
				/* a record is the index and the result up to its last
				 * metric, exactly: anything else is refused, not clamped */
				int nm;
				if (rlen < sizeof windex + offsetof(struct result, metrics)) {
					bad_message(w, "a short result");
					return;
				}
				memcpy(&nm, rec + sizeof windex + offsetof(struct result, nmetrics), sizeof nm);
				if (nm < 0 || nm > RESULT_METRICS_MAX || rlen != sizeof windex +
				    offsetof(struct result, metrics) + (size_t)nm * sizeof res.metrics[0]) {
					bad_message(w, "a result of the wrong size");
					return;
				}
				memcpy(&windex, rec, sizeof windex);
				struct inflight *r = take_run(w, windex, id);
				if (r == NULL)
					continue;   /* a run we gave up on already */
				/* exactly the head and nm metrics (checked above): the
				 * 5.6 KiB of metric slots past them are never read, so
				 * they are not zeroed per result either */
				rlen -= sizeof windex;
				memcpy(&res, rec + sizeof windex, rlen);
				res.summary[sizeof res.summary - 1] = '\0';
				if ((unsigned)res.status > ST_UNKNOWN)
					res.status = ST_UNKNOWN;
				/* every byte that leaves is valid UTF-8: clean it here,
				 * where it enters the supervisor */
				utf8_fix(res.summary, sizeof res.summary);
				for (int i = 0; i < res.nmetrics; i++) {
					struct metric *m = &res.metrics[i];
					m->name[sizeof m->name - 1] = '\0';
					m->unit[sizeof m->unit - 1] = '\0';
					utf8_fix(m->name, sizeof m->name);
					utf8_fix(m->unit, sizeof m->unit);
				}
				w->kills_in_row = 0;
				struct eng_check *c = r->c;
				run_free(w->e, r);
				run_finished(c, &res);
				if (w->fd < 0)
					return;     /* a hook stopped the engine */
			}
			if (parkable(w)) {
				park(w);
				return;
			}
			break;
		}
		case WIRE_HISTORY: {
			struct hist_req q;
			static struct hist_ans a;   /* 16 KiB: not on the stack */
			if (len != sizeof q) {
				bad_message(w, "a history question of the wrong size");
				return;
			}
			memset(&q, 0, sizeof q);
			a.found = -1;
			a.value = a.ts = 0;
			a.list_len = 0;
			memcpy(&q, buf, sizeof q);
			q.name[sizeof q.name - 1] = '\0';
			if (w->e->hooks.history != NULL)
				w->e->hooks.history(w->e, &q, &a, w->e->hooks.ud);
			if (a.list_len < 0 || (size_t)a.list_len > sizeof a.list)
				a.list_len = 0;
			if (w->fd >= 0 && wire_send(w->fd, WIRE_ANSWER, h.id, &a,
			    offsetof(struct hist_ans, list) + (size_t)a.list_len) < 0)
				log_error("%s: cannot answer the worker: %s", w->path, strerror(errno));
			break;
		}
		default:
			bad_message(w, "a message of an unknown type");
			return;
		}
	}
}

/* ---- worker lifecycle ------------------------------------------------------------- */

static void
on_load_timeout(struct loop *l, void *ud)
{
	struct eng_worker *w = ud;

	(void)l;
	w->load_t = 0;
	log_error("%s: still loading after the sandbox timeout; killed", w->path);
	w->kill_reason = "sandbox: killed";
	if (w->first_load && w->e->hooks.load_error != NULL) {
		char m[600];
		snprintf(m, sizeof m, "%s: sandbox: killed (while loading, past the timeout)",
		    w->path);
		w->e->hooks.load_error(w->e->hooks.ud, w->path, m);
		w->load_errors++;
	}
	kill(w->pid, SIGKILL);
}

static void
on_restart(struct loop *l, void *ud)
{
	struct eng_worker *w = ud;

	(void)l;
	w->restart_t = 0;
	w->e->stats.worker_restarts++;
	worker_start(w);
}

/* The worker starts again in delay seconds; with backoff, after kills or
 * failed starts in a row: 0.5 s, 1 s, 2 s ... */
static void
restart_in(struct eng_worker *w, double delay)
{
	w->state = W_RESTARTING;
	w->restart_t = loop_timer_at(w->e->loop, loop_update_now(w->e->loop) + delay, on_restart,
	    w);
}

static double
backoff(const struct eng_worker *w)
{
	return 0.5 * (double)(1 << (w->kills_in_row > 0 ? w->kills_in_row - 1 : 0));
}

static void
worker_start(struct eng_worker *w)
{
	struct engine *e = w->e;
	char err[512];

	w->state = W_LOADING;
	w->load_errors = 0;
	if (!w->box_made) {
		w->box = worker_box_new(&w->box_fd);
		w->box_made = 1;
	}
	if (w->box != NULL)
		*w->box = 0;
	if (worker_spawn(w->path, e->cfg, w->box_fd, &w->pid, &w->fd, err, sizeof err) < 0) {
		log_error("%s: %s", w->path, err);
		if (w->fd >= 0)
			close(w->fd);
		w->fd = -1;
		if (w->pid > 0)
			waitpid(w->pid, NULL, 0);
		w->pid = 0;
		if (w->first_load) {
			w->load_errors++;
			load_finished(w, 1);
			return;
		}
		/* a restart or a wake-up that could not fork: what waits for it
		 * gets its verdict now, and it is tried again with backoff */
		w->waking = 0;
		w->state = W_RESTARTING;
		for (uint32_t i = 0; i < w->ndecls; i++)
			if (w->decls[i]->rerun) {
				w->decls[i]->rerun = 0;
				run_failed(w->decls[i], "sandbox: the worker could not start");
			}
		if (w->kills_in_row < 6)
			w->kills_in_row++;
		restart_in(w, backoff(w));
		return;
	}
	if (loop_fd_add(e->loop, w->fd, LOOP_IN, on_message, w) < 0) {
		kill(w->pid, SIGKILL);
		return;
	}
	/* loading runs the file's top level under the sandbox timeout */
	w->load_t = loop_timer_at(e->loop, loop_update_now(e->loop) +
	    (double)e->cfg->timeout_ms / 1000.0 + grace(e) + 5.0, on_load_timeout, w);
}

/* The signals a worker dies of, by name (sigabbrev_np is glibc's own; the
 * static builds use musl). */
static const char *
sig_name(int sig)
{
	static const struct { int sig; const char *name; } names[] = {
		{ SIGSEGV, "SEGV" }, { SIGABRT, "ABRT" }, { SIGKILL, "KILL" }, { SIGBUS, "BUS" },
		{ SIGILL, "ILL" }, { SIGFPE, "FPE" }, { SIGTERM, "TERM" }, { SIGINT, "INT" },
		{ SIGHUP, "HUP" }, { SIGPIPE, "PIPE" }, { SIGSYS, "SYS" }, { SIGTRAP, "TRAP" },
		{ SIGXCPU, "XCPU" }, { SIGXFSZ, "XFSZ" }, { SIGQUIT, "QUIT" },
	};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (names[i].sig == sig)
			return names[i].name;
	return NULL;
}

static void
describe_status(int status, int have, char *buf, size_t len)
{
	if (!have)
		snprintf(buf, len, "worker exited");
	else if (WIFSIGNALED(status) && sig_name(WTERMSIG(status)) != NULL)
		snprintf(buf, len, "worker died of %s", sig_name(WTERMSIG(status)));
	else if (WIFSIGNALED(status))
		snprintf(buf, len, "worker died of signal %d", WTERMSIG(status));
	else
		snprintf(buf, len, "worker exited with status %d", WEXITSTATUS(status));
}

static void
worker_died(struct eng_worker *w, int status, int have_status)
{
	struct engine *e = w->e;
	char why[128], reason[200];

	if (w->state == W_PARKED) {
		w->pid = 0;         /* it exited as asked */
		return;
	}
	if (w->fd >= 0) {
		/* SIGCHLD can come before the socket's last messages are read
		 * (a load error sent just before exit): read them first */
		w->draining = 1;
		for (int i = 0; i < 64 && w->fd >= 0; i++)
			on_message(e->loop, w->fd, 0, w);
		w->draining = 0;
	}
	if (w->fd >= 0) {
		loop_fd_del(e->loop, w->fd);
		close(w->fd);
		w->fd = -1;
	}
	if (w->pid > 0 && !have_status) {
		/* its socket closed as it died; if the zombie is not there yet,
		 * SIGKILL makes the wait below short and bounded (a process
		 * already exiting keeps its own status) — no sleeping in the loop */
		pid_t p = waitpid(w->pid, &status, WNOHANG);
		if (p == w->pid)
			have_status = 1;
		else if (p == 0) {
			kill(w->pid, SIGKILL);
			have_status = waitpid(w->pid, &status, 0) == w->pid;
		}
	}
	w->pid = 0;
	loop_timer_cancel(e->loop, w->load_t);
	w->load_t = 0;
	if (w->runq != NULL)
		w->runq->n = w->runq->len = 0;  /* those runs end below */
	describe_status(status, have_status, why, sizeof why);
	uint32_t culprit = w->box != NULL ? *w->box : 0;
	int ours = w->kill_reason != NULL;
	int normal = have_status && WIFEXITED(status) && WEXITSTATUS(status) == 0;
	/* the kernel ended it: a run spent its CPU budget inside C (where the
	 * hook cannot stop it) and SB_CPU_GRACE more */
	int cpu = !ours && have_status && WIFSIGNALED(status) && WTERMSIG(status) == SIGXCPU;
	if (ours)
		snprintf(reason, sizeof reason, "%s", w->kill_reason);
	else if (cpu)
		snprintf(reason, sizeof reason, "sandbox: cpu limit");
	else
		snprintf(reason, sizeof reason, "sandbox: killed (%s)", why);
	w->kill_reason = NULL;

	if (e->stopping != STOP_NO || w->state == W_GONE) {
		w->state = W_GONE;
	} else if (w->first_load) {
		/* died while loading for the first time: a load error */
		if (w->load_errors == 0 && e->hooks.load_error != NULL) {
			char m[600];
			snprintf(m, sizeof m, "%s: %s while loading", w->path, reason);
			e->hooks.load_error(e->hooks.ud, w->path, m);
		}
		load_finished(w, w->load_errors ? w->load_errors : 1);
	} else {
		if (ours || cpu)
			e->stats.worker_kills++;
		else if (!normal)
			e->stats.worker_crashes++;
		log_warn("%s: %s", w->path, ours ? "worker killed past a run's hard deadline" :
		    cpu ? "worker ended by the kernel: a run passed its CPU budget inside C" : why);
	}
	/* a CPU kill has its run named and stopped at once: not a sign the
	 * file is broken, so it does not count towards quarantine */
	int last = e->stopping != STOP_NO || w->state == W_GONE || w->state == W_QUARANTINED ||
	    (!cpu && w->kills_in_row + 1 >= ENGINE_KILLS_QUARANTINE);
	end_runs(w, reason, culprit, last);
	if (e->stopping != STOP_NO || w->state == W_GONE || w->state == W_QUARANTINED) {
		maybe_stopped(e);
		return;
	}
	if (cpu) {
		restart_in(w, 0.5);
		return;
	}
	if (++w->kills_in_row >= ENGINE_KILLS_QUARANTINE) {
		w->state = W_QUARANTINED;
		e->stats.quarantined++;
		log_error("%s: quarantined: its worker was killed %d times in a row; "
		    "fix the file, then reload", w->path, w->kills_in_row);
		if (e->hooks.file_state != NULL)
			e->hooks.file_state(e, w->path, "quarantined", reason, e->hooks.ud);
		return;
	}
	restart_in(w, backoff(w));
}

static void
on_sigchld(struct loop *l, void *ud)
{
	struct engine *e = ud;

	(void)l;
	for (size_t i = 0; i < e->nworkers; i++) {
		struct eng_worker *w = e->workers[i];
		int status;
		if (w->pid > 0 && waitpid(w->pid, &status, WNOHANG) == w->pid) {
			w->pid = 0;
			worker_died(w, status, 1);
		}
	}
}

int
engine_load(struct engine *e, char *const *paths, size_t n)
{
	char **found = NULL, err[512];
	size_t nfound = 0;

	for (size_t i = 0; i < (n ? n : 1); i++) {
		char **p;
		size_t k;
		if (rules_paths(n ? paths[i] : e->cfg->rules, &p, &k, err, sizeof err) < 0) {
			if (e->hooks.load_error)
				e->hooks.load_error(e->hooks.ud, NULL, err);
			e->load_errors++;
			e->global_errors++;
			continue;
		}
		char **m = realloc(found, (nfound + k + 1) * sizeof *m);
		if (m == NULL) {
			rules_paths_free(p, k);
			continue;
		}
		found = m;
		memcpy(found + nfound, p, k * sizeof *p);
		nfound += k;
		free(p);
	}
	if (nfound == 0 && e->load_errors == 0) {
		if (e->hooks.load_error)
			e->hooks.load_error(e->hooks.ud, NULL,
			    "no rule files (*.lua) found where [agent] rules points");
		e->load_errors++;
		e->global_errors++;
	}
	if (loop_signal(e->loop, SIGCHLD, on_sigchld, e) < 0)
		log_warn("cannot watch SIGCHLD; dead workers are found by their sockets");
	e->workers = calloc(nfound ? nfound : 1, sizeof *e->workers);
	e->loading = 0;
	for (size_t i = 0; e->workers != NULL && i < nfound; i++) {
		struct eng_worker *w = calloc(1, sizeof *w);
		if (w == NULL)
			break;
		w->e = e;
		w->path = found[i];
		found[i] = NULL;
		w->fd = -1;
		w->first_load = 1;
		e->workers[e->nworkers++] = w;
		e->loading++;
	}
	rules_paths_free(found, nfound);
	for (size_t i = 0; i < e->nworkers; i++)
		worker_start(e->workers[i]);
	all_loaded_maybe(e);
	return 0;
}

/* ---- running ---------------------------------------------------------------------- */

static void
on_hard_deadline(struct loop *l, void *ud)
{
	struct inflight *r = ud;
	struct eng_worker *w = r->c->w;

	(void)l;
	r->hard = 0;
	r->overdue = 1;
	if (w->pid <= 0)
		return;
	log_warn("%s: check \"%s\" ran past its hard deadline; killing the worker",
	    w->path, r->c->d.name);
	w->kill_reason = "sandbox: killed";
	kill(w->pid, SIGKILL);
}

static void
flush_runs(struct loop *l, void *ud)
{
	struct engine *e = ud;

	(void)l;
	e->flush_t = 0;
	for (size_t i = 0; i < e->nworkers; i++) {
		struct eng_worker *w = e->workers[i];
		if (w->runq == NULL || w->runq->n == 0)
			continue;
		if (w->fd < 0 || wire_batch_flush(w->runq) < 0) {
			/* the worker is gone or stuck; its runs end by its death or
			 * by their hard deadlines */
			if (w->fd >= 0)
				log_error("%s: cannot reach the worker: %s", w->path, strerror(errno));
			w->runq->n = 0;
			w->runq->len = 0;
		}
	}
}

int
engine_run_now(struct engine *e, struct eng_check *c)
{
	struct eng_worker *w = c->w;

	if (c->in_flight)
		return -1;
	if (w->state == W_PARKED || (w->state == W_LOADING && w->waking)) {
		/* runs once the file has loaded again (load_finished) */
		c->rerun = 1;
		if (w->state == W_PARKED)
			unpark(w);
		return 0;
	}
	if (w->state != W_READY) {
		run_failed(c, w->state == W_QUARANTINED ? "sandbox: rule file quarantined" :
		    "sandbox: worker restarting");
		return 0;
	}
	struct inflight *r = run_new(e);
	if (r == NULL)
		return -1;
	r->id = e->next_id++;
	if (e->next_id == 0)
		e->next_id = 1;
	r->c = c;
	int64_t t = e->cfg->timeout_ms;
	if (c->d.timeout_ms > 0 && c->d.timeout_ms < t)
		t = c->d.timeout_ms;
	/* the check's index in its worker, then its name to be sure; runs due
	 * in one loop iteration leave in one message */
	if (w->runq == NULL) {
		w->runq = calloc(1, sizeof *w->runq);
		if (w->runq == NULL) {
			run_free(e, r);
			return -1;
		}
		w->runq->type = WIRE_RUN;
	}
	w->runq->fd = w->fd;
	if (wire_batch_add(w->runq, r->id, &c->windex, sizeof c->windex, c->d.name,
	    strlen(c->d.name)) < 0) {
		log_error("%s: cannot reach the worker: %s", w->path, strerror(errno));
		run_free(e, r);
		return -1;
	}
	if (e->flush_t == 0)
		e->flush_t = loop_timer_at(e->loop, loop_now(e->loop), flush_runs, e);
	c->inflight = r;
	r->hard = loop_timer_at(e->loop, loop_update_now(e->loop) + (double)t / 1000.0 +
	    grace(e), on_hard_deadline, r);
	run_link(w, r);
	c->in_flight = 1;
	return 0;
}

static void
on_due(struct loop *l, void *ud)
{
	struct eng_check *c = ud;
	struct engine *e = c->w->e;

	c->timer = 0;
	if (e->stopping != STOP_NO)
		return;
	double now = loop_now(l);
	if (c->in_flight) {
		c->skipped++;
		e->stats.skipped_runs++;
		log_warn("check \"%s\": run skipped: the previous one is still going", c->d.name);
	} else {
		c->slot = c->sched.due;
		c->lateness = now - c->planned;
		int b = (int)(c->lateness * 10000);
		e->stats.late[b < 0 ? 0 : b >= ENGINE_LATE_BUCKETS ? ENGINE_LATE_BUCKETS - 1 : b]++;
		e->stats.scheduled_runs++;
		if (engine_run_now(e, c) < 0)
			log_error("check \"%s\": could not start", c->d.name);
	}
	schedule_next(c);
}

static void
schedule_next(struct eng_check *c)
{
	struct engine *e = c->w->e;
	uint64_t missed = 0;

	sched_advance(&c->sched, loop_update_now(e->loop), time(NULL), &missed);
	if (missed > 0) {
		c->skipped += missed;
		e->stats.skipped_runs += missed;
		log_warn("check \"%s\": %llu slot%s missed", c->d.name,
		    (unsigned long long)missed, missed == 1 ? "" : "s");
	}
	c->planned = sched_start_at(&c->sched);
	c->timer = loop_timer_at(e->loop, c->planned, on_due, c);
}

/* How many checks share each `every` interval, for sched_phase: the first
 * ENGINE_INTERVALS distinct ones are counted (more is not a real
 * configuration; the rest start unspread). */
#define ENGINE_INTERVALS 64
struct interval_count { int64_t every_ms; size_t n; };

static size_t
count_intervals(const struct engine *e, struct interval_count *t)
{
	size_t nt = 0;

	for (size_t i = 0; i < e->nchecks; i++) {
		int64_t ms = e->checks[i]->d.every_ms;
		size_t k = 0;
		if (ms <= 0)
			continue;
		while (k < nt && t[k].every_ms != ms)
			k++;
		if (k == nt) {
			if (nt == ENGINE_INTERVALS)
				continue;
			t[nt++] = (struct interval_count){ ms, 0 };
		}
		t[k].n++;
	}
	return nt;
}

void
engine_schedule(struct engine *e, struct engine *prev)
{
	double now = loop_update_now(e->loop);
	struct interval_count iv[ENGINE_INTERVALS];
	size_t niv = count_intervals(e, iv);

	e->park = 1;
	for (size_t i = 0; i < e->nworkers; i++)
		if (parkable(e->workers[i]))
			park(e->workers[i]);
	for (size_t i = 0; i < e->nchecks; i++) {
		struct eng_check *c = e->checks[i];
		size_t same = 1;
		if (c->d.every_ms == 0 && c->d.cron == NULL)
			continue;           /* a report with no schedule: on demand only */
		for (size_t k = 0; k < niv; k++)
			if (iv[k].every_ms == c->d.every_ms)
				same = iv[k].n;
		if (sched_init(&c->sched, c->d.every_ms, c->d.cron, c->d.jitter_ms,
		    sched_phase(c->d.name, c->d.every_ms, same), now, time(NULL)) < 0) {
			log_error("check \"%s\": bad schedule", c->d.name);
			continue;
		}
		/* a report is due one period after start, not at it: restarting
		 * the agent must not send the weekly report again */
		if (c->d.kind == RULE_REPORT && c->d.every_ms > 0)
			c->sched.due += (double)c->d.every_ms / 1000.0;
		struct eng_check *old = prev ? engine_find(prev, c->d.name) : NULL;
		if (old != NULL && old->d.every_ms == c->d.every_ms && c->d.every_ms > 0 &&
		    old->timer != 0)
			c->sched.due = old->sched.due;  /* keep its place on the grid */
		c->planned = sched_start_at(&c->sched);
		c->timer = loop_timer_at(e->loop, c->planned, on_due, c);
		/* a check whose schedule changed runs at once (one on `every`
		 * starts its new grid now anyway; a cron one would wait for its
		 * next minute, with nothing to show for the new schedule) */
		if (old != NULL && c->d.kind == RULE_CHECK && c->d.cron != NULL &&
		    (old->d.cron == NULL || strcmp(old->d.cron, c->d.cron) != 0))
			engine_run_now(e, c);
	}
}

/* ---- stopping ----------------------------------------------------------------------- */

static void
kill_workers(struct engine *e)
{
	for (size_t i = 0; i < e->nworkers; i++) {
		struct eng_worker *w = e->workers[i];
		w->state = W_GONE;
		loop_timer_cancel(e->loop, w->restart_t);
		w->restart_t = 0;
		if (w->fd >= 0) {
			loop_fd_del(e->loop, w->fd);
			close(w->fd);
			w->fd = -1;
		}
		if (w->pid > 0) {
			kill(w->pid, SIGKILL);
			waitpid(w->pid, NULL, 0);
			w->pid = 0;
		}
	}
}

static void
on_stop_timeout(struct loop *l, void *ud)
{
	struct engine *e = ud;

	(void)l;
	e->stop_t = 0;
	if (engine_in_flight(e) > 0)
		log_warn("stopping: %d run%s still going after the grace period",
		    engine_in_flight(e), engine_in_flight(e) == 1 ? "" : "s");
	/* the workers go; what they still had ends as UNKNOWN */
	kill_workers(e);
	for (size_t i = 0; i < e->nworkers; i++)
		end_runs(e->workers[i], "agent stopping", 0, 1);
	if (e->stopping == STOP_GRACE_RUNS) {
		e->stopping = STOP_DONE;
		if (e->hooks.stopped != NULL)
			e->hooks.stopped(e, e->hooks.ud);
	}
}

static void
maybe_stopped(struct engine *e)
{
	if (e->stopping == STOP_GRACE_RUNS && engine_in_flight(e) == 0 && e->stop_t != 0) {
		loop_timer_cancel(e->loop, e->stop_t);
		e->stop_t = loop_timer_at(e->loop, loop_now(e->loop), on_stop_timeout, e);
	}
}

void
engine_stop(struct engine *e, double grace)
{
	if (e->stopping != STOP_NO)
		return;
	e->stopping = STOP_GRACE_RUNS;
	for (size_t i = 0; i < e->nchecks; i++) {
		loop_timer_cancel(e->loop, e->checks[i]->timer);
		e->checks[i]->timer = 0;
	}
	e->stop_t = loop_timer_at(e->loop, loop_update_now(e->loop) +
	    (engine_in_flight(e) > 0 ? grace : 0), on_stop_timeout, e);
}

void
engine_free(struct engine *e)
{
	if (e == NULL)
		return;
	e->stopping = STOP_FREEING;
	loop_timer_cancel(e->loop, e->flush_t);
	loop_signal_del(e->loop, SIGCHLD, on_sigchld, e);
	kill_workers(e);
	loop_timer_cancel(e->loop, e->stop_t);
	for (size_t i = 0; i < e->nworkers; i++) {
		struct eng_worker *w = e->workers[i];
		loop_timer_cancel(e->loop, w->load_t);
		while (w->runs != NULL) {
			struct inflight *r = w->runs;
			w->runs = r->next;
			loop_timer_cancel(e->loop, r->hard);
			free(r);
		}
		worker_box_free(w->box, w->box_made ? w->box_fd : -1);
		free(w->path);
		free(w->decls);
		free(w->runq);
		free(w);
	}
	for (size_t i = 0; i < e->nchecks; i++) {
		loop_timer_cancel(e->loop, e->checks[i]->timer);
		rules_decl_clear(&e->checks[i]->d);
		free(e->checks[i]->doc);
		free(e->checks[i]->cursors);
		free(e->checks[i]->cursors_new);
		free(e->checks[i]->last);
		free(e->checks[i]);
	}
	while (e->spare != NULL) {
		struct inflight *r = e->spare;
		e->spare = r->next;
		free(r);
	}
	free(e->workers);
	free(e->checks);
	free(e);
}
