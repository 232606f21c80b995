/* store_int.h — what the files of the store share (store.c, store_history.c,
 * store_outbox.c) and no one else sees: the store itself, the write-behind
 * queue's record, and the helpers every part uses.  Only these files
 * include sqlite3.h. */
#ifndef DRISHTI_STORE_INT_H
#define DRISHTI_STORE_INT_H
#include <sqlite3.h>
#include "store.h"

#define HIST_BASE 1.2
#define HIST_FLOOR 1e-6
#define HIST_BUCKETS 256

enum { RK_CHECK = 0, RK_METRIC = 1 };   /* roll-up kinds: stored, append only */

#define LOCK_NOTE 256           /* bytes of the lock file: pid and store_note */

/* A record waiting in memory for the disk (see "the write-behind queue"). */
struct qrec {
	char    *check;
	struct result *res;         /* a run (NULL: an agent event or a report) */
	struct alert alert;         /* the check's alert state after the run */
	int      durable;           /* a transition or an event: fsynced */
	int      has_event;
	char     id[40];
	int64_t  seq;
	char     kind[16];
	enum status st, prev;
	char    *summary, *metrics, *doc;
	char    *cursors;           /* the check's log cursors after the run (JSON) */
	char    *note;              /* the check's note after the run ("blocked by ...") */
	char    *muted;             /* the event is recorded, not delivered: why */
	int      alert_only;        /* res is the last run, already recorded */
	double   next_at;           /* the check's next run, unix seconds (0: none) */
	double   since, at;
	struct qrec *next;
};

struct store {
	sqlite3 *db;
	char    *path;
	int      rw;                /* db is open read-write (else read-only, or NULL) */
	int      full;              /* synchronous=FULL is set now */
	struct qrec *qhead, *qtail;
	size_t   nqueue;
	long     qdropped;
	int64_t  next_seq;          /* the seq the next event gets */
	char     cause[64];         /* why the disk refuses us ("" when it does not) */
	double   cause_since;
	double   retry_at;          /* no write is tried before this while in trouble */
	double   retry_wait;
	sqlite3_stmt *ins_run, *ins_sample, *get_roll, *put_roll, *upd_roll, *put_alert, *upd_alert,
	    *get_alert,
	    /* asked every second (the outbox's next event, the silences):
	     * compiled with the others; a CLI's read-only connection, which
	     * compiles none, gets them when first asked (store_stmt) */
	    *next_event, *silences,
	    *ins_event;
	/* the current hour's roll-up row of each check and metric, as written
	 * in the last transaction that committed (roll_cache in store.c) */
	struct roll_entry *roll;
	size_t   nroll, caproll;
};

/* The enums as the SQL text holds them: a query says "state = " SQL_FIRING,
 * never a bare number, and the compiler keeps the two equal. */
#define SQL_ST_OK "0"
#define SQL_ST_WARN "1"
#define SQL_ST_CRIT "2"
#define SQL_ST_UNKNOWN "3"
#define SQL_FIRING "2"
#define SQL_RK_CHECK "0"
#define SQL_RK_METRIC "1"
_Static_assert(ST_OK == 0 && ST_WARN == 1 && ST_CRIT == 2 && ST_UNKNOWN == 3, "SQL_ST_*");
_Static_assert(AL_FIRING == 2, "SQL_FIRING");
_Static_assert(RK_CHECK == 0 && RK_METRIC == 1, "SQL_RK_*");

/* The two queries asked every second, compiled where the connection opens */
#define STORE_NEXT_EVENT "SELECT seq, id, kind, coalesce(check_name, ''), status, previous," \
	" summary, coalesce(since, 0), at, coalesce(metrics, '{}'), doc, coalesce(muted, '')" \
	" FROM events WHERE seq > ? ORDER BY seq LIMIT 1"
#define STORE_SILENCES "SELECT id, pattern, reason, created, ends, coalesce(removed, 0)," \
	" announced FROM silences WHERE announced < 2 OR (removed IS NULL AND ends > ?)" \
	" ORDER BY id"

/* store.c's helpers for the other parts */
double store_now_s(void);
int    store_exec(struct store *s, const char *sql);
/* *st reset, bindings cleared; compiled (and kept) first when the
 * connection has not; NULL when it cannot be (or there is no connection). */
sqlite3_stmt *store_stmt(struct store *s, sqlite3_stmt **st, const char *sql);
bool   store_writable(struct store *s);
void   store_note_error(struct store *s);
int    store_flush(struct store *s);
int    store_sync_mode(struct store *s, int full);
void   store_hist_decode(const unsigned char *blob, int len, uint32_t *h);
double store_hist_value(int b);

#endif
