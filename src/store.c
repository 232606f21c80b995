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
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "clock.h"
#include "log.h"
#include "mem.h"
#include "json.h"
#include "file.h"
#include "store.h"

#include "store_int.h"

double
store_now_s(void)
{
	return clock_real();
}

/* One table: SQLite's result codes as the operator reads them.  Only the
 * corrupt ones make a state file "corrupt"; every other is passing. */
static const struct {
	int code;
	const char *cause;
	int corrupt;
} causes[] = {
	{ SQLITE_FULL, "disk full", 0 },
	{ SQLITE_READONLY, "read-only", 0 },
	{ SQLITE_IOERR, "I/O error", 0 },
	{ SQLITE_BUSY, "busy", 0 },
	{ SQLITE_LOCKED, "locked", 0 },
	{ SQLITE_CANTOPEN, "cannot open", 0 },
	{ SQLITE_NOMEM, "out of memory", 0 },
	{ SQLITE_PERM, "permission denied", 0 },
	{ SQLITE_CORRUPT, "corrupt", 1 },
	{ SQLITE_NOTADB, "not a database", 1 },
};

static const char *
cause_of(int code, int *corrupt)
{
	int primary = code & 0xff;
	for (size_t i = 0; i < sizeof causes / sizeof causes[0]; i++)
		if (causes[i].code == primary) {
			if (corrupt)
				*corrupt = causes[i].corrupt;
			return causes[i].cause;
		}
	if (corrupt)
		*corrupt = 0;
	return sqlite3_errstr(code);
}

/* The disk refused a write: noted and logged once, until it takes one. */
void
store_note_error(struct store *s)
{
	int code = s->db != NULL ? sqlite3_extended_errcode(s->db) : SQLITE_CANTOPEN;
	int sys = s->db != NULL ? sqlite3_system_errno(s->db) : 0;
	/* an I/O error is often the disk being full or read-only: say so */
	const char *c = sys == ENOSPC || sys == EDQUOT ? "disk full" : sys == EROFS ? "read-only" :
	    cause_of(code, NULL);

	if (s->cause[0] == '\0') {
		s->cause_since = store_now_s();
		log_error("%s: %s (%s); results and events are held in memory and delivered"
		    " from there until it takes them", s->path, c,
		    s->db != NULL ? sqlite3_errmsg(s->db) : "not open");
	}
	snprintf(s->cause, sizeof s->cause, "%s", c);
}

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

/* v4: log.count {new = true} cursors, so a restart counts on from where
 * the last recorded run stopped (written with that run). */
static const char *const schema_v4[] = {
	"CREATE TABLE IF NOT EXISTS log_cursors (check_name TEXT NOT NULL, path TEXT NOT NULL,"
	" dev TEXT NOT NULL, ino TEXT NOT NULL, off TEXT NOT NULL,"
	" PRIMARY KEY (check_name, path)) WITHOUT ROWID",
	NULL,
};

/* v5: quiet time.  Silences (drishti silence add), an alert owed to the
 * receivers because it fired while silenced, a note on a check (blocked by
 * a dependency, silenced until ...), and events recorded but not delivered
 * (muted: the silence or window that held them). */
static const char *const schema_v5[] = {
	"ALTER TABLE alerts ADD COLUMN owed INTEGER NOT NULL DEFAULT 0",
	"ALTER TABLE alerts ADD COLUMN note TEXT",
	"ALTER TABLE alerts ADD COLUMN next_at REAL",
	"ALTER TABLE events ADD COLUMN muted TEXT",
	"CREATE TABLE IF NOT EXISTS silences (id INTEGER PRIMARY KEY, pattern TEXT NOT NULL,"
	" reason TEXT NOT NULL, created REAL NOT NULL, ends REAL NOT NULL, removed REAL,"
	" announced INTEGER NOT NULL DEFAULT 0)",
	NULL,
};

/* v6: history written where the new rows are, not once per check.  An
 * index or key led by the check put each check's new run, and its hour's
 * roll-up row, in a leaf page of its own (among that check's past rows):
 * every commit wrote a page per check that ran, twice (the checkpoint),
 * two thirds of the state role's CPU at 100 checks a second, growing with
 * the history.  Now runs are indexed by time (the check and status beside
 * it, so a count never reads the table) and roll-ups keyed by hour first:
 * every new run lands in the last leaf, and the current hour's roll-ups
 * share a few pages.  The check-first index on roll-ups is written once per
 * check and hour, when the row is made.  A check's counts read the whole
 * hours of a window from its roll-ups and only the partial hours at its
 * ends from the runs (store_history.c's counts), so a query scans at most
 * two hours of runs.  The roll-ups are copied in key order (the sort goes
 * to a temporary file beside the state file: temp_beside). */
static const char *const schema_v6[] = {
	"DROP INDEX IF EXISTS runs_check_ts",
	"DROP INDEX IF EXISTS runs_ts",
	"CREATE INDEX IF NOT EXISTS runs_ts_check ON runs(ts, check_name, status)",
	"CREATE TABLE rollups_v6 (kind INTEGER NOT NULL, name TEXT NOT NULL,"
	" hour INTEGER NOT NULL, n INTEGER NOT NULL, ok INTEGER NOT NULL, warn INTEGER NOT NULL,"
	" crit INTEGER NOT NULL, unknown INTEGER NOT NULL, sum REAL NOT NULL, min REAL NOT NULL,"
	" max REAL NOT NULL, hist BLOB, PRIMARY KEY (hour, kind, name)) WITHOUT ROWID",
	"INSERT INTO rollups_v6 SELECT kind, name, hour, n, ok, warn, crit, unknown, sum, min, max,"
	" hist FROM rollups ORDER BY hour, kind, name",
	"DROP TABLE rollups",
	"ALTER TABLE rollups_v6 RENAME TO rollups",
	"CREATE INDEX rollups_name ON rollups(kind, name, hour)",
	NULL,
};

/* Forward migrations: migrations[v] takes a version-v file to v+1. */
static const char *const *const migrations[] = { schema_v1, schema_v2, schema_v3, schema_v4,
	schema_v5, schema_v6 };

