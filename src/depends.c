/* depends.c — the checks `depends` names, checked across all rule files at
 * once (lint, run and once share it): each name is a check of the set (not
 * a report, not a typo), and following depends never comes back to where it
 * started.  A cycle would leave every check on it waiting for another to
 * recover, silent for good.  The walk is a depth-first search with three
 * colours, iterative, so a long chain cannot exhaust the stack. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "depends.h"

static long
find(const struct depends_item *items, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (items[i].d->kind == RULE_CHECK && strcmp(items[i].d->name, name) == 0)
			return (long)i;
	return -1;
}

static void
say(const struct depends_item *it, size_t i, void (*bad)(void *, size_t, const char *),
    void *ud, const char *fmt, const char *a, const char *b)
{
	char what[600], msg[1400];

	snprintf(what, sizeof what, fmt, a, b);
	snprintf(msg, sizeof msg, "%s:%d: check \"%s\": depends: %s",
	    it[i].file ? it[i].file : "?", it[i].d->line, it[i].d->name, what);
	bad(ud, i, msg);
}

int
depends_check(const struct depends_item *items, size_t n,
    void (*bad)(void *ud, size_t i, const char *msg), void *ud)
{
	enum { WHITE, GREY, BLACK };
	int nbad = 0;
	char *colour = calloc(n ? n : 1, 1), *flagged = calloc(n ? n : 1, 1);
	size_t *stack = calloc(n ? n : 1, sizeof *stack), *next = calloc(n ? n : 1, sizeof *next);

	if (colour == NULL || flagged == NULL || stack == NULL || next == NULL) {
		free(colour), free(flagged), free(stack), free(next);
		return 0;
	}
	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; k < items[i].d->ndepends; k++) {
			const char *name = items[i].d->depends[k];
			long j = find(items, n, name);
			if (j < 0 && !flagged[i]) {
				bool report = false;
				for (size_t r = 0; r < n; r++)
					report |= strcmp(items[r].d->name, name) == 0;
				say(items, i, bad, ud, "no check \"%s\"%s", name,
				    report ? " (that is a report)" : "");
				flagged[i] = 1;
				nbad++;
			}
		}
	for (size_t root = 0; root < n; root++) {
		if (colour[root] != WHITE)
			continue;
		size_t top = 0;
		stack[top++] = root;
		colour[root] = GREY;
		next[root] = 0;
		while (top > 0) {
			size_t v = stack[top - 1];
			const struct rule_decl *d = items[v].d;
			if (next[v] >= d->ndepends) {
				colour[v] = BLACK;
				top--;
				continue;
			}
			long w = find(items, n, d->depends[next[v]++]);
			if (w < 0 || colour[w] == BLACK)
				continue;
			if (colour[w] == GREY) {
				/* the cycle is the stack from w up to v */
				if (!flagged[v]) {
					char path[512];
					size_t pl = 0, from = top;
					while (from > 0 && stack[from - 1] != (size_t)w)
						from--;
					for (size_t k = from ? from - 1 : 0; k < top && pl < sizeof path; k++)
						pl += (size_t)snprintf(path + pl, sizeof path - pl, "%s -> ",
						    items[stack[k]].d->name);
					say(items, v, bad, ud, "cycle %s%s", pl < sizeof path ? path : "",
					    items[w].d->name);
					flagged[v] = 1;
					nbad++;
				}
				continue;
			}
			colour[w] = GREY;
			next[w] = 0;
			stack[top++] = (size_t)w;
		}
	}
	free(colour), free(flagged), free(stack), free(next);
	return nbad;
}
