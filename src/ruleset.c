/* ruleset.c — loads all rule files named by the config (or the command
 * line) and checks what no single file can: that a check or report name is
 * used once across all of them.  The config's reporters are what `notify`
 * may name; with none configured, the built-in "stdout" reporter. */
#include <stdlib.h>
#include <string.h>
#include "depends.h"
#include "ruleset.h"

static void
print_error(void *ud, const char *msg)
{
	struct ruleset *rs = ud;
	fprintf(rs->errout, "%s\n", msg);
	rs->nerrors++;
}

static void
depends_error(void *ud, size_t i, const char *msg)
{
	(void)i;
	print_error(ud, msg);
}

/* depends across every loaded file (lint's message, which run and once
 * repeat for the file that does not load) */
static void
check_depends(struct ruleset *rs)
{
	size_t n = 0;
	for (size_t i = 0; i < rs->nfiles; i++)
		n += rules_count(rs->files[i]);
	struct depends_item *it = calloc(n ? n : 1, sizeof *it);
	if (it == NULL)
		return;
	n = 0;
	for (size_t i = 0; i < rs->nfiles; i++)
		for (size_t k = 0; k < rules_count(rs->files[i]); k++) {
			it[n].d = rules_get(rs->files[i], k);
			it[n++].file = rules_path(rs->files[i]);
		}
	depends_check(it, n, depends_error, rs);
	free(it);
}

int
ruleset_load(struct ruleset *rs, const struct config *cfg, char *const *paths,
    size_t npaths, FILE *errout, struct loop *loop)
{
	char **found = NULL, err[512];
	size_t nfound = 0;
	static const char *const builtin[] = { "stdout" };

	memset(rs, 0, sizeof *rs);
	rs->errout = errout;
	if (cfg->nreporters > 0) {
		rs->reporters = calloc(cfg->nreporters, sizeof *rs->reporters);
		for (size_t i = 0; rs->reporters != NULL && i < cfg->nreporters; i++)
			rs->reporters[rs->nreporters++] = cfg->reporters[i].name;
	}
	rs->env = (struct rules_env){
		.loop = loop,
		.read_paths = cfg->read_paths,
		.exec = cfg->exec,
		.vars = cfg->vars,
		.nvars = cfg->nvars,
		.reporters = rs->reporters != NULL ? rs->reporters : builtin,
		.nreporters = rs->reporters != NULL ? rs->nreporters : 1,
		.memory = cfg->memory,
		.instructions = cfg->instructions,
		.timeout_ms = cfg->timeout_ms,
		.on_error = print_error,
		.ud = rs,
	};
	for (size_t i = 0; i < (npaths ? npaths : 1); i++) {
		char **p;
		size_t n;
		if (rules_paths(npaths ? paths[i] : cfg->rules, &p, &n, err, sizeof err) < 0) {
			print_error(rs, err);
			continue;
		}
		char **m = realloc(found, (nfound + n) * sizeof *m);
		if (m == NULL && nfound + n > 0) {
			rules_paths_free(p, n);
			print_error(rs, "out of memory");
			continue;
		}
		found = m;
		memcpy(found + nfound, p, n * sizeof *p);
		nfound += n;
		free(p);
	}
	if (nfound == 0 && rs->nerrors == 0)
		print_error(rs, npaths ? "no rule files given" :
		    "no rule files (*.lua) found where [agent] rules points");
	rs->files = calloc(nfound ? nfound : 1, sizeof *rs->files);
	for (size_t i = 0; rs->files != NULL && i < nfound; i++) {
		struct rule_file *f = rules_load(found[i], &rs->env);
		if (f == NULL)
			continue;
		/* a name must be unique across files: alerts and history key on it */
		int dup = 0;
		for (size_t k = 0; k < rules_count(f); k++) {
			struct rule_file *other;
			const struct rule_decl *d = rules_get(f, k);
			const struct rule_decl *o = ruleset_find(rs, d->name, &other);
			if (o != NULL) {
				fprintf(errout, "%s:%d: %s \"%s\": declared twice (first at %s:%d)\n",
				    d->file, d->line, d->kind == RULE_CHECK ? "check" : "report",
				    d->name, o->file, o->line);
				rs->nerrors++;
				dup = 1;
			}
		}
		if (dup)
			rules_free(f);
		else
			rs->files[rs->nfiles++] = f;
	}
	rules_paths_free(found, nfound);
	check_depends(rs);
	return rs->nerrors > 0 ? -1 : 0;
}

void
ruleset_free(struct ruleset *rs)
{
	for (size_t i = 0; i < rs->nfiles; i++)
		rules_free(rs->files[i]);
	free(rs->files);
	free(rs->reporters);
	memset(rs, 0, sizeof *rs);
}

const struct rule_decl *
ruleset_find(const struct ruleset *rs, const char *name, struct rule_file **file)
{
	for (size_t i = 0; i < rs->nfiles; i++)
		for (size_t k = 0; k < rules_count(rs->files[i]); k++) {
			const struct rule_decl *d = rules_get(rs->files[i], k);
			if (strcmp(d->name, name) == 0) {
				if (file != NULL)
					*file = rs->files[i];
				return d;
			}
		}
	return NULL;
}
