/* store.c — the state file, and the only SQLite user.
 *
 * WAL mode.  Routine runs commit with synchronous=NORMAL (no fsync: losing
 * the last seconds of raw history on power loss is acceptable); a commit
 * that changes an alert state or adds an event runs with synchronous=FULL,
 * which fsyncs the WAL and everything before it (NOTES.md): a committed
 * transition survives power loss, and the event is in the outbox before it
 * counts as sent.  The schema carries its version in `meta`; migrations run
 * forward, one version at a time.  Size is bounded: raw runs and samples for
 * [store] raw, hourly roll-ups for [store] rollup, old rows deleted in small
 * batches so no prune holds the file for long.  Roll-ups keep count, ok,
 * warn, crit, unknown, sum, min, max and a sparse log histogram (buckets 20 %
 * apart) from which percentiles are read. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "log.h"
#include "json.h"
#include "store.h"

#define HIST_BASE 1.2
#define HIST_FLOOR 1e-6
#define HIST_BUCKETS 256

enum { RK_CHECK = 0, RK_METRIC = 1 };   /* roll-up kinds: stored, append only */

struct store {
	sqlite3 *db;
	char    *path;
	int      full;              /* synchronous=FULL is set now */
	int      batch;             /* a transaction of routine runs is open */
	sqlite3_stmt *ins_run, *ins_sample, *get_roll, *put_roll, *put_alert, *get_alert,
	    *ins_event;
};

static const char *const schema_v1[] = {
	"CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
	"CREATE TABLE IF NOT EXISTS runs (id INTEGER PRIMARY KEY, check_name TEXT NOT NULL,"
	" ts REAL NOT NULL, status INTEGER NOT NULL, duration REAL NOT NULL, summary TEXT NOT NULL)",
	"CREATE INDEX IF NOT EXISTS runs_check_ts ON runs(check_name, ts)",
	"CREATE INDEX IF NOT EXISTS runs_ts ON runs(ts)",
	"CREATE TABLE IF NOT EXISTS samples (id INTEGER PRIMARY KEY, check_name TEXT NOT NULL,"
	" metric TEXT NOT NULL, ts REAL NOT NULL, value REAL NOT NULL, unit TEXT NOT NULL)",
	"CREATE INDEX IF NOT EXISTS samples_metric_ts ON samples(metric, ts)",
	"CREATE INDEX IF NOT EXISTS samples_ts ON samples(ts)",
	"CREATE TABLE IF NOT EXISTS rollups (kind INTEGER NOT NULL, name TEXT NOT NULL,"
	" hour INTEGER NOT NULL, n INTEGER NOT NULL, ok INTEGER NOT NULL, warn INTEGER NOT NULL,"
	" crit INTEGER NOT NULL, unknown INTEGER NOT NULL, sum REAL NOT NULL, min REAL NOT NULL,"
	" max REAL NOT NULL, hist BLOB, PRIMARY KEY (kind, name, hour)) WITHOUT ROWID",
	"CREATE INDEX IF NOT EXISTS rollups_hour ON rollups(hour)",
	"CREATE TABLE IF NOT EXISTS alerts (check_name TEXT PRIMARY KEY, state INTEGER NOT NULL,"
	" status INTEGER NOT NULL, since_ms INTEGER NOT NULL, fail_since_ms INTEGER NOT NULL,"
	" fails INTEGER NOT NULL, passes INTEGER NOT NULL, history INTEGER NOT NULL,"
	" nhistory INTEGER NOT NULL, notified_ms INTEGER NOT NULL, last_status INTEGER,"
	" last_summary TEXT, last_ts REAL, last_duration REAL)",
	"CREATE TABLE IF NOT EXISTS events (seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE,"
	" kind TEXT NOT NULL, check_name TEXT, status INTEGER NOT NULL, previous INTEGER NOT NULL,"
	" summary TEXT NOT NULL, since REAL, at REAL NOT NULL, metrics TEXT,"
	" delivered INTEGER NOT NULL DEFAULT 0, dead INTEGER NOT NULL DEFAULT 0)",
	"CREATE INDEX IF NOT EXISTS events_pending ON events(delivered, dead, seq)",
	"CREATE TABLE IF NOT EXISTS files (path TEXT PRIMARY KEY, state TEXT NOT NULL,"
	" since REAL NOT NULL, reason TEXT)",
	NULL,
};

/* v2: delivery.  Each reporter has a cursor over the events (order kept per
 * reporter, at least once); events a receiver refused for good are dead. */
static const char *const schema_v2[] = {
	"CREATE TABLE IF NOT EXISTS outbox (reporter TEXT PRIMARY KEY, seq INTEGER NOT NULL,"
	" attempts INTEGER NOT NULL DEFAULT 0, next_at REAL NOT NULL DEFAULT 0, last_error TEXT)",
	"CREATE TABLE IF NOT EXISTS dead (event_seq INTEGER NOT NULL, reporter TEXT NOT NULL,"
	" at REAL NOT NULL, error TEXT, PRIMARY KEY (event_seq, reporter))",
	NULL,
};

/* v3: reports travel with their document; dropped events are counted per
 * reporter (the outbox is bounded in age and count). */
static const char *const schema_v3[] = {
	"ALTER TABLE events ADD COLUMN doc TEXT",
	"ALTER TABLE outbox ADD COLUMN dropped INTEGER NOT NULL DEFAULT 0",
	"CREATE INDEX IF NOT EXISTS events_kind_at ON events(kind, at)",
	NULL,
};

/* Forward migrations: migrations[v] takes a version-v file to v+1. */
static const char *const *const migrations[] = { schema_v1, schema_v2, schema_v3 };

static int
exec(struct store *s, const char *sql)
{
	char *msg = NULL;

	if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		log_error("%s: %s (in: %.60s)", s->path, msg ? msg : sqlite3_errmsg(s->db), sql);
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

static int
prep(struct store *s, sqlite3_stmt **st, const char *sql)
{
	if (sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL) != SQLITE_OK) {
		log_error("%s: %s", s->path, sqlite3_errmsg(s->db));
		return -1;
	}
	return 0;
}

