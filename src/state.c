/* state.c — the state role of `drishti run` (DESIGN §9): unprivileged, the
 * only user of the state file and the one owner of alert state, history,
 * the outbox and silences; it also runs the scheduler and the rule workers
 * (engine.c), so a result is judged where the alert state lives, with no
 * hop between.  It holds no secret: each send is a job for the delivery
 * role (MSG_JOB / MSG_DONE over the socket the parent hands it, MSG_PEER).
 *
 * The config comes from the parent as text (MSG_CONFIG, MSG_RELOAD): the
 * parent reads the file, this role may not be able to.  Signals arrive
 * through the loop's signalfd: SIGTERM and SIGINT stop; SIGHUP goes to the
 * parent, which sends MSG_RELOAD.  A reload is atomic: the new config and rules are loaded into a
 * second engine beside the running one, and only when every file of it has
 * loaded cleanly does it take over (keeping each check's place in time);
 * otherwise its errors are logged with FILE:LINE and it is thrown away.
 * With [agent] watch, inotify on the rule directories triggers the same
 * reload when a rule file is saved.  systemd's notify protocol (READY,
 * RELOADING, STOPPING, WATCHDOG) is spoken when NOTIFY_SOCKET is set. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include "clock.h"
#include "cli.h"
#include "config.h"
#include "engine.h"
#include "file.h"
#include "job.h"
#include "msg.h"
#include "priv.h"
#include "log.h"
#include "mem.h"
#include "loop.h"
#include "outbox.h"
#include "quiet.h"
#include "state.h"
#include "statuspage.h"
#include "report.h"
#include "store.h"
#include "textfile.h"

#define PRUNE_EVERY 10.0        /* seconds between prune passes */
#define PRUNE_BATCH 2000        /* rows per delete; many short deletes, never a long one */

#define STOP_GRACE 10.0         /* seconds runs in flight get at SIGTERM */
#define WATCH_SETTLE 0.3        /* editors write in bursts: wait for quiet */

struct daemon {
	unsigned results;           /* since the last on_health: none, the page cache goes */
	unsigned nwaiting;          /* checks with judge_wait set (at least): none, no scan */
	struct loop *loop;
	struct config *cfg;         /* the running set */
	/* the parent, and the config text it sent: the running one, and one
	 * to load (MSG_RELOAD) */
	struct msg_conn *parent;
	char   *path, *text;
	size_t  textlen;
	uint32_t gen;
	char   *npath, *ntext;
	size_t  ntextlen;
	uint32_t ngen;
	uint32_t loading_gen;       /* the generation the reload in flight loads */
	int     go;
	/* the delivery role */
	struct msg_conn *dlv;
	uint32_t dlv_gen;           /* the config generation it serves (MSG_HELLO) */
	uint64_t next_job;
	struct outbox_sender sender;
	struct engine *e;
	struct config *ncfg;        /* a reload being loaded */
	struct engine *ne;
	int     reload_again;
	bool    stopping;           /* SIGTERM, MSG_STOP or the parent gone */
	int     exit_code;
	int     started;
	/* engines and configs whose time is over, freed from the loop */
	struct engine *dead_e[16];
	struct config *dead_cfg[16];
	int     ndead;
	loop_timer_id reap_t;
	/* engines replaced by a reload, finishing their runs, with their configs */
	struct engine *old_e[4];
	struct config *old_cfg[4];
	int     nold;
	/* inotify */
	int     ino;
	loop_timer_id settle_t;
	/* systemd */
	double  watchdog;           /* seconds between pings, 0: none */
	/* state */
	struct store *store;
	struct outbox *outbox;
	loop_timer_id prune_t;
	loop_timer_id text_t;
	loop_timer_id page_t;  /* the status page: every minute, soon after a change */
	loop_timer_id commit_t;
	double  commit_at;              /* when commit_t fires */
	loop_timer_id health_t;
	int     lock_fd;
	char    trouble[64];        /* the state file's trouble last reported */
	/* the agent's own checks (drishti.state, rules:FILE): no worker, no
	 * schedule; their results go through the same alert path */
	struct eng_check *ac[64];
	int     nac;
	/* quiet time: silences (the state file) and maintenance windows */
	struct quiet quiet;
	int64_t said[256][2];       /* silence id, announced level: not said twice */
	int     nsaid;
};

#define HEALTH_EVERY 1.0        /* seconds between looks at the state file */
/* Routine results wait this long to be committed together: checks spread
 * over the second (sched.c) arrive in many small groups, and a commit per
 * group would write each touched page to the WAL again each time.  A kill
 * -9 loses at most this much of them; an alert change is fsynced at once,
 * and a result whose status changed (it is logged) is committed in the
 * next loop turn, so `drishti status` agrees with the log. */
#define COMMIT_WAIT 0.2

static void reload(struct daemon *d);
static void reloaded(struct daemon *d, int ok);
static void judge(struct daemon *d, struct eng_check *c, const struct result *r,
    int64_t now_ms, const char *cursors, int alert_only);
static void judge_waiting(struct daemon *d, struct eng_check *c, int64_t now_ms);
static void on_textfile(struct loop *l, void *ud);

/* ---- systemd notify --------------------------------------------------------- */

/* The parent speaks sd_notify for us (MSG_NOTIFY): it is systemd's main
 * PID, and the unit lets no one else. */
static void
notify(struct daemon *d, const char *state)
{
	struct msg m;

	m_init(&m, MSG_NOTIFY);
	m_add_str(&m, state);
	msg_send(d->parent, &m);
}

/* WATCHDOG_USEC (and WATCHDOG_PID, set to ours by the parent): the interval
 * at which we say we are alive, half systemd's limit. */
static void
watchdog_open(struct daemon *d)
{
	const char *wd = getenv("WATCHDOG_USEC");
	const char *pid = getenv("WATCHDOG_PID");

	if (wd != NULL && atoll(wd) > 0 && (pid == NULL || atoll(pid) == (long long)getpid()))
		d->watchdog = (double)atoll(wd) / 2e6;
}

static void
on_watchdog(struct loop *l, void *ud)
{
	struct daemon *d = ud;

	notify(d, "WATCHDOG=1");
	loop_timer_at(l, loop_update_now(l) + d->watchdog, on_watchdog, d);
}

/* ---- results --------------------------------------------------------------------- */

static void
on_textfile(struct loop *l, void *ud)
{
	struct daemon *d = ud;
	char err[512];
	static int failed;

	(void)l;
	d->text_t = 0;
	if (d->e == NULL || d->cfg->textfile == NULL || *d->cfg->textfile == '\0')
		return;
	if (textfile_write(d->cfg->textfile, d->e, d->store, err, sizeof err) < 0) {
		if (!failed)
			log_error("%s", err);       /* once, not every second */
		failed = 1;
	} else
		failed = 0;
}

