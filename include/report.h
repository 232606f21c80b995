/* report.h — a built report (the JSON document a rule's build function
 * produced) rendered for people: plain text for chat and mail, a standalone
 * HTML page with inline SVG charts, or the document itself, pretty-printed. */
#ifndef DRISHTI_REPORT_H
#define DRISHTI_REPORT_H
#include <stdio.h>
#include <stddef.h>

#define REPORT_DOC_MAX (60u << 10)  /* bytes of one report document */

enum report_format { REPORT_TEXT, REPORT_JSON, REPORT_HTML };

/* "text" "json" "html": 0 / -1. */
int   report_format_parse(const char *s, enum report_format *f);
/* malloc'd rendering of doc; NULL with err when doc is not a report. */
char *report_render(const char *doc, enum report_format f, char *err, size_t errlen);
/* The document as stored and sent: the worker's doc with agent and time
 * added; one saying why when doc is NULL (the build was killed).  malloc'd. */
char *report_finish(const char *doc, const char *name, const char *agent, double at,
    const char *why);
/* One line for a subject or a title: "weekly: 5 met, 2 missed". */
void  report_headline(const char *doc, char *out, size_t outlen);
/* Formats a value the way an item's format says ("pct" "ms" "bytes" "money"
 * or NULL); currency for money. */
void  report_value(double v, const char *format, const char *currency, char *out, size_t outlen);

/* Writes s with < > & " ' as HTML entities (no markup from rule text). */
void report_html_escape(FILE *f, const char *s);

#endif
