/* ruleset.c — loads all rule files named by the config (or the command
 * line) and checks what no single file can: that a check or report name is
 * used once across all of them.  The config's reporters are what `notify`
 * may name; with none configured, the built-in "stdout" reporter. */
#include <stdlib.h>
#include <string.h>
#include <limits.h>
#include "depends.h"
#include "paths.h"
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
		.config_path = cfg->path ? cfg->path : "(defaults)",
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

/* ---- [vars] against the declarations ------------------------------------------- */

static const struct rule_var *
declared(const struct ruleset *rs, const char *name, const char **file)
{
	for (size_t i = 0; i < rs->nfiles; i++)
		for (size_t k = 0; k < rules_var_count(rs->files[i]); k++) {
			const struct rule_var *v = rules_var_get(rs->files[i], k);
			if (strcmp(v->name, name) == 0) {
				if (file != NULL)
					*file = rules_path(rs->files[i]);
				return v;
			}
		}
	return NULL;
}

void
ruleset_each_var(const struct ruleset *rs,
    void (*fn)(const struct rule_var *v, const char *file, void *ud), void *ud)
{
	for (size_t i = 0; i < rs->nfiles; i++)
		for (size_t k = 0; k < rules_var_count(rs->files[i]); k++) {
			const struct rule_var *v = rules_var_get(rs->files[i], k);
			const char *first;
			if (declared(rs, v->name, &first) == v)
				fn(v, rules_path(rs->files[i]), ud);
		}
}

/* edit distance, for "did you mean" (names are short) */
static size_t
distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), row[65];

	if (la > 64 || lb > 64)
		return 99;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t prev = row[0];
		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t cur = row[j];
			size_t sub = prev + (a[i - 1] != b[j - 1]);
			size_t best = row[j] + 1 < row[j - 1] + 1 ? row[j] + 1 : row[j - 1] + 1;
			row[j] = sub < best ? sub : best;
			prev = cur;
		}
	}
	return row[lb];
}

/* the directory a path or glob var reads under */
static void
dir_of(const struct rule_var *v, const char *value, char *out, size_t len)
{
	size_t n = v->type == VT_GLOB ? strcspn(value, "*?[") : strlen(value);
	snprintf(out, len, "%.*s", (int)n, value);
	if (v->type == VT_GLOB) {
		char *sl = strrchr(out, '/');
		if (sl != NULL)
			sl[sl == out ? 1 : 0] = '\0';
	}
}

void
ruleset_check_vars(struct ruleset *rs, const struct config *cfg, int *errors, int *warnings)
{
	const char *cpath = cfg->path ? cfg->path : "(defaults)";

	/* one name, one type */
	for (size_t i = 0; i < rs->nfiles; i++)
		for (size_t k = 0; k < rules_var_count(rs->files[i]); k++) {
			const struct rule_var *v = rules_var_get(rs->files[i], k), *first;
			const char *ffile;
			first = declared(rs, v->name, &ffile);
			if (first != v && first->type != v->type) {
				fprintf(rs->errout, "%s:%d: var \"%s\": declared as %s, but as %s at %s:%d\n",
				    rules_path(rs->files[i]), v->line, v->name, rules_var_type_name(v->type),
				    rules_var_type_name(first->type), ffile, first->line);
				(*errors)++;
			}
		}
	for (size_t i = 0; i < cfg->nvars; i++) {
		const struct config_var *cv = &cfg->vars[i];
		const char *file;
		const struct rule_var *v = declared(rs, cv->key, &file);
		if (v == NULL && rs->nerrors > 0)
			continue;       /* a file that did not load may declare it */
		if (v == NULL) {
			/* the nearest declared name, if near enough to be a typo */
			const char *best = NULL;
			size_t bd = 4;
			for (size_t f = 0; f < rs->nfiles; f++)
				for (size_t k = 0; k < rules_var_count(rs->files[f]); k++) {
					const char *n = rules_var_get(rs->files[f], k)->name;
					size_t d = distance(cv->key, n);
					if (d < bd && d <= strlen(cv->key) / 3 + 1) {
						bd = d;
						best = n;
					}
				}
			fprintf(rs->errout, "%s:%d: [vars] %s: warning: no rule file declares it%s%s%s\n",
			    cpath, cv->line, cv->key, best ? " (did you mean " : "", best ? best : "",
			    best ? "?)" : "");
			(*warnings)++;
			continue;
		}
		if (v->type != VT_PATH && v->type != VT_GLOB)
			continue;
		char dir[PATH_MAX], real[PATH_MAX];
		dir_of(v, cv->value, dir, sizeof dir);
		if (realpath(dir, real) == NULL)
			snprintf(real, sizeof real, "%s", dir);
		if (!paths_under(cfg->read_paths, real)) {
			if (cfg->read_paths_line > 0)
				fprintf(rs->errout, "%s:%d: [vars] %s: %s is not under [sandbox] read_paths"
				    " (%s:%d: %s), so %s cannot read it\n", cpath, cv->line, cv->key, dir,
				    cpath, cfg->read_paths_line, cfg->read_paths, file);
			else
				fprintf(rs->errout, "%s:%d: [vars] %s: %s is not under [sandbox] read_paths"
				    " (the default: %s), so %s cannot read it\n", cpath, cv->line, cv->key, dir,
				    cfg->read_paths, file);
			(*errors)++;
		}
	}
}
