/* report.c — rendering a built report.  A report rule's build function fills
 * sections of items, notes and charts (rules_lib.c); the worker sends that
 * as one JSON document, which is what is stored with the report's event and
 * what a webhook receives.  Here the same document becomes plain text (Slack,
 * Discord, ntfy, mail, `drishti report`) or a standalone HTML page whose
 * charts are inline SVG: no script, no external file, so it opens the same
 * from a mail attachment, a file or a browser years later.
 *
 * Document: {name, agent, at, met, missed, sections: [{title, rows: [
 *   {item, value, display, target, cmp, format, met},
 *   {note},
 *   {chart, format, points: [[t, v], ...], target}]}]}
 * Every text that came from a rule is escaped on the way into HTML. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "json.h"
#include "report.h"

int
report_format_parse(const char *s, enum report_format *f)
{
	if (strcmp(s, "text") == 0)
		*f = REPORT_TEXT;
	else if (strcmp(s, "json") == 0)
		*f = REPORT_JSON;
	else if (strcmp(s, "html") == 0)
		*f = REPORT_HTML;
	else
		return -1;
	return 0;
}

static void
thousands(double v, char *out, size_t outlen)
{
	char digits[64];
	long long whole = (long long)floor(fabs(v));
	int cents = (int)llround((fabs(v) - (double)whole) * 100);
	if (cents == 100) {
		whole++;
		cents = 0;
	}
	snprintf(digits, sizeof digits, "%lld", whole);
	size_t n = strlen(digits), o = 0;
	char buf[96];
	if (v < 0)
		buf[o++] = '-';
	for (size_t i = 0; i < n; i++) {
		if (i > 0 && (n - i) % 3 == 0)
			buf[o++] = ',';
		buf[o++] = digits[i];
	}
	snprintf(buf + o, sizeof buf - o, ".%02d", cents);
	snprintf(out, outlen, "%s", buf);
}

void
report_value(double v, const char *format, const char *currency, char *out, size_t outlen)
{
	if (!isfinite(v)) {
		snprintf(out, outlen, "n/a");
		return;
	}
	if (format != NULL && strcmp(format, "pct") == 0) {
		/* 99.95 must not round up to a 100 it did not reach */
		double p = v * 100;
		snprintf(out, outlen, "%.2f %%", p >= 99 && p < 100 ? floor(p * 100) / 100 : p);
	} else if (format != NULL && strcmp(format, "ms") == 0) {
		if (fabs(v) < 1)
			snprintf(out, outlen, "%.0f ms", v * 1000);
		else
			snprintf(out, outlen, "%.2f s", v);
	} else if (format != NULL && strcmp(format, "duration") == 0) {
		/* seconds, as a person says it: 45s, 4m 30s, 2h 5m, 3d 4h */
		double a = fabs(v);
		long long t = llround(a);
		if (a < 60)
			snprintf(out, outlen, "%s%.0fs", v < 0 ? "-" : "", a);
		else if (t < 3600)
			snprintf(out, outlen, "%s%lldm %llds", v < 0 ? "-" : "", t / 60, t % 60);
		else if (t < 86400)
			snprintf(out, outlen, "%s%lldh %lldm", v < 0 ? "-" : "", t / 3600, t % 3600 / 60);
		else
			snprintf(out, outlen, "%s%lldd %lldh", v < 0 ? "-" : "", t / 86400, t % 86400 / 3600);
	} else if (format != NULL && strcmp(format, "bytes") == 0) {
		static const char *const u[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB" };
		int i = 0;
		double x = v;
		while (fabs(x) >= 1024 && i < 5) {
			x /= 1024;
			i++;
		}
		snprintf(out, outlen, i == 0 ? "%.0f %s" : "%.1f %s", x, u[i]);
	} else if (format != NULL && strcmp(format, "money") == 0) {
		char t[96];
		thousands(v, t, sizeof t);
		if (t[0] == '-')
			snprintf(out, outlen, "-%s%s", currency ? currency : "$", t + 1);
		else
			snprintf(out, outlen, "%s%s", currency ? currency : "$", t);
	} else if (v == floor(v) && fabs(v) < 1e15)
		snprintf(out, outlen, "%.0f", v);
	else
		snprintf(out, outlen, "%.4g", v);
}

