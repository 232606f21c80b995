/* fuzz_rows.c — libFuzzer target: the status and outbox rows the agent
 * reads back from its state file, as a file another version (or a disk
 * error, or a hand edit) may have left them: the fuzz input becomes the
 * values of an alerts row, an events row, an outbox cursor and a roll-up
 * histogram, and the store's readers (status listing, the outbox walk, a
 * cursor, history answers) must take them or refuse them, never misread. */
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "history.h"
#include "store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char path[64];

static void
each(const struct store_check *c, void *ud)
{
	(void)c;
	(*(int *)ud)++;
}

/* the next piece of the input: up to n bytes */
static const uint8_t *
take(const uint8_t **d, size_t *left, size_t n, size_t *got)
{
	const uint8_t *p = *d;
	*got = n < *left ? n : *left;
	*d += *got;
	*left -= *got;
	return p;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256];
	struct store *s;
	sqlite3 *db;
	size_t n;

	if (path[0] == '\0')
		snprintf(path, sizeof path, "%s/drishti-fuzz-rows-%ld.db",
		    access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp", (long)getpid());
	unlink(path);
	/* the schema, as the agent makes it */
	if (store_open(&s, path, false, NULL, err, sizeof err) < 0)
		return 0;
	store_close(s);
	if (sqlite3_open(path, &db) != SQLITE_OK)
		return 0;
	sqlite3_stmt *q;
	const uint8_t *p;
	/* an alerts row: every column from the input, typed or not */
	if (sqlite3_prepare_v2(db, "INSERT INTO alerts (check_name, state, status, since_ms,"
	    " fail_since_ms, fails, passes, history, nhistory, notified_ms, last_status,"
	    " last_summary, owed, note, next_at) VALUES (?, ?, ?, 0, 0, ?, 0, ?, ?, 0, ?, ?, ?, ?, ?)",
	    -1, &q, NULL) == SQLITE_OK) {
		p = take(&data, &size, 16, &n);
		sqlite3_bind_text(q, 1, (const char *)p, (int)n, SQLITE_TRANSIENT);
		for (int i = 2; i <= 12; i++) {
			p = take(&data, &size, 9, &n);
			if (n == 0 || p[0] % 3 == 0)
				sqlite3_bind_int64(q, i, n > 1 ? (int64_t)p[1] - 128 : 0);
			else if (p[0] % 3 == 1)
				sqlite3_bind_text(q, i, (const char *)p + 1, (int)n - 1, SQLITE_TRANSIENT);
			else
				sqlite3_bind_blob(q, i, p + 1, (int)n - 1, SQLITE_TRANSIENT);
		}
		sqlite3_step(q);
		sqlite3_finalize(q);
	}
	/* an event: kind, check, status, summary, metrics, doc as given */
	if (sqlite3_prepare_v2(db, "INSERT INTO events (id, kind, check_name, status, previous,"
	    " summary, since, at, metrics, delivered, doc, muted) VALUES ('e1', ?, ?, ?, ?, ?, 0, 0,"
	    " ?, 0, ?, ?)", -1, &q, NULL) == SQLITE_OK) {
		for (int i = 1; i <= 8; i++) {
			p = take(&data, &size, i == 5 || i == 6 || i == 7 ? 64 : 12, &n);
			if (i == 3 || i == 4)
				sqlite3_bind_int64(q, i, n ? (int64_t)(int8_t)p[0] : 0);
			else
				sqlite3_bind_text(q, i, (const char *)p, (int)n, SQLITE_TRANSIENT);
		}
		sqlite3_step(q);
		sqlite3_finalize(q);
	}
	/* a roll-up's histogram blob of any length */
	if (sqlite3_prepare_v2(db, "INSERT INTO rollups (kind, name, hour, n, ok, warn, crit, unknown, sum,"
	    " min, max, hist) VALUES (1, 'm', 1, 1, 1, 0, 0, 0, 1, 1, 1, ?)", -1, &q, NULL) == SQLITE_OK) {
		p = take(&data, &size, 600, &n);
		sqlite3_bind_blob(q, 1, p, (int)n, SQLITE_TRANSIENT);
		sqlite3_step(q);
		sqlite3_finalize(q);
	}
	sqlite3_close(db);

	if (store_open(&s, path, true, NULL, err, sizeof err) == 0) {
		int count = 0;
		struct store_event ev;
		int64_t seq;
		int attempts;
		double next_at;
		store_each_check(s, each, &count);
		memset(&ev, 0, sizeof ev);
		if (store_event_after(s, 0, &ev) > 0)
			store_event_clear(&ev);
		store_cursor(s, "r", &seq, &attempts, &next_at);
		static struct hist_ans a;
		struct hist_req hq = { .fn = HIST_PERCENTILE, .p = 95, .window = 1e10 };
		snprintf(hq.name, sizeof hq.name, "m");
		store_answer(s, &hq, 0, &a);
		hq.fn = HIST_INCIDENTS;
		store_answer(s, &hq, 0, &a);
		store_close(s);
	}
	unlink(path);
	return 0;
}