#define PAGE_EVERY 60.0         /* seconds: the day bars move slowly */

/* [output] status_page, from the state file alone: the checks rules mark
 * public, in the running set's order */
static void
on_page(struct loop *l, void *ud)
{
	struct daemon *d = ud;
	char err[512], title[300];
	static int failed;

	d->page_t = loop_timer_at(l, loop_tick(l, PAGE_EVERY), on_page, d);
	if (d->e == NULL || d->store == NULL || d->cfg->status_page == NULL ||
	    *d->cfg->status_page == '\0')
		return;
	size_t n = 0, total = engine_count(d->e);
	struct statuspage_check *pc = calloc(total ? total : 1, sizeof *pc);
	if (pc == NULL)
		return;
	for (size_t i = 0; i < total; i++) {
		struct eng_check *c = engine_check(d->e, i);
		if (c->d.kind == RULE_CHECK && c->d.public_name != NULL)
			pc[n++] = (struct statuspage_check){ c->d.name, c->d.public_name };
	}
	if (d->cfg->status_title != NULL && *d->cfg->status_title != '\0')
		snprintf(title, sizeof title, "%s", d->cfg->status_title);
	else
		snprintf(title, sizeof title, "%s status", d->cfg->name);
	store_commit(d->store);         /* what the page reads is on disk */
	if (statuspage_write(d->cfg->status_page, title, d->store, pc, n,
	    (double)d->cfg->raw_ms / 1000.0, err, sizeof err) < 0) {
		if (!failed)
			log_error("%s", err);   /* once, not every minute */
		failed = 1;
	} else
		failed = 0;
	free(pc);
}

/* an alert changed: the page shows it within a second */
static void
page_soon(struct daemon *d)
{
	if (d->cfg->status_page == NULL || *d->cfg->status_page == '\0')
		return;
	loop_timer_cancel(d->loop, d->page_t);
	d->page_t = loop_timer_at(d->loop, loop_update_now(d->loop) + 1.0, on_page, d);
}

static void
on_commit(struct loop *l, void *ud)
{
	struct daemon *d = ud;

	(void)l;
	d->commit_t = 0;
	store_commit(d->store);         /* a failure is logged once, by the store */
}

/* Commits what is queued within wait seconds: a commit armed for later
 * is brought forward. */
static void
commit_within(struct daemon *d, double wait)
{
	double at = loop_now(d->loop) + wait;

	if (!store_pending(d->store))
		return;
	if (d->commit_t != 0) {
		if (d->commit_at <= at)
			return;
		loop_timer_cancel(d->loop, d->commit_t);
	}
	d->commit_at = at;
	d->commit_t = loop_timer_at(d->loop, at, on_commit, d);
}

static void
on_prune(struct loop *l, void *ud)
{
	struct daemon *d = ud;
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	for (int i = 0; i < 20; i++)
		if (store_prune(d->store, (double)ts.tv_sec, d->cfg->raw_ms, d->cfg->rollup_ms,
		    PRUNE_BATCH) < PRUNE_BATCH)
			break;
	d->prune_t = loop_timer_at(l, loop_tick(l, PRUNE_EVERY), on_prune, d);
}

static void
on_result(struct engine *e, struct eng_check *c, const struct result *r, void *ud)
{
	struct daemon *d = ud;
	int64_t now_ms = (int64_t)((r->started + r->duration) * 1000);

	(void)e;
	mem_busy(loop_now(d->loop));    /* a result is the state role's unit of work */
	d->results++;
	if (c->d.kind == RULE_REPORT) {
		/* a report is an event of its own, with its document; no alert */
		char *doc = report_finish(c->doc, c->d.name, d->cfg->name, r->started,
		    r->status == ST_UNKNOWN ? r->summary : NULL);
		char head[RESULT_SUMMARY_MAX];
		if (doc != NULL)
			report_headline(doc, head, sizeof head);
		else
			snprintf(head, sizeof head, "%s", c->d.name);
		if (r->status == ST_UNKNOWN)
			log_error("report \"%s\" did not finish: %s", c->d.name, r->summary);
		else
			log_info("report \"%s\" built: %s", c->d.name, head);
		if (d->store != NULL && doc != NULL && store_report(d->store, c->d.name, head, doc) == 0)
			outbox_kick(d->outbox);
		else if (d->store != NULL)
			log_error("report \"%s\": could not be stored", c->d.name);
		free(doc);
		return;
	}
	/* c->last still holds the previous result while this hook runs */
	bool moved = !c->has_last || c->last->status != r->status;
	if (moved) {
		const char *from = c->has_last ? result_status_name(c->last->status) : "-";
		if (r->status == ST_OK)
			log_info("check \"%s\": %s -> %s: %s", c->d.name, from,
			    result_status_name(r->status), r->summary);
		else
			log_warn("check \"%s\": %s -> %s: %s", c->d.name, from,
			    result_status_name(r->status), r->summary);
	} else
		log_debug("check \"%s\": %s: %s (%.1f ms)", c->d.name,
		    result_status_name(r->status), r->summary, r->duration * 1000);
	if (d->store == NULL)
		return;
	judge(d, c, r, now_ms, c->cursors_new, 0);
	if (moved)
		commit_within(d, 0);
}

/* ---- judging a run: dependencies, quiet time, the alert ------------------------------------ */

static bool
failing(const struct eng_check *c, enum status st)
{
	return st == ST_WARN || st == ST_CRIT || (st == ST_UNKNOWN && !c->d.unknown_ignore);
}

static void
load_alert(struct daemon *d, struct eng_check *c, int64_t now_ms)
{
	/* the alert state lives in the store: a restart or reload picks it up */
	if (!c->alert_loaded) {
		if (store_alert_get(d->store, c->d.name, &c->alert) != 0)
			alert_init(&c->alert, now_ms);
		c->alert_loaded = 1;
	}
}

enum dep_verdict { DEP_FREE, DEP_BLOCKED, DEP_WAIT };

/* A failing check whose dependency fails is blocked: the dependency's
 * alert speaks for both.  A dependency that is running now, or whose last
 * answer is older than this run, is asked first (run now if need be): the
 * order two results of one outage come in must not decide what pages. */