static const char *
str(const struct json *o, const char *key)
{
	const struct json *j = json_get(o, key);
	return j != NULL && json_type(j) == JSON_STRING ? json_string(j) : NULL;
}

static int
num(const struct json *o, const char *key, double *v)
{
	const struct json *j = json_get(o, key);
	if (j == NULL || json_type(j) != JSON_NUMBER)
		return 0;
	*v = json_number(j);
	return 1;
}

static const char *
cmp_text(const char *cmp)
{
	return cmp != NULL && strcmp(cmp, "<=") == 0 ? "≤" : "≥";
}

/* The item's value as shown: the rule's own display text, the number in
 * its format, or "no data". */
static void
item_value(const struct json *row, char *out, size_t outlen)
{
	const char *d = str(row, "display");
	double v;
	if (d != NULL)
		snprintf(out, outlen, "%s", d);
	else if (num(row, "value", &v))
		report_value(v, str(row, "format"), str(row, "currency"), out, outlen);
	else
		snprintf(out, outlen, "no data");
}

static void
item_target(const struct json *row, char *out, size_t outlen)
{
	double t;
	char v[64];
	out[0] = '\0';
	if (!num(row, "target", &t))
		return;
	report_value(t, str(row, "format"), str(row, "currency"), v, sizeof v);
	snprintf(out, outlen, "%s %s", cmp_text(str(row, "cmp")), v);
}

/* -1 no target, 0 missed, 1 met */
static int
item_met(const struct json *row)
{
	const struct json *m = json_get(row, "met");
	if (m == NULL || json_type(m) == JSON_NULL)
		return -1;
	return json_type(m) == JSON_TRUE;
}

void
report_headline(const char *doc, char *out, size_t outlen)
{
	char e[64];
	struct json *j = json_parse(doc, strlen(doc), e, sizeof e);
	double met = 0, missed = 0;
	const char *name = j ? str(j, "name") : NULL;

	if (j != NULL) {
		num(j, "met", &met);
		num(j, "missed", &missed);
	}
	if (met + missed > 0)
		snprintf(out, outlen, "%s: %.0f met, %.0f missed", name ? name : "report", met, missed);
	else
		snprintf(out, outlen, "%s", name ? name : "report");
	json_free(j);
}

static void
when(double at, char *out, size_t outlen)
{
	time_t t = (time_t)at;
	struct tm tm;
	localtime_r(&t, &tm);
	strftime(out, outlen, "%Y-%m-%d %H:%M %Z", &tm);
}

/* ---- text ----------------------------------------------------------------------- */

static void
chart_text(FILE *f, const struct json *row)
{
	const struct json *pts = json_get(row, "points");
	double lo = INFINITY, hi = -INFINITY, last = NAN;
	int n = 0;
	char a[64], b[64], c[64];
	static const char *const bars[] = { "▁", "▂", "▃", "▄", "▅", "▆", "▇", "█" };

	for (const struct json *p = pts ? json_child(pts) : NULL; p; p = json_next(p)) {
		const struct json *v = json_child(p) ? json_next(json_child(p)) : NULL;
		if (v == NULL || json_type(v) != JSON_NUMBER)
			continue;
		double x = json_number(v);
		lo = fmin(lo, x);
		hi = fmax(hi, x);
		last = x;
		n++;
	}
	fprintf(f, "  %s: ", str(row, "chart") ? str(row, "chart") : "chart");
	if (n == 0) {
		fprintf(f, "no data\n");
		return;
	}
	/* a sparkline: the shape of the week at a glance in any chat */
	for (const struct json *p = json_child(pts); p; p = json_next(p)) {
		const struct json *v = json_child(p) ? json_next(json_child(p)) : NULL;
		if (v == NULL || json_type(v) != JSON_NUMBER) {
			fputs(" ", f);
			continue;
		}
		int i = hi > lo ? (int)((json_number(v) - lo) / (hi - lo) * 7.0 + 0.5) : 3;
		fputs(bars[i < 0 ? 0 : i > 7 ? 7 : i], f);
	}
	const char *fmt = str(row, "format");
	report_value(lo, fmt, NULL, a, sizeof a);
	report_value(hi, fmt, NULL, b, sizeof b);
	report_value(last, fmt, NULL, c, sizeof c);
	fprintf(f, "  min %s, max %s, last %s\n", a, b, c);
}