int
store_exec(struct store *s, const char *sql)
{
	char *msg = NULL;

	if (s->db == NULL)
		return -1;
	if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		/* logged once by the caller (note_error), not on every retry */
		log_debug("%s: %s (in: %.60s)", s->path, msg ? msg : sqlite3_errmsg(s->db), sql);
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
		if (store_exec(s, "BEGIN IMMEDIATE") < 0)
			goto fail;
		char sql[128];
		snprintf(sql, sizeof sql, "INSERT OR REPLACE INTO meta VALUES ('schema', '%d')", v + 1);
		for (const char *const *q = migrations[v]; *q != NULL; q++)
			if (store_exec(s, *q) < 0)
				goto undo;
		if (store_exec(s, sql) < 0 || store_exec(s, "COMMIT") < 0)
			goto undo;
	}
	return 0;
undo:
	/* the cause before ROLLBACK clears it */
	snprintf(err, errlen, "%s: cannot bring the schema to version %d: %s", s->path, v + 1,
	    sqlite3_errmsg(s->db));
	store_exec(s, "ROLLBACK");
	return -1;
fail:
	snprintf(err, errlen, "%s: cannot bring the schema to version %d: %s", s->path, v + 1,
	    sqlite3_errmsg(s->db));
	return -1;
}

/* the state file's directory, made as needed */
static int
mkdirs(const char *path)
{
	char d[PATH_MAX];
	snprintf(d, sizeof d, "%s", path);
	char *slash = strrchr(d, '/');
	if (slash == NULL || slash == d)
		return 0;
	*slash = '\0';
	return file_mkdirs(d, 0750);
}

/* SQLite's allocator: the hot path's (mem.c) where that is one of its own.
 * A page split (balance_nonroot) borrows a scratch buffer of a few pages
 * and gives it back at once; on musl's malloc each such free was a madvise
 * and a TLB flush, hundreds a second at a thousand checks a second.  The
 * size goes in a header before the block, as SQLite's own malloc wrapper
 * does where the C library cannot tell a block's size. */
#define SQL_HDR 8

static void *
sql_malloc(int n)
{
	int64_t *p = mem_alloc((size_t)n + SQL_HDR);
	if (p == NULL)
		return NULL;
	p[0] = n;
	return p + 1;
}

static void
sql_free(void *p)
{
	if (p != NULL)
		mem_free((int64_t *)p - 1);
}

static void *
sql_realloc(void *p, int n)
{
	int64_t *q = mem_realloc((int64_t *)p - 1, (size_t)n + SQL_HDR);
	if (q == NULL)
		return NULL;
	q[0] = n;
	return q + 1;
}

static int
sql_size(void *p)
{
	return p != NULL ? (int)((int64_t *)p)[-1] : 0;
}

static int
sql_roundup(int n)
{
	return (n + 7) & ~7;
}

static int
sql_init(void *ud)
{
	(void)ud;
	return SQLITE_OK;
}

static void
sql_shutdown(void *ud)
{
	(void)ud;
}

/* once per process, before SQLite's first use (sqlite3_config's rule) */
static void
sql_setup(void)
{
	static bool done;
	static const sqlite3_mem_methods m = { sql_malloc, sql_free, sql_realloc,
	    sql_size, sql_roundup, sql_init, sql_shutdown, NULL };

	if (done)
		return;
	done = true;
	if (mem_own() && sqlite3_config(SQLITE_CONFIG_MALLOC, &m) != SQLITE_OK)
		log_warn("sqlite: keeps its own allocator");
	/* Each page cache (the file's, and each sort's or temporary table's)
	 * began with one block for 20 pages, 87 KiB, whose every page SQLite
	 * writes a header into: resident at once, and a query with a
	 * temporary b-tree made one each time.  Pages one by one instead. */
	if (sqlite3_config(SQLITE_CONFIG_PAGECACHE, NULL, 0, 0) != SQLITE_OK)
		log_warn("sqlite: keeps its bulk page cache");
}

/* SQLite's temporary files (a sort too big for memory: an index built by a
 * migration, a large query) go beside the state file, the one directory
 * the state role may write (its sandbox); /var/tmp and /tmp are not
 * reachable there, and the sort failed.  Set once, before the first
 * connection (sqlite3_temp_directory's rule), in a buffer SQLite never
 * frees. */
static void
temp_beside(const char *path)
{
	static char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');

	if (sqlite3_temp_directory != NULL)
		return;
	if (slash == NULL)
		snprintf(dir, sizeof dir, ".");
	else if (slash == path)
		snprintf(dir, sizeof dir, "/");
	else
		snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
	sqlite3_temp_directory = dir;
}

/* 0: open; -2: the file is corrupt (SQLite's corruption codes, or a
 * quick_check that finds damage); -1: a passing error (full, I/O, read-only,
 * busy ...): never a reason to move a good file aside. */
static int
try_open(struct store *s, bool readonly, bool immutable, char *err, size_t errlen)
{
	int flags = readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
	char uri[PATH_MAX + 32];
	int corrupt, rc;

	if (immutable) {
		/* a read-only disk with no -shm beside the file: read it as it is */
		snprintf(uri, sizeof uri, "file:%s?immutable=1", s->path);
		flags |= SQLITE_OPEN_URI;
	}
	sql_setup();
	temp_beside(s->path);
	rc = sqlite3_open_v2(immutable ? uri : s->path, &s->db, flags | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", s->path, s->db ? sqlite3_errmsg(s->db) : "cannot open");
		cause_of(rc, &corrupt);
		goto fail;
	}
	sqlite3_busy_timeout(s->db, 2000);
	if (readonly)
		return 0;
	/* a file that is not a database fails here already */
	sqlite3_stmt *st;
	rc = sqlite3_prepare_v2(s->db, "PRAGMA quick_check", -1, &st, NULL);
	if (rc == SQLITE_OK) {
		rc = sqlite3_step(st);
		const char *r = rc == SQLITE_ROW ? (const char *)sqlite3_column_text(st, 0) : NULL;
		if (r != NULL && strcmp(r, "ok") != 0) {
			snprintf(err, errlen, "%s: quick_check: %s", s->path, r);
			sqlite3_finalize(st);
			corrupt = 1;
			goto fail;
		}
		rc = r != NULL ? SQLITE_OK : sqlite3_errcode(s->db);
		sqlite3_finalize(st);
	}
	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", s->path, sqlite3_errmsg(s->db));
		cause_of(sqlite3_extended_errcode(s->db), &corrupt);
		goto fail;
	}
	if (store_exec(s, "PRAGMA journal_mode=WAL") < 0 || store_exec(s, "PRAGMA synchronous=NORMAL") < 0) {
		snprintf(err, errlen, "%s: %s", s->path, sqlite3_errmsg(s->db));
		cause_of(sqlite3_extended_errcode(s->db), &corrupt);
		goto fail;
	}
	s->full = 0;
	return 0;
