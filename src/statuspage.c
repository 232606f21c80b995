/* statuspage.c — [output] status_page: a page for customers, served by the
 * web server the user already runs, with no port of ours and no script.
 * Only the checks a rule marks `public` appear: each one's state now, a bar
 * per day for 90 days (its uptime that day, from history), and the open and
 * recent incidents.  Everything comes from the state file (store_answer,
 * store_alert_get), so a rule that crashes cannot break the page; it is
 * written to temporary files renamed into place, so a reader never sees
 * half of one. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "alert.h"
#include "file.h"
#include "history.h"
#include "json.h"
#include "report.h"
#include "statuspage.h"
#include "store.h"

#define INCIDENT_DAYS 14

enum page_state { PS_UP, PS_DEGRADED, PS_DOWN, PS_UNKNOWN, PS_NODATA };

/* one table: the word, the colour, the JSON name */
static const struct { const char *word, *colour, *json; } states[] = {
	[PS_UP] = { "Operational", "#1a7f37", "operational" },
	[PS_DEGRADED] = { "Degraded", "#bf8700", "degraded" },
	[PS_DOWN] = { "Outage", "#cf222e", "outage" },
	[PS_UNKNOWN] = { "Unknown", "#6e7781", "unknown" },
	[PS_NODATA] = { "No data yet", "#8c959f", "no_data" },
};

struct row {
	enum page_state state;
	double days[STATUSPAGE_DAYS];   /* uptime share, -1: no data; [0] is today */
	double uptime;                  /* over the days with data, -1: none */
};

static void
day_of(double t, char *out, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;
	gmtime_r(&tt, &tm);
	strftime(out, len, "%Y-%m-%d", &tm);
}

static void
stamp(double t, char *out, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;
	gmtime_r(&tt, &tm);
	strftime(out, len, "%Y-%m-%d %H:%M UTC", &tm);
}

static void
span(double secs, char *out, size_t len)
{
	if (secs < 120)
		snprintf(out, len, "%.0f s", secs);
	else if (secs < 7200)
		snprintf(out, len, "%.0f min", secs / 60);
	else if (secs < 172800)
		snprintf(out, len, "%.1f h", secs / 3600);
	else
		snprintf(out, len, "%.1f days", secs / 86400);
}

static void
fill_row(struct store *s, const char *check, double now, double raw_window, struct row *r)
{
	struct alert al;
	double sum = 0;
	int have = 0;

	/* calendar days (UTC), today's so far: what a customer reads as a day;
	 * a day past raw retention is answered from its hourly roll-ups */
	double midnight = floor(now / 86400) * 86400;
	r->uptime = -1;
	for (int i = 0; i < STATUSPAGE_DAYS; i++) {
		double end = i == 0 ? now : midnight - 86400.0 * (i - 1), v;
		double window = i == 0 ? now - midnight : 86400;
		r->days[i] = -1;
		if (window > 0 && store_uptime(s, check, window, end, raw_window - (now - end), &v) == 1) {
			r->days[i] = v;
			sum += v;
			have++;
		}
	}
	if (have > 0)
		r->uptime = sum / have;
	r->state = PS_NODATA;
	if (store_alert_get(s, check, &al) == 0)
		r->state = al.state != AL_FIRING ? PS_UP : al.status == ST_CRIT ? PS_DOWN :
		    al.status == ST_WARN ? PS_DEGRADED : PS_UNKNOWN;
	else if (have > 0)
		r->state = PS_UP;
}

/* the incidents of the page's checks: open ones and those of the last two
 * weeks, newest first (history.incidents' own list) */
static struct json *
incidents(struct store *s, const struct statuspage_check *c, size_t n, double now,
    double raw_window)
{
	struct hist_ans *a = calloc(1, sizeof *a);
	struct json *out = json_new(JSON_ARRAY);
	struct hist_req q = { .fn = HIST_INCIDENTS, .window = 86400.0 * INCIDENT_DAYS };
	char e[64];

	(void)now;
	if (a == NULL)
		return out;
	store_answer(s, &q, raw_window, a);
	struct json *all = a->found == 1 && a->list_len > 0 ?
	    json_parse(a->list, (size_t)a->list_len, e, sizeof e) : NULL;
	for (const struct json *i = all ? json_child(all) : NULL; i != NULL; i = json_next(i)) {
		const struct json *ck = json_get(i, "check");
		for (size_t k = 0; ck != NULL && k < n; k++) {
			if (strcmp(json_string(ck), c[k].name) != 0)
				continue;
			struct json *o = json_new(JSON_OBJECT);
			json_add(o, "service", json_new_string(c[k].label));
			const struct json *st = json_get(i, "status");
			json_add(o, "severity", json_new_string(st && strcmp(json_string(st), "crit") == 0 ?
			    "outage" : st && strcmp(json_string(st), "warn") == 0 ? "degraded" : "unknown"));
			json_add(o, "started", json_new_number(json_number(json_get(i, "alerted"))));
			double res = json_number(json_get(i, "resolved"));
			json_add(o, "resolved", res > 0 ? json_new_number(res) : json_new(JSON_NULL));
			json_add(o, "seconds", json_new_number(json_number(json_get(i, "seconds"))));
			json_add(out, NULL, o);
		}
	}
	json_free(all);
	free(a);
	return out;
}