/* What both renderings open with: when, and how many targets were met. */
struct head {
	char   at[64];
	double met, missed;
};

static void
head_of(const struct json *j, struct head *h)
{
	double ts = 0;

	h->met = h->missed = 0;
	num(j, "at", &ts);
	num(j, "met", &h->met);
	num(j, "missed", &h->missed);
	when(ts, h->at, sizeof h->at);
}

static void
render_text(FILE *f, const struct json *j)
{
	char v[128], t[160];
	struct head hd;

	head_of(j, &hd);
	fprintf(f, "Report \"%s\" from %s, %s\n", str(j, "name") ? str(j, "name") : "",
	    str(j, "agent") ? str(j, "agent") : "", hd.at);
	if (hd.met + hd.missed > 0)
		fprintf(f, "%.0f met, %.0f missed\n", hd.met, hd.missed);
	const struct json *secs = json_get(j, "sections");
	for (const struct json *s = secs ? json_child(secs) : NULL; s; s = json_next(s)) {
		const char *title = str(s, "title");
		if (title != NULL && *title)
			fprintf(f, "\n== %s ==\n", title);
		else
			fputc('\n', f);
		const struct json *rows = json_get(s, "rows");
		for (const struct json *r = rows ? json_child(rows) : NULL; r; r = json_next(r)) {
			if (str(r, "item") != NULL) {
				int m = item_met(r);
				item_value(r, v, sizeof v);
				item_target(r, t, sizeof t);
				fprintf(f, "  %-8s %s: %s", m < 0 ? "" : m ? "[met]" : "[MISSED]",
				    str(r, "item"), v);
				if (t[0])
					fprintf(f, "  (target %s)", t);
				fputc('\n', f);
			} else if (str(r, "note") != NULL)
				fprintf(f, "  - %s\n", str(r, "note"));
			else if (str(r, "chart") != NULL)
				chart_text(f, r);
		}
	}
}

/* ---- HTML ----------------------------------------------------------------------- */

void
report_html_escape(FILE *f, const char *s)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '&': fputs("&amp;", f); break;
		case '"': fputs("&quot;", f); break;
		case '\'': fputs("&#39;", f); break;
		default: fputc(*s, f);
		}
	}
}

#define CW 640.0
#define CH 180.0
#define PADL 70.0
#define PADB 24.0

