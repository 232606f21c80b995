/* unit_alert.c — table tests of the alert state machine: a sequence of run
 * statuses in, the events out, one character per run.
 *   runs:   O ok, W warn, C crit, U unknown
 *   events: . none, A alert, R resolve, M reminder, E escalation (WARN -> CRIT),
 *           D deescalation (CRIT -> WARN), X change (to or from UNKNOWN)
 * Each case also runs with the state saved and restored (a restart) after
 * every step: the events must not change. */
#include <stdio.h>
#include <string.h>
#include "alert.h"

struct tcase {
	const char *name;
	struct alert_cfg cfg;
	int64_t step_ms;            /* time between runs */
	const char *runs;
	const char *events;
	enum alert_state final;
};

static const struct tcase cases[] = {
	{ "one failure fires at once (after = 1)", { .after_count = 1, .recover = 1 }, 60000,
	  "OOCOO", "..AR.", AL_OK },
	{ "after = 3: fires on the third failure", { .after_count = 3, .recover = 1 }, 60000,
	  "OWWWWO", "...A.R", AL_OK },
	{ "a failure that clears while pending says nothing", { .after_count = 3, .recover = 1 }, 60000,
	  "WWOWWOWWO", ".........", AL_OK },
	{ "recover = 2: one pass is not enough", { .after_count = 1, .recover = 2 }, 60000,
	  "COCOOO", "A...R.", AL_OK },
	{ "escalation WARN -> CRIT, deescalation back", { .after_count = 1, .recover = 1 }, 60000,
	  "WWCCWO", "A.E.DR", AL_OK },
	{ "repeat = 3m: reminders while firing", { .after_count = 1, .recover = 1, .repeat_ms = 180000 }, 60000,
	  "CCCCCCCO", "A..M..MR", AL_OK },
	{ "after = 5m as a duration", { .after_ms = 300000, .recover = 1 }, 60000,
	  "OCCCCCCCO", "......A.R", AL_OK },
	{ "flap 3/5: intermittent failures fire", { .flap_fails = 3, .flap_window = 5, .recover = 2 }, 60000,
	  "CWOWOOOOO", "...A.R...", AL_OK },
	{ "flap 3/5: two in five never fire", { .flap_fails = 3, .flap_window = 5, .recover = 1 }, 60000,
	  "COOOCOOOCOOOC", ".............", AL_PENDING },
	{ "unknown = fail: UNKNOWN counts", { .after_count = 2, .recover = 1 }, 60000,
	  "UUO", ".AR", AL_OK },
	{ "unknown = ignore: UNKNOWN changes nothing", { .after_count = 2, .recover = 1, .unknown_ignore = true }, 60000,
	  "UUUWUWUO", ".....A.R", AL_OK },
	{ "UNKNOWN while firing is a change, both ways", { .after_count = 1, .recover = 1 }, 60000,
	  "CUCO", "AXXR", AL_OK },
	{ "UNKNOWN to WARN is a change, not an escalation", { .after_count = 1, .recover = 1 }, 60000,
	  "UWCWO", "AXEDR", AL_OK },
	{ "still firing at the end", { .after_count = 2, .recover = 1 }, 60000,
	  "OCCC", "..A.", AL_FIRING },
};

static char
ev_char(enum alert_event e)
{
	return ".ARMEDX"[e];
}

static enum status
st_of(char c)
{
	return c == 'O' ? ST_OK : c == 'W' ? ST_WARN : c == 'C' ? ST_CRIT : ST_UNKNOWN;
}

int
main(void)
{
	int failed = 0;

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct tcase *t = &cases[i];
		for (int restart = 0; restart < 2; restart++) {
			struct alert a, saved;
			struct alert_out out;
			char got[64] = "";
			int64_t now = 1700000000000;
			alert_init(&a, now);
			for (size_t k = 0; t->runs[k] != '\0'; k++) {
				now += t->step_ms;
				if (restart) {
					/* what the store keeps is all there is */
					memcpy(&saved, &a, sizeof a);
					memset(&a, 0xAB, sizeof a);
					memcpy(&a, &saved, sizeof a);
				}
				alert_step(&a, &t->cfg, st_of(t->runs[k]), now, &out);
				got[k] = ev_char(out.event);
				got[k + 1] = '\0';
			}
			int good = strcmp(got, t->events) == 0 && a.state == t->final;
			printf("%s - alert: %s%s%s%s%s\n", good ? "ok" : "not ok", t->name,
			    restart ? " (restarted each step)" : "", good ? "" : ": got ", good ? "" : got,
			    good ? "" : (a.state == t->final ? "" : " (wrong final state)"));
			failed |= !good;
		}
	}
	/* an escalation carries the previous status; a resolve, the last failing one */
	struct alert a;
	struct alert_out o;
	struct alert_cfg c = { .after_count = 1, .recover = 1 };
	alert_init(&a, 1000);
	alert_step(&a, &c, ST_WARN, 2000, &o);
	int good = o.event == EV_ALERT && o.status == ST_WARN && o.since_ms == 2000;
	alert_step(&a, &c, ST_CRIT, 3000, &o);
	good &= o.event == EV_ESCALATION && o.previous == ST_WARN && o.status == ST_CRIT && o.since_ms == 2000;
	alert_step(&a, &c, ST_OK, 4000, &o);
	good &= o.event == EV_RESOLVE && o.previous == ST_CRIT && o.since_ms == 2000;
	printf("%s - alert: events carry status, previous and since\n", good ? "ok" : "not ok");
	failed |= !good;
	return failed;
}
