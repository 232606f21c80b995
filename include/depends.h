/* depends.h — what `depends` may name: checks of the set, without a cycle. */
#ifndef DRISHTI_DEPENDS_H
#define DRISHTI_DEPENDS_H
#include <stddef.h>
#include "rules.h"

struct depends_item {
	const struct rule_decl *d;
	const char *file;           /* where it was declared (d->file may be NULL) */
};

/* Calls bad(ud, i, msg) for each declaration whose depends names no check of
 * the set, or closes a cycle; msg is "FILE:LINE: check "x": depends: ...".
 * Returns how many were bad. */
int depends_check(const struct depends_item *items, size_t n,
    void (*bad)(void *ud, size_t i, const char *msg), void *ud);

#endif