static void
chart_svg(FILE *f, const struct json *row)
{
	const struct json *pts = json_get(row, "points");
	double t0 = INFINITY, t1 = -INFINITY, lo = INFINITY, hi = -INFINITY, target;
	int n = 0, has_target = num(row, "target", &target);
	const char *fmt = str(row, "format");
	char a[64], b[64], d[64];

	for (const struct json *p = pts ? json_child(pts) : NULL; p; p = json_next(p)) {
		const struct json *tj = json_child(p), *vj = tj ? json_next(tj) : NULL;
		if (vj == NULL || json_type(tj) != JSON_NUMBER || json_type(vj) != JSON_NUMBER)
			continue;
		t0 = fmin(t0, json_number(tj));
		t1 = fmax(t1, json_number(tj));
		lo = fmin(lo, json_number(vj));
		hi = fmax(hi, json_number(vj));
		n++;
	}
	fputs("<figure><figcaption>", f);
	report_html_escape(f, str(row, "chart"));
	fputs("</figcaption>\n", f);
	if (n == 0) {
		fputs("<p class=\"nodata\">no data</p></figure>\n", f);
		return;
	}
	int single = t1 <= t0;      /* one point in time: drawn at the centre */
	if (single) {
		/* centred, with room for the target on its side */
		double v = hi, dv = has_target ? fabs(target - v) * 1.25 : 0;
		if (dv == 0)
			dv = v == 0 ? 1 : fabs(v) * 0.1;
		lo = v - dv;
		hi = v + dv;
		if (fmt && strcmp(fmt, "pct") == 0 && v >= 0 && v <= 1) {
			lo = fmax(lo, 0);       /* a share stays within 0 and 100 % */
			hi = fmin(hi, 1);
		}
	} else if (has_target) {
		lo = fmin(lo, target);
		hi = fmax(hi, target);
	}
	if (!single && lo > 0 && lo < hi && lo / hi > 0.5 && fmt && strcmp(fmt, "pct") != 0)
		lo = 0;         /* small changes should not look like cliffs */
	if (hi <= lo) {
		/* one value (or one point): it sits in the middle, not on an edge */
		double pad = lo == 0 ? 1 : fabs(lo) * 0.1;
		lo -= pad;
		hi += pad;
	}
	if (single)
		t1 = t0 + 1;
	double w = CW - PADL - 10, h = CH - PADB - 10;
	fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %.0f %.0f\" width=\"%.0f\""
	    " height=\"%.0f\" role=\"img\">\n", CW, CH, CW, CH);
	fprintf(f, "<rect x=\"%.0f\" y=\"10\" width=\"%.0f\" height=\"%.0f\" class=\"plot\"/>\n",
	    PADL, w, h);
	report_value(hi, fmt, NULL, a, sizeof a);
	report_value(lo, fmt, NULL, b, sizeof b);
	fprintf(f, "<text x=\"%.0f\" y=\"18\" class=\"axis\" text-anchor=\"end\">%s</text>\n",
	    PADL - 6, a);
	fprintf(f, "<text x=\"%.0f\" y=\"%.0f\" class=\"axis\" text-anchor=\"end\">%s</text>\n",
	    PADL - 6, 10 + h, b);
	char d0[32], d1[32];
	if (t0 > 1e9) {
		/* unix times: dates on the axis; plain positions otherwise */
		time_t tt = (time_t)t0;
		struct tm tm;
		localtime_r(&tt, &tm);
		strftime(d0, sizeof d0, "%b %d", &tm);
		tt = (time_t)t1;
		localtime_r(&tt, &tm);
		strftime(d1, sizeof d1, "%b %d", &tm);
	} else {
		snprintf(d0, sizeof d0, "%.0f", t0);
		snprintf(d1, sizeof d1, "%.0f", t1);
	}
	fprintf(f, "<text x=\"%.0f\" y=\"%.0f\" class=\"axis\">%s</text>\n", PADL, CH - 6, d0);
	fprintf(f, "<text x=\"%.0f\" y=\"%.0f\" class=\"axis\" text-anchor=\"end\">%s</text>\n",
	    CW - 10, CH - 6, d1);
	if (has_target) {
		double y = 10 + h - (target - lo) / (hi - lo) * h;
		report_value(target, fmt, NULL, d, sizeof d);
		/* the label above the line, or below it where above would leave
		 * the plot (a target at the top) */
		double ly = y - 4 < 22 ? y + 13 : y - 4;
		fprintf(f, "<line x1=\"%.0f\" x2=\"%.0f\" y1=\"%.1f\" y2=\"%.1f\" class=\"target\"/>"
		    "<text x=\"%.0f\" y=\"%.1f\" class=\"axis\" text-anchor=\"end\">target %s</text>\n",
		    PADL, PADL + w, y, y, PADL + w - 4, ly, d);
	}
	fputs("<polyline class=\"line\" points=\"", f);
	for (const struct json *p = json_child(pts); p; p = json_next(p)) {
		const struct json *tj = json_child(p), *vj = tj ? json_next(tj) : NULL;
		if (vj == NULL || json_type(tj) != JSON_NUMBER || json_type(vj) != JSON_NUMBER)
			continue;
		double x = single ? PADL + w / 2 : PADL + (json_number(tj) - t0) / (t1 - t0) * w;
		double y = 10 + h - (json_number(vj) - lo) / (hi - lo) * h;
		fprintf(f, "%.1f,%.1f ", x, y);
	}
	fputs("\"/>\n", f);
	for (const struct json *p = json_child(pts); p; p = json_next(p)) {
		const struct json *tj = json_child(p), *vj = tj ? json_next(tj) : NULL;
		if (vj == NULL || json_type(tj) != JSON_NUMBER || json_type(vj) != JSON_NUMBER)
			continue;
		double x = single ? PADL + w / 2 : PADL + (json_number(tj) - t0) / (t1 - t0) * w;
		double y = 10 + h - (json_number(vj) - lo) / (hi - lo) * h;
		report_value(json_number(vj), fmt, NULL, d, sizeof d);
		fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"%d\" class=\"dot\"><title>%s</title></circle>\n",
		    x, y, single ? 5 : 3, d);
		if (single)     /* a lone point says its value */
			fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" class=\"axis\" text-anchor=\"middle\">%s</text>\n",
			    x, y - 10 < 20 ? y + 20 : y - 10, d);
	}
	fputs("</svg></figure>\n", f);
}

