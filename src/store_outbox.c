/* store_outbox.c — the outbox in the state file: each reporter's cursor
 * over the events, dead events, the bounds, what Alertmanager hears again;
 * and the silences (`drishti silence`), which the agent polls. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "json.h"
#include "log.h"
#include "store_int.h"

/* ---- the outbox ------------------------------------------------------------------ */

int
store_cursor(struct store *s, const char *reporter, int64_t *seq, int *attempts, double *next_at)
{
	sqlite3_stmt *q;
	int rc = -1;

	store_flush(s);
	if (s->db != NULL && sqlite3_prepare_v2(s->db, "SELECT seq, attempts, next_at FROM outbox"
	    " WHERE reporter = ?", -1, &q, NULL) == SQLITE_OK) {
		sqlite3_bind_text(q, 1, reporter, -1, SQLITE_STATIC);
		if (sqlite3_step(q) == SQLITE_ROW) {
			*seq = sqlite3_column_int64(q, 0);
			*attempts = sqlite3_column_int(q, 1);
			*next_at = sqlite3_column_double(q, 2);
			rc = 0;
		}
		sqlite3_finalize(q);
	}
	if (rc == 0)
		return 0;
	/* a reporter seen for the first time gets what happens from now on;
	 * the file may not take the row now: the outbox keeps it in memory */
	*seq = s->next_seq - 1;
	for (struct qrec *r = s->qhead; r != NULL; r = r->next)
		if (r->has_event && r->seq <= *seq) {
			*seq = r->seq - 1;      /* what waits in memory is still to go */
			break;
		}
	*attempts = 0;
	*next_at = 0;
	if (s->rw && store_sync_mode(s, 1) == 0 && sqlite3_prepare_v2(s->db,
	    "INSERT INTO outbox (reporter, seq) VALUES (?, ?)", -1, &q, NULL) == SQLITE_OK) {
		sqlite3_bind_text(q, 1, reporter, -1, SQLITE_STATIC);
		sqlite3_bind_int64(q, 2, *seq);
		if (sqlite3_step(q) != SQLITE_DONE)
			store_note_error(s);
		sqlite3_finalize(q);
	}
	return 0;
}

/* The first event after seq held in memory (its seq is final). */
static int
queued_after(struct store *s, int64_t after, struct store_event *ev)
{
	for (struct qrec *r = s->qhead; r != NULL; r = r->next) {
		if (!r->has_event || r->seq <= after)
			continue;
		ev->seq = r->seq;
		snprintf(ev->id, sizeof ev->id, "%s", r->id);
		snprintf(ev->kind, sizeof ev->kind, "%s", r->kind);
		snprintf(ev->check, sizeof ev->check, "%s", r->check ? r->check : "");
		ev->status = r->st;
		ev->previous = r->prev;
		snprintf(ev->summary, sizeof ev->summary, "%s", r->summary);
		ev->since = r->since;
		ev->at = r->at;
		snprintf(ev->metrics, sizeof ev->metrics, "%s", r->metrics ? r->metrics : "{}");
		snprintf(ev->muted, sizeof ev->muted, "%s", r->muted ? r->muted : "");
		free(ev->doc);
		ev->doc = NULL;
		if (r->doc != NULL && (ev->doc = strdup(r->doc)) == NULL)
			return -1;
		return 1;
	}
	return 0;
}

int
store_event_after(struct store *s, int64_t after, struct store_event *ev)
{
	sqlite3_stmt *q;
	int rc = 0;

	/* the file first; what it has not taken yet is in memory, after it */
	if ((q = store_stmt(s, &s->next_event, STORE_NEXT_EVENT)) == NULL)
		return queued_after(s, after, ev);
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
		snprintf(ev->muted, sizeof ev->muted, "%s", sqlite3_column_text(q, 11));
		free(ev->doc);
		ev->doc = NULL;
		if (sqlite3_column_type(q, 10) == SQLITE_TEXT &&
		    (ev->doc = strdup((const char *)sqlite3_column_text(q, 10))) == NULL)
			rc = -1;
		else
			rc = 1;
	}
	sqlite3_reset(q);       /* kept for the next second; no read lock held */
	return rc == 0 ? queued_after(s, after, ev) : rc;
}

