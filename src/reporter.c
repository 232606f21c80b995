/* reporter.c — the shape of what each reporter type is sent (DESIGN.md §7).
 *
 *   webhook       the JSON event body, signed: X-Drishti-Signature is
 *                 sha256=HEX(HMAC-SHA256(secret, timestamp "." body))
 *   slack discord one line of text in each service's JSON
 *   ntfy          the text as the body, a Title, urgent priority for CRIT
 *   smtp          a plain-text mail (libcurl: SMTPS or STARTTLS)
 *   alertmanager  POST /api/v2/alerts: the check's labels are the alert's
 *                 identity; endsAt on resolve; the outbox re-sends what is
 *                 firing so Alertmanager never times it out by itself
 *   telegram      Bot API sendMessage: POST URL/botTOKEN/sendMessage,
 *                 {chat_id, text}
 *   pushover      POST /1/messages.json, {token, user, title, message,
 *                 priority}: 1 for CRIT, 0 WARN and UNKNOWN, -1 resolves
 *   gotify        POST URL/message, X-Gotify-Key, {title, message, priority}:
 *                 8 CRIT, 5 WARN and UNKNOWN, 2 resolves
 *   pagerduty     Events API v2: POST /v2/enqueue, {routing_key,
 *                 event_action trigger|resolve, dedup_key agent/check,
 *                 payload {summary, source, severity, component}}
 *   webhook with a template: the template file with {{placeholders}}
 *                 filled, JSON-escaped; the configured headers and method
 *
 * A report event carries its document: a webhook receives it as "report",
 * people get it rendered as text (report.c).  Everything here is built from
 * the stored event alone, so a retry sends the same thing. */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include "crypto.h"
#include "json.h"
#include "report.h"
#include "reporter.h"


/* The one built-in reporter: with none configured, events are printed. */
const struct config_reporter reporter_stdout = { .name = "stdout", .type = "stdout",
	.events = REPORTER_EVENTS_DEFAULT, .min_severity = "warn" };

int
reporter_is_remote(const char *type)
{
	return strcmp(type, "stdout") != 0 && strcmp(type, "file") != 0;
}

static int
is(const struct reporter_ctx *c, const char *type)
{
	return strcmp(c->cfg->type, type) == 0;
}

static struct json *
labels_of(const struct rule_decl *d)
{
	struct json *labels = json_new(JSON_OBJECT);
	for (size_t i = 0; d != NULL && i < d->nlabels; i++)
		json_add(labels, d->labels[2 * i], json_new_string(d->labels[2 * i + 1]));
	return labels;
}

static char *
body_json(const struct reporter_ctx *c, const struct store_event *ev, const struct rule_decl *d)
{
	struct json *b = json_new(JSON_OBJECT);
	char e[64];

	json_add(b, "version", json_new_number(1));
	json_add(b, "id", json_new_string(ev->id));
	json_add(b, "agent", json_new_string(c->agent));
	json_add(b, "kind", json_new_string(ev->kind));
	json_add(b, "check", ev->check[0] ? json_new_string(ev->check) : json_new(JSON_NULL));
	json_add(b, "status", json_new_string(result_status_lower(ev->status)));
	json_add(b, "previous", json_new_string(result_status_lower(ev->previous)));
	json_add(b, "summary", json_new_string(ev->summary));
	json_add(b, "since", ev->since > 0 ? json_new_number(floor(ev->since)) : json_new(JSON_NULL));
	json_add(b, "at", json_new_number(floor(ev->at)));
	struct json *m = json_parse(ev->metrics, strlen(ev->metrics), e, sizeof e);
	json_add(b, "metrics", m ? m : json_new(JSON_OBJECT));
	json_add(b, "labels", labels_of(d));
	if (ev->doc != NULL) {
		struct json *r = json_parse(ev->doc, strlen(ev->doc), e, sizeof e);
		if (r != NULL)
			json_add(b, "report", r);
	}
	char *s = json_print(b, false);
	json_free(b);
	return s;
}

