/* ruleset.h — all rule files of a config, loaded together. */
#ifndef DRISHTI_RULESET_H
#define DRISHTI_RULESET_H
#include <stdio.h>
#include "config.h"
#include "rules.h"

struct ruleset {
	struct rule_file **files;
	size_t   nfiles;
	int      nerrors;           /* load errors printed */
	const char **reporters;     /* names notify may use */
	size_t   nreporters;
	struct rules_env env;
	FILE    *errout;
};

/* Loads every file of paths (or of cfg->rules when npaths is 0).  Errors go
 * to errout as FILE:LINE: message; the files without errors stay loaded.
 * Returns 0 when there was no error, -1 otherwise. */
struct loop;
int  ruleset_load(struct ruleset *rs, const struct config *cfg,
    char *const *paths, size_t npaths, FILE *errout, struct loop *loop);
void ruleset_free(struct ruleset *rs);
const struct rule_decl *ruleset_find(const struct ruleset *rs, const char *name,
    struct rule_file **file);

#endif