int
store_cursor_set(struct store *s, const char *reporter, int64_t seq, int attempts,
    double next_at, const char *error, bool dead)
{
	if (!store_writable(s))
		return -1;
	sqlite3_stmt *q;

	/* not fsynced: at least once allows a resend after a crash */
	if (store_sync_mode(s, 0) < 0 || store_exec(s, "BEGIN IMMEDIATE") < 0)
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
	if (store_exec(s, "UPDATE events SET delivered = 1 WHERE delivered = 0 AND seq <="
	    " (SELECT coalesce(min(seq), 0) FROM outbox)") < 0)
		goto fail;
	return store_exec(s, "COMMIT");
fail:
	store_exec(s, "ROLLBACK");
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
	if (!store_writable(s))
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
	if (store_sync_mode(s, 1) < 0 || store_exec(s, "BEGIN IMMEDIATE") < 0)
		return -1;
	if (sqlite3_prepare_v2(s->db, "UPDATE outbox SET seq = ?, attempts = 0, next_at = 0,"
	    " dropped = dropped + ? WHERE reporter = ?", -1, &q, NULL) != SQLITE_OK)
		goto fail;
	sqlite3_bind_int64(q, 1, to);
	sqlite3_bind_int64(q, 2, *dropped);
	sqlite3_bind_text(q, 3, reporter, -1, SQLITE_STATIC);
	int rc = sqlite3_step(q);
	sqlite3_finalize(q);
	if (rc != SQLITE_DONE || store_exec(s, "UPDATE events SET delivered = 1 WHERE delivered = 0 AND"
	    " seq <= (SELECT coalesce(min(seq), 0) FROM outbox)") < 0)
		goto fail;
	return store_exec(s, "COMMIT");
fail:
	store_exec(s, "ROLLBACK");
	return -1;
}