/* "[web-1] CRIT api.health: API unhealthy (HTTP 503) (alert)" */
static void
headline(const struct reporter_ctx *c, const struct store_event *ev, char *buf, size_t len)
{
	static const char *const said[][2] = { { "escalation", "escalated" },
		{ "deescalation", "de-escalated" }, { "change", "changed" } };
	const char *what = ev->kind;
	for (size_t i = 0; i < sizeof said / sizeof said[0]; i++)
		if (strcmp(ev->kind, said[i][0]) == 0)
			what = said[i][1];

	if (strcmp(ev->kind, "resolve") == 0)
		snprintf(buf, len, "[%s] RESOLVED %s (was %s): %s", c->agent,
		    ev->check[0] ? ev->check : "agent", result_status_name(ev->previous), ev->summary);
	else if (strcmp(ev->kind, "report") == 0)
		snprintf(buf, len, "[%s] Report %s", c->agent, ev->summary);
	else if (strcmp(ev->kind, "silence") == 0)
		snprintf(buf, len, "[%s] Silence: %s", c->agent, ev->summary);
	else
		snprintf(buf, len, "[%s] %s %s: %s (%s)", c->agent, result_status_name(ev->status),
		    ev->check[0] ? ev->check : "agent", ev->summary, what);
}

/* What people read: the headline, and a report's whole text. */
static char *
human_text(const struct reporter_ctx *c, const struct store_event *ev)
{
	char buf[RESULT_SUMMARY_MAX + 512], e[128];

	headline(c, ev, buf, sizeof buf);
	if (ev->doc == NULL)
		return strdup(buf);
	char *text = report_render(ev->doc, REPORT_TEXT, e, sizeof e);
	if (text == NULL)
		return strdup(buf);
	return text;
}

static char *
chat_json(const char *type, const char *text)
{
	struct json *b = json_new(JSON_OBJECT);
	/* Discord refuses content past 2000 characters */
	char *cut = NULL;
	if (strcmp(type, "discord") == 0 && strlen(text) > 1990) {
		cut = strndup(text, 1980);
		if (cut != NULL) {
			size_t l = strlen(cut);
			while (l > 0 && ((unsigned char)cut[l - 1] & 0xC0) == 0x80)
				l--;        /* not inside a UTF-8 sequence */
			if (l > 0 && (unsigned char)cut[l - 1] >= 0xC0)
				l--;
			snprintf(cut + l, 1981 - l, "…");
		}
	}
	json_add(b, strcmp(type, "discord") == 0 ? "content" : "text",
	    json_new_string(cut ? cut : text));
	free(cut);
	char *s = json_print(b, false);
	json_free(b);
	return s;
}

/* ---- mail ------------------------------------------------------------------------- */

/* A header value from rule text: no line breaks, no control characters. */
static void
header_safe(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = ' ';
}

static void
iso_time(double t, char *out, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;
	gmtime_r(&tt, &tm);
	strftime(out, len, "%Y-%m-%d %H:%M:%S UTC", &tm);
}

/* Bytes in the UTF-8 character that starts with lead byte c (1 for a
 * stray continuation byte, so nothing ever loops). */
static size_t
utf8_len(unsigned char c)
{
	return c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
}

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* n bytes of p in base64, no line breaks */
static void
put_b64_run(FILE *f, const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i += 3) {
		unsigned a = p[i], b = i + 1 < n ? p[i + 1] : 0, c = i + 2 < n ? p[i + 2] : 0;
		fputc(b64[a >> 2], f);
		fputc(b64[((a & 3) << 4) | (b >> 4)], f);
		fputc(i + 1 < n ? b64[((b & 15) << 2) | (c >> 6)] : '=', f);
		fputc(i + 2 < n ? b64[c & 63] : '=', f);
	}
}

/* RFC 2047: a header value with anything but printable ASCII goes as
 * "=?UTF-8?B?...?=" words of at most 75 characters, each holding whole
 * characters (45 bytes of text make 60 of base64), folded onto lines of
 * their own. */
static void
put_header_value(FILE *f, const char *v)
{
	const unsigned char *p = (const unsigned char *)v;
	size_t len = strlen(v);
	int plain = 1;

	for (size_t i = 0; i < len; i++)
		plain &= p[i] >= 0x20 && p[i] < 0x7f;
	if (plain) {
		fputs(v, f);
		return;
	}
	for (size_t at = 0; at < len;) {
		/* the first word shares its line with "Subject: " */
		size_t n = 0, max = at == 0 ? 39 : 45;
		while (at + n < len && n + utf8_len(p[at + n]) <= max)
			n += utf8_len(p[at + n]);
		if (n == 0 || at + n > len)
			n = len - at < max ? len - at : max;
		fputs(at == 0 ? "=?UTF-8?B?" : "\r\n =?UTF-8?B?", f);
		put_b64_run(f, p + at, n);
		fputs("?=", f);
		at += n;
	}
}

/* Quoted-printable (RFC 2045): 7-bit lines of at most 76 characters, so no
 * server needs 8BITMIME; a soft break falls between characters, never
 * inside one. */