fail:
	if (!readonly)
		store_note_error(s);
	sqlite3_close_v2(s->db);
	s->db = NULL;
	return corrupt ? -2 : -1;
}

static void
finalize_all(struct store *s)
{
	sqlite3_stmt **st[] = { &s->ins_run, &s->ins_sample, &s->get_roll, &s->put_roll,
	    &s->upd_roll, &s->put_alert, &s->upd_alert, &s->get_alert, &s->ins_event,
	    &s->next_event, &s->silences };
	for (size_t i = 0; i < sizeof st / sizeof st[0]; i++) {
		sqlite3_finalize(*st[i]);
		*st[i] = NULL;
	}
}

sqlite3_stmt *
store_stmt(struct store *s, sqlite3_stmt **st, const char *sql)
{
	if (s->db == NULL || (*st == NULL && prep(s, st, sql) < 0))
		return NULL;
	sqlite3_reset(*st);
	sqlite3_clear_bindings(*st);
	return *st;
}

/* The statements and the connection, gone (to reopen or to close). */
static void roll_cache_clear(struct store *s);

static void
db_close(struct store *s)
{
	roll_cache_clear(s);
	finalize_all(s);
	sqlite3_close_v2(s->db);
	s->db = NULL;
}

static int
prepare_all(struct store *s)
{
	if (prep(s, &s->ins_run, "INSERT INTO runs (check_name, ts, status, duration, summary)"
	    " VALUES (?, ?, ?, ?, ?)") < 0 ||
	    prep(s, &s->ins_sample, "INSERT INTO samples (check_name, metric, ts, value, unit)"
	    " VALUES (?, ?, ?, ?, ?)") < 0 ||
	    prep(s, &s->get_roll, "SELECT n, ok, warn, crit, unknown, sum, min, max, hist FROM rollups"
	    " WHERE kind = ? AND name = ? AND hour = ?") < 0 ||
	    prep(s, &s->put_roll, "INSERT OR REPLACE INTO rollups VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)") < 0 ||
	    /* a row that exists is updated in place: a REPLACE deletes and
	     * inserts it again in each of its b-trees */
	    prep(s, &s->upd_roll, "UPDATE rollups SET n = ?4, ok = ?5, warn = ?6, crit = ?7,"
	    " unknown = ?8, sum = ?9, min = ?10, max = ?11, hist = ?12"
	    " WHERE kind = ?1 AND name = ?2 AND hour = ?3") < 0 ||
	    prep(s, &s->upd_alert, "UPDATE alerts SET state = ?2, status = ?3, since_ms = ?4,"
	    " fail_since_ms = ?5, fails = ?6, passes = ?7, history = ?8, nhistory = ?9,"
	    " notified_ms = ?10, last_status = ?11, last_summary = ?12, last_ts = ?13,"
	    " last_duration = ?14, owed = ?15, note = ?16, next_at = ?17 WHERE check_name = ?1") < 0 ||
	    prep(s, &s->put_alert, "INSERT OR REPLACE INTO alerts (check_name, state, status,"
	    " since_ms, fail_since_ms, fails, passes, history, nhistory, notified_ms, last_status,"
	    " last_summary, last_ts, last_duration, owed, note, next_at)"
	    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)") < 0 ||
	    prep(s, &s->get_alert, "SELECT state, status, since_ms, fail_since_ms, fails, passes,"
	    " history, nhistory, notified_ms, owed FROM alerts WHERE check_name = ?") < 0 ||
	    prep(s, &s->ins_event, "INSERT INTO events (seq, id, kind, check_name, status, previous,"
	    " summary, since, at, metrics, doc, muted) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)") < 0 ||
	    prep(s, &s->next_event, STORE_NEXT_EVENT) < 0 ||
	    prep(s, &s->silences, STORE_SILENCES) < 0) {
		finalize_all(s);
		return -1;
	}
	return 0;
}

/* Events are numbered by us, not by SQLite, so an event held in memory has
 * its final seq already; never below a seq a cursor has passed. */
static void
seq_from_file(struct store *s)
{
	sqlite3_stmt *q;
	if (s->db == NULL || sqlite3_prepare_v2(s->db, "SELECT max(coalesce((SELECT max(seq)"
	    " FROM events), 0), coalesce((SELECT max(seq) FROM outbox), 0))", -1, &q,
	    NULL) != SQLITE_OK)
		return;
	if (sqlite3_step(q) == SQLITE_ROW) {
		int64_t m = sqlite3_column_int64(q, 0) + 1;
		if (m > s->next_seq)
			s->next_seq = m;
	}
	sqlite3_finalize(q);
}

/* The file cannot be written now: read what it holds (alert states,
 * cursors, history), read-only, so the agent goes on from where it was. */
static void
open_read_only(struct store *s)
{
	char e[512];
	if (try_open(s, true, false, e, sizeof e) < 0 || prepare_all(s) < 0) {
		db_close(s);
		if (try_open(s, true, true, e, sizeof e) < 0 || prepare_all(s) < 0)
			db_close(s);
	}
	if (s->db != NULL)
		seq_from_file(s);
	s->rw = 0;
}

/* Read-write, schema current, statements ready; 0 / -1 / -2 (corrupt). */
static int
open_rw(struct store *s, char *err, size_t errlen)
{
	int rc = try_open(s, false, false, err, errlen);
	if (rc < 0)
		return rc;
	if (rc = migrate(s, err, errlen), rc < 0 || prepare_all(s) < 0) {
		if (rc == 0 && s->db != NULL)
			snprintf(err, errlen, "%s: %s", s->path, sqlite3_errmsg(s->db));
		store_note_error(s);
		db_close(s);
		return -1;
	}
	seq_from_file(s);
	s->rw = 1;
	return 0;
}

