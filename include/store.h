/* store.h — the state file: runs, metric samples, hourly roll-ups, alert
 * states, events.  SQLite; the supervisor alone writes it. */
#ifndef DRISHTI_STORE_H
#define DRISHTI_STORE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "alert.h"
#include "result.h"
#include "history.h"

#define STORE_SCHEMA 6

struct store;

/* Opens (creating the directory and the file as needed).  Only corruption
 * (SQLite's CORRUPT or NOTADB, or a failed quick_check) moves a file aside,
 * as PATH.corrupt-UNIXTIME, with a fresh one started and *was_corrupt set
 * (the caller raises an event).  Any other error (disk full, read-only, I/O,
 * busy) is passing: a writer still gets a store, reading the file read-only
 * if it can, holding what it records in memory and retrying the file with
 * backoff (store_trouble says why).  A reader (readonly) gets -1 with err. */
int  store_open(struct store **out, const char *path, bool readonly,
    bool *was_corrupt, char *err, size_t errlen);
/* Why the file does not take our writes ("disk full", "read-only", ...),
 * since when, and how many records wait in memory; NULL when it does. */
const char *store_trouble(const struct store *s, double *since, size_t *held);
#define STORE_QUEUE_MAX 4096        /* records held in memory at most */
/* One agent per state file: an exclusive flock on PATH.lock (on the state
 * file itself where no lock file can be made, a read-only disk), which holds
 * the agent's pid.  The fd stays open for the life of the process.  0 with
 * *fd; -2 when another agent holds it (err names its pid); -1 on error. */
int  store_lock(const char *path, int *fd, char *err, size_t errlen);
/* The running agent's word on its state file, kept in the lock file (in
 * place, in bytes written when the lock was taken: it needs no free space):
 * "ok", or the trouble, since when and how many records wait in memory. */
void store_note(int lock_fd, const struct store *s);
/* `drishti status`: 1 when an agent holds path's lock (*pid, and its note
 * in note: "ok" or "CAUSE since WHEN, N records held in memory"), 0 when
 * none does. */
int  store_agent(const char *path, long *pid, char *note, size_t len);
void store_close(struct store *s);

/* One run, its alert state after it, and the event it raised (or EV_NONE):
 * queued in memory with its event's id and seq fixed, written with the
 * other queued records in one transaction, made durable (fsync) at once when
 * the state changed or an event was raised.  A write that fails keeps the
 * record queued (store_trouble); -1 only when even memory fails (logged).
 * x (or NULL): the check's log.count cursors after the run, written in the
 * same transaction; its note; what mutes the event. */
struct store_extra {
	const char *cursors;        /* JSON, or NULL */
	const char *note;           /* the check's note now ("blocked by x"), or NULL */
	const char *muted;          /* the event is held back: by what (NULL: delivered) */
	int alert_only;             /* r was recorded already: only the alert state */
	double next_at;             /* when the check runs next, unix seconds (0: unknown) */
};
int  store_record(struct store *s, const char *check, const struct result *r,
    const struct alert *a, bool changed, const struct alert_out *ev,
    const struct store_extra *x);
/* The check's saved log cursors (JSON, malloc'd), the newest held in memory
 * first; NULL when none. */
char *store_cursors(struct store *s, const char *check);
/* Commits the runs recorded since the last commit (routine runs share one
 * transaction; call this once per loop iteration).  0 / -1. */
int  store_commit(struct store *s);
bool store_pending(const struct store *s);
/* Gives back SQLite's page cache (idle: a result a minute needs no cache,
 * and it grows with the file to 2 MiB otherwise). */
void store_shrink(struct store *s);
/* The alert state of check; 1 when the store has none yet. */
int  store_alert_get(struct store *s, const char *check, struct alert *a);
/* An event of the agent itself (kind "agent"): corrupt state file ... */
int  store_event(struct store *s, const char *kind, const char *check, enum status st,
    const char *summary);
/* A built report: an event of kind "report" carrying its document. */
int  store_report(struct store *s, const char *name, const char *headline, const char *doc);
/* Deletes at most `batch` expired rows of each table; the number deleted. */
int  store_prune(struct store *s, double now, int64_t raw_ms, int64_t rollup_ms, int batch);

/* History, for rules.  Windows in seconds back from now; a window within
 * raw_window (what [store] raw keeps) is answered exactly from raw rows,
 * a longer one from whole-hour roll-ups.  1 with *out set, 0 when there is
 * no data, -1 on error. */