static void
put_qp(FILE *f, const char *text)
{
	const unsigned char *p = (const unsigned char *)text;
	size_t col = 0;

	while (*p) {
		if (*p == '\r') {
			p++;
			continue;
		}
		if (*p == '\n') {
			fputs("\r\n", f);
			col = 0;
			p++;
			continue;
		}
		/* one character, as it will be written: its bytes up to the
		 * end of the text or the line */
		char enc[16];
		size_t n = utf8_len(*p), w = 0, used = 0;
		for (; used < n && p[used] && p[used] != '\n' && p[used] != '\r'; used++) {
			unsigned char c = p[used];
			int last = p[used + 1] == '\n' || p[used + 1] == '\0' || p[used + 1] == '\r';
			if (n == 1 && c >= 33 && c <= 126 && c != '=')
				enc[w++] = (char)c;
			else if (n == 1 && (c == ' ' || c == '\t') && !last)
				enc[w++] = (char)c;     /* trailing blanks are encoded */
			else
				w += (size_t)snprintf(enc + w, sizeof enc - w, "=%02X", c);
		}
		if (col + w > 75) {
			fputs("=\r\n", f);
			col = 0;
		}
		fwrite(enc, 1, w, f);
		col += w;
		p += used ? used : 1;
	}
	if (col > 0)
		fputs("\r\n", f);
}

/* Base64 in lines of 76 (RFC 2045), for the HTML part. */
static void
put_base64(FILE *f, const char *text)
{
	const unsigned char *p = (const unsigned char *)text;
	size_t len = strlen(text);

	for (size_t i = 0; i < len; i += 57) {
		put_b64_run(f, p + i, len - i < 57 ? len - i : 57);
		fputs("\r\n", f);
	}
}

/* A mail: the headline as the subject (RFC 2047 when it is not ASCII), the
 * text quoted-printable; a report as multipart/alternative, its text and
 * its HTML page (report.c), so a mail client shows the page and any other
 * the text. */
static char *
mail(const struct reporter_ctx *c, const struct store_event *ev, const struct rule_decl *d)
{
	char subject[300], date[64], when[64], *out = NULL, e[128];
	size_t len = 0;
	time_t now = time(NULL);
	struct tm tm;

	headline(c, ev, subject, sizeof subject);
	header_safe(subject);
	gmtime_r(&now, &tm);
	strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S +0000", &tm);
	FILE *f = open_memstream(&out, &len);
	if (f == NULL)
		return NULL;
	fprintf(f, "From: drishti <%s>\r\nTo: %s\r\nSubject: ", c->cfg->from, c->cfg->to);
	put_header_value(f, subject);
	fprintf(f, "\r\nDate: %s\r\nMessage-ID: <%s@drishti>\r\nMIME-Version: 1.0\r\n"
	    "Auto-Submitted: auto-generated\r\nX-Drishti-Event-Id: %s\r\n", date, ev->id, ev->id);
	/* the text and, for an event, the facts an operator looks for, one a
	 * line, encoded as one body */
	char *text = human_text(c, ev), *body = NULL;
	size_t blen = 0;
	FILE *b = open_memstream(&body, &blen);
	if (b == NULL) {
		free(text);
		fclose(f);
		free(out);
		return NULL;
	}
	fprintf(b, "%s\n", text ? text : subject);
	free(text);
	if (ev->doc == NULL) {
		fputs("\n", b);
		if (ev->check[0])
			fprintf(b, "Check:    %s\n", ev->check);
		fprintf(b, "Status:   %s (was %s)\n", result_status_name(ev->status), result_status_name(ev->previous));
		if (ev->since > 0) {
			iso_time(ev->since, when, sizeof when);
			fprintf(b, "Since:    %s\n", when);
		}
		iso_time(ev->at, when, sizeof when);
		fprintf(b, "At:       %s\n", when);
		fprintf(b, "Agent:    %s\n", c->agent);
		if (d != NULL && d->description != NULL)
			fprintf(b, "About:    %s\n", d->description);
		for (size_t i = 0; d != NULL && i < d->nlabels; i++)
			fprintf(b, "Label:    %s=%s\n", d->labels[2 * i], d->labels[2 * i + 1]);
		if (strcmp(ev->metrics, "{}") != 0)
			fprintf(b, "Metrics:  %s\n", ev->metrics);
		fprintf(b, "Event:    %s %s\n", ev->kind, ev->id);
	}
	if (fclose(b) != 0) {
		free(body);
		fclose(f);
		free(out);
		return NULL;
	}
	char *html = ev->doc != NULL ? report_render(ev->doc, REPORT_HTML, e, sizeof e) : NULL;
	if (html != NULL) {
		char boundary[64];
		snprintf(boundary, sizeof boundary, "=_drishti_%s", ev->id);
		fprintf(f, "Content-Type: multipart/alternative;\r\n boundary=\"%s\"\r\n\r\n"
		    "This is a report in text and in HTML.\r\n"
		    "--%s\r\nContent-Type: text/plain; charset=utf-8\r\n"
		    "Content-Transfer-Encoding: quoted-printable\r\n\r\n", boundary, boundary);
		put_qp(f, body);
		fprintf(f, "--%s\r\nContent-Type: text/html; charset=utf-8\r\n"
		    "Content-Transfer-Encoding: base64\r\n\r\n", boundary);
		put_base64(f, html);
		fprintf(f, "--%s--\r\n", boundary);
		free(html);
	} else {
		fputs("Content-Type: text/plain; charset=utf-8\r\n"
		    "Content-Transfer-Encoding: quoted-printable\r\n\r\n", f);
		put_qp(f, body);
	}
	free(body);
	if (fclose(f) != 0) {
		free(out);
		return NULL;
	}
	return out;
}