static int
schema_version(struct store *s)
{
	sqlite3_stmt *st;
	int v = 0;

	if (sqlite3_prepare_v2(s->db, "SELECT value FROM meta WHERE key = 'schema'", -1, &st,
	    NULL) != SQLITE_OK)
		return 0;               /* no meta table: a new file */
	if (sqlite3_step(st) == SQLITE_ROW)
		v = atoi((const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return v;
}

static int
migrate(struct store *s, char *err, size_t errlen)
{
	int v = schema_version(s);

	if (v > STORE_SCHEMA) {
		snprintf(err, errlen, "%s: schema version %d is newer than this drishti (%d)",
		    s->path, v, STORE_SCHEMA);
		return -1;
	}
	for (; v < STORE_SCHEMA; v++) {
		if (exec(s, "BEGIN IMMEDIATE") < 0)
			goto fail;
		for (const char *const *q = migrations[v]; *q != NULL; q++)
			if (exec(s, *q) < 0) {
				exec(s, "ROLLBACK");
				goto fail;
			}
		char sql[128];
		snprintf(sql, sizeof sql, "INSERT OR REPLACE INTO meta VALUES ('schema', '%d')", v + 1);
		if (exec(s, sql) < 0 || exec(s, "COMMIT") < 0) {
			exec(s, "ROLLBACK");
			goto fail;
		}
	}
	return 0;
fail:
	snprintf(err, errlen, "%s: cannot bring the schema to version %d", s->path, STORE_SCHEMA);
	return -1;
}

static int
mkdirs(const char *path)
{
	char d[PATH_MAX];
	snprintf(d, sizeof d, "%s", path);
	char *slash = strrchr(d, '/');
	if (slash == NULL || slash == d)
		return 0;
	*slash = '\0';
	for (char *p = d + 1; *p; p++)
		if (*p == '/') {
			*p = '\0';
			if (mkdir(d, 0750) < 0 && errno != EEXIST)
				return -1;
			*p = '/';
		}
	return mkdir(d, 0750) < 0 && errno != EEXIST ? -1 : 0;
}

static int
try_open(struct store *s, bool readonly, char *err, size_t errlen)
{
	int flags = readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;

	if (sqlite3_open_v2(s->path, &s->db, flags | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", s->path, s->db ? sqlite3_errmsg(s->db) : "cannot open");
		return -1;
	}
	sqlite3_busy_timeout(s->db, 5000);
	if (readonly)
		return 0;
	/* a file that is not a database fails here already */
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(s->db, "PRAGMA quick_check", -1, &st, NULL);
	if (rc == SQLITE_OK) {
		rc = sqlite3_step(st);
		const char *r = rc == SQLITE_ROW ? (const char *)sqlite3_column_text(st, 0) : NULL;
		rc = r != NULL && strcmp(r, "ok") == 0 ? 0 : -2;
		sqlite3_finalize(st);
	} else
		rc = -2;
	if (rc == -2) {
		snprintf(err, errlen, "%s: %s", s->path, sqlite3_errmsg(s->db));
		return -2;
	}
	if (exec(s, "PRAGMA journal_mode=WAL") < 0 || exec(s, "PRAGMA synchronous=NORMAL") < 0) {
		snprintf(err, errlen, "%s: %s", s->path, sqlite3_errmsg(s->db));
		return -2;
	}
	return 0;
}

int
store_open(struct store **out, const char *path, bool readonly, bool *was_corrupt,
    char *err, size_t errlen)
{
	struct store *s = calloc(1, sizeof *s);

	*out = NULL;
	if (was_corrupt != NULL)
		*was_corrupt = false;
	if (s == NULL || (s->path = strdup(path)) == NULL) {
		free(s);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (!readonly && mkdirs(path) < 0) {
		snprintf(err, errlen, "%s: cannot make its directory: %s", path, strerror(errno));
		goto fail;
	}
	int rc = try_open(s, readonly, err, errlen);
	if (rc == -2) {
		/* keep the bad file for a post-mortem, start afresh */
		char aside[PATH_MAX + 32];
		sqlite3_close_v2(s->db);
		s->db = NULL;
		snprintf(aside, sizeof aside, "%s.corrupt-%lld", path, (long long)time(NULL));
		log_error("%s; moved aside to %s, starting a new state file", err, aside);
		if (rename(path, aside) < 0) {
			snprintf(err, errlen, "%s: corrupt, and cannot be moved aside: %s", path,
			    strerror(errno));
			goto fail;
		}
		char side[PATH_MAX + 8];
		snprintf(side, sizeof side, "%s-wal", path);
		unlink(side);
		snprintf(side, sizeof side, "%s-shm", path);
		unlink(side);
		if (was_corrupt != NULL)
			*was_corrupt = true;
		rc = try_open(s, readonly, err, errlen);
	}
	if (rc < 0)
		goto fail;
	if (readonly) {
		*out = s;
		return 0;
	}
	if (migrate(s, err, errlen) < 0)
		goto fail;
	if (prep(s, &s->ins_run, "INSERT INTO runs (check_name, ts, status, duration, summary)"
	    " VALUES (?, ?, ?, ?, ?)") < 0 ||
	    prep(s, &s->ins_sample, "INSERT INTO samples (check_name, metric, ts, value, unit)"
	    " VALUES (?, ?, ?, ?, ?)") < 0 ||
	    prep(s, &s->get_roll, "SELECT n, ok, warn, crit, unknown, sum, min, max, hist FROM rollups"
	    " WHERE kind = ? AND name = ? AND hour = ?") < 0 ||
	    prep(s, &s->put_roll, "INSERT OR REPLACE INTO rollups VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)") < 0 ||
	    prep(s, &s->put_alert, "INSERT OR REPLACE INTO alerts VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)") < 0 ||
	    prep(s, &s->get_alert, "SELECT state, status, since_ms, fail_since_ms, fails, passes,"
	    " history, nhistory, notified_ms FROM alerts WHERE check_name = ?") < 0 ||
	    prep(s, &s->ins_event, "INSERT INTO events (id, kind, check_name, status, previous,"
	    " summary, since, at, metrics, doc) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)") < 0) {
		snprintf(err, errlen, "%s: %s", path, sqlite3_errmsg(s->db));
		goto fail;
	}
	*out = s;
	return 0;
fail:
	store_close(s);
	return -1;
}

void
store_close(struct store *s)
{
	if (s == NULL)
		return;
	sqlite3_finalize(s->ins_run);
	sqlite3_finalize(s->ins_sample);
	sqlite3_finalize(s->get_roll);
	sqlite3_finalize(s->put_roll);
	sqlite3_finalize(s->put_alert);
	sqlite3_finalize(s->get_alert);
	sqlite3_finalize(s->ins_event);
	if (s->db != NULL)
		store_commit(s);
	sqlite3_close_v2(s->db);
	free(s->path);
	free(s);
}

/* ---- roll-ups ------------------------------------------------------------------- */

static int
hist_bucket(double v)
{
	if (!(v > HIST_FLOOR))
		return 0;
	int b = 1 + (int)floor(log(v / HIST_FLOOR) / log(HIST_BASE));
	return b < 1 ? 1 : b >= HIST_BUCKETS ? HIST_BUCKETS - 1 : b;
}

static double
hist_value(int b)
{
	if (b == 0)
		return 0;
	/* the middle of the bucket, geometrically */
	return HIST_FLOOR * pow(HIST_BASE, b - 1) * sqrt(HIST_BASE);
}

/* sparse: (u8 bucket, u32 count) pairs */
static void
hist_decode(const unsigned char *blob, int len, uint32_t *h)
{
	for (int i = 0; i + 5 <= len; i += 5) {
		uint32_t c;
		memcpy(&c, blob + i + 1, 4);
		h[blob[i]] += c;
	}
}

static int
hist_encode(const uint32_t *h, unsigned char *out)
{
	int n = 0;
	for (int b = 0; b < HIST_BUCKETS; b++)
		if (h[b] != 0) {
			out[n] = (unsigned char)b;
			memcpy(out + n + 1, &h[b], 4);
			n += 5;
		}
	return n;
}

static int
roll(struct store *s, int kind, const char *name, double ts, enum status st, double v)
{
	sqlite3_stmt *g = s->get_roll, *p = s->put_roll;
	int64_t hour = (int64_t)floor(ts / 3600);
	int64_t n = 0, cnt[4] = { 0 };
	double sum = 0, mn = v, mx = v;
	uint32_t h[HIST_BUCKETS] = { 0 };
	unsigned char blob[HIST_BUCKETS * 5];

	sqlite3_bind_int(g, 1, kind);
	sqlite3_bind_text(g, 2, name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(g, 3, hour);
	if (sqlite3_step(g) == SQLITE_ROW) {
		n = sqlite3_column_int64(g, 0);
		for (int i = 0; i < 4; i++)
			cnt[i] = sqlite3_column_int64(g, 1 + i);
		sum = sqlite3_column_double(g, 5);
		mn = fmin(mn, sqlite3_column_double(g, 6));
		mx = fmax(mx, sqlite3_column_double(g, 7));
		hist_decode(sqlite3_column_blob(g, 8), sqlite3_column_bytes(g, 8), h);
	}
	sqlite3_reset(g);
	n++;
	cnt[st <= ST_UNKNOWN ? st : ST_UNKNOWN]++;
	sum += v;
	h[hist_bucket(v)]++;
	int bl = hist_encode(h, blob);
	sqlite3_bind_int(p, 1, kind);
	sqlite3_bind_text(p, 2, name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(p, 3, hour);
	sqlite3_bind_int64(p, 4, n);
	for (int i = 0; i < 4; i++)
		sqlite3_bind_int64(p, 5 + i, cnt[i]);
	sqlite3_bind_double(p, 9, sum);
	sqlite3_bind_double(p, 10, mn);
	sqlite3_bind_double(p, 11, mx);
	sqlite3_bind_blob(p, 12, blob, bl, SQLITE_STATIC);
	int rc = sqlite3_step(p) == SQLITE_DONE ? 0 : -1;
	sqlite3_reset(p);
	return rc;
}

/* ---- recording ------------------------------------------------------------------- */

static void
new_id(char *out)
{
	unsigned char r[16];
	if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r)
		for (size_t i = 0; i < sizeof r; i++)
			r[i] = (unsigned char)random();
	/* a version-4 UUID */
	r[6] = (unsigned char)((r[6] & 0x0f) | 0x40);
	r[8] = (unsigned char)((r[8] & 0x3f) | 0x80);
	sprintf(out, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
	    r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11], r[12],
	    r[13], r[14], r[15]);
}

static int
sync_mode(struct store *s, int full)
{
	if (s->full == full)
		return 0;
	s->full = full;
	return exec(s, full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL");
}

static int
step_done(struct store *s, sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc != SQLITE_DONE) {
		log_error("%s: %s", s->path, sqlite3_errmsg(s->db));
		return -1;
	}
	return 0;
}

static int
put_event(struct store *s, const char *kind, const char *check, enum status st,
    enum status prev, const char *summary, double since, double at, const char *metrics,
    const char *doc)
{
	char id[40];
	sqlite3_stmt *e = s->ins_event;

	new_id(id);
	sqlite3_bind_text(e, 1, id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(e, 2, kind, -1, SQLITE_STATIC);
	if (check)
		sqlite3_bind_text(e, 3, check, -1, SQLITE_STATIC);
	sqlite3_bind_int(e, 4, st);
	sqlite3_bind_int(e, 5, prev);
	sqlite3_bind_text(e, 6, summary, -1, SQLITE_STATIC);
	if (since > 0)
		sqlite3_bind_double(e, 7, since);
	sqlite3_bind_double(e, 8, at);
	if (metrics)
		sqlite3_bind_text(e, 9, metrics, -1, SQLITE_STATIC);
	if (doc)
		sqlite3_bind_text(e, 10, doc, -1, SQLITE_STATIC);
	return step_done(s, e);
}

int
store_record(struct store *s, const char *check, const struct result *r,
    const struct alert *a, bool changed, const struct alert_out *ev)
{
	bool durable = changed || ev->event != EV_NONE;
	double ts = r->started;

	/* Routine runs join one transaction per loop iteration (store_commit);
	 * a run that changes an alert gets its own, fsynced, at once. */
	if (durable) {
		if (store_commit(s) < 0 || sync_mode(s, 1) < 0 || exec(s, "BEGIN IMMEDIATE") < 0)
			return -1;
	} else if (!s->batch) {
		if (sync_mode(s, 0) < 0 || exec(s, "BEGIN IMMEDIATE") < 0)
			return -1;
		s->batch = 1;
	}
	sqlite3_stmt *q = s->ins_run;
	sqlite3_bind_text(q, 1, check, -1, SQLITE_STATIC);
	sqlite3_bind_double(q, 2, ts);
	sqlite3_bind_int(q, 3, r->status);
	sqlite3_bind_double(q, 4, r->duration);
	sqlite3_bind_text(q, 5, r->summary, -1, SQLITE_STATIC);
	if (step_done(s, q) < 0 || roll(s, RK_CHECK, check, ts, r->status, r->duration) < 0)
		goto fail;
	for (int i = 0; i < r->nmetrics; i++) {
		const struct metric *m = &r->metrics[i];
		q = s->ins_sample;
		sqlite3_bind_text(q, 1, check, -1, SQLITE_STATIC);
		sqlite3_bind_text(q, 2, m->name, -1, SQLITE_STATIC);
		sqlite3_bind_double(q, 3, ts);
		sqlite3_bind_double(q, 4, m->value);
		sqlite3_bind_text(q, 5, m->unit, -1, SQLITE_STATIC);
		if (step_done(s, q) < 0 || roll(s, RK_METRIC, m->name, ts, ST_OK, m->value) < 0)
			goto fail;
	}
	q = s->put_alert;
	sqlite3_bind_text(q, 1, check, -1, SQLITE_STATIC);
	sqlite3_bind_int(q, 2, a->state);
	sqlite3_bind_int(q, 3, a->status);
	sqlite3_bind_int64(q, 4, a->since_ms);
	sqlite3_bind_int64(q, 5, a->fail_since_ms);
	sqlite3_bind_int(q, 6, a->fails);
	sqlite3_bind_int(q, 7, a->passes);
	sqlite3_bind_int64(q, 8, (sqlite3_int64)a->history);
	sqlite3_bind_int(q, 9, a->nhistory);
	sqlite3_bind_int64(q, 10, a->notified_ms);
	sqlite3_bind_int(q, 11, r->status);
	sqlite3_bind_text(q, 12, r->summary, -1, SQLITE_STATIC);
	sqlite3_bind_double(q, 13, ts);
	sqlite3_bind_double(q, 14, r->duration);
	if (step_done(s, q) < 0)
		goto fail;
	if (ev->event != EV_NONE) {
		struct json *m = json_new(JSON_OBJECT);
		for (int i = 0; m != NULL && i < r->nmetrics; i++)
			json_add(m, r->metrics[i].name, json_new_number(r->metrics[i].value));
		char *mj = m ? json_print(m, false) : NULL;
		json_free(m);
		int rc = put_event(s, alert_event_name(ev->event), check, ev->status, ev->previous,
		    r->summary, (double)ev->since_ms / 1000.0, ts + r->duration, mj, NULL);
		free(mj);
		if (rc < 0)
			goto fail;
	}
	return durable ? exec(s, "COMMIT") : 0;
fail:
	exec(s, "ROLLBACK");
	s->batch = 0;
	return -1;
}

int
store_commit(struct store *s)
{
	if (!s->batch)
		return 0;
	s->batch = 0;
	if (exec(s, "COMMIT") < 0) {
		exec(s, "ROLLBACK");
		return -1;
	}
	return 0;
}

bool
store_pending(const struct store *s)
{
	return s->batch;
}

int
store_event(struct store *s, const char *kind, const char *check, enum status st,
    const char *summary)
{
	if (store_commit(s) < 0)
		return -1;
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	if (sync_mode(s, 1) < 0)
		return -1;
	return put_event(s, kind, check, st, ST_OK, summary, 0,
	    (double)ts.tv_sec + (double)ts.tv_nsec / 1e9, NULL, NULL);
}

int
store_report(struct store *s, const char *name, const char *headline, const char *doc)
{
	if (store_commit(s) < 0)
		return -1;
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	if (sync_mode(s, 1) < 0)
		return -1;
	return put_event(s, "report", name, ST_OK, ST_OK, headline, 0,
	    (double)ts.tv_sec + (double)ts.tv_nsec / 1e9, NULL, doc);
}

int
store_alert_get(struct store *s, const char *check, struct alert *a)
{
	sqlite3_stmt *q = s->get_alert;
	int found = 0;

	sqlite3_bind_text(q, 1, check, -1, SQLITE_STATIC);
	if (sqlite3_step(q) == SQLITE_ROW) {
		a->state = (enum alert_state)sqlite3_column_int(q, 0);
		a->status = (enum status)sqlite3_column_int(q, 1);
		a->since_ms = sqlite3_column_int64(q, 2);
		a->fail_since_ms = sqlite3_column_int64(q, 3);
		a->fails = sqlite3_column_int(q, 4);
		a->passes = sqlite3_column_int(q, 5);
		a->history = (uint64_t)sqlite3_column_int64(q, 6);
		a->nhistory = sqlite3_column_int(q, 7);
		a->notified_ms = sqlite3_column_int64(q, 8);
		found = 1;
	}
	sqlite3_reset(q);
	sqlite3_clear_bindings(q);
	return found ? 0 : 1;
}

int
store_prune(struct store *s, double now, int64_t raw_ms, int64_t rollup_ms, int batch)
{
	if (store_commit(s) < 0)
		return -1;
	char sql[256];
	int n = 0;
	double raw_before = now - (double)raw_ms / 1000.0;
	int64_t hour_before = (int64_t)floor((now - (double)rollup_ms / 1000.0) / 3600);

	if (sync_mode(s, 0) < 0)
		return -1;
	snprintf(sql, sizeof sql, "DELETE FROM runs WHERE id IN (SELECT id FROM runs WHERE ts < %.3f LIMIT %d)",
	    raw_before, batch);
	if (exec(s, sql) < 0)
		return -1;
	n += sqlite3_changes(s->db);
	snprintf(sql, sizeof sql, "DELETE FROM samples WHERE id IN (SELECT id FROM samples WHERE ts < %.3f LIMIT %d)",
	    raw_before, batch);
	if (exec(s, sql) < 0)
		return -1;
	n += sqlite3_changes(s->db);
	/* WITHOUT ROWID: delete by key */
	snprintf(sql, sizeof sql, "DELETE FROM rollups WHERE (kind, name, hour) IN (SELECT kind, name,"
	    " hour FROM rollups WHERE hour < %lld LIMIT %d)", (long long)hour_before, batch);
	if (exec(s, sql) < 0)
		return -1;
	n += sqlite3_changes(s->db);
	/* events are the incident history: kept as long as the roll-ups, and
	 * never before every reporter is past them */
	snprintf(sql, sizeof sql, "DELETE FROM events WHERE seq IN (SELECT seq FROM events WHERE"
	    " delivered = 1 AND at < %.3f AND seq NOT IN (SELECT event_seq FROM dead) LIMIT %d)",
	    now - (double)rollup_ms / 1000.0, batch);
	if (exec(s, sql) < 0)
		return -1;
	n += sqlite3_changes(s->db);
	return n;
}

/* ---- history ---------------------------------------------------------------------- */

static int
one_row(struct store *s, const char *sql, const char *name, double a, double b, double *out,
    int ncols, double *cols)
{
	sqlite3_stmt *q;
	int rc = 0;

	if (sqlite3_prepare_v2(s->db, sql, -1, &q, NULL) != SQLITE_OK) {
		log_error("%s: %s", s->path, sqlite3_errmsg(s->db));
		return -1;
	}
	sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_double(q, 2, a);
	sqlite3_bind_double(q, 3, b);
	if (sqlite3_step(q) == SQLITE_ROW) {
		for (int i = 0; i < ncols; i++)
			cols[i] = sqlite3_column_double(q, i);
		rc = sqlite3_column_type(q, 0) == SQLITE_NULL ? 0 : 1;
	}
	sqlite3_finalize(q);
	(void)out;
	return rc;
}

/* Counts of runs by status in the window: raw rows when the window is within
 * raw retention, else whole-hour roll-ups. */
static int
counts(struct store *s, const char *check, double window, double now, double raw_window,
    double c[5])
{
	if (window <= raw_window)
		return one_row(s, "SELECT count(*), sum(status = 0), sum(status = 1), sum(status = 2),"
		    " sum(status = 3) FROM runs WHERE check_name = ? AND ts >= ? AND ts <= ?",
		    check, now - window, now, NULL, 5, c) && c[0] > 0;
	return one_row(s, "SELECT sum(n), sum(ok), sum(warn), sum(crit), sum(unknown) FROM rollups"
	    " WHERE kind = 0 AND name = ? AND hour >= ? AND hour <= ?", check,
	    floor((now - window) / 3600), floor(now / 3600), NULL, 5, c) && c[0] > 0;
}

int
store_uptime(struct store *s, const char *check, double window, double now,
    double raw_window, double *out)
{
	double c[5] = { 0 };
	int rc = counts(s, check, window, now, raw_window, c);
	if (rc <= 0)
		return rc;
	/* UNKNOWN says nothing about being up: it counts on neither side */
	double known = c[0] - c[4];
	if (known <= 0)
		return 0;
	*out = c[1] / known;
	return 1;
}

int
store_count(struct store *s, const char *check, int status, double window, double now,
    double raw_window, double *out)
{
	double c[5] = { 0 };
	int rc = counts(s, check, window, now, raw_window, c);
	if (rc < 0)
		return rc;
	if (rc == 0) {
		*out = 0;
		return 1;
	}
	*out = status < 0 ? c[2] + c[3] + c[4] : c[1 + (status > 3 ? 3 : status)];
	return 1;
}

int
store_metric(struct store *s, const char *metric, const char *fn, double p, double window,
    double now, double raw_window, double *out)
{
	double c[4] = { 0 };
	sqlite3_stmt *q;
	int rc;

	if (strcmp(fn, "percentile") != 0) {
		if (window <= raw_window)
			rc = one_row(s, "SELECT avg(value), max(value), min(value), sum(value) FROM samples"
			    " WHERE metric = ? AND ts >= ? AND ts <= ?", metric, now - window, now, NULL, 4, c);
		else {
			rc = one_row(s, "SELECT sum(sum) / sum(n), max(max), min(min), sum(sum) FROM rollups"
			    " WHERE kind = 1 AND name = ? AND hour >= ? AND hour <= ?", metric,
			    floor((now - window) / 3600), floor(now / 3600), NULL, 4, c);
		}
		if (rc <= 0)
			return rc;
		*out = strcmp(fn, "avg") == 0 ? c[0] : strcmp(fn, "max") == 0 ? c[1] :
		    strcmp(fn, "min") == 0 ? c[2] : c[3];
		return 1;
	}
	if (window <= raw_window) {
		/* exact: the nearest-rank value among the raw samples */
		double n = 0;
		if (one_row(s, "SELECT count(*) FROM samples WHERE metric = ? AND ts >= ? AND ts <= ?",
		    metric, now - window, now, NULL, 1, &n) < 0)
			return -1;
		if (n < 1)
			return 0;
		long k = (long)ceil(p / 100.0 * n) - 1;
		if (k < 0)
			k = 0;
		if (sqlite3_prepare_v2(s->db, "SELECT value FROM samples WHERE metric = ? AND ts >= ?"
		    " AND ts <= ? ORDER BY value LIMIT 1 OFFSET ?", -1, &q, NULL) != SQLITE_OK)
			return -1;
		sqlite3_bind_text(q, 1, metric, -1, SQLITE_STATIC);
		sqlite3_bind_double(q, 2, now - window);
		sqlite3_bind_double(q, 3, now);
		sqlite3_bind_int64(q, 4, k);
		rc = sqlite3_step(q) == SQLITE_ROW;
		if (rc)
			*out = sqlite3_column_double(q, 0);
		sqlite3_finalize(q);
		return rc;
	}
	/* long windows: merge the hours' histograms */
	uint32_t h[HIST_BUCKETS] = { 0 };
	uint64_t n = 0;
	if (sqlite3_prepare_v2(s->db, "SELECT hist, n FROM rollups WHERE kind = 1 AND name = ?"
	    " AND hour >= ? AND hour <= ?", -1, &q, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_text(q, 1, metric, -1, SQLITE_STATIC);
	sqlite3_bind_double(q, 2, floor((now - window) / 3600));
	sqlite3_bind_double(q, 3, floor(now / 3600));
	while (sqlite3_step(q) == SQLITE_ROW) {
		hist_decode(sqlite3_column_blob(q, 0), sqlite3_column_bytes(q, 0), h);
		n += (uint64_t)sqlite3_column_int64(q, 1);
	}
	sqlite3_finalize(q);
	if (n == 0)
		return 0;
	uint64_t want = (uint64_t)ceil(p / 100.0 * (double)n), seen = 0;
	if (want < 1)
		want = 1;
	for (int b = 0; b < HIST_BUCKETS; b++) {
		seen += h[b];
		if (seen >= want) {
			*out = hist_value(b);
			return 1;
		}
	}
	return 0;
}

int
store_last(struct store *s, const char *metric, double *value, double *ts)
{
	sqlite3_stmt *q;
	int rc;

	if (sqlite3_prepare_v2(s->db, "SELECT value, ts FROM samples WHERE metric = ?"
	    " ORDER BY ts DESC LIMIT 1", -1, &q, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_text(q, 1, metric, -1, SQLITE_STATIC);
	rc = sqlite3_step(q) == SQLITE_ROW;
	if (rc) {
		*value = sqlite3_column_double(q, 0);
		*ts = sqlite3_column_double(q, 1);
	}
	sqlite3_finalize(q);
	return rc;
}

/* ---- status ------------------------------------------------------------------------- */

int
store_each_check(struct store *s, void (*fn)(const struct store_check *c, void *ud), void *ud)
{
	sqlite3_stmt *q;

	if (sqlite3_prepare_v2(s->db, "SELECT check_name, state, status, since_ms, fail_since_ms,"
	    " fails, passes, last_status, last_summary, last_ts, last_duration FROM alerts"
	    " ORDER BY check_name", -1, &q, NULL) != SQLITE_OK) {
		log_error("%s: %s", s->path, sqlite3_errmsg(s->db));
		return -1;
	}
	while (sqlite3_step(q) == SQLITE_ROW) {
		struct store_check c;
		memset(&c, 0, sizeof c);
		c.check = (const char *)sqlite3_column_text(q, 0);
		c.alert.state = (enum alert_state)sqlite3_column_int(q, 1);
		c.alert.status = (enum status)sqlite3_column_int(q, 2);
		c.alert.since_ms = sqlite3_column_int64(q, 3);
		c.alert.fail_since_ms = sqlite3_column_int64(q, 4);
		c.alert.fails = sqlite3_column_int(q, 5);
		c.alert.passes = sqlite3_column_int(q, 6);
		c.last_status = (enum status)sqlite3_column_int(q, 7);
		c.last_summary = (const char *)sqlite3_column_text(q, 8);
		c.last_ts = sqlite3_column_double(q, 9);
		c.last_duration = sqlite3_column_double(q, 10);
		fn(&c, ud);
	}
	sqlite3_finalize(q);
	return 0;
}

int
store_outbox(struct store *s, long *depth, double *oldest, long *dead)
{
	double c[3] = { 0 };
	sqlite3_stmt *q;

	if (sqlite3_prepare_v2(s->db, "SELECT sum(delivered = 0), min(CASE WHEN delivered = 0"
	    " THEN at END), (SELECT count(*) FROM dead) FROM events", -1, &q, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(q) == SQLITE_ROW)
		for (int i = 0; i < 3; i++)
			c[i] = sqlite3_column_double(q, i);
	sqlite3_finalize(q);
	*depth = (long)c[0];
	*oldest = c[1];
	*dead = (long)c[2];
	return 0;
}

int
store_integrity_ok(struct store *s)
{
	sqlite3_stmt *q;
	int ok = 0;

	if (sqlite3_prepare_v2(s->db, "PRAGMA integrity_check", -1, &q, NULL) != SQLITE_OK)
		return 0;
	if (sqlite3_step(q) == SQLITE_ROW)
		ok = strcmp((const char *)sqlite3_column_text(q, 0), "ok") == 0;
	sqlite3_finalize(q);
	return ok;
}

int
store_file_state(struct store *s, const char *path, const char *state, const char *reason)
{
	if (store_commit(s) < 0)
		return -1;
	sqlite3_stmt *q;
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	if (sync_mode(s, 1) < 0 || sqlite3_prepare_v2(s->db, "INSERT OR REPLACE INTO files"
	    " VALUES (?, ?, ?, ?)", -1, &q, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_text(q, 1, path, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, state, -1, SQLITE_STATIC);
	sqlite3_bind_double(q, 3, (double)ts.tv_sec);
	if (reason)
		sqlite3_bind_text(q, 4, reason, -1, SQLITE_STATIC);
	int rc = sqlite3_step(q) == SQLITE_DONE ? 0 : -1;
	sqlite3_finalize(q);
	return rc;
}

int
store_each_file(struct store *s, void (*fn)(const char *path, const char *state, double since,
    const char *reason, void *ud), void *ud)
{
	sqlite3_stmt *q;

	if (sqlite3_prepare_v2(s->db, "SELECT path, state, since, reason FROM files"
	    " WHERE state != 'ok' ORDER BY path", -1, &q, NULL) != SQLITE_OK)
		return -1;
	while (sqlite3_step(q) == SQLITE_ROW)
		fn((const char *)sqlite3_column_text(q, 0), (const char *)sqlite3_column_text(q, 1),
		    sqlite3_column_double(q, 2), (const char *)sqlite3_column_text(q, 3), ud);
	sqlite3_finalize(q);
	return 0;
}

static int
last_status(struct store *s, const char *check, double *value, double *ts)
{
	sqlite3_stmt *q;
	int rc = 0;

	if (sqlite3_prepare_v2(s->db, "SELECT last_status, last_ts FROM alerts WHERE check_name = ?"
	    " AND last_status IS NOT NULL", -1, &q, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_text(q, 1, check, -1, SQLITE_STATIC);
	if (sqlite3_step(q) == SQLITE_ROW) {
		*value = sqlite3_column_double(q, 0);
		*ts = sqlite3_column_double(q, 1);
		rc = 1;
	}
	sqlite3_finalize(q);
	return rc;
}

static int
worst_firing(struct store *s, double *value)
{
	sqlite3_stmt *q;

	if (sqlite3_prepare_v2(s->db, "SELECT coalesce(max(status), 0) FROM alerts WHERE state = 2",
	    -1, &q, NULL) != SQLITE_OK)
		return -1;
	*value = sqlite3_step(q) == SQLITE_ROW ? sqlite3_column_double(q, 0) : 0;
	sqlite3_finalize(q);
	return 1;
}

/* Incidents in the window, newest first: each alert that fired, when, and
 * when it resolved (resolved 0: still open).  As a JSON array in a->list,
 * as many as fit. */
static int
incidents(struct store *s, double window, double now, struct hist_ans *a)
{
	sqlite3_stmt *q;
	struct json *arr = json_new(JSON_ARRAY);
	int n = 0;

	/* an incident starts with an alert event; its end is the first resolve
	 * of the same check after it */
	if (sqlite3_prepare_v2(s->db, "SELECT a.check_name, a.at, a.status, (SELECT min(r.at) FROM"
	    " events r WHERE r.kind = 'resolve' AND r.check_name = a.check_name AND r.seq > a.seq)"
	    " FROM events a WHERE a.kind = 'alert' AND a.check_name IS NOT NULL AND"
	    " a.check_name != '' AND (a.at > ? OR NOT EXISTS (SELECT 1 FROM events r WHERE"
	    " r.kind = 'resolve' AND r.check_name = a.check_name AND r.seq > a.seq AND r.at <= ?))"
	    " ORDER BY a.seq DESC LIMIT 200", -1, &q, NULL) != SQLITE_OK) {
		json_free(arr);
		return -1;
	}
	sqlite3_bind_double(q, 1, now - window);
	sqlite3_bind_double(q, 2, now - window);
	size_t used = 2;
	while (sqlite3_step(q) == SQLITE_ROW) {
		static const char *const st[] = { "ok", "warn", "crit", "unknown" };
		const char *check = (const char *)sqlite3_column_text(q, 0);
		double at = sqlite3_column_double(q, 1);
		int status = sqlite3_column_int(q, 2) & 3;
		int open = sqlite3_column_type(q, 3) == SQLITE_NULL;
		double end = open ? 0 : sqlite3_column_double(q, 3);
		if (at > now)
			continue;
		used += strlen(check) + 120;
		if (used >= HIST_LIST_MAX)
			break;
		struct json *o = json_new(JSON_OBJECT);
		json_add(o, "check", json_new_string(check));
		json_add(o, "status", json_new_string(st[status]));
		json_add(o, "alerted", json_new_number(at));
		json_add(o, "resolved", json_new_number(end));
		json_add(o, "seconds", json_new_number((open ? now : end) - at));
		json_add(o, "open", json_new(open ? JSON_TRUE : JSON_FALSE));
		json_add(arr, NULL, o);
		n++;
	}
	sqlite3_finalize(q);
	char *text = json_print(arr, false);
	json_free(arr);
	if (text == NULL)
		return -1;
	size_t l = strlen(text);
	if (l < sizeof a->list) {
		memcpy(a->list, text, l);
		a->list_len = (int32_t)l;
	}
	free(text);
	a->value = n;
	return 1;
}

void
store_answer(struct store *s, const struct hist_req *q, double raw_window, struct hist_ans *a)
{
	static const char *const fns[] = { [HIST_AVG] = "avg", [HIST_MAX] = "max",
		[HIST_MIN] = "min", [HIST_SUM] = "sum", [HIST_PERCENTILE] = "percentile" };
	struct timespec ts;
	double now;

	clock_gettime(CLOCK_REALTIME, &ts);
	now = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
	a->ts = 0;
	if (q->ago > 0) {
		/* a window in the past: raw rows only while all of it is still
		 * within raw retention */
		now -= q->ago;
		raw_window -= q->ago;
	}
	switch (q->fn) {
	case HIST_UPTIME:
		a->found = store_uptime(s, q->name, q->window, now, raw_window, &a->value);
		break;
	case HIST_COUNT:
		a->found = store_count(s, q->name, q->status, q->window, now, raw_window, &a->value);
		break;
	case HIST_LAST:
		a->found = store_last(s, q->name, &a->value, &a->ts);
		break;
	case HIST_AVG: case HIST_MAX: case HIST_MIN: case HIST_SUM: case HIST_PERCENTILE:
		a->found = store_metric(s, q->name, fns[q->fn], q->p, q->window, now, raw_window,
		    &a->value);
		break;
	case HIST_STATUS:
		a->found = last_status(s, q->name, &a->value, &a->ts);
		break;
	case HIST_WORST:
		a->found = worst_firing(s, &a->value);
		break;
	case HIST_INCIDENTS:
		a->found = incidents(s, q->window, now, a);
		break;
	default:
		a->found = -1;
	}
}

/* ---- the outbox ------------------------------------------------------------------ */

int
store_cursor(struct store *s, const char *reporter, int64_t *seq, int *attempts, double *next_at)
{
	if (store_commit(s) < 0)
		return -1;
	sqlite3_stmt *q;
	int rc = -1;

	if (sqlite3_prepare_v2(s->db, "SELECT seq, attempts, next_at FROM outbox WHERE reporter = ?",
	    -1, &q, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_text(q, 1, reporter, -1, SQLITE_STATIC);
	if (sqlite3_step(q) == SQLITE_ROW) {
		*seq = sqlite3_column_int64(q, 0);
		*attempts = sqlite3_column_int(q, 1);
		*next_at = sqlite3_column_double(q, 2);
		rc = 0;
	}
	sqlite3_finalize(q);
	if (rc == 0)
		return 0;
	/* a reporter seen for the first time gets what happens from now on */
	if (sync_mode(s, 1) < 0 || sqlite3_prepare_v2(s->db, "INSERT INTO outbox (reporter, seq)"
	    " SELECT ?, coalesce(max(seq), 0) FROM events", -1, &q, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_text(q, 1, reporter, -1, SQLITE_STATIC);
	rc = sqlite3_step(q) == SQLITE_DONE ? 0 : -1;
	sqlite3_finalize(q);
	if (rc < 0)
		return -1;
	*attempts = 0;
	*next_at = 0;
	return store_cursor(s, reporter, seq, attempts, next_at);
}

int
store_event_after(struct store *s, int64_t after, struct store_event *ev)
{
	sqlite3_stmt *q;
	int rc = 0;

	if (sqlite3_prepare_v2(s->db, "SELECT seq, id, kind, coalesce(check_name, ''), status,"
	    " previous, summary, coalesce(since, 0), at, coalesce(metrics, '{}'), doc FROM events"
	    " WHERE seq > ? ORDER BY seq LIMIT 1", -1, &q, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_int64(q, 1, after);
	if (sqlite3_step(q) == SQLITE_ROW) {
		ev->seq = sqlite3_column_int64(q, 0);
		snprintf(ev->id, sizeof ev->id, "%s", sqlite3_column_text(q, 1));
		snprintf(ev->kind, sizeof ev->kind, "%s", sqlite3_column_text(q, 2));
		snprintf(ev->check, sizeof ev->check, "%s", sqlite3_column_text(q, 3));
		ev->status = (enum status)sqlite3_column_int(q, 4);
		ev->previous = (enum status)sqlite3_column_int(q, 5);
		snprintf(ev->summary, sizeof ev->summary, "%s", sqlite3_column_text(q, 6));
		ev->since = sqlite3_column_double(q, 7);
		ev->at = sqlite3_column_double(q, 8);
		snprintf(ev->metrics, sizeof ev->metrics, "%s", sqlite3_column_text(q, 9));
		free(ev->doc);
		ev->doc = NULL;
		if (sqlite3_column_type(q, 10) == SQLITE_TEXT &&
		    (ev->doc = strdup((const char *)sqlite3_column_text(q, 10))) == NULL)
			rc = -1;
		else
			rc = 1;
	}
	sqlite3_finalize(q);
	return rc;
}

int
store_cursor_set(struct store *s, const char *reporter, int64_t seq, int attempts,
    double next_at, const char *error, bool dead)
{
	if (store_commit(s) < 0)
		return -1;
	sqlite3_stmt *q;

	/* not fsynced: at least once allows a resend after a crash */
	if (sync_mode(s, 0) < 0 || exec(s, "BEGIN IMMEDIATE") < 0)
		return -1;
	if (dead) {
		if (sqlite3_prepare_v2(s->db, "INSERT OR REPLACE INTO dead VALUES (?, ?,"
		    " strftime('%s','now'), ?)", -1, &q, NULL) != SQLITE_OK)
			goto fail;
		sqlite3_bind_int64(q, 1, seq);
		sqlite3_bind_text(q, 2, reporter, -1, SQLITE_STATIC);
		sqlite3_bind_text(q, 3, error ? error : "", -1, SQLITE_STATIC);
		int rc = sqlite3_step(q);
		sqlite3_finalize(q);
		if (rc != SQLITE_DONE)
			goto fail;
	}
	if (sqlite3_prepare_v2(s->db, "UPDATE outbox SET seq = ?, attempts = ?, next_at = ?,"
	    " last_error = ? WHERE reporter = ?", -1, &q, NULL) != SQLITE_OK)
		goto fail;
	sqlite3_bind_int64(q, 1, seq);
	sqlite3_bind_int(q, 2, attempts);
	sqlite3_bind_double(q, 3, next_at);
	if (error)
		sqlite3_bind_text(q, 4, error, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 5, reporter, -1, SQLITE_STATIC);
	int rc = sqlite3_step(q);
	sqlite3_finalize(q);
	if (rc != SQLITE_DONE)
		goto fail;
	/* an event every reporter is past is delivered */
	if (exec(s, "UPDATE events SET delivered = 1 WHERE delivered = 0 AND seq <="
	    " (SELECT coalesce(min(seq), 0) FROM outbox)") < 0)
		goto fail;
	return exec(s, "COMMIT");
fail:
	exec(s, "ROLLBACK");
	return -1;
}

void
store_event_clear(struct store_event *ev)
{
	free(ev->doc);
	ev->doc = NULL;
}

int
store_outbox_bound(struct store *s, const char *reporter, uint64_t max, double max_age,
    double now, long *dropped)
{
	sqlite3_stmt *q;
	int64_t cur = 0, to = 0;

	*dropped = 0;
	if (store_commit(s) < 0)
		return -1;
	/* the newest event that must go: the max-th from the end, or the
	 * newest one older than max_age */
	if (sqlite3_prepare_v2(s->db, "SELECT o.seq, max(coalesce((SELECT seq FROM events"
	    " WHERE seq > o.seq ORDER BY seq DESC LIMIT 1 OFFSET ?), 0), coalesce((SELECT"
	    " max(seq) FROM events WHERE seq > o.seq AND at < ?), 0)) FROM outbox o"
	    " WHERE o.reporter = ?", -1, &q, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_int64(q, 1, max > INT64_MAX ? INT64_MAX : (int64_t)max);
	sqlite3_bind_double(q, 2, now - max_age);
	sqlite3_bind_text(q, 3, reporter, -1, SQLITE_STATIC);
	if (sqlite3_step(q) == SQLITE_ROW) {
		cur = sqlite3_column_int64(q, 0);
		to = sqlite3_column_int64(q, 1);
	}
	sqlite3_finalize(q);
	if (to <= cur)
		return 0;
	if (sqlite3_prepare_v2(s->db, "SELECT count(*) FROM events WHERE seq > ? AND seq <= ?",
	    -1, &q, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_int64(q, 1, cur);
	sqlite3_bind_int64(q, 2, to);
	if (sqlite3_step(q) == SQLITE_ROW)
		*dropped = sqlite3_column_int(q, 0);
	sqlite3_finalize(q);
	if (sync_mode(s, 1) < 0 || exec(s, "BEGIN IMMEDIATE") < 0)
		return -1;
	if (sqlite3_prepare_v2(s->db, "UPDATE outbox SET seq = ?, attempts = 0, next_at = 0,"
	    " dropped = dropped + ? WHERE reporter = ?", -1, &q, NULL) != SQLITE_OK)
		goto fail;
	sqlite3_bind_int64(q, 1, to);
	sqlite3_bind_int64(q, 2, *dropped);
	sqlite3_bind_text(q, 3, reporter, -1, SQLITE_STATIC);
	int rc = sqlite3_step(q);
	sqlite3_finalize(q);
	if (rc != SQLITE_DONE || exec(s, "UPDATE events SET delivered = 1 WHERE delivered = 0 AND"
	    " seq <= (SELECT coalesce(min(seq), 0) FROM outbox)") < 0)
		goto fail;
	return exec(s, "COMMIT");
fail:
	exec(s, "ROLLBACK");
	return -1;
}

int
store_cursors_keep(struct store *s, const char *const *names, size_t n)
{
	sqlite3_stmt *q, *d;
	int rc = 0;

	if (store_commit(s) < 0)
		return -1;
	if (sqlite3_prepare_v2(s->db, "SELECT reporter FROM outbox", -1, &q, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_prepare_v2(s->db, "DELETE FROM outbox WHERE reporter = ?", -1, &d, NULL) != SQLITE_OK) {
		sqlite3_finalize(q);
		return -1;
	}
	while (rc == 0 && sqlite3_step(q) == SQLITE_ROW) {
		const char *r = (const char *)sqlite3_column_text(q, 0);
		size_t i;
		for (i = 0; i < n && strcmp(names[i], r) != 0; i++)
			;
		if (i < n)
			continue;
		log_info("reporter \"%s\" is no longer configured: its place in the outbox is forgotten", r);
		sqlite3_bind_text(d, 1, r, -1, SQLITE_TRANSIENT);
		if (sqlite3_step(d) != SQLITE_DONE)
			rc = -1;
		sqlite3_reset(d);
	}
	sqlite3_finalize(q);
	sqlite3_finalize(d);
	return rc;
}

int
store_each_active(struct store *s, double resolved_after,
    void (*fn)(const struct store_active *a, void *ud), void *ud)
{
	sqlite3_stmt *q;

	if (store_commit(s) < 0)
		return -1;
	/* firing now; then resolved lately and not firing again */
	if (sqlite3_prepare_v2(s->db, "SELECT check_name, status, since_ms / 1000.0, 0,"
	    " coalesce(last_summary, '') FROM alerts WHERE state = 2 UNION ALL"
	    " SELECT e.check_name, e.previous, coalesce(e.since, e.at), e.at, e.summary FROM events e"
	    " WHERE e.kind = 'resolve' AND e.at > ? AND e.seq = (SELECT max(seq) FROM events"
	    " WHERE kind = 'resolve' AND check_name = e.check_name) AND NOT EXISTS (SELECT 1"
	    " FROM alerts a WHERE a.check_name = e.check_name AND a.state = 2)",
	    -1, &q, NULL) != SQLITE_OK) {
		log_error("%s: %s", s->path, sqlite3_errmsg(s->db));
		return -1;
	}
	sqlite3_bind_double(q, 1, resolved_after);
	while (sqlite3_step(q) == SQLITE_ROW) {
		struct store_active a = { .check = (const char *)sqlite3_column_text(q, 0),
		    .status = (enum status)sqlite3_column_int(q, 1),
		    .since = sqlite3_column_double(q, 2), .ended = sqlite3_column_double(q, 3),
		    .summary = (const char *)sqlite3_column_text(q, 4) };
		fn(&a, ud);
	}
	sqlite3_finalize(q);
	return 0;
}

long
store_dropped(struct store *s)
{
	sqlite3_stmt *q;
	long n = 0;

	if (sqlite3_prepare_v2(s->db, "SELECT coalesce(sum(dropped), 0) FROM outbox", -1, &q,
	    NULL) != SQLITE_OK)
		return 0;
	if (sqlite3_step(q) == SQLITE_ROW)
		n = sqlite3_column_int(q, 0);
	sqlite3_finalize(q);
	return n;
}
