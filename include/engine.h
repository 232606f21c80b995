/* engine.h — the supervisor's core: one rule worker per rule file, the
 * schedule of every check, runs sent to workers and their results, and the
 * watch over workers (hard deadlines, crashes, restarts, quarantine). */
#ifndef DRISHTI_ENGINE_H
#define DRISHTI_ENGINE_H
#include <stdbool.h>
#include <stdint.h>
#include "config.h"
#include "result.h"
#include "rules.h"
#include "sched.h"
#include "alert.h"
#include "history.h"
#include "loop.h"

struct loop;
struct engine;

#define ENGINE_KILLS_QUARANTINE 3   /* kills in a row before a file is set aside */
#define ENGINE_HARD_GRACE 1.0       /* seconds past a run's timeout before SIGKILL */

struct eng_check {
	struct rule_decl d;
	const char *file;
	struct eng_worker *w;
	uint32_t windex;            /* its index among its worker's declarations */
	struct inflight *inflight;  /* the run in flight, if any */
	struct sched sched;
	loop_timer_id timer;
	int     in_flight;
	int     rerun;              /* cut short by a neighbour's death: run again */
	double  slot;               /* the slot being run, monotonic */
	uint64_t runs, skipped;
	int     has_last;
	int     restored;           /* last comes from the state file (textfile only) */
	struct result *last;        /* never NULL; sized to its metrics (result_keep) */
	double  planned;            /* when the timer was set to fire, monotonic */
	struct alert alert;         /* kept by the daemon; loaded from the store */
	int     alert_loaded;
	int     judge_wait;         /* failing, judged once a dependency has answered */
	char    blocked_by[130];    /* the dependency that speaks for it now ("": none) */
	int     silenced;           /* in a silence or maintenance window now */
	double  judge_wait_since;   /* monotonic */
	double  lateness;           /* of the last run: start - planned, seconds */
	char   *doc;                /* a report: the document of the run just done
	                             * (for hooks->result; freed after it) */
	char   *cursors_new;        /* its log cursors, moved by the run just done
	                             * (for hooks->result; then kept as cursors) */
	char   *cursors;            /* the latest known, given back to a new worker */
	int     cursors_asked;      /* hooks->cursors was asked already */
};

#define ENGINE_LATE_BUCKETS 1001     /* 0.1 ms each up to 100 ms, then one for the rest */

struct engine_stats {
	uint64_t worker_restarts, worker_kills, worker_crashes, skipped_runs;
	int      quarantined;
	uint64_t scheduled_runs;            /* runs started by the schedule */
	uint32_t late[ENGINE_LATE_BUCKETS]; /* how late they started */
};

struct engine_hooks {
	/* FILE:LINE: message; file is the rule file it belongs to, NULL for an
	 * error of the whole set (no rules directory, no rule file) */
	void  (*load_error)(void *ud, const char *file, const char *msg);
	void  (*loaded)(struct engine *e, int nerrors, void *ud);
	/* r is the new result; c->last still holds the one before (has_last) */
	void  (*result)(struct engine *e, struct eng_check *c, const struct result *r, void *ud);
	void  (*stopped)(struct engine *e, void *ud);
	/* a rule file was quarantined ("quarantined") or loaded ("ok") */
	void  (*file_state)(struct engine *e, const char *path, const char *state,
	    const char *reason, void *ud);
	/* a rule asks the history; NULL: no history (the answer says so) */
	void  (*history)(struct engine *e, const struct hist_req *q, struct hist_ans *a, void *ud);
	/* a check's saved log cursors (JSON, malloc'd) for its new worker; NULL:
	 * none.  Asked once per check, when its worker first loads. */
	char *(*cursors)(struct engine *e, const struct eng_check *c, void *ud);
	void   *ud;
};

struct engine *engine_new(struct loop *l, const struct config *cfg,
    const struct engine_hooks *hooks);
/* Starts a worker per file of paths (or cfg->rules when n is 0); hooks->loaded
 * is called once every worker has loaded or failed.  -1 if no file. */
int    engine_load(struct engine *e, char *const *paths, size_t n);
size_t engine_count(const struct engine *e);
struct eng_check *engine_check(struct engine *e, size_t i);
struct eng_check *engine_find(struct engine *e, const char *name);
/* Runs one check or builds one report now (once); its result comes through
 * hooks->result (a report's document in c->doc). */
int    engine_run_now(struct engine *e, struct eng_check *c);
/* Puts every check on its schedule (the daemon).  Checks found in `prev`
 * keep their place in time, so a reload does not shift them. */
void   engine_schedule(struct engine *e, struct engine *prev);
/* Stops scheduling; runs in flight get up to grace seconds, then the workers
 * go and hooks->stopped is called. */
void   engine_stop(struct engine *e, double grace);
int    engine_in_flight(const struct engine *e);
const struct engine_stats *engine_stats(const struct engine *e);
int    engine_load_errors(const struct engine *e);
/* Of those, the errors that belong to no rule file: the set cannot run. */
int    engine_global_errors(const struct engine *e);
/* The p-th percentile (0..100) of scheduled runs' lateness, seconds. */
double engine_lateness(const struct engine *e, double p);
/* Kills the workers and frees everything. */
void   engine_free(struct engine *e);

#endif
