/* textfile.c — the exposition-format file node_exporter's textfile
 * collector reads: each check's status, duration and last run, each
 * metric() as a gauge, and the agent's own health.  Written to a temporary
 * file in the same directory and renamed over the old one, so the collector
 * never reads half a file. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "engine.h"
#include "store.h"
#include "textfile.h"

static void
label(FILE *f, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\' || *v == '"')
			fputc('\\', f), fputc(*v, f);
		else if (*v == '\n')
			fputs("\\n", f);
		else
			fputc(*v, f);
	}
}

/* metric names: [a-zA-Z_:][a-zA-Z0-9_:]*; a rule's "api.time" becomes api_time */
static void
metric_name(char *out, size_t len, const char *in)
{
	size_t i = 0;
	for (; *in && i + 1 < len; in++)
		out[i++] = isalnum((unsigned char)*in) || *in == '_' || *in == ':' ? *in : '_';
	out[i] = '\0';
}

int
textfile_write(const char *path, struct engine *e, struct store *s, char *err, size_t errlen)
{
	char tmp[PATH_MAX];
	FILE *f;

	snprintf(tmp, sizeof tmp, "%s.tmp.%d", path, (int)getpid());
	f = fopen(tmp, "we");
	if (f == NULL) {
		snprintf(err, errlen, "[output] textfile %s: %s", tmp, strerror(errno));
		return -1;
	}
	static const struct { const char *name, *help; } fam[] = {
		{ "drishti_check_status", "Status of the check's last run: 0 OK, 1 WARN, 2 CRIT, 3 UNKNOWN." },
		{ "drishti_check_duration_seconds", "How long the check's last run took." },
		{ "drishti_check_last_run_timestamp_seconds", "When the check's last run started." },
		{ "drishti_check_alert_firing", "1 while the check's alert is firing." },
		{ "drishti_check_blocked", "1 while a failing dependency speaks for the check (label by)." },
		{ "drishti_check_silenced", "1 while the check is in a silence or maintenance window." },
	};
	for (int k = 0; k < 6; k++) {
		fprintf(f, "# HELP %s %s\n# TYPE %s gauge\n", fam[k].name, fam[k].help, fam[k].name);
		for (size_t i = 0; i < engine_count(e); i++) {
			struct eng_check *c = engine_check(e, i);
			if (!(c->has_last || c->restored) || c->d.kind == RULE_REPORT)
				continue;
			fprintf(f, "%s{check=\"", fam[k].name);
			label(f, c->d.name);
			if (k == 4 && c->blocked_by[0] != '\0') {
				fputs("\",by=\"", f);
				label(f, c->blocked_by);
			}
			fputs("\"} ", f);
			switch (k) {
			case 0: fprintf(f, "%d\n", c->last->status); break;
			case 1: fprintf(f, "%.6f\n", c->last->duration); break;
			case 2: fprintf(f, "%.3f\n", c->last->started); break;
			case 3: fprintf(f, "%d\n", c->alert.state == AL_FIRING); break;
			case 4: fprintf(f, "%d\n", c->blocked_by[0] != '\0'); break;
			default: fprintf(f, "%d\n", c->silenced); break;
			}
		}
	}
	/* reports: when each was last built, and whether that build finished */
	static const struct { const char *name, *help; } rfam[] = {
		{ "drishti_report_last_build_timestamp_seconds", "When the report was last built." },
		{ "drishti_report_build_ok", "1 if the report's last build finished, 0 if it failed." },
	};
	for (int k = 0; k < 2; k++) {
		int any = 0;
		for (size_t i = 0; i < engine_count(e); i++) {
			struct eng_check *c = engine_check(e, i);
			if (!c->has_last || c->d.kind != RULE_REPORT)
				continue;
			if (!any++)
				fprintf(f, "# HELP %s %s\n# TYPE %s gauge\n", rfam[k].name, rfam[k].help,
				    rfam[k].name);
			fprintf(f, "%s{report=\"", rfam[k].name);
			label(f, c->d.name);
			if (k == 0)
				fprintf(f, "\"} %.3f\n", c->last->started);
			else
				fprintf(f, "\"} %d\n", c->last->status != ST_UNKNOWN);
		}
	}
	/* metric(): one family per name, a series per check */
	for (size_t i = 0; i < engine_count(e); i++) {
		struct eng_check *c = engine_check(e, i);
		for (int m = 0; c->has_last && m < c->last->nmetrics; m++) {
			char name[METRIC_NAME_MAX + 16];
			char mn[METRIC_NAME_MAX];
			metric_name(mn, sizeof mn, c->last->metrics[m].name);
			snprintf(name, sizeof name, "drishti_%s", mn);
			/* HELP and TYPE once per family: at its first series */
			int first = 1;
			for (size_t j = 0; j < i && first; j++) {
				struct eng_check *o = engine_check(e, j);
				for (int k = 0; o->has_last && k < o->last->nmetrics; k++) {
					char on[METRIC_NAME_MAX];
					metric_name(on, sizeof on, o->last->metrics[k].name);
					if (strcmp(on, mn) == 0)
						first = 0;
				}
			}
			for (int k = 0; k < m && first; k++) {
				char on[METRIC_NAME_MAX];
				metric_name(on, sizeof on, c->last->metrics[k].name);
				if (strcmp(on, mn) == 0)
					first = 0;
			}
			if (first)
				fprintf(f, "# HELP %s metric(\"%s\") from the rules%s%s.\n# TYPE %s gauge\n",
				    name, c->last->metrics[m].name, c->last->metrics[m].unit[0] ? ", in " : "",
				    c->last->metrics[m].unit, name);
			fprintf(f, "%s{check=\"", name);
			label(f, c->d.name);
			fprintf(f, "\"} %.17g\n", c->last->metrics[m].value);
		}
	}
	const struct engine_stats *st = engine_stats(e);
	long depth = 0, dead = 0;
	double oldest = 0, now = (double)time(NULL);
	if (s != NULL)
		store_outbox(s, &depth, &oldest, &dead);
	fprintf(f, "# HELP drishti_outbox_depth Events waiting for delivery.\n"
	    "# TYPE drishti_outbox_depth gauge\ndrishti_outbox_depth %ld\n", depth);
	fprintf(f, "# HELP drishti_outbox_oldest_age_seconds Age of the oldest event waiting.\n"
	    "# TYPE drishti_outbox_oldest_age_seconds gauge\ndrishti_outbox_oldest_age_seconds %.0f\n",
	    depth > 0 && oldest > 0 ? now - oldest : 0);
	fprintf(f, "# HELP drishti_dead_events Events a receiver refused for good.\n"
	    "# TYPE drishti_dead_events gauge\ndrishti_dead_events %ld\n", dead);
	fprintf(f, "# HELP drishti_outbox_dropped_total Undelivered events dropped by the outbox bounds.\n"
	    "# TYPE drishti_outbox_dropped_total counter\ndrishti_outbox_dropped_total %ld\n",
	    s != NULL ? store_dropped(s) : 0L);
	size_t held = 0;
	const char *trouble = s != NULL ? store_trouble(s, NULL, &held) : NULL;
	fprintf(f, "# HELP drishti_state_file_writable 1 while the state file takes the agent's writes.\n"
	    "# TYPE drishti_state_file_writable gauge\ndrishti_state_file_writable %d\n",
	    trouble == NULL);
	fprintf(f, "# HELP drishti_state_records_held Records held in memory for the state file.\n"
	    "# TYPE drishti_state_records_held gauge\ndrishti_state_records_held %zu\n", held);
	fprintf(f, "# HELP drishti_worker_restarts_total Rule workers restarted.\n"
	    "# TYPE drishti_worker_restarts_total counter\ndrishti_worker_restarts_total %llu\n",
	    (unsigned long long)st->worker_restarts);
	fprintf(f, "# HELP drishti_worker_kills_total Rule workers killed past a hard deadline.\n"
	    "# TYPE drishti_worker_kills_total counter\ndrishti_worker_kills_total %llu\n",
	    (unsigned long long)st->worker_kills);
	fprintf(f, "# HELP drishti_worker_crashes_total Rule workers that died by themselves.\n"
	    "# TYPE drishti_worker_crashes_total counter\ndrishti_worker_crashes_total %llu\n",
	    (unsigned long long)st->worker_crashes);
	fprintf(f, "# HELP drishti_quarantined_files Rule files set aside after repeated kills.\n"
	    "# TYPE drishti_quarantined_files gauge\ndrishti_quarantined_files %d\n", st->quarantined);
	fprintf(f, "# HELP drishti_rule_load_errors Errors in the rule files loaded last.\n"
	    "# TYPE drishti_rule_load_errors gauge\ndrishti_rule_load_errors %d\n",
	    engine_load_errors(e));
	fprintf(f, "# HELP drishti_skipped_runs_total Runs skipped: the previous one was still going.\n"
	    "# TYPE drishti_skipped_runs_total counter\ndrishti_skipped_runs_total %llu\n",
	    (unsigned long long)st->skipped_runs);
	if (fflush(f) != 0 || ferror(f)) {
		snprintf(err, errlen, "[output] textfile %s: %s", tmp, strerror(errno));
		fclose(f);
		unlink(tmp);
		return -1;
	}
	fclose(f);
	if (rename(tmp, path) < 0) {
		snprintf(err, errlen, "[output] textfile %s: %s", path, strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}