int
store_cursors_keep(struct store *s, const char *const *names, size_t n)
{
	sqlite3_stmt *q, *d;
	int rc = 0;

	if (!store_writable(s))
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
	if (s->db == NULL)
		return -1;
	sqlite3_stmt *q;

	if (!store_writable(s))
		return -1;
	/* firing now; then resolved lately and not firing again */
	if (sqlite3_prepare_v2(s->db, "SELECT check_name, status, since_ms / 1000.0, 0,"
	    " coalesce(last_summary, '') FROM alerts WHERE state = " SQL_FIRING " AND owed = 0 UNION ALL"
	    " SELECT e.check_name, e.previous, coalesce(e.since, e.at), e.at, e.summary FROM events e"
	    " WHERE e.kind = 'resolve' AND e.muted IS NULL AND e.at > ?"
	    " AND e.seq = (SELECT max(seq) FROM events"
	    " WHERE kind = 'resolve' AND check_name = e.check_name) AND NOT EXISTS (SELECT 1"
	    " FROM alerts a WHERE a.check_name = e.check_name AND a.state = " SQL_FIRING ")",
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

/* ---- silences -------------------------------------------------------------------- */

static int
silence_write(struct store *s, sqlite3_stmt *q, char *err, size_t errlen)
{
	int rc = sqlite3_step(q);
	if (rc != SQLITE_DONE) {
		snprintf(err, errlen, "%s: %s", s->path, sqlite3_errmsg(s->db));
		return -1;
	}
	return 0;
}

int
store_silence_add(struct store *s, const char *pattern, const char *reason, double ends,
    int64_t *id, char *err, size_t errlen)
{
	sqlite3_stmt *q = NULL;

	if (!store_writable(s)) {
		snprintf(err, errlen, "%s: not writable (%s)", s->path,
		    s->cause[0] ? s->cause : "read-only");
		return -1;
	}
	if (store_sync_mode(s, 1) < 0 || sqlite3_prepare_v2(s->db, "INSERT INTO silences (pattern,"
	    " reason, created, ends) VALUES (?, ?, ?, ?)", -1, &q, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", s->path, sqlite3_errmsg(s->db));
		sqlite3_finalize(q);
		return -1;
	}
	sqlite3_bind_text(q, 1, pattern, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, reason, -1, SQLITE_STATIC);
	sqlite3_bind_double(q, 3, store_now_s());
	sqlite3_bind_double(q, 4, ends);
	int rc = silence_write(s, q, err, errlen);
	sqlite3_finalize(q);
	if (rc == 0)
		*id = sqlite3_last_insert_rowid(s->db);
	return rc;
}

int
store_silence_rm(struct store *s, int64_t id, char *err, size_t errlen)
{
	sqlite3_stmt *q = NULL;

	if (!store_writable(s)) {
		snprintf(err, errlen, "%s: not writable (%s)", s->path,
		    s->cause[0] ? s->cause : "read-only");
		return -1;
	}
	if (store_sync_mode(s, 1) < 0 || sqlite3_prepare_v2(s->db, "UPDATE silences SET removed = ?"
	    " WHERE id = ? AND removed IS NULL AND ends > ?", -1, &q, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", s->path, sqlite3_errmsg(s->db));
		sqlite3_finalize(q);
		return -1;
	}
	double now = store_now_s();
	sqlite3_bind_double(q, 1, now);
	sqlite3_bind_int64(q, 2, id);
	sqlite3_bind_double(q, 3, now);
	int rc = silence_write(s, q, err, errlen);
	sqlite3_finalize(q);
	if (rc == 0 && sqlite3_changes(s->db) == 0)
		return 1;
	return rc;
}

int
store_each_silence(struct store *s, bool all,
    void (*fn)(const struct store_silence *si, void *ud), void *ud)
{
	sqlite3_stmt *q;

	/* the agent asks for those in force every second: that one is kept */
	if (s->db == NULL)
		return -1;
	if (all) {
		if (sqlite3_prepare_v2(s->db, "SELECT id, pattern, reason, created, ends,"
		    " coalesce(removed, 0), announced FROM silences ORDER BY id", -1, &q,
		    NULL) != SQLITE_OK)
			return -1;
	} else {
		if ((q = store_stmt(s, &s->silences, STORE_SILENCES)) == NULL)
			return -1;
		sqlite3_bind_double(q, 1, store_now_s());
	}
	while (sqlite3_step(q) == SQLITE_ROW) {
		struct store_silence si = { .id = sqlite3_column_int64(q, 0),
		    .pattern = (const char *)sqlite3_column_text(q, 1),
		    .reason = (const char *)sqlite3_column_text(q, 2),
		    .created = sqlite3_column_double(q, 3), .ends = sqlite3_column_double(q, 4),
		    .removed = sqlite3_column_double(q, 5), .announced = sqlite3_column_int(q, 6) };
		fn(&si, ud);
	}
	if (all)
		sqlite3_finalize(q);
	else
		sqlite3_reset(q);
	return 0;
}

int
store_silence_announced(struct store *s, int64_t id, int level)
{
	sqlite3_stmt *q;

	if (!store_writable(s) || sqlite3_prepare_v2(s->db, "UPDATE silences SET announced = ?"
	    " WHERE id = ?", -1, &q, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_int(q, 1, level);
	sqlite3_bind_int64(q, 2, id);
	int rc = sqlite3_step(q) == SQLITE_DONE ? 0 : -1;
	sqlite3_finalize(q);
	return rc;
}

long
store_dropped(struct store *s)
{
	if (s->db == NULL)
		return 0;
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