static enum dep_verdict
dependency(struct daemon *d, struct eng_check *c, const struct result *r, const char **who)
{
	enum dep_verdict v = DEP_FREE;

	for (size_t i = 0; i < c->d.ndepends && d->e != NULL; i++) {
		struct eng_check *p = engine_find(d->e, c->d.depends[i]);
		if (p == NULL)
			continue;
		load_alert(d, p, (int64_t)(r->started * 1000));
		if (p->alert.state != AL_OK || (p->has_last && failing(p, p->last->status))) {
			*who = p->d.name;
			return DEP_BLOCKED;
		}
		if (p->in_flight) {
			*who = p->d.name;
			v = DEP_WAIT;
		} else if (!p->has_last || p->last->started + p->last->duration < r->started) {
			if (engine_run_now(d->e, p) == 0) {
				*who = p->d.name;
				v = DEP_WAIT;
			}
		}
	}
	return v;
}

/* One run's verdict on the check's alert.  alert_only: the run was
 * recorded already (a judgement that waited for a dependency). */
static void
judge(struct daemon *d, struct eng_check *c, const struct result *r, int64_t now_ms,
    const char *cursors, int alert_only)
{
	char note[300] = "", why[200] = "";
	const char *who = NULL;
	struct alert_out ev;
	bool changed = false;

	load_alert(d, c, now_ms);
	memset(&ev, 0, sizeof ev);
	enum dep_verdict dv = failing(c, r->status) ? dependency(d, c, r, &who) : DEP_FREE;
	if (dv == DEP_WAIT && !alert_only) {
		if (!c->judge_wait)
			d->nwaiting++;
		c->judge_wait = 1;
		c->judge_wait_since = loop_now(d->loop);
		snprintf(note, sizeof note, "waiting for %s", who);
	} else if (dv == DEP_BLOCKED) {
		/* its own streak starts again once the dependency is back (one
		 * that fired before stays firing, silent, until it resolves) */
		if (c->alert.state != AL_FIRING && (c->alert.state == AL_PENDING ||
		    c->alert.fails > 0)) {
			alert_init(&c->alert, now_ms);
			changed = true;
		}
		snprintf(note, sizeof note, "blocked by %s", who);
	} else
		changed = alert_step(&c->alert, &(struct alert_cfg){ .after_count = c->d.after_count,
		    .after_ms = c->d.after_ms, .recover = c->d.recover,
		    .flap_fails = c->d.flap_fails, .flap_window = c->d.flap_window,
		    .repeat_ms = c->d.repeat_ms, .unknown_ignore = c->d.unknown_ignore },
		    r->status, now_ms, &ev);
	snprintf(c->blocked_by, sizeof c->blocked_by, "%s", dv == DEP_BLOCKED ? who : "");
	/* quiet time: the event is recorded, not delivered; an alert that fired
	 * in it is owed, and goes out if the check still fails when it ends */
	const char *muted = NULL;
	c->silenced = quiet_match(&d->quiet, &c->d, (double)now_ms / 1000.0, why, sizeof why);
	if (c->silenced) {
		if (note[0] == '\0')
			snprintf(note, sizeof note, "silenced: %s", why);
		if (ev.event == EV_ALERT) {
			c->alert.owed = 1;
			changed = true;
			muted = why;
		} else if (ev.event == EV_RESOLVE && !c->alert.owed) {
			/* its alert went out: so does its resolve */
		} else if (ev.event != EV_NONE) {
			if (ev.event == EV_RESOLVE)
				c->alert.owed = 0;
			muted = why;
		}
	} else if (ev.event == EV_RESOLVE && c->alert.owed) {
		/* the alert was never sent (the window ended this very second) */
		c->alert.owed = 0;
		muted = "its alert was never sent";
	}
	/* the engine armed the next run before this one ended: for status */
	double next_at = c->timer != 0 ? clock_real() + (c->planned - loop_now(d->loop)) : 0;
	store_record(d->store, c->d.name, r, &c->alert, changed, &ev,
	    &(struct store_extra){ .cursors = cursors, .note = note[0] ? note : NULL,
	    .muted = muted, .alert_only = alert_only, .next_at = next_at });
	/* the runs of the next COMMIT_WAIT seconds are committed together */
	commit_within(d, COMMIT_WAIT);
	if (ev.event != EV_NONE) {
		page_soon(d);
		if (muted == NULL && d->outbox != NULL)
			outbox_kick(d->outbox);
		if (ev.event == EV_RESOLVE)
			log_info("alert \"%s\": resolved (was %s)%s%s", c->d.name,
			    result_status_name(ev.previous), muted ? "; not sent: " : "",
			    muted ? muted : "");
		else
			log_warn("alert \"%s\": %s %s: %s%s%s", c->d.name, alert_event_name(ev.event),
			    result_status_name(ev.status), r->summary, muted ? "; not sent: " : "",
			    muted ? muted : "");
	}
	if (d->text_t == 0 && d->cfg->textfile != 0 && *d->cfg->textfile != '\0')
		d->text_t = loop_timer_at(d->loop, loop_update_now(d->loop) + 1.0, on_textfile, d);
	if (!alert_only)
		judge_waiting(d, c, now_ms);
}

/* c has just been judged: the checks that waited on it are judged now, on
 * their latest result (engine.c sets last after this hook returns, so a
 * dependent's own last is its run that waited). */
static void
judge_waiting(struct daemon *d, struct eng_check *c, int64_t now_ms)
{
	/* a scan of every check per result was a third of the state role's
	 * own CPU at a thousand checks a second; most of the time none waits
	 * (a check dropped by a reload while waiting only costs scans) */
	if (d->nwaiting == 0)
		return;
	for (size_t i = 0; d->e != NULL && i < engine_count(d->e); i++) {
		struct eng_check *w = engine_check(d->e, i);
		if (!w->judge_wait || w == c || !w->has_last)
			continue;
		for (size_t k = 0; k < w->d.ndepends; k++)
			if (strcmp(w->d.depends[k], c->d.name) == 0) {
				w->judge_wait = 0;
				d->nwaiting--;
				judge(d, w, w->last, now_ms, NULL, 1);
				break;
			}
	}
}

/* Waits that outlived their dependency's answer (it was killed, it never
 * ran): the check is judged on its own. */