static void
render_html(FILE *f, const struct json *j)
{
	char v[128], t[160];
	struct head hd;

	head_of(j, &hd);
	fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
	    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>", f);
	report_html_escape(f, str(j, "name"));
	fputs(" — ", f);
	report_html_escape(f, str(j, "agent"));
	fputs("</title>\n<style>\n"
	    "body{font:15px/1.45 system-ui,sans-serif;max-width:720px;margin:2em auto;padding:0 1em;color:#222}\n"
	    "h1{font-size:1.4em;margin-bottom:.2em}h2{font-size:1.1em;border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:1.6em}\n"
	    ".meta{color:#666}table{border-collapse:collapse;width:100%}td{padding:.25em .4em;border-bottom:1px solid #eee}\n"
	    "table{table-layout:fixed}td:nth-child(1){width:42%}td:nth-child(2){width:20%}"
	    "td:nth-child(3){width:26%}\n"
	    "td.v{text-align:right;font-variant-numeric:tabular-nums}.met{color:#176f2c}.missed{color:#b3261e;font-weight:600}\n"
	    ".badge{font-size:.8em;padding:.1em .45em;border-radius:.6em;border:1px solid currentColor}\n"
	    "ul.notes{padding-left:1.2em}figure{margin:1em 0}figcaption{font-weight:600;margin-bottom:.3em}\n"
	    "svg .plot{fill:#fafafa;stroke:#ccc}svg .line{fill:none;stroke:#1f6feb;stroke-width:2}\n"
	    "svg .dot{fill:#1f6feb}svg .target{stroke:#b3261e;stroke-dasharray:4 3}svg .axis{font-size:11px;fill:#555}\n"
	    "</style></head><body>\n<h1>Report “", f);
	report_html_escape(f, str(j, "name"));
	fputs("”</h1>\n<p class=\"meta\">", f);
	report_html_escape(f, str(j, "agent"));
	fprintf(f, " · %s", hd.at);
	if (hd.met + hd.missed > 0)
		fprintf(f, " · <span class=\"met\">%.0f met</span> · <span class=\"%s\">%.0f missed</span>",
		    hd.met, hd.missed > 0 ? "missed" : "met", hd.missed);
	fputs("</p>\n", f);
	const struct json *secs = json_get(j, "sections");
	for (const struct json *s = secs ? json_child(secs) : NULL; s; s = json_next(s)) {
		const char *title = str(s, "title");
		if (title != NULL && *title) {
			fputs("<section><h2>", f);
			report_html_escape(f, title);
			fputs("</h2>\n", f);
		} else
			fputs("<section>\n", f);
		const struct json *rows = json_get(s, "rows");
		int in_table = 0, in_notes = 0;
		for (const struct json *r = rows ? json_child(rows) : NULL; r; r = json_next(r)) {
			int is_item = str(r, "item") != NULL, is_note = str(r, "note") != NULL;
			if (in_table && !is_item) {
				fputs("</table>\n", f);
				in_table = 0;
			}
			if (in_notes && !is_note) {
				fputs("</ul>\n", f);
				in_notes = 0;
			}
			if (is_item) {
				if (!in_table)
					fputs("<table>\n", f);
				in_table = 1;
				int m = item_met(r);
				item_value(r, v, sizeof v);
				item_target(r, t, sizeof t);
				fputs("<tr><td>", f);
				report_html_escape(f, str(r, "item"));
				fputs("</td><td class=\"v\">", f);
				report_html_escape(f, v);
				fputs("</td><td class=\"v\">", f);
				if (t[0]) {
					fputs("target ", f);
					report_html_escape(f, t);
				}
				fputs("</td><td>", f);
				if (m >= 0)
					fprintf(f, "<span class=\"badge %s\">%s</span>", m ? "met" : "missed",
					    m ? "met" : "missed");
				fputs("</td></tr>\n", f);
			} else if (is_note) {
				if (!in_notes)
					fputs("<ul class=\"notes\">\n", f);
				in_notes = 1;
				fputs("<li>", f);
				report_html_escape(f, str(r, "note"));
				fputs("</li>\n", f);
			} else if (str(r, "chart") != NULL)
				chart_svg(f, r);
		}
		if (in_table)
			fputs("</table>\n", f);
		if (in_notes)
			fputs("</ul>\n", f);
		fputs("</section>\n", f);
	}
	fputs("<p class=\"meta\">drishti</p>\n</body></html>\n", f);
}