/* ---- Alertmanager ----------------------------------------------------------------- */

static struct json *
rfc3339(double t)
{
	char buf[40];
	time_t tt = (time_t)t;
	struct tm tm;
	gmtime_r(&tt, &tm);
	strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
	size_t l = strlen(buf);
	snprintf(buf + l, sizeof buf - l, ".%03dZ", (int)((t - floor(t)) * 1000));
	return json_new_string(buf);
}

static void
am_alert(struct json *arr, const struct reporter_ctx *c, const struct store_event *ev,
    const struct rule_decl *d, enum status sev, double ends)
{
	struct json *a = json_new(JSON_OBJECT), *l = labels_of(d), *an = json_new(JSON_OBJECT);
	const char *name = ev->check[0] ? ev->check :
	    strcmp(ev->kind, "test") == 0 ? "drishti_test" : "drishti_agent";

	json_add(l, "alertname", json_new_string(name));
	json_add(l, "instance", json_new_string(c->agent));
	json_add(l, "severity", json_new_string(strcmp(ev->kind, "test") == 0 ? "info" :
	    result_status_lower(sev)));
	json_add(l, "source", json_new_string("drishti"));
	json_add(a, "labels", l);
	json_add(an, "summary", json_new_string(ev->summary));
	if (d != NULL && d->description != NULL)
		json_add(an, "description", json_new_string(d->description));
	json_add(a, "annotations", an);
	json_add(a, "startsAt", rfc3339(ev->since > 0 ? ev->since : ev->at));
	if (ends > 0)
		json_add(a, "endsAt", rfc3339(ends));
	json_add(arr, NULL, a);
}

/* escalation, deescalation, change: a firing alert's status moved */
static int
is_change(const char *kind)
{
	return strcmp(kind, "escalation") == 0 || strcmp(kind, "deescalation") == 0 ||
	    strcmp(kind, "change") == 0;
}

/* One event in Alertmanager's terms.  Severity is part of the identity (it
 * is what routes a page), so an escalation also ends the alert of the old
 * severity, or it would linger until Alertmanager's resolve_timeout. */
static void
am_event(struct json *arr, const struct reporter_ctx *c, const struct store_event *ev,
    const struct rule_decl *d)
{
	if (strcmp(ev->kind, "resolve") == 0)
		am_alert(arr, c, ev, d, ev->previous, ev->at);
	else if (strcmp(ev->kind, "test") == 0 || ev->check[0] == '\0')
		/* one-off events: shown for an hour, then gone by themselves */
		am_alert(arr, c, ev, d, ev->status, ev->at + 3600);
	else {
		if (is_change(ev->kind) && ev->previous != ev->status && ev->previous != ST_OK)
			am_alert(arr, c, ev, d, ev->previous, ev->at);
		am_alert(arr, c, ev, d, ev->status, 0);
	}
}

/* ---- templates ------------------------------------------------------------------ */

/* The placeholders a template may use: one table, for the check at load
 * time and the fill at send time. */
static const char *const placeholders[] = { "check", "status", "STATUS", "previous", "kind",
	"summary", "agent", "id", "at", "since", "text", "description", NULL };

static int
placeholder(const char *name, size_t n)
{
	for (int i = 0; placeholders[i] != NULL; i++)
		if (strlen(placeholders[i]) == n && strncmp(placeholders[i], name, n) == 0)
			return i;
	return -1;
}

