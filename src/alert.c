/* alert.c — one check's alert state: OK -> PENDING -> FIRING -> (resolve) OK.
 *
 * A failing run (WARN, CRIT, and UNKNOWN unless `unknown = "ignore"`) moves
 * OK to PENDING; the alert fires when `after` failing runs came in a row, or
 * failing has lasted `after` (a duration), or with `flap = "M/N"` when M of
 * the last N runs failed.  A pass while PENDING goes back to OK and says
 * nothing (a blip is not an incident).  While FIRING, a change of status is
 * an escalation (WARN -> CRIT), a deescalation (CRIT -> WARN) or a change (to
 * or from UNKNOWN, which is no severity), `repeat` sends reminders, and `recover` passing runs in a row resolve it.  No I/O here:
 * the caller stores the struct and the event in one transaction. */
#include <string.h>
#include "alert.h"

const char *
alert_state_name(enum alert_state s)
{
	static const char *const n[] = { "ok", "pending", "firing" };
	return (unsigned)s <= AL_FIRING ? n[s] : "?";
}

const char *
alert_event_name(enum alert_event e)
{
	static const char *const n[] = { "none", "alert", "resolve", "reminder", "escalation",
		"deescalation", "change" };
	return (unsigned)e <= EV_CHANGE ? n[e] : "?";
}

void
alert_init(struct alert *a, int64_t now_ms)
{
	memset(a, 0, sizeof *a);
	a->state = AL_OK;
	a->status = ST_OK;
	a->since_ms = now_ms;
}

static int
window_fails(const struct alert *a, int n)
{
	int c = 0;
	for (int i = 0; i < n && i < a->nhistory && i < 64; i++)
		c += (int)((a->history >> i) & 1);
	return c;
}

static bool
should_fire(const struct alert *a, const struct alert_cfg *c, int64_t now_ms)
{
	if (c->flap_window > 0)
		return window_fails(a, c->flap_window) >= c->flap_fails;
	if (c->after_ms > 0)
		return now_ms - a->fail_since_ms >= c->after_ms;
	return a->fails >= (c->after_count > 0 ? c->after_count : 1);
}

bool
alert_step(struct alert *a, const struct alert_cfg *c, enum status st, int64_t now_ms,
    struct alert_out *out)
{
	enum alert_state before = a->state;
	bool failing = st == ST_WARN || st == ST_CRIT || (st == ST_UNKNOWN && !c->unknown_ignore);

	memset(out, 0, sizeof *out);
	if (st == ST_UNKNOWN && c->unknown_ignore)
		return false;
	a->history = (a->history << 1) | (failing ? 1u : 0u);
	if (a->nhistory < 64)
		a->nhistory++;
	if (failing) {
		a->passes = 0;
		a->fails++;
		if (a->fail_since_ms == 0)
			a->fail_since_ms = now_ms;
		if (a->state == AL_FIRING) {
			if (st != a->status) {
				out->event = st == ST_UNKNOWN || a->status == ST_UNKNOWN ? EV_CHANGE :
				    st == ST_CRIT ? EV_ESCALATION : EV_DEESCALATION;
				out->previous = a->status;
				out->status = st;
				out->since_ms = a->since_ms;
				a->status = st;
				a->notified_ms = now_ms;
			} else if (c->repeat_ms > 0 && now_ms - a->notified_ms >= c->repeat_ms) {
				out->event = EV_REMINDER;
				out->status = out->previous = st;
				out->since_ms = a->since_ms;
				a->notified_ms = now_ms;
			}
			return false;
		}
		a->status = st;
		if (should_fire(a, c, now_ms)) {
			a->state = AL_FIRING;
			a->since_ms = a->fail_since_ms;
			a->notified_ms = now_ms;
			out->event = EV_ALERT;
			out->status = st;
			out->previous = ST_OK;
			out->since_ms = a->fail_since_ms;
		} else if (a->state == AL_OK) {
			a->state = AL_PENDING;
			a->since_ms = now_ms;
		}
		return a->state != before;
	}
	/* a passing run */
	a->fails = 0;
	a->fail_since_ms = 0;
	if (a->state == AL_FIRING) {
		if (++a->passes < (c->recover > 0 ? c->recover : 1))
			return false;
		out->event = EV_RESOLVE;
		out->status = ST_OK;
		out->previous = a->status;
		out->since_ms = a->since_ms;
	}
	a->passes = 0;
	if (a->state != AL_OK) {
		a->state = AL_OK;
		a->status = ST_OK;
		a->since_ms = now_ms;
	}
	return a->state != before;
}