int  store_uptime(struct store *s, const char *check, double window, double now,
    double raw_window, double *out);    /* ok / (runs - unknown) */
int  store_count(struct store *s, const char *check, int status, double window, double now,
    double raw_window, double *out);    /* status -1: every failing run */
int  store_metric(struct store *s, const char *metric, const char *fn, double p,
    double window, double now, double raw_window, double *out);   /* fn: avg max min sum percentile */
int  store_last(struct store *s, const char *metric, double *value, double *ts);
/* Answers a rule's history question (history.h). */
void store_answer(struct store *s, const struct hist_req *q, double raw_window,
    struct hist_ans *a);

/* `drishti status`: calls fn for each check the store knows. */
struct store_check {
	const char *check;
	struct alert alert;
	enum status last_status;
	const char *last_summary;
	double last_ts, last_duration;
	const char *note;           /* "" when none */
	double next_at;             /* its next run, unix seconds (0: not known) */
};
int  store_each_check(struct store *s, void (*fn)(const struct store_check *c, void *ud), void *ud);
/* Events not yet delivered (outbox depth) and the oldest one's time. */
int  store_outbox(struct store *s, long *depth, double *oldest, long *dead);
int  store_integrity_ok(struct store *s);
/* Rule files the engine set aside ("quarantined") or took back ("ok"). */
int  store_file_state(struct store *s, const char *path, const char *state, const char *reason);
int  store_each_file(struct store *s, void (*fn)(const char *path, const char *state,
    double since, const char *reason, void *ud), void *ud);

/* ---- silences (drishti silence): written by the CLI, read by the agent ---- */
struct store_silence {
	int64_t id;
	const char *pattern, *reason;
	double  created, ends, removed;     /* removed: 0 while not */
	int     announced;                  /* 0 new, 1 add said, 2 end said */
};
/* Adds one at once (its own transaction, fsynced): 0 with *id, -1 with err. */
int  store_silence_add(struct store *s, const char *pattern, const char *reason, double ends,
    int64_t *id, char *err, size_t errlen);
/* Ends one now: 0, 1 when there is no such silence in force, -1 with err. */
int  store_silence_rm(struct store *s, int64_t id, char *err, size_t errlen);
/* all: every one ever; else those in force or not yet announced ended. */
int  store_each_silence(struct store *s, bool all,
    void (*fn)(const struct store_silence *si, void *ud), void *ud);
int  store_silence_announced(struct store *s, int64_t id, int level);

/* ---- the outbox: a cursor per reporter over the events ---- */
struct store_event {
	int64_t seq;
	char    id[40];
	char    kind[16];
	char    check[160];
	enum status status, previous;
	char    summary[RESULT_SUMMARY_MAX];
	double  since, at;
	char    metrics[4096];          /* JSON object */
	char    muted[160];             /* recorded, not delivered: why ("" for none) */
	char   *doc;                    /* a report's document (malloc'd), or NULL */
};
void store_event_clear(struct store_event *ev);

/* The reporter's cursor (made at the newest event the first time). */
int  store_cursor(struct store *s, const char *reporter, int64_t *seq, int *attempts,
    double *next_at);
/* The first event after seq: 1, 0 when none, -1. */
int  store_event_after(struct store *s, int64_t after, struct store_event *ev);
/* Moves the cursor (done or dead at seq) or records a retry (seq unchanged). */
int  store_cursor_set(struct store *s, const char *reporter, int64_t seq, int attempts,
    double next_at, const char *error, bool dead);

/* Bounds what waits for one reporter: past max events, or events older
 * than max_age seconds, the oldest are skipped.  The number skipped (0 when
 * none) goes to *dropped and is added to the reporter's count. */
int  store_outbox_bound(struct store *s, const char *reporter, uint64_t max, double max_age,
    double now, long *dropped);
/* Forgets the cursors of reporters no longer configured (they would hold
 * every event undelivered for ever). */
int  store_cursors_keep(struct store *s, const char *const *names, size_t n);
/* What Alertmanager should hear again: each firing check (ended 0), and
 * each check resolved since resolved_after (ended = when). */
struct store_active {
	const char *check;
	enum status status;
	double since, ended;
	const char *summary;
};
int  store_each_active(struct store *s, double resolved_after,
    void (*fn)(const struct store_active *a, void *ud), void *ud);
/* Events dropped from the outbox, all reporters. */
long store_dropped(struct store *s);

#endif