char *
report_render(const char *doc, enum report_format fmt, char *err, size_t errlen)
{
	struct json *j = json_parse(doc, strlen(doc), err, errlen);
	char *out = NULL;
	size_t len = 0;

	if (j == NULL)
		return NULL;
	if (json_type(j) != JSON_OBJECT || json_get(j, "sections") == NULL) {
		snprintf(err, errlen, "not a report document");
		json_free(j);
		return NULL;
	}
	if (fmt == REPORT_JSON) {
		out = json_print(j, true);
		json_free(j);
		return out;
	}
	FILE *f = open_memstream(&out, &len);
	if (f == NULL) {
		snprintf(err, errlen, "out of memory");
		json_free(j);
		return NULL;
	}
	if (fmt == REPORT_HTML)
		render_html(f, j);
	else
		render_text(f, j);
	json_free(j);
	if (fclose(f) != 0) {
		free(out);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	return out;
}

char *
report_finish(const char *doc, const char *name, const char *agent, double at, const char *why)
{
	char e[128];
	struct json *j = doc ? json_parse(doc, strlen(doc), e, sizeof e) : NULL;

	if (j == NULL) {
		/* no document (the worker died): one that says what happened */
		char msg[1200];
		struct json *secs = json_new(JSON_ARRAY), *sec = json_new(JSON_OBJECT);
		struct json *rows = json_new(JSON_ARRAY), *row = json_new(JSON_OBJECT);
		snprintf(msg, sizeof msg, "This report did not finish: %s", why ? why : "no document");
		json_add(row, "note", json_new_string(msg));
		json_add(rows, NULL, row);
		json_add(sec, "title", json_new_string("Report error"));
		json_add(sec, "rows", rows);
		json_add(secs, NULL, sec);
		j = json_new(JSON_OBJECT);
		json_add(j, "name", json_new_string(name));
		json_add(j, "sections", secs);
		json_add(j, "error", json_new_string(why ? why : "no document"));
		json_add(j, "met", json_new_number(0));
		json_add(j, "missed", json_new_number(0));
	}
	json_add(j, "agent", json_new_string(agent));
	json_add(j, "at", json_new_number(floor(at)));
	char *out = json_print(j, false);
	json_free(j);
	return out;
}