int
reporter_template_check(const char *t, char *err, size_t errlen)
{
	int line = 1;

	for (const char *p = t; *p; p++) {
		if (*p == '\n')
			line++;
		if (p[0] != '{' || p[1] != '{')
			continue;
		const char *q = p + 2, *e = strstr(q, "}}");
		while (*q == ' ')
			q++;
		size_t n = e ? strcspn(q, " }") : 0;
		if (e == NULL || placeholder(q, n) < 0) {
			snprintf(err, errlen, "template line %d: unknown placeholder \"%.*s\" (known: "
			    "check status STATUS previous kind summary agent id at since text description)",
			    line, e ? (int)(e - p + 2) : 12, p);
			return -1;
		}
		p = e + 1;
	}
	return 0;
}

static void
utc_iso(double t, char *out, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;
	gmtime_r(&tt, &tm);
	strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* The value of placeholder i for ev, raw. */
static void
fill_value(int i, const struct reporter_ctx *c, const struct store_event *ev,
    const struct rule_decl *d, char *out, size_t len)
{
	switch (i) {
	case 0: snprintf(out, len, "%s", ev->check[0] ? ev->check : c->agent); break;
	case 1: snprintf(out, len, "%s", result_status_lower(ev->status)); break;
	case 2: snprintf(out, len, "%s", result_status_name(ev->status)); break;
	case 3: snprintf(out, len, "%s", result_status_lower(ev->previous)); break;
	case 4: snprintf(out, len, "%s", ev->kind); break;
	case 5: snprintf(out, len, "%s", ev->summary); break;
	case 6: snprintf(out, len, "%s", c->agent); break;
	case 7: snprintf(out, len, "%s", ev->id); break;
	case 8: utc_iso(ev->at, out, len); break;
	case 9: if (ev->since > 0) utc_iso(ev->since, out, len); else out[0] = '\0'; break;
	case 10: headline(c, ev, out, len); break;
	default: snprintf(out, len, "%s", d && d->description ? d->description : ""); break;
	}
}

/* tmpl with each {{name}} replaced: JSON-escaped for a body, %-escaped for
 * a URL. */
static char *
fill(const char *tmpl, int for_url, const struct reporter_ctx *c, const struct store_event *ev,
    const struct rule_decl *d)
{
	char *out = NULL, raw[RESULT_SUMMARY_MAX + 512];
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	if (f == NULL)
		return NULL;
	for (const char *p = tmpl; *p; p++) {
		const char *q = p + 2, *e = p[0] == '{' && p[1] == '{' ? strstr(q, "}}") : NULL;
		while (e != NULL && *q == ' ')
			q++;
		int i = e ? placeholder(q, strcspn(q, " }")) : -1;
		if (i < 0) {
			fputc(*p, f);
			continue;
		}
		fill_value(i, c, ev, d, raw, sizeof raw);
		if (for_url) {
			for (const unsigned char *r = (const unsigned char *)raw; *r; r++)
				if (isalnum(*r) || strchr("-._~", *r))
					fputc(*r, f);
				else
					fprintf(f, "%%%02X", *r);
		} else {
			struct json *j = json_new_string(raw);
			char *js = j ? json_print(j, false) : NULL;
			if (js != NULL && strlen(js) >= 2)
				fwrite(js + 1, 1, strlen(js) - 2, f);
			free(js);
			json_free(j);
		}
		p = e + 1;
	}
	if (fclose(f) != 0) {
		free(out);
		return NULL;
	}
	return out;
}

/* ---- the services ---------------------------------------------------------------- */

static int
is_alertish(const struct store_event *ev)
{
	return strcmp(ev->kind, "report") != 0 && strcmp(ev->kind, "test") != 0 &&
	    strcmp(ev->kind, "silence") != 0;
}

static char *
print_free(struct json *b)
{
	char *s = json_print(b, false);
	json_free(b);
	return s;
}

static char *
telegram_body(const struct reporter_ctx *c, const char *text)
{
	struct json *b = json_new(JSON_OBJECT);
	json_add(b, "chat_id", json_new_string(c->cfg->to));
	/* Telegram takes at most 4096 characters */
	char *cut = strlen(text) > 4000 ? strndup(text, 4000) : NULL;
	if (cut != NULL) {
		size_t l = strlen(cut);
		while (l > 0 && ((unsigned char)cut[l - 1] & 0xC0) == 0x80)
			l--;
		if (l > 0 && (unsigned char)cut[l - 1] >= 0xC0)
			l--;
		cut[l] = '\0';
	}
	json_add(b, "text", json_new_string(cut ? cut : text));
	json_add(b, "disable_web_page_preview", json_new(JSON_TRUE));
	free(cut);
	return print_free(b);
}

static char *
pushover_body(const struct reporter_ctx *c, const struct store_event *ev, const char *text)
{
	struct json *b = json_new(JSON_OBJECT);
	char title[250];
	int resolve = strcmp(ev->kind, "resolve") == 0;
	int prio = !is_alertish(ev) || resolve ? -1 : ev->status == ST_CRIT ? 1 : 0;

	snprintf(title, sizeof title, "drishti %s %s", resolve ? "resolved" : result_status_name(ev->status),
	    ev->check[0] ? ev->check : c->agent);
	json_add(b, "token", json_new_string((const char *)c->secret));
	json_add(b, "user", json_new_string(c->cfg->to));
	json_add(b, "title", json_new_string(title));
	json_add(b, "message", json_new_string(text));
	json_add(b, "priority", json_new_number(prio));
	json_add(b, "timestamp", json_new_number(floor(ev->at)));
	return print_free(b);
}

static char *
gotify_body(const struct reporter_ctx *c, const struct store_event *ev, const char *text)
{
	struct json *b = json_new(JSON_OBJECT);
	char title[250];
	int resolve = strcmp(ev->kind, "resolve") == 0;
	int prio = !is_alertish(ev) ? 4 : resolve ? 2 : ev->status == ST_CRIT ? 8 : 5;

	snprintf(title, sizeof title, "drishti %s %s", resolve ? "resolved" : result_status_name(ev->status),
	    ev->check[0] ? ev->check : c->agent);
	json_add(b, "title", json_new_string(title));
	json_add(b, "message", json_new_string(text));
	json_add(b, "priority", json_new_number(prio));
	return print_free(b);
}

static char *
pagerduty_body(const struct reporter_ctx *c, const struct store_event *ev,
    const struct rule_decl *d)
{
	static const char *const sev[] = { "info", "warning", "critical", "error" };
	struct json *b = json_new(JSON_OBJECT);
	char key[400], head[RESULT_SUMMARY_MAX + 512], when[40];
	int resolve = strcmp(ev->kind, "resolve") == 0;

	/* one incident per agent and check: the alert opens it, the resolve
	 * closes it, escalations and reminders update it */
	snprintf(key, sizeof key, "%s/%s", c->agent, ev->check[0] ? ev->check :
	    strcmp(ev->kind, "test") == 0 ? ev->id : ev->kind);
	json_add(b, "routing_key", json_new_string((const char *)c->secret));
	json_add(b, "event_action", json_new_string(resolve ? "resolve" : "trigger"));
	json_add(b, "dedup_key", json_new_string(key));
	if (!resolve) {
		struct json *p = json_new(JSON_OBJECT), *cd = json_new(JSON_OBJECT);
		char e[64];
		headline(c, ev, head, sizeof head);
		if (strlen(head) > 1000)
			head[1000] = '\0';
		json_add(p, "summary", json_new_string(head));
		json_add(p, "source", json_new_string(c->agent));
		json_add(p, "severity", json_new_string(!is_alertish(ev) ? "info" :
		    sev[ev->status & 3]));
		utc_iso(ev->at, when, sizeof when);
		json_add(p, "timestamp", json_new_string(when));
		if (ev->check[0])
			json_add(p, "component", json_new_string(ev->check));
		json_add(cd, "kind", json_new_string(ev->kind));
		json_add(cd, "status", json_new_string(result_status_lower(ev->status)));
		json_add(cd, "event_id", json_new_string(ev->id));
		struct json *m = json_parse(ev->metrics, strlen(ev->metrics), e, sizeof e);
		if (m != NULL)
			json_add(cd, "metrics", m);
		if (d != NULL && d->description != NULL)
			json_add(cd, "description", json_new_string(d->description));
		json_add(p, "custom_details", cd);
		json_add(b, "payload", p);
	}
	return print_free(b);
}

/* ---- the request ---------------------------------------------------------------- */

static int
add_header(struct reporter_msg *m, const char *fmt, const char *a, const char *b)
{
	size_t n = m->rq.nheaders;
	if (n >= REPORTER_HEADERS)
		return -1;
	size_t len = strlen(fmt) + strlen(a) + (b ? strlen(b) : 0) + 1;
	m->hdr[n] = malloc(len);
	if (m->hdr[n] == NULL)
		return -1;
	snprintf(m->hdr[n], len, fmt, a, b ? b : "");
	m->hdrp[n] = m->hdr[n];
	m->rq.nheaders = n + 1;
	return 0;
}

void
reporter_msg_free(struct reporter_msg *m)
{
	free(m->body);
	for (size_t i = 0; i < REPORTER_HEADERS; i++)
		free(m->hdr[i]);
	memset(m, 0, sizeof *m);
}

int
reporter_build(const struct reporter_ctx *c, const struct store_event *evs,
    const struct rule_decl *const *decls, size_t n, struct reporter_msg *m, char *err,
    size_t errlen)
{
	const struct store_event *ev = &evs[0];
	const struct rule_decl *d = decls ? decls[0] : NULL;
	const struct config_reporter *rc = c->cfg;
	char ts[32];

	memset(m, 0, sizeof *m);
	m->rq.method = "POST";
	m->rq.url = rc->url;
	m->rq.headers = m->hdrp;
	m->rq.timeout_ms = rc->timeout_ms;
	m->rq.ca_file = rc->ca_file && *rc->ca_file ? rc->ca_file : NULL;
	m->rq.pin = rc->pin && *rc->pin ? rc->pin : NULL;
	m->rq.max_body = 64 << 10;
	m->rq.reuse = 1;
	if (is(c, "alertmanager")) {
		struct json *arr = json_new(JSON_ARRAY);
		for (size_t i = 0; i < n; i++)
			am_event(arr, c, &evs[i], decls ? decls[i] : NULL);
		m->body = json_print(arr, false);
		json_free(arr);
		/* the API lives under the base URL the operator gave */
		size_t ul = strlen(rc->url) + sizeof "/api/v2/alerts";
		m->hdr[REPORTER_HEADERS - 1] = malloc(ul);
		if (m->hdr[REPORTER_HEADERS - 1] == NULL || m->body == NULL)
			goto oom;
		snprintf(m->hdr[REPORTER_HEADERS - 1], ul, "%s%s", rc->url,
		    strstr(rc->url, "/api/v2/alerts") ? "" :
		    rc->url[strlen(rc->url) - 1] == '/' ? "api/v2/alerts" : "/api/v2/alerts");
		m->rq.url = m->hdr[REPORTER_HEADERS - 1];
		if (add_header(m, "%sapplication/json%s", "Content-Type: ", NULL) < 0)
			goto oom;
	} else if (is(c, "smtp")) {
		m->body = mail(c, ev, d);
		if (m->body == NULL)
			goto oom;
		m->rq.protocols = "smtp,smtps";
		m->rq.mail_from = rc->from;
		m->rq.mail_rcpt = rc->to;
		m->rq.username = rc->username;
		m->rq.password = c->password;
		m->rq.starttls = strcmp(rc->starttls ? rc->starttls : "require", "off") == 0 ? 0 :
		    strcmp(rc->starttls, "try") == 0 ? 1 : 2;
	} else if (is(c, "webhook")) {
		int typed = 0;
		for (size_t i = 0; i < c->nheaders; i++)
			typed |= strncasecmp(c->headers[i], "content-type:", 13) == 0;
		m->body = c->tmpl != NULL ? fill(c->tmpl, 0, c, ev, d) : body_json(c, ev, d);
		if (m->body == NULL || (!typed &&
		    add_header(m, "%sapplication/json%s", "Content-Type: ", NULL) < 0))
			goto oom;
		for (size_t i = 0; i < c->nheaders; i++)
			if (add_header(m, "%s%s", c->headers[i], NULL) < 0)
				goto oom;
		if (rc->method != NULL && strcmp(rc->method, "PUT") == 0)
			m->rq.method = "PUT";
		if (rc->url != NULL && strstr(rc->url, "{{") != NULL) {
			/* a URL that names the event (Matrix's transaction id) */
			m->hdr[REPORTER_HEADERS - 1] = fill(rc->url, 1, c, ev, d);
			if (m->hdr[REPORTER_HEADERS - 1] == NULL)
				goto oom;
			m->rq.url = m->hdr[REPORTER_HEADERS - 1];
		}
	} else if (is(c, "telegram") || is(c, "pushover") || is(c, "gotify") ||
	    is(c, "pagerduty")) {
		char *text = human_text(c, ev);
		if (text == NULL)
			goto oom;
		if (is(c, "telegram")) {
			m->body = telegram_body(c, text);
			size_t ul = strlen(rc->url) + c->secret_len + 32;
			m->hdr[REPORTER_HEADERS - 1] = malloc(ul);
			if (m->hdr[REPORTER_HEADERS - 1] != NULL)
				snprintf(m->hdr[REPORTER_HEADERS - 1], ul, "%s%sbot%s/sendMessage", rc->url,
				    rc->url[strlen(rc->url) - 1] == '/' ? "" : "/", (const char *)c->secret);
			m->rq.url = m->hdr[REPORTER_HEADERS - 1];
		} else if (is(c, "pushover"))
			m->body = pushover_body(c, ev, text);
		else if (is(c, "gotify")) {
			m->body = gotify_body(c, ev, text);
			size_t ul = strlen(rc->url) + 16;
			m->hdr[REPORTER_HEADERS - 1] = malloc(ul);
			if (m->hdr[REPORTER_HEADERS - 1] != NULL)
				snprintf(m->hdr[REPORTER_HEADERS - 1], ul, "%s%s", rc->url,
				    strstr(rc->url, "/message") ? "" :
				    rc->url[strlen(rc->url) - 1] == '/' ? "message" : "/message");
			m->rq.url = m->hdr[REPORTER_HEADERS - 1];
			if (add_header(m, "X-Gotify-Key: %s%s", (const char *)c->secret, NULL) < 0) {
				free(text);
				goto oom;
			}
		} else
			m->body = pagerduty_body(c, ev, d);
		free(text);
		if (m->body == NULL || m->rq.url == NULL ||
		    add_header(m, "%sapplication/json%s", "Content-Type: ", NULL) < 0)
			goto oom;
	} else {
		/* people read these: text, in the shape each service takes */
		char *text = human_text(c, ev);
		if (text == NULL)
			goto oom;
		if (is(c, "ntfy")) {
			char title[300];
			m->body = text;
			snprintf(title, sizeof title, "drishti %s %s", ev->kind,
			    ev->check[0] ? ev->check : c->agent);
			header_safe(title);
			if (add_header(m, "%stext/plain; charset=utf-8%s", "Content-Type: ", NULL) < 0 ||
			    add_header(m, "Title: %s%s", title, NULL) < 0)
				goto oom;
			if (ev->status == ST_CRIT && strcmp(ev->kind, "resolve") != 0 &&
			    add_header(m, "%s%s", "Priority: urgent", NULL) < 0)
				goto oom;
		} else {
			m->body = chat_json(rc->type, text);
			free(text);
			if (m->body == NULL ||
			    add_header(m, "%sapplication/json%s", "Content-Type: ", NULL) < 0)
				goto oom;
		}
	}
	m->rq.body = m->body;
	m->rq.body_len = strlen(m->body);
	if (is(c, "smtp"))
		return 0;
	snprintf(ts, sizeof ts, "%lld", (long long)time(NULL));
	if (add_header(m, "X-Drishti-Event-Id: %s%s", ev->id, NULL) < 0 ||
	    add_header(m, "X-Drishti-Timestamp: %s%s", ts, NULL) < 0)
		goto oom;
	if (c->secret != NULL && !is(c, "telegram") && !is(c, "pushover") && !is(c, "gotify") &&
	    !is(c, "pagerduty")) {
		size_t ml = strlen(ts) + 1 + m->rq.body_len;
		char *msg = malloc(ml + 1), hex[65];
		if (msg == NULL)
			goto oom;
		snprintf(msg, ml + 1, "%s.%s", ts, m->body);
		crypto_hmac_sha256_hex(c->secret, c->secret_len, msg, ml, hex);
		free(msg);
		if (add_header(m, "X-Drishti-Signature: sha256=%s%s", hex, NULL) < 0)
			goto oom;
	}
	return 0;
oom:
	reporter_msg_free(m);
	snprintf(err, errlen, "out of memory");
	return -1;
}

static double
retry_after(const char *headers)
{
	for (const char *p = headers; p && *p;) {
		if (strncasecmp(p, "retry-after:", 12) == 0)
			return atof(p + 12);
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return 0;
}

int
reporter_outcome(const struct config_reporter *rc, const struct http_response *r,
    double *ra, char *err, size_t errlen)
{
	*ra = 0;
	if (strcmp(rc->type, "smtp") == 0) {
		/* SMTP: 5xx is a refusal for good (no such mailbox, relaying
		 * denied); 4xx and a lost connection are worth another try */
		if (r->error[0] == '\0')
			return 0;
		if (r->status >= 400)   /* else the last reply was a good one */
			snprintf(err, errlen, "SMTP %ld: %s", r->status, r->error);
		else
			snprintf(err, errlen, "%s", r->error);
		return r->status >= 500 ? 2 : 1;
	}
	if (r->status >= 200 && r->status < 300)
		return 0;
	if (r->status == 0)
		snprintf(err, errlen, "%s", r->error);
	else
		snprintf(err, errlen, "HTTP %ld", r->status);
	if (r->status >= 400 && r->status < 500 && r->status != 408 && r->status != 429)
		return 2;
	*ra = retry_after(r->headers);
	return 1;
}