static int
publish(const char *dir, const char *name, const char *text, char *err, size_t errlen)
{
	char path[PATH_MAX], tmp[PATH_MAX + 32];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	snprintf(tmp, sizeof tmp, "%s/.%s.tmp.%d", dir, name, (int)getpid());
	FILE *f = fopen(tmp, "we");
	if (f == NULL) {
		snprintf(err, errlen, "[output] status_page %s: %s", dir, strerror(errno));
		return -1;
	}
	size_t l = strlen(text);
	if (fwrite(text, 1, l, f) != l || fflush(f) != 0 || fsync(fileno(f)) != 0) {
		snprintf(err, errlen, "[output] status_page %s: %s", path, strerror(errno));
		fclose(f);
		unlink(tmp);
		return -1;
	}
	fclose(f);
	if (chmod(tmp, 0644) < 0 || rename(tmp, path) < 0) {
		snprintf(err, errlen, "[output] status_page %s: %s", path, strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}

static char *
html(const char *title, const struct statuspage_check *c, size_t n, const struct row *rows,
    const struct json *inc, double now)
{
	char *out = NULL, when[40], d[16], sp[32];
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	enum page_state worst = PS_UP;

	if (f == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (rows[i].state == PS_DOWN || (rows[i].state == PS_DEGRADED && worst != PS_DOWN))
			worst = rows[i].state;
	stamp(now, when, sizeof when);
	fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
	    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
	    "<meta http-equiv=\"refresh\" content=\"60\">\n<title>", f);
	report_html_escape(f, title);
	fputs("</title>\n<style>\n"
	    "body{font:15px/1.5 system-ui,sans-serif;max-width:760px;margin:2em auto;padding:0 1em;color:#1f2328}\n"
	    "h1{font-size:1.5em;margin:0 0 .6em}.banner{padding:.8em 1em;border-radius:6px;color:#fff;font-weight:600}\n"
	    ".svc{border:1px solid #d0d7de;border-radius:6px;padding:.8em 1em;margin:1em 0}\n"
	    ".svc h2{font-size:1.05em;margin:0;display:flex;justify-content:space-between}\n"
	    ".bars{display:flex;gap:2px;margin:.6em 0 .2em;height:34px}.bars span{flex:1;border-radius:2px}\n"
	    ".legend{display:flex;justify-content:space-between;color:#656d76;font-size:.85em}\n"
	    "table{border-collapse:collapse;width:100%}td,th{text-align:left;padding:.3em .4em;border-bottom:1px solid #eee}\n"
	    ".foot{color:#656d76;font-size:.85em;margin-top:2em}\n</style></head><body>\n<h1>", f);
	report_html_escape(f, title);
	fprintf(f, "</h1>\n<p class=\"banner\" id=\"overall\" style=\"background:%s\">%s</p>\n",
	    states[worst].colour, worst == PS_UP ? "All systems operational" :
	    worst == PS_DOWN ? "Some systems are down" : "Some systems are degraded");
	for (size_t i = 0; i < n; i++) {
		const struct row *r = &rows[i];
		fputs("<section class=\"svc\"><h2><span class=\"name\">", f);
		report_html_escape(f, c[i].label);
		fprintf(f, "</span><span class=\"state\" style=\"color:%s\">%s</span></h2>\n"
		    "<div class=\"bars\" aria-label=\"uptime per day, %d days\">", states[r->state].colour,
		    states[r->state].word, STATUSPAGE_DAYS);
		for (int k = STATUSPAGE_DAYS - 1; k >= 0; k--) {
			double u = r->days[k];
			const char *col = u < 0 ? "#d0d7de" : u >= 0.999 ? "#1a7f37" : u >= 0.95 ?
			    "#bf8700" : "#cf222e";
			day_of(now - 86400.0 * k, d, sizeof d);
			if (u < 0)
				fprintf(f, "<span style=\"background:%s\" title=\"%s: no data\"></span>", col, d);
			else
				fprintf(f, "<span style=\"background:%s\" title=\"%s: %.2f %% up\"></span>", col, d,
				    u * 100);
		}
		fputs("</div>\n<div class=\"legend\"><span>90 days ago</span><span>", f);
		if (r->uptime >= 0)
			fprintf(f, "%.2f %% uptime", r->uptime * 100);
		else
			fputs("no history yet", f);
		fputs("</span><span>today</span></div></section>\n", f);
	}
	fputs("<h2>Incidents (14 days)</h2>\n", f);
	if (json_child(inc) == NULL)
		fputs("<p id=\"incidents\">No incidents.</p>\n", f);
	else {
		fputs("<table id=\"incidents\"><tr><th>Service</th><th>What</th><th>Started</th>"
		    "<th>Lasted</th></tr>\n", f);
		for (const struct json *i = json_child(inc); i != NULL; i = json_next(i)) {
			const struct json *res = json_get(i, "resolved");
			int open = json_type(res) != JSON_NUMBER;
			stamp(json_number(json_get(i, "started")), when, sizeof when);
			span(json_number(json_get(i, "seconds")), sp, sizeof sp);
			fputs("<tr class=\"", f);
			fputs(open ? "open" : "resolved", f);
			fputs("\"><td>", f);
			report_html_escape(f, json_string(json_get(i, "service")));
			fprintf(f, "</td><td>%s%s</td><td>%s</td><td>%s%s</td></tr>\n",
			    strcmp(json_string(json_get(i, "severity")), "outage") == 0 ? "Outage" :
			    "Degraded", open ? " (ongoing)" : "", when, sp, open ? " so far" : "");
		}
		fputs("</table>\n", f);
	}
	stamp(now, when, sizeof when);
	fprintf(f, "<p class=\"foot\">Updated %s by drishti. Also as <a href=\"status.json\">"
	    "status.json</a>.</p>\n</body></html>\n", when);
	if (fclose(f) != 0) {
		free(out);
		return NULL;
	}
	return out;
}

int
statuspage_write(const char *dir, const char *title, struct store *s,
    const struct statuspage_check *c, size_t n, double raw_window, char *err, size_t errlen)
{
	struct timespec ts;
	struct row *rows = calloc(n ? n : 1, sizeof *rows);
	int rc = -1;

	if (rows == NULL) {
		snprintf(err, errlen, "[output] status_page: out of memory");
		return -1;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	double now = (double)ts.tv_sec;
	if (file_mkdirs(dir, 0755) < 0) {
		snprintf(err, errlen, "[output] status_page %s: %s", dir, strerror(errno));
		free(rows);
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		fill_row(s, c[i].name, now, raw_window, &rows[i]);
	struct json *inc = incidents(s, c, n, now, raw_window);
	struct json *doc = json_new(JSON_OBJECT), *arr = json_new(JSON_ARRAY);
	json_add(doc, "title", json_new_string(title));
	json_add(doc, "updated", json_new_number(now));
	for (size_t i = 0; i < n; i++) {
		struct json *o = json_new(JSON_OBJECT), *days = json_new(JSON_ARRAY);
		json_add(o, "name", json_new_string(c[i].label));
		json_add(o, "check", json_new_string(c[i].name));
		json_add(o, "state", json_new_string(states[rows[i].state].json));
		json_add(o, "uptime_90d", rows[i].uptime >= 0 ? json_new_number(rows[i].uptime) :
		    json_new(JSON_NULL));
		for (int k = STATUSPAGE_DAYS - 1; k >= 0; k--)
			json_add(days, NULL, rows[i].days[k] >= 0 ? json_new_number(rows[i].days[k]) :
			    json_new(JSON_NULL));
		json_add(o, "days", days);
		json_add(arr, NULL, o);
	}
	json_add(doc, "services", arr);
	char *page = html(title, c, n, rows, inc, now);
	json_add(doc, "incidents", inc);
	char *js = json_print(doc, true);
	json_free(doc);
	if (page == NULL || js == NULL)
		snprintf(err, errlen, "[output] status_page: out of memory");
	else if (publish(dir, "status.json", js, err, errlen) == 0 &&
	    publish(dir, "index.html", page, err, errlen) == 0)
		rc = 0;
	free(page);
	free(js);
	free(rows);
	return rc;
}
