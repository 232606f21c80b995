/* quiet.h — quiet time: silences and maintenance windows, and whether a
 * check is inside one. */
#ifndef DRISHTI_QUIET_H
#define DRISHTI_QUIET_H
#include <stddef.h>
#include <stdint.h>
#include "config.h"
#include "rules.h"

struct store;

struct quiet_silence {
	int64_t id;
	char    pattern[256];
	char    reason[256];
	double  created, ends, removed;     /* removed: 0 while not removed */
	int     announced;                  /* 0 new, 1 its add was said, 2 its end too */
};

struct quiet_window {
	double  opens, closes;              /* the current window, or the next one */
	int     open;
};

struct quiet {
	struct quiet_silence *sil;
	size_t  nsil;
	struct quiet_window *win;           /* one per [maintenance] of cfg */
	size_t  nwin;
	const struct config *cfg;
};

/* Reads the silences from the state file (the CLI writes them there) and
 * works out each maintenance window at now.  0 / -1 (the old set stays). */
int  quiet_refresh(struct quiet *q, struct store *s, const struct config *cfg, double now);
void quiet_free(struct quiet *q);
/* 1 when d (its name, its labels) is in a silence or an open window at
 * now, why filled ("silence #3 until 14:05 (deploy)"); 0 otherwise. */
int  quiet_match(const struct quiet *q, const struct rule_decl *d, double now, char *why,
    size_t len);
/* Whether one pattern (a glob on the name, or label=value) takes d. */
int  quiet_pattern(const char *pattern, const struct rule_decl *d);
/* When window m opens next, or closes if open now (-1: never). */
double quiet_window_at(const struct config_maintenance *m, double now, int *open);

#endif