/* Tries read-write again (flush decides when). */
static int
reopen(struct store *s)
{
	char err[512];

	db_close(s);
	if (open_rw(s, err, sizeof err) == 0)
		return 0;
	open_read_only(s);
	return -1;
}

int store_flush(struct store *s);
static void queue_clear(struct store *s);

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
	s->next_seq = 1;
	if (readonly) {
		if (try_open(s, true, false, err, errlen) < 0)
			goto fail;
		s->cause[0] = '\0';
		*out = s;
		return 0;
	}
	if (mkdirs(path) < 0) {
		snprintf(err, errlen, "%s: cannot make its directory: %s", path, strerror(errno));
		goto fail;
	}
	int rc = open_rw(s, err, errlen);
	if (rc == -2) {
		/* only real corruption: keep the bad file for a post-mortem */
		char aside[PATH_MAX + 32];
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
		s->cause[0] = '\0';
		rc = open_rw(s, err, errlen);
	}
	if (rc < 0) {
		/* a passing error: run on, read-only or from memory, and retry */
		open_read_only(s);
		s->retry_wait = 1;
		s->retry_at = store_now_s() + 1;
	}
	*out = s;
	return 0;
fail:
	store_close(s);
	return -1;
}

int
store_lock(const char *path, int *fd, char *err, size_t errlen)
{
	char lp[PATH_MAX + 8];
	int rw = 1;

	*fd = -1;
	snprintf(lp, sizeof lp, "%s.lock", path);
	mkdirs(path);
	int f = open(lp, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640);
	if (f < 0) {
		/* a read-only or full disk: lock what is there */
		rw = 0;
		f = open(lp, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		if (f < 0)
			f = open(path, O_RDONLY | O_CLOEXEC);
		if (f < 0) {
			snprintf(err, errlen, "%s: cannot make or open a lock file: %s", lp,
			    strerror(errno));
			return -1;
		}
	}
	if (flock(f, LOCK_EX | LOCK_NB) < 0) {
		int e = errno;
		char buf[32] = "";
		ssize_t n = pread(f, buf, sizeof buf - 1, 0);
		close(f);
		if (e == EWOULDBLOCK) {
			long pid = n > 0 ? strtol(buf, NULL, 10) : 0;
			if (pid > 0)
				snprintf(err, errlen, "%s: another agent (pid %ld) is running on this"
				    " state file", path, pid);
			else
				snprintf(err, errlen, "%s: another agent is running on this state file",
				    path);
			return -2;
		}
		snprintf(err, errlen, "%s: cannot lock: %s", lp, strerror(e));
		return -1;
	}
	if (rw) {
		/* the pid, and room for store_note written now, while there is
		 * space: later notes overwrite these bytes in place */
		char buf[LOCK_NOTE];
		memset(buf, ' ', sizeof buf);
		int n = snprintf(buf, sizeof buf, "%ld\nok\n", (long)getpid());
		buf[n] = ' ';
		buf[sizeof buf - 1] = '\n';
		if (ftruncate(f, 0) < 0 || pwrite(f, buf, sizeof buf, 0) != (ssize_t)sizeof buf)
			log_warn("%s: cannot write our pid into it: %s", lp, strerror(errno));
	}
	*fd = f;
	return 0;
}

void
store_note(int fd, const struct store *s)
{
	char buf[LOCK_NOTE];
	int n;

	if (fd < 0)
		return;
	memset(buf, ' ', sizeof buf);
	if (s->cause[0] == '\0')
		n = snprintf(buf, sizeof buf, "%ld\nok\n", (long)getpid());
	else {
		char when[32];
		time_t t = (time_t)s->cause_since;
		struct tm tm;
		localtime_r(&t, &tm);
		strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", &tm);
		n = snprintf(buf, sizeof buf, "%ld\n%s since %s, %zu record%s held in memory\n",
		    (long)getpid(), s->cause, when, s->nqueue, s->nqueue == 1 ? "" : "s");
	}
	if (n > 0 && n < (int)sizeof buf)
		buf[n] = ' ';
	buf[sizeof buf - 1] = '\n';
	if (pwrite(fd, buf, sizeof buf, 0) < 0)
		log_debug("%s.lock: %s", s->path, strerror(errno));
}

int
store_agent(const char *path, long *pid, char *note, size_t len)
{
	char lp[PATH_MAX + 8], buf[LOCK_NOTE + 1];
	snprintf(lp, sizeof lp, "%s.lock", path);
	int f = open(lp, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);

	*pid = 0;
	snprintf(note, len, "%s", "");
	if (f < 0)
		return 0;
	if (flock(f, LOCK_SH | LOCK_NB) == 0) {
		close(f);           /* nobody holds it: no agent runs */
		return 0;
	}
	ssize_t n = pread(f, buf, sizeof buf - 1, 0);
	close(f);
	buf[n > 0 ? n : 0] = '\0';
	char *nl = strchr(buf, '\n');
	*pid = strtol(buf, NULL, 10);
	if (nl != NULL) {
		char *end = strchr(nl + 1, '\n');
		if (end != NULL)
			*end = '\0';
		snprintf(note, len, "%s", nl + 1);
	}
	return 1;
}

const char *
store_trouble(const struct store *s, double *since, size_t *held)
{
	if (since != NULL)
		*since = s->cause_since;
	if (held != NULL)
		*held = s->nqueue;
	return s->cause[0] != '\0' ? s->cause : NULL;
}

void
store_close(struct store *s)
{
	if (s == NULL)
		return;
	if (s->db != NULL && s->qhead != NULL && store_flush(s) < 0)
		log_error("%s: %s; %zu record%s held in memory could not be written", s->path,
		    s->cause, s->nqueue, s->nqueue == 1 ? "" : "s");
	queue_clear(s);
	db_close(s);
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

double
store_hist_value(int b)
{
	if (b == 0)
		return 0;
	/* the middle of the bucket, geometrically */
	return HIST_FLOOR * pow(HIST_BASE, b - 1) * sqrt(HIST_BASE);
}

/* sparse: (u8 bucket, u32 count) pairs */
void
store_hist_decode(const unsigned char *blob, int len, uint32_t *h)
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

/* The roll-up row a run adds to is the one the last run of the same check
 * (or metric) wrote, an hour long: its counts and histogram are kept here,
 * so a run costs the row's UPDATE alone, not a SELECT and a histogram
 * decode first (a third of a routine run's cost in the store).  An entry
 * is what the file holds only while the transactions that wrote it
 * committed: a failed one clears them all (roll_cache_clear), as does a
 * connection closed or opened again.  An UPDATE that finds no row (the
 * file changed under us) drops the entry and reads the row.  Bounded: at
 * ROLL_CACHE_MAX names (a rule inventing metric names) it starts afresh. */
#define ROLL_CACHE_MAX 4096

struct roll_entry {
	char    *name;              /* NULL: a free place */
	int      kind;
	int64_t  hour;
	int64_t  n, cnt[4];
	double   sum, mn, mx;
	unsigned char *hist;        /* hist_encode's sparse form */
	int      hlen;
};

static void
roll_cache_clear(struct store *s)
{
	for (size_t i = 0; i < s->caproll; i++) {
		free(s->roll[i].name);
		free(s->roll[i].hist);
	}
	free(s->roll);
	s->roll = NULL;
	s->nroll = s->caproll = 0;
}

static size_t
roll_hash(int kind, const char *name)
{
	size_t h = 2166136261u ^ (size_t)kind;
	for (const unsigned char *p = (const unsigned char *)name; *p; p++)
		h = (h ^ *p) * 16777619u;
	return h;
}

/* The entry of (kind, name): found, or a free place for it (name NULL);
 * NULL when the table cannot grow. */
static struct roll_entry *
roll_slot(struct store *s, int kind, const char *name)
{
	if (s->nroll + 1 > s->caproll / 2) {
		if (s->nroll >= ROLL_CACHE_MAX)
			roll_cache_clear(s);
		size_t cap = s->caproll ? s->caproll * 2 : 64;
		struct roll_entry *t = calloc(cap, sizeof *t);
		if (t == NULL)
			return NULL;
		for (size_t i = 0; i < s->caproll; i++) {
			struct roll_entry *o = &s->roll[i];
			if (o->name == NULL)
				continue;
			size_t j = roll_hash(o->kind, o->name) & (cap - 1);
			while (t[j].name != NULL)
				j = (j + 1) & (cap - 1);
			t[j] = *o;
		}
		free(s->roll);
		s->roll = t;
		s->caproll = cap;
	}
	size_t j = roll_hash(kind, name) & (s->caproll - 1);
	while (s->roll[j].name != NULL && (s->roll[j].kind != kind || strcmp(s->roll[j].name, name) != 0))
		j = (j + 1) & (s->caproll - 1);
	return &s->roll[j];
}

/* One more run in bucket b of a sparse histogram (buckets ascending). */
static int
hist_add(struct roll_entry *e, int b)
{
	int i = 0;
	for (; i + 5 <= e->hlen && e->hist[i] < b; i += 5)
		;
	if (i + 5 <= e->hlen && e->hist[i] == b) {
		uint32_t c;
		memcpy(&c, e->hist + i + 1, 4);
		c++;
		memcpy(e->hist + i + 1, &c, 4);
		return 0;
	}
	unsigned char *h = realloc(e->hist, (size_t)e->hlen + 5);
	if (h == NULL)
		return -1;
	memmove(h + i + 5, h + i, (size_t)(e->hlen - i));
	h[i] = (unsigned char)b;
	memcpy(h + i + 1, &(uint32_t){ 1 }, 4);
	e->hist = h;
	e->hlen += 5;
	return 0;
}

static int
roll_write(sqlite3_stmt *p, int kind, const char *name, const struct roll_entry *e)
{
	sqlite3_bind_int(p, 1, kind);
	sqlite3_bind_text(p, 2, name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(p, 3, e->hour);
	sqlite3_bind_int64(p, 4, e->n);
	for (int i = 0; i < 4; i++)
		sqlite3_bind_int64(p, 5 + i, e->cnt[i]);
	sqlite3_bind_double(p, 9, e->sum);
	sqlite3_bind_double(p, 10, e->mn);
	sqlite3_bind_double(p, 11, e->mx);
	sqlite3_bind_blob(p, 12, e->hist, e->hlen, SQLITE_STATIC);
	int rc = sqlite3_step(p) == SQLITE_DONE ? 0 : -1;
	sqlite3_reset(p);
	return rc;
}

static int
roll(struct store *s, int kind, const char *name, double ts, enum status st, double v)
{
	int64_t hour = (int64_t)floor(ts / 3600);
	int si = st <= ST_UNKNOWN ? (int)st : ST_UNKNOWN;
	struct roll_entry *e = roll_slot(s, kind, name);
	struct roll_entry tmp = { 0 };

	if (e != NULL && e->name != NULL && e->hour == hour) {
		e->n++;
		e->cnt[si]++;
		e->sum += v;
		e->mn = fmin(e->mn, v);
		e->mx = fmax(e->mx, v);
		if (hist_add(e, hist_bucket(v)) == 0) {
			if (roll_write(s->upd_roll, kind, name, e) < 0)
				return -1;
			if (sqlite3_changes(s->db) == 1)
				return 0;
		}
		/* no memory, or no row: the row is read again, and the
		 * table starts afresh (an entry may be wrong now) */
		roll_cache_clear(s);
		e = NULL;
	}
	/* the row as the file holds it, plus this run */
	sqlite3_stmt *g = s->get_roll, *p = s->put_roll;
	uint32_t h[HIST_BUCKETS] = { 0 };
	unsigned char blob[HIST_BUCKETS * 5];

	tmp.hour = hour;
	tmp.mn = tmp.mx = v;
	sqlite3_bind_int(g, 1, kind);
	sqlite3_bind_text(g, 2, name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(g, 3, hour);
	if (sqlite3_step(g) == SQLITE_ROW) {
		p = s->upd_roll;
		tmp.n = sqlite3_column_int64(g, 0);
		for (int i = 0; i < 4; i++)
			tmp.cnt[i] = sqlite3_column_int64(g, 1 + i);
		tmp.sum = sqlite3_column_double(g, 5);
		tmp.mn = fmin(v, sqlite3_column_double(g, 6));
		tmp.mx = fmax(v, sqlite3_column_double(g, 7));
		store_hist_decode(sqlite3_column_blob(g, 8), sqlite3_column_bytes(g, 8), h);
	}
	sqlite3_reset(g);
	tmp.n++;
	tmp.cnt[si]++;
	tmp.sum += v;
	h[hist_bucket(v)]++;
	tmp.hlen = hist_encode(h, blob);
	tmp.hist = blob;
	if (roll_write(p, kind, name, &tmp) < 0)
		return -1;
	/* kept for the next run (the place is looked up again: a cleared
	 * table has none) */
	if (e == NULL)
		e = roll_slot(s, kind, name);
	if (e == NULL)
		return 0;
	unsigned char *hc = malloc((size_t)tmp.hlen + 1);
	char *nc = e->name != NULL ? e->name : strdup(name);
	if (hc == NULL || nc == NULL) {
		free(hc);
		if (e->name == NULL)
			free(nc);
		return 0;
	}
	memcpy(hc, blob, (size_t)tmp.hlen);
	free(e->hist);
	if (e->name == NULL)
		s->nroll++;
	*e = tmp;
	e->name = nc;
	e->kind = kind;
	e->hist = hc;
	return 0;
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

int
store_sync_mode(struct store *s, int full)
{
	if (s->full == full)
		return 0;
	s->full = full;
	return store_exec(s, full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL");
}

static int
step_done(struct store *s, sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc != SQLITE_DONE) {
		log_debug("%s: %s", s->path, sqlite3_errmsg(s->db));
		return -1;
	}
	return 0;
}

/* ---- the write-behind queue ----------------------------------------------------------
 *
 * Nothing the agent decides waits on the disk.  Each run (its result, its
 * alert state, the event it raised) and each agent event or report becomes a
 * record in memory first, its event id and sequence number fixed at once;
 * store_commit writes every queued record in one transaction.  When that
 * fails for a passing reason (disk full, read-only, I/O error, busy), the
 * records stay queued, in order, and are written when the disk takes them:
 * history and the outbox catch up with no duplicate (same ids, same seqs) and
 * no lost transition.  Meanwhile the outbox reads queued events from here
 * (store_event_after), so an alert goes out from memory. */

static void
qrec_free(struct qrec *q)
{
	mem_free(q->check);
	mem_free(q->res);
	mem_free(q->summary);
	mem_free(q->metrics);
	mem_free(q->doc);
	mem_free(q->cursors);
	mem_free(q->note);
	mem_free(q->muted);
	mem_free(q);
}

static void
queue_clear(struct store *s)
{
	while (s->qhead != NULL) {
		struct qrec *q = s->qhead;
		s->qhead = q->next;
		qrec_free(q);
	}
	s->qtail = NULL;
	s->nqueue = 0;
}

static void
queue_push(struct store *s, struct qrec *q)
{
	if (s->nqueue >= STORE_QUEUE_MAX) {
		/* bounded: drop the oldest routine run, never an event or a
		 * transition (those are few) */
		struct qrec *prev = NULL;
		for (struct qrec *old = s->qhead; old != NULL; prev = old, old = old->next) {
			if (old->durable)
				continue;
			*(prev ? &prev->next : &s->qhead) = old->next;
			if (s->qtail == old)
				s->qtail = prev;
			qrec_free(old);
			s->nqueue--;
			s->qdropped++;
			break;
		}
	}
	q->next = NULL;
	if (s->qtail != NULL)
		s->qtail->next = q;
	else
		s->qhead = q;
	s->qtail = q;
	s->nqueue++;
}

static struct qrec *
event_rec(struct store *s, const char *kind, const char *check, enum status st,
    enum status prev, const char *summary, double since, double at, const char *metrics,
    const char *doc)
{
	struct qrec *q = mem_calloc(1, sizeof *q);
	if (q == NULL)
		return NULL;
	q->has_event = 1;
	q->durable = 1;
	new_id(q->id);
	q->seq = s->next_seq++;
	snprintf(q->kind, sizeof q->kind, "%s", kind);
	q->st = st;
	q->prev = prev;
	q->since = since;
	q->at = at;
	if ((check && (q->check = mem_strdup(check)) == NULL) ||
	    (q->summary = mem_strdup(summary ? summary : "")) == NULL ||
	    (metrics && (q->metrics = mem_strdup(metrics)) == NULL) ||
	    (doc && (q->doc = mem_strdup(doc)) == NULL)) {
		qrec_free(q);
		return NULL;
	}
	return q;
}

static int
put_event(struct store *s, const struct qrec *q)
{
	sqlite3_stmt *e = s->ins_event;

	sqlite3_bind_int64(e, 1, q->seq);
	sqlite3_bind_text(e, 2, q->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(e, 3, q->kind, -1, SQLITE_STATIC);
	if (q->check)
		sqlite3_bind_text(e, 4, q->check, -1, SQLITE_STATIC);
	sqlite3_bind_int(e, 5, q->st);
	sqlite3_bind_int(e, 6, q->prev);
	sqlite3_bind_text(e, 7, q->summary, -1, SQLITE_STATIC);
	if (q->since > 0)
		sqlite3_bind_double(e, 8, q->since);
	sqlite3_bind_double(e, 9, q->at);
	if (q->metrics)
		sqlite3_bind_text(e, 10, q->metrics, -1, SQLITE_STATIC);
	if (q->doc)
		sqlite3_bind_text(e, 11, q->doc, -1, SQLITE_STATIC);
	if (q->muted)
		sqlite3_bind_text(e, 12, q->muted, -1, SQLITE_STATIC);
	return step_done(s, e);
}

/* The check's cursors, replaced as a set: [{p, d, i, o}]. */
static int
put_cursors(struct store *s, const char *check, const char *cursors)
{
	char e[128];
	struct json *a = json_parse(cursors, strlen(cursors), e, sizeof e);
	sqlite3_stmt *q = NULL;
	int rc = -1;

	if (a == NULL || json_type(a) != JSON_ARRAY) {
		json_free(a);
		return 0;               /* not ours to fail a run over */
	}
	if (sqlite3_prepare_v2(s->db, "INSERT OR REPLACE INTO log_cursors VALUES (?, ?, ?, ?, ?)",
	    -1, &q, NULL) != SQLITE_OK)
		goto out;
	for (const struct json *o = json_child(a); o != NULL; o = json_next(o)) {
		static const char *const keys[] = { "p", "d", "i", "o" };
		sqlite3_bind_text(q, 1, check, -1, SQLITE_STATIC);
		for (int k = 0; k < 4; k++) {
			const struct json *v = json_get(o, keys[k]);
			if (v == NULL || json_type(v) != JSON_STRING)
				goto next;
			sqlite3_bind_text(q, 2 + k, json_string(v), -1, SQLITE_TRANSIENT);
		}
		if (step_done(s, q) < 0)
			goto out;
		continue;
next:
		sqlite3_reset(q);
		sqlite3_clear_bindings(q);
	}
	rc = 0;
out:
	sqlite3_finalize(q);
	json_free(a);
	return rc;
}

/* a check's alerts row: its alert state and its last run (`drishti status`) */
static void
bind_alert(sqlite3_stmt *q, const struct qrec *qr)
{
	const struct alert *a = &qr->alert;
	const struct result *r = qr->res;

	sqlite3_bind_text(q, 1, qr->check, -1, SQLITE_STATIC);
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
	sqlite3_bind_double(q, 13, r->started);
	sqlite3_bind_double(q, 14, r->duration);
	sqlite3_bind_int(q, 15, a->owed);
	if (qr->note != NULL)
		sqlite3_bind_text(q, 16, qr->note, -1, SQLITE_STATIC);
	if (qr->next_at > 0)
		sqlite3_bind_double(q, 17, qr->next_at);
}

static int
put_run(struct store *s, const struct qrec *qr)
{
	const struct result *r = qr->res;
	const char *check = qr->check;
	double ts = r->started;
	sqlite3_stmt *q = s->ins_run;

	if (qr->alert_only)
		goto alert;
	sqlite3_bind_text(q, 1, check, -1, SQLITE_STATIC);
	sqlite3_bind_double(q, 2, ts);
	sqlite3_bind_int(q, 3, r->status);
	sqlite3_bind_double(q, 4, r->duration);
	sqlite3_bind_text(q, 5, r->summary, -1, SQLITE_STATIC);
	if (step_done(s, q) < 0 || roll(s, RK_CHECK, check, ts, r->status, r->duration) < 0)
		return -1;
	for (int i = 0; i < r->nmetrics; i++) {
		const struct metric *m = &r->metrics[i];
		q = s->ins_sample;
		sqlite3_bind_text(q, 1, check, -1, SQLITE_STATIC);
		sqlite3_bind_text(q, 2, m->name, -1, SQLITE_STATIC);
		sqlite3_bind_double(q, 3, ts);
		sqlite3_bind_double(q, 4, m->value);
		sqlite3_bind_text(q, 5, m->unit, -1, SQLITE_STATIC);
		if (step_done(s, q) < 0 || roll(s, RK_METRIC, m->name, ts, ST_OK, m->value) < 0)
			return -1;
	}
alert:
	/* the row is there after a check's first run: updated in place */
	bind_alert(s->upd_alert, qr);
	if (step_done(s, s->upd_alert) < 0)
		return -1;
	if (sqlite3_changes(s->db) == 0) {
		bind_alert(s->put_alert, qr);
		if (step_done(s, s->put_alert) < 0)
			return -1;
	}
	return qr->cursors != NULL ? put_cursors(s, check, qr->cursors) : 0;
}

/* Writes every queued record in one transaction (fsynced when one of them
 * is durable).  0, or -1 with the records kept and the cause noted. */
int
store_flush(struct store *s)
{
	if (s->qhead == NULL)
		return 0;
	/* in trouble: try again with backoff (1 s doubling to 30 s), not on
	 * every run; the records wait in memory meanwhile */
	if (s->cause[0] != '\0' && store_now_s() < s->retry_at)
		return -1;
	if (!s->rw && reopen(s) < 0)
		goto later;
	int full = 0;
	for (struct qrec *q = s->qhead; q != NULL; q = q->next)
		full |= q->durable;
	if (store_sync_mode(s, full) < 0 || store_exec(s, "BEGIN IMMEDIATE") < 0)
		goto fail;
	for (struct qrec *q = s->qhead; q != NULL; q = q->next)
		if ((q->res != NULL && put_run(s, q) < 0) || (q->has_event && put_event(s, q) < 0))
			goto fail;
	if (store_exec(s, "COMMIT") < 0)
		goto fail;
	size_t n = s->nqueue;
	queue_clear(s);
	if (s->cause[0] != '\0') {
		log_info("%s: writable again (%s since %.0f s ago); %zu held record%s written%s",
		    s->path, s->cause, store_now_s() - s->cause_since, n, n == 1 ? "" : "s",
		    s->qdropped ? ", some routine runs were dropped" : "");
		s->cause[0] = '\0';
		s->qdropped = 0;
	}
	s->retry_wait = 0;
	return 0;
fail:
	store_note_error(s);
	roll_cache_clear(s);    /* its rows were not written */
	if (s->db != NULL)
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
later:
	s->retry_wait = s->retry_wait < 1 ? 1 : s->retry_wait * 2 > 30 ? 30 : s->retry_wait * 2;
	s->retry_at = store_now_s() + s->retry_wait;
	return -1;
}

int
store_record(struct store *s, const char *check, const struct result *r,
    const struct alert *a, bool changed, const struct alert_out *ev,
    const struct store_extra *x)
{
	static const struct store_extra none;
	if (x == NULL)
		x = &none;
	const char *cursors = x->cursors;
	struct qrec *q = NULL;
	size_t rl = result_size(r);

	if (ev->event != EV_NONE) {
		struct json *m = json_new(JSON_OBJECT);
		for (int i = 0; m != NULL && i < r->nmetrics; i++)
			json_add(m, r->metrics[i].name, json_new_number(r->metrics[i].value));
		char *mj = m ? json_print(m, false) : NULL;
		json_free(m);
		q = event_rec(s, alert_event_name(ev->event), check, ev->status, ev->previous,
		    r->summary, (double)ev->since_ms / 1000.0, r->started + r->duration, mj, NULL);
		free(mj);
	} else
		q = mem_calloc(1, sizeof *q);
	if (q == NULL || (q->res = mem_alloc(rl)) == NULL ||
	    (q->check == NULL && (q->check = mem_strdup(check)) == NULL)) {
		if (q != NULL)
			qrec_free(q);
		log_error("%s: out of memory; a run of \"%s\" is lost", s->path, check);
		return -1;
	}
	memcpy(q->res, r, rl);
	q->alert = *a;
	q->alert_only = x->alert_only;
	q->next_at = x->next_at;
	if ((x->note != NULL && (q->note = mem_strdup(x->note)) == NULL) ||
	    (x->muted != NULL && ev->event != EV_NONE && (q->muted = mem_strdup(x->muted)) == NULL))
		log_error("%s: out of memory; a note of \"%s\" is lost", s->path, check);
	if (cursors != NULL && (q->cursors = mem_strdup(cursors)) == NULL)
		log_error("%s: out of memory; the log cursors of \"%s\" are not saved", s->path,
		    check);
	q->durable = changed || ev->event != EV_NONE;
	queue_push(s, q);
	/* routine runs are written together once per loop iteration
	 * (store_commit); a transition is written, fsynced, at once */
	return q->durable ? store_flush(s) : 0;
}

int
store_commit(struct store *s)
{
	return store_flush(s);
}

bool
store_pending(const struct store *s)
{
	return s->qhead != NULL;
}

void
store_shrink(struct store *s)
{
	if (s->db != NULL)
		sqlite3_db_release_memory(s->db);
}

static int
agent_event(struct store *s, const char *kind, const char *check, enum status st,
    const char *summary, const char *doc)
{
	struct qrec *q = event_rec(s, kind, check, st, ST_OK, summary, 0, store_now_s(), NULL, doc);
	if (q == NULL) {
		log_error("%s: out of memory; a \"%s\" event is lost", s->path, kind);
		return -1;
	}
	queue_push(s, q);
	store_flush(s);
	return 0;       /* queued: it is delivered from memory if not written */
}

int
store_event(struct store *s, const char *kind, const char *check, enum status st,
    const char *summary)
{
	return agent_event(s, kind, check, st, summary, NULL);
}

int
store_report(struct store *s, const char *name, const char *headline, const char *doc)
{
	return agent_event(s, "report", name, ST_OK, headline, doc);
}

/* Writes that are not records (cursors, pruning, file states) go only to
 * a file that takes them, after the queue; else they wait or are retried
 * by their callers (the outbox keeps its cursors in memory). */
bool
store_writable(struct store *s)
{
	return store_flush(s) == 0 && s->rw;
}

char *
store_cursors(struct store *s, const char *check)
{
	/* the newest run held in memory has the newest set */
	const char *held = NULL;
	for (struct qrec *r = s->qhead; r != NULL; r = r->next)
		if (r->cursors != NULL && r->check != NULL && strcmp(r->check, check) == 0)
			held = r->cursors;
	if (held != NULL)
		return strdup(held);
	sqlite3_stmt *q;
	if (s->db == NULL || sqlite3_prepare_v2(s->db, "SELECT path, dev, ino, off FROM log_cursors"
	    " WHERE check_name = ?", -1, &q, NULL) != SQLITE_OK)
		return NULL;
	sqlite3_bind_text(q, 1, check, -1, SQLITE_STATIC);
	struct json *a = json_new(JSON_ARRAY);
	int n = 0;
	while (a != NULL && sqlite3_step(q) == SQLITE_ROW) {
		static const char *const keys[] = { "p", "d", "i", "o" };
		struct json *o = json_new(JSON_OBJECT);
		for (int k = 0; k < 4; k++)
			json_add(o, keys[k], json_new_string((const char *)sqlite3_column_text(q, k)));
		json_add(a, NULL, o);
		n++;
	}
	sqlite3_finalize(q);
	char *out = n > 0 && a != NULL ? json_print(a, false) : NULL;
	json_free(a);
	return out;
}

int
store_alert_get(struct store *s, const char *check, struct alert *a)
{
	sqlite3_stmt *q = s->get_alert;
	int found = 0;

	if (q == NULL)
		return 1;

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
		a->owed = sqlite3_column_int(q, 9);
		found = 1;
	}
	sqlite3_reset(q);
	sqlite3_clear_bindings(q);
	return found ? 0 : 1;
}

int
store_prune(struct store *s, double now, int64_t raw_ms, int64_t rollup_ms, int batch)
{
	if (!store_writable(s))
		return -1;
	char sql[256];
	int n = 0;
	double raw_before = now - (double)raw_ms / 1000.0;
	/* roll-ups answer the whole hours of a raw window too (store_history.c):
	 * kept at least as long as the runs */
	int64_t keep_ms = rollup_ms > raw_ms ? rollup_ms : raw_ms;
	int64_t hour_before = (int64_t)floor((now - (double)keep_ms / 1000.0) / 3600);

	if (store_sync_mode(s, 0) < 0)
		return -1;
	snprintf(sql, sizeof sql, "DELETE FROM runs WHERE id IN (SELECT id FROM runs WHERE ts < %.3f LIMIT %d)",
	    raw_before, batch);
	if (store_exec(s, sql) < 0)
		return -1;
	n += sqlite3_changes(s->db);
	snprintf(sql, sizeof sql, "DELETE FROM samples WHERE id IN (SELECT id FROM samples WHERE ts < %.3f LIMIT %d)",
	    raw_before, batch);
	if (store_exec(s, sql) < 0)
		return -1;
	n += sqlite3_changes(s->db);
	/* WITHOUT ROWID: delete by key */
	snprintf(sql, sizeof sql, "DELETE FROM rollups WHERE (kind, name, hour) IN (SELECT kind, name,"
	    " hour FROM rollups WHERE hour < %lld LIMIT %d)", (long long)hour_before, batch);
	if (store_exec(s, sql) < 0)
		return -1;
	n += sqlite3_changes(s->db);
	/* events are the incident history: kept as long as the roll-ups, and
	 * never before every reporter is past them */
	snprintf(sql, sizeof sql, "DELETE FROM events WHERE seq IN (SELECT seq FROM events WHERE"
	    " delivered = 1 AND at < %.3f AND seq NOT IN (SELECT event_seq FROM dead) LIMIT %d)",
	    now - (double)rollup_ms / 1000.0, batch);
	if (store_exec(s, sql) < 0)
		return -1;
	n += sqlite3_changes(s->db);
	return n;
}

