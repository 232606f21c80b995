/* alert.h — the alert state machine of one check (DESIGN.md §7): plain C,
 * no I/O, so it is tested by tables and its state can be stored as is. */
#ifndef DRISHTI_ALERT_H
#define DRISHTI_ALERT_H
#include <stdbool.h>
#include <stdint.h>
#include "result.h"

enum alert_state { AL_OK = 0, AL_PENDING = 1, AL_FIRING = 2 };  /* stored: append only */

enum alert_event {                  /* stored: append only */
	EV_NONE = 0,
	EV_ALERT = 1,               /* it fires */
	EV_RESOLVE = 2,             /* it recovered */
	EV_REMINDER = 3,            /* still firing, `repeat` later */
	EV_ESCALATION = 4,          /* firing, WARN -> CRIT */
	EV_DEESCALATION = 5,        /* firing, CRIT -> WARN */
	EV_CHANGE = 6,              /* firing, to or from UNKNOWN */
};

struct alert_cfg {
	int     after_count;        /* fire after this many failing runs in a row (>= 1) */
	int64_t after_ms;           /* ... or after failing this long (0: use count) */
	int     recover;            /* resolve after this many passing runs (>= 1) */
	int     flap_fails;         /* fire on flap_fails failures ... */
	int     flap_window;        /* ... within the last flap_window runs (0: off) */
	int64_t repeat_ms;          /* remind while firing (0: never) */
	bool    unknown_ignore;     /* UNKNOWN runs change nothing */
};

struct alert {
	enum alert_state state;
	enum status status;         /* the failing status while pending or firing */
	int64_t since_ms;           /* when the state began */
	int64_t fail_since_ms;      /* first failing run of the current streak (0: none) */
	int     fails;              /* failing runs in a row */
	int     passes;             /* passing runs in a row (while firing) */
	uint64_t history;           /* bit i: run i ago failed (for flap) */
	int     nhistory;
	int64_t notified_ms;        /* the last alert, reminder or escalation */
	int     owed;               /* it fired while silenced: the alert is owed */
};

struct alert_out {
	enum alert_event event;
	enum status status;         /* what the event says */
	enum status previous;       /* for escalations and resolves */
	int64_t since_ms;           /* since when it is failing (or was) */
};

void alert_init(struct alert *a, int64_t now_ms);
/* Feeds one run's status in; fills out (event EV_NONE when nothing is to be
 * said).  Returns true when the state changed (worth storing at once). */
bool alert_step(struct alert *a, const struct alert_cfg *c, enum status st,
    int64_t now_ms, struct alert_out *out);
const char *alert_state_name(enum alert_state s);
const char *alert_event_name(enum alert_event e);

#endif
