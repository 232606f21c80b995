/* statuspage.h — a static status page (index.html, status.json) built from
 * the state file alone. */
#ifndef DRISHTI_STATUSPAGE_H
#define DRISHTI_STATUSPAGE_H
#include <stddef.h>

struct store;

struct statuspage_check {
	const char *name;           /* the check */
	const char *label;          /* what the page calls it */
};

#define STATUSPAGE_DAYS 90

/* Writes DIR/index.html and DIR/status.json (each to a temporary file
 * renamed over the old one).  0, or -1 with err. */
int statuspage_write(const char *dir, const char *title, struct store *s,
    const struct statuspage_check *checks, size_t n, double raw_window, char *err,
    size_t errlen);

#endif
