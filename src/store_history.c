/* store_history.c — the history the rules and reports read back from the
 * state file (uptime, counts, metrics, the last value, incidents) and what
 * `drishti status` and the textfile show of it (each check, the outbox's
 * depth, files' states).  Reads only: the writes are store.c's. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "clock.h"
#include "json.h"
#include "log.h"
#include "store_int.h"

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

/* The runs of [a, b) by status, added to c[5]: 0 / -1. */
static int
raw_counts(struct store *s, const char *check, double a, double b, double c[5])
{
	double r[5] = { 0 };
	if (one_row(s, "SELECT count(*), sum(status = " SQL_ST_OK "), sum(status = " SQL_ST_WARN "),"
	    " sum(status = " SQL_ST_CRIT "), sum(status = " SQL_ST_UNKNOWN ") FROM runs"
	    " WHERE ts >= ?2 AND ts < ?3 AND check_name = ?1", check, a, b, NULL, 5, r) < 0)
		return -1;
	for (int i = 0; i < 5; i++)
		c[i] += r[i];
	return 0;
}

/* The roll-ups of hours [h0, h1], added to c[5]: 0 / -1. */
static int
hour_counts(struct store *s, const char *check, double h0, double h1, double c[5])
{
	double r[5] = { 0 };
	int rc = one_row(s, "SELECT sum(n), sum(ok), sum(warn), sum(crit), sum(unknown) FROM rollups"
	    " WHERE kind = " SQL_RK_CHECK " AND name = ? AND hour >= ? AND hour <= ?", check, h0,
	    h1, NULL, 5, r);
	if (rc < 0)
		return -1;
	for (int i = 0; i < 5; i++)
		c[i] += r[i];
	return 0;
}

/* Counts of runs by status in the window [now - window, now].  Within raw
 * retention they are exact: the whole hours inside the window from the
 * roll-ups (written with the runs, in the same transaction) and the partial
 * hours at its ends from the runs, which are indexed by time (schema v6).
 * Beyond it, whole-hour roll-ups.  1 with runs, 0 without, -1. */
static int
counts(struct store *s, const char *check, double window, double now, double raw_window,
    double c[5])
{
	double a = now - window;
	if (window <= raw_window) {
		/* [a, now]: the end is in the window, so the last range ends
		 * just past it */
		double end = nextafter(now, INFINITY);
		double h0 = ceil(a / 3600), h1 = floor(now / 3600);  /* whole hours [h0, h1) */
		if (h0 >= h1) {
			if (raw_counts(s, check, a, end, c) < 0)
				return -1;
		} else if (raw_counts(s, check, a, h0 * 3600, c) < 0 ||
		    hour_counts(s, check, h0, h1 - 1, c) < 0 ||
		    raw_counts(s, check, h1 * 3600, end, c) < 0)
			return -1;
		return c[0] > 0;
	}
	if (hour_counts(s, check, floor(a / 3600), floor((now - 0.001) / 3600), c) < 0)
		return -1;
	return c[0] > 0;
}

int
store_uptime(struct store *s, const char *check, double window, double now,
    double raw_window, double *out)
{
	if (s->db == NULL)
		return -1;
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
	if (s->db == NULL)
		return -1;
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
	if (s->db == NULL)
		return -1;
	double c[4] = { 0 };
	sqlite3_stmt *q;
	int rc;

	if (strcmp(fn, "percentile") != 0) {
		if (window <= raw_window)
			rc = one_row(s, "SELECT avg(value), max(value), min(value), sum(value) FROM samples"
			    " WHERE metric = ? AND ts >= ? AND ts <= ?", metric, now - window, now, NULL, 4, c);
		else {
			rc = one_row(s, "SELECT sum(sum) / sum(n), max(max), min(min), sum(sum) FROM rollups"
			    " WHERE kind = " SQL_RK_METRIC " AND name = ? AND hour >= ? AND hour <= ?", metric,
			    floor((now - window) / 3600), floor((now - 0.001) / 3600), NULL, 4, c);
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
	if (sqlite3_prepare_v2(s->db, "SELECT hist, n FROM rollups WHERE kind = " SQL_RK_METRIC " AND name = ?"
	    " AND hour >= ? AND hour <= ?", -1, &q, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_text(q, 1, metric, -1, SQLITE_STATIC);
	sqlite3_bind_double(q, 2, floor((now - window) / 3600));
	sqlite3_bind_double(q, 3, floor((now - 0.001) / 3600));
	while (sqlite3_step(q) == SQLITE_ROW) {
		store_hist_decode(sqlite3_column_blob(q, 0), sqlite3_column_bytes(q, 0), h);
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
			*out = store_hist_value(b);
			return 1;
		}
	}
	return 0;
}

int
store_last(struct store *s, const char *metric, double *value, double *ts)
{
	if (s->db == NULL)
		return -1;
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
	if (s->db == NULL)
		return -1;
	sqlite3_stmt *q;

	if (sqlite3_prepare_v2(s->db, "SELECT check_name, state, status, since_ms, fail_since_ms,"
	    " fails, passes, last_status, last_summary, last_ts, last_duration, owed,"
	    " coalesce(note, ''), coalesce(next_at, 0) FROM alerts ORDER BY check_name", -1, &q,
	    NULL) != SQLITE_OK) {
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
		c.alert.owed = sqlite3_column_int(q, 11);
		c.note = (const char *)sqlite3_column_text(q, 12);
		c.next_at = sqlite3_column_double(q, 13);
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

	if (s->db != NULL && sqlite3_prepare_v2(s->db, "SELECT sum(delivered = 0),"
	    " min(CASE WHEN delivered = 0 THEN at END), (SELECT count(*) FROM dead) FROM events",
	    -1, &q, NULL) == SQLITE_OK) {
		if (sqlite3_step(q) == SQLITE_ROW)
			for (int i = 0; i < 3; i++)
				c[i] = sqlite3_column_double(q, i);
		sqlite3_finalize(q);
	}
	/* and the events held in memory, not yet in the file */
	for (struct qrec *r = s->qhead; r != NULL; r = r->next)
		if (r->has_event) {
			if (c[0] == 0 || r->at < c[1])
				c[1] = r->at;
			c[0]++;
		}
	*depth = (long)c[0];
	*oldest = c[1];
	*dead = (long)c[2];
	return 0;
}

int
store_integrity_ok(struct store *s)
{
	if (s->db == NULL)
		return 0;
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
	if (!store_writable(s))
		return -1;
	sqlite3_stmt *q;
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	if (store_sync_mode(s, 1) < 0 || sqlite3_prepare_v2(s->db, "INSERT OR REPLACE INTO files"
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
	if (s->db == NULL)
		return -1;
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

	if (sqlite3_prepare_v2(s->db, "SELECT coalesce(max(status), 0) FROM alerts WHERE state = " SQL_FIRING,
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
		json_add(o, "status", json_new_string(result_status_lower((enum status)status)));
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
	double now;

	now = clock_real();
	a->ts = 0;
	if (s->db == NULL) {
		a->found = -1;
		return;
	}
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

