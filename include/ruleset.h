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
/* lint's look at [vars] against what the loaded files declare: one var
 * declared with two types, or a path or glob var that [sandbox] read_paths
 * does not cover, is an error (both lines named); a key no file declares
 * is a warning, with the nearest declared name.  Adds to *errors and
 * *warnings; messages go to rs->errout. */
void ruleset_check_vars(struct ruleset *rs, const struct config *cfg, int *errors,
    int *warnings);
/* Each declared var once (the first declaration): fn(var, file). */
void ruleset_each_var(const struct ruleset *rs,
    void (*fn)(const struct rule_var *v, const char *file, void *ud), void *ud);
const struct rule_decl *ruleset_find(const struct ruleset *rs, const char *name,
    struct rule_file **file);

#endif