static void
judge_stale(struct daemon *d)
{
	double now = loop_now(d->loop);
	struct timespec ts;

	if (d->nwaiting == 0)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	for (size_t i = 0; d->e != NULL && i < engine_count(d->e); i++) {
		struct eng_check *w = engine_check(d->e, i);
		double limit = (double)(w->d.timeout_ms ? w->d.timeout_ms : d->cfg->timeout_ms) /
		    1000.0 + 5;
		if (w->judge_wait && w->has_last && now - w->judge_wait_since > limit) {
			w->judge_wait = 0;
			d->nwaiting--;
			judge(d, w, w->last, (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000, NULL, 1);
		}
	}
}

/* The check that stands for a rule file: rules:NAME.lua. */
static void
file_check_name(const char *file, char *out, size_t len)
{
	const char *b = strrchr(file, '/');
	snprintf(out, len, "rules:%s", b ? b + 1 : file);
}

/* ---- the agent's own checks ------------------------------------------------------------- */

static struct eng_check *
agent_check_find(struct daemon *d, const char *name)
{
	for (int i = 0; i < d->nac; i++)
		if (strcmp(d->ac[i]->d.name, name) == 0)
			return d->ac[i];
	return NULL;
}

/* A result of one of the agent's own checks, recorded and alerted on like
 * any rule's: fires at the first failing result, resolves at the first OK. */
static void agent_result(struct daemon *d, const char *name, enum status st, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void
agent_result(struct daemon *d, const char *name, enum status st, const char *fmt, ...)
{
	struct eng_check *c = agent_check_find(d, name);
	struct result r;
	va_list ap;

	if (c == NULL) {
		if (d->nac >= (int)(sizeof d->ac / sizeof d->ac[0]) ||
		    (c = calloc(1, sizeof *c)) == NULL || (c->d.name = strdup(name)) == NULL ||
		    result_keep(&c->last, NULL) < 0) {
			if (c != NULL)
				free(c->d.name);
			free(c);
			log_error("check \"%s\": cannot keep its state", name);
			return;
		}
		c->d.kind = RULE_CHECK;
		c->d.after_count = 1;
		c->d.recover = 1;
		c->d.file = "(agent)";
		c->file = c->d.file;
		d->ac[d->nac++] = c;
	}
	char msg[RESULT_SUMMARY_MAX];
	memset(&r, 0, sizeof r);
	r.started = clock_real();
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	result_set(&r, st, "%s", msg);  /* cut between characters, valid UTF-8 */
	on_result(d->e, c, &r, d);
	if (result_keep(&c->last, &r) == 0)
		c->has_last = 1;
	c->runs++;
}

static void
agent_checks_free(struct daemon *d)
{
	for (int i = 0; i < d->nac; i++) {
		free(d->ac[i]->d.name);
		free(d->ac[i]->last);
		free(d->ac[i]);
	}
	d->nac = 0;
}

/* ---- quiet time, every second ---------------------------------------------------------- */

static int
said_level(struct daemon *d, int64_t id)
{
	for (int i = 0; i < d->nsaid; i++)
		if (d->said[i][0] == id)
			return (int)d->said[i][1];
	return -1;
}

static void
said_set(struct daemon *d, int64_t id, int level)
{
	for (int i = 0; i < d->nsaid; i++)
		if (d->said[i][0] == id) {
			d->said[i][1] = level;
			return;
		}
	if (d->nsaid == (int)(sizeof d->said / sizeof d->said[0])) {
		memmove(d->said, d->said + 1, sizeof d->said - sizeof d->said[0]);
		d->nsaid--;
	}
	d->said[d->nsaid][0] = id;
	d->said[d->nsaid++][1] = level;
}

/* Each silence's add and end are events (kind "silence") of their own, said
 * once: the state file remembers, and so do we (a file that refuses the
 * note must not make us say it every second). */
static void
announce(struct daemon *d, double now)
{
	char msg[700], when[40];

	for (size_t i = 0; i < d->quiet.nsil; i++) {
		const struct quiet_silence *s = &d->quiet.sil[i];
		int have = s->announced > said_level(d, s->id) ? s->announced : said_level(d, s->id);
		int ended = s->removed > 0 || s->ends <= now;
		int want = ended ? 2 : 1;
		if (have >= want)
			continue;
		if (have < 1 && !ended) {
			time_t t = (time_t)s->ends;
			struct tm tm;
			localtime_r(&t, &tm);
			strftime(when, sizeof when, "%Y-%m-%d %H:%M", &tm);
			snprintf(msg, sizeof msg, "silence #%lld on %s until %s%s%s%s", (long long)s->id,
			    s->pattern, when, *s->reason ? " (" : "", s->reason, *s->reason ? ")" : "");
		} else
			snprintf(msg, sizeof msg, "silence #%lld on %s %s%s%s%s", (long long)s->id,
			    s->pattern, s->removed > 0 ? "removed" : "ended", *s->reason ? " (" : "",
			    s->reason, *s->reason ? ")" : "");
		log_info("%s", msg);
		store_event(d->store, "silence", NULL, ST_OK, msg);
		if (d->outbox != NULL)
			outbox_kick(d->outbox);
		said_set(d, s->id, want);
		store_silence_announced(d->store, s->id, want);
	}
}

/* An alert that fired in quiet time and still fires when it ends goes out
 * now, once; one that recovered meanwhile says nothing. */
static void
pay_owed(struct daemon *d, struct eng_check *c, double now)
{
	char why[200];

	if (!c->alert_loaded || !c->alert.owed || c->alert.state != AL_FIRING || !c->has_last ||
	    quiet_match(&d->quiet, &c->d, now, why, sizeof why))
		return;
	struct alert_out ev = { .event = EV_ALERT, .status = c->alert.status,
	    .previous = ST_OK, .since_ms = c->alert.since_ms };
	c->alert.owed = 0;
	c->alert.notified_ms = (int64_t)(now * 1000);
	store_record(d->store, c->d.name, c->last, &c->alert, true, &ev,
	    &(struct store_extra){ .alert_only = 1 });
	if (d->outbox != NULL)
		outbox_kick(d->outbox);
	log_warn("alert \"%s\": alert %s: %s (quiet time over)", c->d.name,
	    result_status_name(c->alert.status), c->last->summary);
}


static void
quiet_tick(struct daemon *d)
{
	double now = clock_real();
	if (quiet_refresh(&d->quiet, d->store, d->cfg, now) < 0)
		return;
	announce(d, now);
	for (size_t i = 0; d->e != NULL && i < engine_count(d->e); i++)
		pay_owed(d, engine_check(d->e, i), now);
	for (int i = 0; i < d->nac; i++)
		pay_owed(d, d->ac[i], now);
}

/* The state file: retries what waits for it (with the store's backoff) and
 * turns its trouble into the check drishti.state, which pages like any. */
static void
on_health(struct loop *l, void *ud)
{
	struct daemon *d = ud;
	size_t held;

	d->health_t = loop_timer_at(l, loop_tick(l, HEALTH_EVERY), on_health, d);
	if (d->store == NULL)
		return;
	quiet_tick(d);
	judge_stale(d);
	if (store_pending(d->store))
		store_commit(d->store);
	/* a second without results: SQLite's cache is memory an idle agent
	 * holds for nothing (pages come back from the kernel's cache) */
	if (d->results == 0)
		store_shrink(d->store);
	d->results = 0;
	const char *t = store_trouble(d->store, NULL, &held);
	if (t != NULL || d->trouble[0] != '\0')
		store_note(d->lock_fd, d->store);   /* for `drishti status` */
	if (strcmp(t ? t : "", d->trouble) == 0)
		return;
	if (t != NULL)
		agent_result(d, "drishti.state", ST_UNKNOWN, "state file: %s (%s); %zu record%s"
		    " held in memory", t, d->cfg->state, held, held == 1 ? "" : "s");
	else
		agent_result(d, "drishti.state", ST_OK, "state file: writable again (%s)",
		    d->cfg->state);
	snprintf(d->trouble, sizeof d->trouble, "%s", t ? t : "");
}

static void
on_history(struct engine *e, const struct hist_req *q, struct hist_ans *a, void *ud)
{
	struct daemon *d = ud;

	(void)e;
	if (d->store == NULL) {
		a->found = -1;
		return;
	}
	store_answer(d->store, q, (double)d->cfg->raw_ms / 1000.0, a);
}

/* A new worker's checks go on counting logs from where the last recorded
 * run stopped: the running engine's copy (a reload), else the store. */
static char *
on_cursors(struct engine *e, const struct eng_check *c, void *ud)
{
	struct daemon *d = ud;
	struct eng_check *old = d->e != NULL && d->e != e ? engine_find(d->e, c->d.name) : NULL;

	if (old != NULL && old->cursors != NULL)
		return strdup(old->cursors);
	return d->store != NULL ? store_cursors(d->store, c->d.name) : NULL;
}

static const struct rule_decl *
find_decl(void *ud, const char *check)
{
	struct daemon *d = ud;
	struct eng_check *c = d->e ? engine_find(d->e, check) : NULL;
	if (c == NULL && check != NULL)
		c = agent_check_find(d, check);
	return c ? &c->d : NULL;
}

static void
on_file_state(struct engine *e, const char *path, const char *state, const char *reason,
    void *ud)
{
	struct daemon *d = ud;

	(void)e;
	if (strcmp(state, "ok") == 0) {
		/* a file that loads again resolves its rules:FILE check */
		char name[300];
		file_check_name(path, name, sizeof name);
		struct eng_check *c = agent_check_find(d, name);
		struct alert a;
		if ((c != NULL && c->has_last && c->last->status != ST_OK) || (c == NULL &&
		    d->store != NULL && store_alert_get(d->store, name, &a) == 0 && a.state != AL_OK))
			agent_result(d, name, ST_OK, "%s loads", path);
	}
	if (d->store != NULL && store_file_state(d->store, path, state, reason) < 0)
		log_error("%s: could not record that it is %s", path, state);
	if (d->store != NULL && strcmp(state, "quarantined") == 0)
		store_event(d->store, "quarantine", NULL, ST_CRIT, path);
}

/* ---- freeing what is over, from the loop ---------------------------------------------- */

static void
on_reap(struct loop *l, void *ud)
{
	struct daemon *d = ud;

	(void)l;
	d->reap_t = 0;
	for (int i = 0; i < d->ndead; i++) {
		engine_free(d->dead_e[i]);
		if (d->dead_cfg[i] != NULL) {
			config_free(d->dead_cfg[i]);
			free(d->dead_cfg[i]);
		}
	}
	d->ndead = 0;
	if (d->reload_again && d->ne == NULL && !d->stopping) {
		d->reload_again = 0;
		reload(d);
	}
}

/* Engines call us from inside their own callbacks: free them later. */
static void
bury(struct daemon *d, struct engine *e, struct config *cfg)
{
	if (d->ndead == 16) {
		log_error("too many engines to free; leaking one");
		return;
	}
	d->dead_e[d->ndead] = e;
	d->dead_cfg[d->ndead] = cfg;
	d->ndead++;
	if (d->reap_t == 0)
		d->reap_t = loop_timer_at(d->loop, loop_now(d->loop), on_reap, d);
}

/* ---- stopping ----------------------------------------------------------------------- */

static void
on_stopped(struct engine *e, void *ud)
{
	struct daemon *d = ud;

	if (e == d->e && d->stopping) {
		const struct engine_stats *st = engine_stats(e);
		log_info("ran %llu scheduled checks (%llu skipped); started late by "
		    "p50 %.1f ms, p99 %.1f ms; worker kills %llu, crashes %llu, restarts %llu",
		    (unsigned long long)st->scheduled_runs, (unsigned long long)st->skipped_runs,
		    engine_lateness(e, 50) * 1000, engine_lateness(e, 99) * 1000,
		    (unsigned long long)st->worker_kills, (unsigned long long)st->worker_crashes,
		    (unsigned long long)st->worker_restarts);
		log_info("stopped");
		loop_stop(d->loop);
		return;
	}
	/* an old engine after a reload: its runs are done; its config goes too */
	for (int i = 0; i < d->nold; i++)
		if (d->old_e[i] == e) {
			bury(d, e, d->old_cfg[i]);
			d->old_e[i] = d->old_e[--d->nold];
			d->old_cfg[i] = d->old_cfg[d->nold];
			return;
		}
	bury(d, e, NULL);
}

static void
on_term(struct loop *l, void *ud)
{
	struct daemon *d = ud;

	(void)l;
	if (d->stopping) {
		log_warn("second stop signal: stopping now");
		loop_stop(d->loop);
		return;
	}
	d->stopping = true;
	notify(d, "STOPPING=1");
	int n = d->e ? engine_in_flight(d->e) : 0;
	log_info("stopping%s", n ? ": letting the runs in flight finish" : "");
	if (d->ne != NULL) {
		bury(d, d->ne, d->ncfg);
		d->ne = NULL;
		d->ncfg = NULL;
	}
	if (d->e == NULL) {
		loop_stop(d->loop);
		return;
	}
	engine_stop(d->e, STOP_GRACE);
}

/* ---- loading and reloading ----------------------------------------------------------------- */

/* A rule file that does not load is a failing check of its own, delivered
 * like any alert; the other files run. */
static void
print_load_error(void *ud, const char *file, const char *msg)
{
	struct daemon *d = ud;
	char name[300];

	log_error("%s", msg);
	if (file == NULL || d->store == NULL)
		return;
	file_check_name(file, name, sizeof name);
	agent_result(d, name, ST_UNKNOWN, "%s", msg);
}

static void on_loaded(struct engine *e, int nerrors, void *ud);

static void
restore_one(const struct store_check *sc, void *ud)
{
	struct eng_check *c = engine_find(ud, sc->check);

	if (c == NULL || c->d.kind != RULE_CHECK || c->has_last || c->restored)
		return;
	memset(c->last, 0, offsetof(struct result, metrics));   /* nmetrics 0: fits */
	c->last->status = sc->last_status;
	snprintf(c->last->summary, sizeof c->last->summary, "%s",
	    sc->last_summary ? sc->last_summary : "");
	c->last->started = sc->last_ts;
	c->last->duration = sc->last_duration;
	c->restored = 1;            /* not has_last: the log's "from" stays this run's */
	c->alert.state = sc->alert.state;   /* for the textfile; on_result loads it whole */
}

/* A new engine (start, reload) knows each check's last result from the
 * store, so the textfile keeps every check and a status change after a
 * restart is logged from what it was. */
static void
restore_last(struct daemon *d, struct engine *e)
{
	if (d->store != NULL)
		store_each_check(d->store, restore_one, e);
}

static struct engine *
start_engine(struct daemon *d, struct config *cfg)
{
	struct engine_hooks hooks = { .load_error = print_load_error, .loaded = on_loaded,
	    .result = on_result, .stopped = on_stopped, .file_state = on_file_state,
	    .history = on_history, .cursors = on_cursors, .ud = d };
	struct engine *e = engine_new(d->loop, cfg, &hooks);

	if (e != NULL)
		engine_load(e, NULL, 0);
	return e;
}

static void
on_loaded(struct engine *e, int nerrors, void *ud)
{
	struct daemon *d = ud;
	size_t n = engine_count(e);

	if (!d->started) {
		if (nerrors > 0 && engine_global_errors(e) == 0)
			log_warn("%d error%s in the rules; running every file that loads (each"
			    " broken file is the failing check rules:FILE)", nerrors, nerrors == 1 ? "" : "s");
		if (engine_global_errors(e) > 0) {
			log_error("%d error%s in the rules; not starting", nerrors,
			    nerrors == 1 ? "" : "s");
			d->exit_code = EXIT_CONFIG;
			loop_stop(d->loop);
			return;
		}
		d->started = 1;
		restore_last(d, e);
		engine_schedule(e, NULL);
		log_info("started: %zu check%s and report%s from %s", n, n == 1 ? "" : "s",
		    n == 1 ? "" : "s", d->cfg->rules);
		notify(d, "READY=1");
		return;
	}
	if (e != d->ne)
		return;
	if (engine_global_errors(e) > 0) {
		log_error("reload failed (%d error%s); still running the previous rules",
		    nerrors, nerrors == 1 ? "" : "s");
		bury(d, d->ne, d->ncfg);
		reloaded(d, 0);
	} else {
		/* the swap: the new set takes over, the old one finishes its runs */
		struct engine *old = d->e;
		struct config *oldcfg = d->cfg;
		restore_last(d, e);
		engine_schedule(e, old);
		d->e = e;
		if (strcmp(d->ncfg->state, d->cfg->state) != 0)
			log_warn("[agent] state changed; still using %s until a restart", d->cfg->state);
		d->cfg = d->ncfg;
		quiet_refresh(&d->quiet, d->store, d->cfg, clock_real());
		/* the reporters follow the new config (the old one is freed with
		 * the old engine); each picks up at its cursor in the store, and a
		 * send cut off here is sent again */
		char oerr[512];
		outbox_free(d->outbox);
		d->outbox = outbox_new(d->loop, d->store, d->cfg, find_decl, d, &d->sender, oerr,
		    sizeof oerr);
		if (d->outbox == NULL)
			log_error("reporters: %s; nothing is sent until a reload or restart can"
			    " read it (events wait in the state file)", oerr);
		enum log_level lv;
		if (log_level_parse(d->cfg->log_level, &lv) == 0)
			log_set_level(lv);
		/* the old config must outlive the old engine: they go together
		 * once it has stopped */
		if (d->nold < 4) {
			d->old_e[d->nold] = old;
			d->old_cfg[d->nold] = oldcfg;
			d->nold++;
			engine_stop(old, STOP_GRACE);
		} else
			bury(d, old, oldcfg);
		log_info("reloaded: %zu check%s and report%s", n, n == 1 ? "" : "s",
		    n == 1 ? "" : "s");
		reloaded(d, 1);
	}
	d->ne = NULL;
	d->ncfg = NULL;
	notify(d, "READY=1");
	if (d->reload_again && d->reap_t == 0) {
		d->reload_again = 0;
		reload(d);
	}
}

/* The config to load: a reload the parent sent, else the running one
 * again (a rule file changed). */
static int
load_config(const char *path, const char *text, size_t len, struct config *cfg, char *err,
    size_t errlen)
{
	if (path == NULL || *path == '\0')
		return config_defaults(cfg, err, errlen) < 0 ? (config_free(cfg), -1) : 0;
	return config_load_text(cfg, path, text, len, false, err, errlen);
}

static void
reloaded(struct daemon *d, int ok)
{
	struct msg m;

	if (d->loading_gen == 0)
		return;
	m_init(&m, MSG_RELOADED);
	m_add_u32(&m, d->loading_gen);
	m_add_u32(&m, (uint32_t)ok);
	msg_send(d->parent, &m);
	if (ok)
		d->gen = d->loading_gen;
	d->loading_gen = 0;
}

static void
reload(struct daemon *d)
{
	char err[1024];

	if (d->stopping)
		return;
	if (d->ne != NULL) {
		d->reload_again = 1;    /* one more once this one is through */
		return;
	}
	if (d->ntext != NULL || d->npath != NULL) {
		/* the parent's new config becomes the text we run on */
		free(d->path);
		free(d->text);
		d->path = d->npath;
		d->text = d->ntext;
		d->textlen = d->ntextlen;
		d->loading_gen = d->ngen;
		d->npath = d->ntext = NULL;
	}
	notify(d, "RELOADING=1");
	struct config *cfg = calloc(1, sizeof *cfg);
	if (cfg == NULL || load_config(d->path, d->text, d->textlen, cfg, err, sizeof err) < 0) {
		log_error("reload failed: %s; still running the previous config",
		    cfg ? err : "out of memory");
		free(cfg);
		reloaded(d, 0);
		notify(d, "READY=1");
		return;
	}
	log_info("reloading %s", d->path && *d->path ? d->path : "(built-in defaults)");
	d->ncfg = cfg;
	d->ne = start_engine(d, cfg);
	if (d->ne == NULL) {
		config_free(cfg);
		free(cfg);
		d->ncfg = NULL;
		reloaded(d, 0);
	}
}

/* ---- watching rule files ----------------------------------------------------------------- */

static void
on_settled(struct loop *l, void *ud)
{
	struct daemon *d = ud;

	(void)l;
	d->settle_t = 0;
	log_info("a rule file changed");
	reload(d);
}

static void
on_inotify(struct loop *l, int fd, uint32_t events, void *ud)
{
	struct daemon *d = ud;
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	int relevant = 0;
	ssize_t n;

	(void)events;
	while ((n = read(fd, buf, sizeof buf)) > 0)
		for (char *p = buf; p < buf + n;) {
			struct inotify_event *ev = (struct inotify_event *)(void *)p;
			size_t nl = ev->len ? strlen(ev->name) : 0;
			if (nl > 4 && strcmp(ev->name + nl - 4, ".lua") == 0 && ev->name[0] != '.')
				relevant = 1;
			p += sizeof *ev + ev->len;
		}
	if (!relevant)
		return;
	loop_timer_cancel(l, d->settle_t);
	d->settle_t = loop_timer_at(l, loop_update_now(l) + WATCH_SETTLE, on_settled, d);
}

static void
watch_rules(struct daemon *d)
{
	char *copy = strdup(d->cfg->rules), *save = NULL;
	struct stat st;

	d->ino = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (d->ino < 0 || copy == NULL) {
		log_warn("cannot watch rule files: %s", strerror(errno));
		free(copy);
		return;
	}
	for (char *t = strtok_r(copy, ",", &save); t != NULL; t = strtok_r(NULL, ",", &save)) {
		while (*t == ' ')
			t++;
		char dir[PATH_MAX];
		snprintf(dir, sizeof dir, "%s", t);
		size_t l = strlen(dir);
		while (l > 0 && dir[l - 1] == ' ')
			dir[--l] = '\0';
		if (stat(dir, &st) == 0 && !S_ISDIR(st.st_mode)) {
			char *slash = strrchr(dir, '/');
			if (slash == NULL)
				snprintf(dir, sizeof dir, ".");
			else
				*slash = '\0';
		}
		/* editors save by writing in place or by renaming a new file over */
		if (inotify_add_watch(d->ino, dir, IN_CLOSE_WRITE | IN_MOVED_TO | IN_DELETE |
		    IN_MOVED_FROM | IN_CREATE) < 0)
			log_warn("cannot watch %s: %s", dir, strerror(errno));
	}
	free(copy);
	loop_fd_add(d->loop, d->ino, LOOP_IN, on_inotify, d);
}

/* ---- the delivery role ----------------------------------------------------------------- */

static int
send_job(void *ud, size_t rep, const struct store_event *evs, const struct rule_decl *const *decls,
    size_t n, uint64_t *job)
{
	struct daemon *d = ud;
	const struct config_reporter *rc = outbox_reporter(d->outbox, rep);
	struct msg m;

	/* a delivery role of another config would send with other reporters:
	 * wait for the one of ours (it says hello with its generation) */
	if (!msg_conn_alive(d->dlv) || d->dlv_gen != d->gen || rc == NULL)
		return -1;
	*job = ++d->next_job;
	job_encode(&m, *job, (uint32_t)rep, rc->name, evs, decls, n);
	return msg_send(d->dlv, &m);
}

static int
on_dlv_msg(struct msg_conn *c, struct msg *m, void *ud)
{
	struct daemon *d = ud;

	(void)c;
	switch (m->type) {
	case MSG_HELLO: {
		uint32_t gen;
		if (m_get_u32(m, &gen) < 0 || m_end(m) < 0)
			return -1;
		d->dlv_gen = gen;
		outbox_kick(d->outbox);
		return 0;
	}
	case MSG_DONE: {
		uint64_t id;
		enum deliver_outcome out;
		double ra;
		const char *error, *answer;
		if (job_decode_done(m, &id, &out, &ra, &error, &answer) < 0)
			return -1;
		outbox_done(d->outbox, id, out, ra, *error ? error : NULL);
		return 0;
	}
	default:
		return -1;
	}
}

static void
on_dlv_gone(struct msg_conn *c, const char *why, void *ud)
{
	struct daemon *d = ud;

	(void)c;
	if (!d->stopping)
		log_warn("the delivery role went (%s); its sends are made again when it is back", why);
	d->dlv_gen = 0;
	outbox_lost(d->outbox);
}

/* ---- the parent ------------------------------------------------------------------------ */

static void begin(struct daemon *d);

/* A config message: generation, path ("" for the built-in defaults), text. */
static int
get_config(struct msg *m, uint32_t *gen, char **path, char **text, size_t *len)
{
	const char *p;
	const void *t;

	if (m_get_u32(m, gen) < 0 || m_get_str(m, &p, PATH_MAX) < 0 ||
	    m_get_data(m, &t, len, FILE_CONFIG_MAX) < 0 || m_end(m) < 0)
		return -1;
	*path = strdup(p);
	*text = malloc(*len + 1);
	if (*path == NULL || *text == NULL) {
		free(*path);
		free(*text);
		*path = *text = NULL;
		return -1;
	}
	memcpy(*text, t, *len);
	(*text)[*len] = '\0';
	return 0;
}

static int
on_parent_msg(struct msg_conn *c, struct msg *m, void *ud)
{
	struct daemon *d = ud;

	(void)c;
	switch (m->type) {
	case MSG_CONFIG:
		if (d->go || d->path != NULL)
			return -1;
		return get_config(m, &d->gen, &d->path, &d->text, &d->textlen);
	case MSG_PEER:
		if (m_end(m) < 0)
			return -1;
		msg_conn_free(d->dlv);
		d->dlv_gen = 0;
		outbox_lost(d->outbox);
		d->dlv = msg_conn_new(d->loop, m->fd, "delivery", on_dlv_msg, on_dlv_gone, d);
		if (d->dlv == NULL)
			close(m->fd);
		return 0;
	case MSG_GO:
		if (m_end(m) < 0 || d->go || d->path == NULL)
			return -1;
		d->go = 1;
		begin(d);
		return 0;
	case MSG_RELOAD:
		if (!d->go)
			return -1;
		free(d->npath);
		free(d->ntext);
		if (get_config(m, &d->ngen, &d->npath, &d->ntext, &d->ntextlen) < 0)
			return -1;
		reload(d);
		return 0;
	case MSG_LOGFD:
		if (m_end(m) < 0)
			return -1;
		dup2(m->fd, STDERR_FILENO);
		close(m->fd);
		if (d->cfg != NULL)
			log_open_role(d->cfg->log);
		return 0;
	case MSG_STOP:
		if (m_end(m) < 0)
			return -1;
		on_term(d->loop, d);
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
	struct daemon *d = ud;

	(void)c;
	(void)why;
	/* the parent went (killed -9?): nobody would restart us or hear a
	 * reload; stop as on SIGTERM */
	if (!d->stopping) {
		log_warn("the parent process went; stopping");
		on_term(d->loop, d);
	}
}

/* dir of path into out, after a comma when out has something */
static void
add_dir(char *out, size_t len, const char *path, bool whole)
{
	size_t used = strlen(out);
	const char *sl = whole ? NULL : strrchr(path, '/');
	int n;

	if (path == NULL || *path == '\0')
		return;
	if (whole)
		n = snprintf(out + used, len - used, "%s%s", used ? "," : "", path);
	else if (sl == NULL)
		n = snprintf(out + used, len - used, "%s.", used ? "," : "");
	else
		n = snprintf(out + used, len - used, "%s%.*s", used ? "," : "",
		    sl == path ? 1 : (int)(sl - path), path);
	if (n < 0 || (size_t)n >= len - used)
		out[used] = '\0';
}

/* The state role's confinement: it reads what its workers read (they are
 * its children, and Landlock only narrows), executes itself (the workers)
 * and what exec() allows, and writes the state file's directory and the
 * outputs. */
static int
confine(const struct config *cfg, char *err, size_t errlen)
{
	char reads[8192] = "", execs[4096] = "", writes[4096] = "", exe[PATH_MAX];

	add_dir(reads, sizeof reads, cfg->rules, true);
	add_dir(reads, sizeof reads, cfg->read_paths, true);
	rules_exec_dirs(cfg->exec, execs, sizeof execs);
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (n > 0) {
		exe[n] = '\0';
		add_dir(execs, sizeof execs, exe, true);
	}
	add_dir(writes, sizeof writes, cfg->state, false);
	add_dir(writes, sizeof writes, cfg->textfile, false);
	add_dir(writes, sizeof writes, cfg->status_page, true);
	return priv_confine(ROLE_STATE, reads, execs, writes, err, errlen);
}

/* MSG_GO: the config and the delivery link are here; confine and start. */
static void
begin(struct daemon *d)
{
	bool corrupt = false;
	char serr[1024];

	d->cfg = calloc(1, sizeof *d->cfg);
	if (d->cfg == NULL || load_config(d->path, d->text, d->textlen, d->cfg, serr,
	    sizeof serr) < 0) {
		log_error("%s", d->cfg ? serr : "out of memory");
		free(d->cfg);
		d->cfg = NULL;
		d->exit_code = EXIT_CONFIG;
		loop_stop(d->loop);
		return;
	}
	enum log_level lv;
	if (log_level_parse(d->cfg->log_level, &lv) == 0)
		log_set_level(lv);
	log_open_role(d->cfg->log);
	if (confine(d->cfg, serr, sizeof serr) < 0) {
		log_error("state role: %s", serr);
		d->exit_code = EXIT_UNAVAILABLE;
		loop_stop(d->loop);
		return;
	}
	if (store_open(&d->store, d->cfg->state, false, &corrupt, serr, sizeof serr) < 0) {
		log_error("%s", serr);
		d->exit_code = EXIT_CONFIG;
		loop_stop(d->loop);
		return;
	}
	if (corrupt)
		store_event(d->store, "agent", NULL, ST_CRIT,
		    "the state file was corrupt: moved aside, a new one started");
	watchdog_open(d);
	if (d->watchdog > 0)
		loop_timer_at(d->loop, loop_now(d->loop) + d->watchdog, on_watchdog, d);
	d->prune_t = loop_timer_at(d->loop, loop_now(d->loop) + 1.0, on_prune, d);
	d->page_t = loop_timer_at(d->loop, loop_now(d->loop) + 2.0, on_page, d);
	d->health_t = loop_timer_at(d->loop, loop_tick(d->loop, HEALTH_EVERY), on_health, d);
	d->sender = (struct outbox_sender){ .send = send_job, .ud = d };
	d->outbox = outbox_new(d->loop, d->store, d->cfg, find_decl, d, &d->sender, serr,
	    sizeof serr);
	if (d->outbox == NULL) {
		log_error("%s", serr);
		d->exit_code = EXIT_CONFIG;
		loop_stop(d->loop);
		return;
	}
	quiet_refresh(&d->quiet, d->store, d->cfg, clock_real());
	d->e = start_engine(d, d->cfg);
	if (d->e == NULL) {
		d->exit_code = EXIT_UNAVAILABLE;
		loop_stop(d->loop);
		return;
	}
	if (d->cfg->watch)
		watch_rules(d);
}

/* `drishti __state`: exec'd by the parent with its socket on fd 3 and the
 * state file's lock on fd 4, already running as the agent's user. */
int
state_main(void)
{
	struct daemon d;

	memset(&d, 0, sizeof d);
	d.ino = -1;
	d.lock_fd = ROLE_FD_LOCK;
	signal(SIGPIPE, SIG_IGN);
	signal(SIGHUP, SIG_IGN);        /* the parent's: it reloads us */
	log_open_role(NULL);            /* stderr as it is (the journal?) until the config says */
	d.loop = loop_new();
	if (d.loop == NULL)
		return EXIT_UNAVAILABLE;
	loop_signal(d.loop, SIGTERM, on_term, &d);
	loop_signal(d.loop, SIGINT, on_term, &d);
	d.parent = msg_conn_new(d.loop, ROLE_FD_PARENT, "parent", on_parent_msg, on_parent_gone, &d);
	if (d.parent == NULL) {
		loop_free(d.loop);
		return EXIT_UNAVAILABLE;
	}
	loop_run(d.loop);
	/* everything still alive goes */
	if (d.ne != NULL)
		bury(&d, d.ne, d.ncfg);
	for (int i = 0; i < d.nold; i++)
		bury(&d, d.old_e[i], d.old_cfg[i]);
	for (int i = 0; i < d.ndead; i++) {
		engine_free(d.dead_e[i]);
		if (d.dead_cfg[i] != NULL) {
			config_free(d.dead_cfg[i]);
			free(d.dead_cfg[i]);
		}
	}
	if (d.e != 0 && d.text_t != 0)
		on_textfile(d.loop, &d);
	engine_free(d.e);
	outbox_free(d.outbox);
	store_close(d.store);           /* commits what is pending */
	agent_checks_free(&d);
	quiet_free(&d.quiet);
	close(ROLE_FD_LOCK);
	if (d.ino >= 0)
		close(d.ino);
	msg_conn_free(d.dlv);
	msg_conn_free(d.parent);
	loop_free(d.loop);
	if (d.cfg != NULL) {
		config_free(d.cfg);
		free(d.cfg);
	}
	free(d.path);
	free(d.text);
	free(d.npath);
	free(d.ntext);
	log_close();
	return d.exit_code;
}
