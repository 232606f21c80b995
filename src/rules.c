/* rules.c — the rule host: one sandboxed lua_State per rule file, the
 * check "name" { ... } and report "name" { ... } declarations, and running a
 * check to its verdict.
 *
 * Loading runs the file's chunk once, under the sandbox's budget; the
 * declarations it makes are checked there and then, and every mistake is
 * reported as FILE:LINE (the line of the `check` call) without stopping at
 * the first, so `drishti lint` shows them all.  A run happens on a fresh
 * coroutine; when it ends with a kill we drop the coroutine rather than
 * close it, so no __close handler of the rule gets to run after the kill. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <lauxlib.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <stddef.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include "clock.h"
#include "cron.h"
#include "file.h"
#include "json.h"
#include "loop.h"
#include "mem.h"
#include "rules.h"
#include "report.h"
#include "rules_lib.h"
#include "rules_report.h"
#include "rules_sandbox.h"
#include "units.h"

#define MAX_DECLS 1000          /* per file */
#define MAX_NAME 128
#define MAX_LABELS 32
#define MAX_NOTIFY 32
#define MAX_DEPENDS 32
#define MAX_CURSORS 256

struct cursor {
	char *key;              /* check "\n" path */
	struct probe_log_cursor c;
	int   moved;            /* handed to a probe since rules_cursors_take */
};

struct rule_file {
	struct sandbox sb;      /* first: sb_of(L) is the rule_file too */
	char   *path;
	lua_State *L;
	const struct rules_env *env;
	struct rule_decl *decls;
	size_t  ndecls;
	struct rule_var *vars;      /* var "NAME" { ... } */
	size_t  nvars;
	int     nerrors;
	int     loading;
	struct cursor *cursors;
	size_t  ncursors;
	struct rule_run *runs;      /* in flight */
};

static struct rule_file *
file_of(lua_State *L)
{
	return (struct rule_file *)sb_of(L);
}

const struct rules_env *
rules_env_of(lua_State *L)
{
	return file_of(L)->env;
}

static void
load_error(struct rule_file *f, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void
load_error(struct rule_file *f, int line, const char *fmt, ...)
{
	char msg[768], full[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (line > 0)
		snprintf(full, sizeof full, "%s:%d: %s", f->path, line, msg);
	else
		snprintf(full, sizeof full, "%s: %s", f->path, msg);
	f->nerrors++;
	if (f->env->on_error != NULL)
		f->env->on_error(f->env->ud, full);
}

static struct probe_log_cursor *cursor_add(struct rule_file *f, const char *key);

struct probe_log_cursor *
rules_cursor(lua_State *L, const char *path)
{
	struct rule_file *f = file_of(L);
	char key[MAX_NAME + PATH_MAX + 2];

	if (f->sb.cur->check == NULL)
		return NULL;
	snprintf(key, sizeof key, "%s\n%s", f->sb.cur->check, path);
	for (size_t i = 0; i < f->ncursors; i++)
		if (strcmp(f->cursors[i].key, key) == 0) {
			f->cursors[i].moved = 1;
			return &f->cursors[i].c;
		}
	struct probe_log_cursor *c = cursor_add(f, key);
	if (c != NULL)
		f->cursors[f->ncursors - 1].moved = 1;
	return c;
}

char *
rules_cursors_take(struct rule_file *f, const char *check)
{
	size_t cl = strlen(check);
	int moved = 0;

	for (size_t i = 0; i < f->ncursors; i++)
		if (strncmp(f->cursors[i].key, check, cl) == 0 && f->cursors[i].key[cl] == '\n' &&
		    f->cursors[i].moved) {
			moved = 1;
			f->cursors[i].moved = 0;
		}
	if (!moved)
		return NULL;
	struct json *a = json_new(JSON_ARRAY);
	for (size_t i = 0; a != NULL && i < f->ncursors; i++) {
		struct cursor *k = &f->cursors[i];
		if (strncmp(k->key, check, cl) != 0 || k->key[cl] != '\n' || !k->c.valid)
			continue;
		char n[32];
		struct json *o = json_new(JSON_OBJECT);
		json_add(o, "p", json_new_string(k->key + cl + 1));
		snprintf(n, sizeof n, "%llu", (unsigned long long)k->c.dev);
		json_add(o, "d", json_new_string(n));
		snprintf(n, sizeof n, "%llu", (unsigned long long)k->c.ino);
		json_add(o, "i", json_new_string(n));
		snprintf(n, sizeof n, "%llu", (unsigned long long)k->c.off);
		json_add(o, "o", json_new_string(n));
		json_add(a, NULL, o);
	}
	char *s = a != NULL ? json_print(a, false) : NULL;
	json_free(a);
	return s;
}

void
rules_cursors_seek(struct rule_file *f, const char *check, const char *text, size_t len)
{
	char e[128], key[MAX_NAME + PATH_MAX + 2];
	struct json *a = json_parse(text, len, e, sizeof e);

	for (const struct json *o = a != NULL && json_type(a) == JSON_ARRAY ? json_child(a) : NULL;
	    o != NULL; o = json_next(o)) {
		const struct json *p = json_get(o, "p"), *d = json_get(o, "d"),
		    *i = json_get(o, "i"), *off = json_get(o, "o");
		if (p == NULL || d == NULL || i == NULL || off == NULL ||
		    json_type(p) != JSON_STRING || json_type(d) != JSON_STRING ||
		    json_type(i) != JSON_STRING || json_type(off) != JSON_STRING)
			continue;
		snprintf(key, sizeof key, "%s\n%s", check, json_string(p));
		struct probe_log_cursor *c = NULL;
		for (size_t k = 0; k < f->ncursors && c == NULL; k++)
			if (strcmp(f->cursors[k].key, key) == 0)
				c = &f->cursors[k].c;
		if (c == NULL && (c = cursor_add(f, key)) == NULL)
			break;
		c->valid = 1;
		c->dev = (dev_t)strtoull(json_string(d), NULL, 10);
		c->ino = (ino_t)strtoull(json_string(i), NULL, 10);
		c->off = strtoull(json_string(off), NULL, 10);
	}
	json_free(a);
}

/* A new cursor under key (not valid yet: its first use starts at the end). */
static struct probe_log_cursor *
cursor_add(struct rule_file *f, const char *key)
{
	if (f->ncursors >= MAX_CURSORS)
		return NULL;
	struct cursor *n = realloc(f->cursors, (f->ncursors + 1) * sizeof *n);
	if (n == NULL)
		return NULL;
	f->cursors = n;
	n[f->ncursors].key = strdup(key);
	if (n[f->ncursors].key == NULL)
		return NULL;
	memset(&n[f->ncursors].c, 0, sizeof n[f->ncursors].c);
	n[f->ncursors].moved = 0;
	return &n[f->ncursors++].c;
}

/* ---- declarations ----------------------------------------------------------- */

static const char *const check_keys[] = { "every", "cron", "jitter", "timeout",
	"after", "recover", "flap", "repeat", "unknown", "notify", "labels",
	"depends", "public", "description", "run", NULL };
static const char *const report_keys[] = { "every", "cron", "notify",
	"description", "build", NULL };

struct dctx {
	struct rule_file *f;
	struct rule_decl *d;
	int line;
	const char *what;       /* "check" or "report" */
	int bad;
};

static void
derr(struct dctx *c, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void
derr(struct dctx *c, const char *key, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (key != NULL)
		load_error(c->f, c->line, "%s \"%s\": %s: %s", c->what, c->d->name, key, msg);
	else
		load_error(c->f, c->line, "%s \"%s\": %s", c->what, c->d->name, msg);
	c->bad = 1;
}

/* A duration given as "5m" or as a number of seconds.  1 if present. */
static int
get_duration(lua_State *L, struct dctx *c, const char *key, int64_t *ms)
{
	char e[160];
	int t = lua_getfield(L, 1, key);

	if (t == LUA_TNIL) {
		lua_pop(L, 1);
		return 0;
	}
	if (t == LUA_TSTRING) {
		if (units_duration(lua_tostring(L, -1), ms, e, sizeof e) < 0)
			derr(c, key, "%s", e);
	} else if (t == LUA_TNUMBER) {
		double v = lua_tonumber(L, -1);
		if (!(v >= 0 && v <= 1e9))
			derr(c, key, "want a duration such as \"30s\"");
		else
			*ms = (int64_t)(v * 1000);
	} else
		derr(c, key, "want a duration such as \"30s\", not a %s", luaL_typename(L, -1));
	lua_pop(L, 1);
	return 1;
}

static int
get_int(lua_State *L, struct dctx *c, const char *key, int lo, int hi, int *out)
{
	int t = lua_getfield(L, 1, key), isnum = 0;
	lua_Integer v = lua_tointegerx(L, -1, &isnum);

	if (t == LUA_TNIL) {
		lua_pop(L, 1);
		return 0;
	}
	if (t != LUA_TNUMBER || !isnum || v < lo || v > hi)
		derr(c, key, "want a whole number from %d to %d", lo, hi);
	else
		*out = (int)v;
	lua_pop(L, 1);
	return 1;
}

static char *
get_string(lua_State *L, struct dctx *c, const char *key, size_t max)
{
	char *r = NULL;
	int t = lua_getfield(L, 1, key);

	if (t == LUA_TSTRING) {
		size_t l;
		const char *s = lua_tolstring(L, -1, &l);
		if (l > max)
			derr(c, key, "longer than %zu bytes", max);
		else if ((r = strdup(s)) == NULL)
			derr(c, key, "out of memory");
	} else if (t != LUA_TNIL)
		derr(c, key, "want a string, not a %s", luaL_typename(L, -1));
	lua_pop(L, 1);
	return r;
}

static bool
label_name_ok(const char *s)
{
	if (!isalpha((unsigned char)*s) && *s != '_')
		return false;
	for (s++; *s != '\0'; s++)
		if (!isalnum((unsigned char)*s) && *s != '_')
			return false;
	return true;
}

static void
get_notify(lua_State *L, struct dctx *c)
{
	const struct rules_env *env = c->f->env;
	int t = lua_getfield(L, 1, "notify");

	if (t == LUA_TNIL) {
		lua_pop(L, 1);
		return;
	}
	if (t == LUA_TSTRING) {                 /* notify = "ops" */
		lua_createtable(L, 1, 0);
		lua_insert(L, -2);
		lua_rawseti(L, -2, 1);
	} else if (t != LUA_TTABLE) {
		derr(c, "notify", "want a list of reporter names");
		lua_pop(L, 1);
		return;
	}
	lua_Integer n = (lua_Integer)lua_rawlen(L, -1);
	if (n > MAX_NOTIFY)
		n = MAX_NOTIFY;
	c->d->notify = calloc((size_t)n + 1, sizeof *c->d->notify);
	for (lua_Integer i = 1; i <= n && c->d->notify != NULL; i++) {
		if (lua_rawgeti(L, -1, i) != LUA_TSTRING) {
			derr(c, "notify", "entry %lld is not a reporter name", (long long)i);
		} else {
			const char *name = lua_tostring(L, -1);
			bool known = env->reporters == NULL;
			for (size_t k = 0; !known && k < env->nreporters; k++)
				known = strcmp(env->reporters[k], name) == 0;
			if (!known)
				derr(c, "notify", "no reporter \"%s\" in the config", name);
			c->d->notify[c->d->nnotify++] = strdup(name);
		}
		lua_pop(L, 1);
	}
	lua_pop(L, 1);
}

/* depends = "daily.api" or { "a", "b" }: names only here; that they exist
 * and make no cycle is known once every file is loaded (ruleset.c). */
static void
get_depends(lua_State *L, struct dctx *c)
{
	int t = lua_getfield(L, 1, "depends");

	if (t == LUA_TNIL) {
		lua_pop(L, 1);
		return;
	}
	if (t == LUA_TSTRING) {
		lua_createtable(L, 1, 0);
		lua_insert(L, -2);
		lua_rawseti(L, -2, 1);
	} else if (t != LUA_TTABLE) {
		derr(c, "depends", "want a check name or a list of them");
		lua_pop(L, 1);
		return;
	}
	lua_Integer n = (lua_Integer)lua_rawlen(L, -1);
	if (n > MAX_DEPENDS) {
		derr(c, "depends", "more than %d checks", MAX_DEPENDS);
		n = MAX_DEPENDS;
	}
	c->d->depends = calloc((size_t)n + 1, sizeof *c->d->depends);
	for (lua_Integer i = 1; i <= n && c->d->depends != NULL; i++) {
		if (lua_rawgeti(L, -1, i) != LUA_TSTRING)
			derr(c, "depends", "entry %lld is not a check name", (long long)i);
		else if (strcmp(lua_tostring(L, -1), c->d->name) == 0)
			derr(c, "depends", "a check cannot depend on itself");
		else
			c->d->depends[c->d->ndepends++] = strdup(lua_tostring(L, -1));
		lua_pop(L, 1);
	}
	lua_pop(L, 1);
}

static void
get_labels(lua_State *L, struct dctx *c)
{
	int t = lua_getfield(L, 1, "labels");

	if (t == LUA_TNIL) {
		lua_pop(L, 1);
		return;
	}
	if (t != LUA_TTABLE) {
		derr(c, "labels", "want a table of name = \"value\"");
		lua_pop(L, 1);
		return;
	}
	c->d->labels = calloc(2 * MAX_LABELS, sizeof *c->d->labels);
	lua_pushnil(L);
	while (c->d->labels != NULL && lua_next(L, -2) != 0) {
		if (lua_type(L, -2) != LUA_TSTRING || !label_name_ok(lua_tostring(L, -2)))
			derr(c, "labels", "a label name is letters, digits and _");
		else if (lua_type(L, -1) != LUA_TSTRING)
			derr(c, "labels", "label \"%s\" is not a string", lua_tostring(L, -2));
		else if (c->d->nlabels >= MAX_LABELS)
			derr(c, "labels", "more than %d labels", MAX_LABELS);
		else {
			c->d->labels[2 * c->d->nlabels] = strdup(lua_tostring(L, -2));
			c->d->labels[2 * c->d->nlabels + 1] = strdup(lua_tostring(L, -1));
			c->d->nlabels++;
		}
		lua_pop(L, 1);
	}
	lua_pop(L, 1);
}

void
rules_decl_clear(struct rule_decl *d)
{
	free(d->name);
	free(d->cron);
	free(d->description);
	free(d->public_name);
	for (size_t i = 0; i < d->nnotify; i++)
		free(d->notify[i]);
	free(d->notify);
	for (size_t i = 0; i < d->ndepends; i++)
		free(d->depends[i]);
	free(d->depends);
	for (size_t i = 0; i < 2 * d->nlabels; i++)
		free(d->labels[i]);
	free(d->labels);
	memset(d, 0, sizeof *d);
}

/* check "name" { ... }: the second call, with the table. */
static int
l_decl_body(lua_State *L)
{
	struct rule_file *f = file_of(L);
	enum rule_kind kind = (enum rule_kind)lua_tointeger(L, lua_upvalueindex(1));
	struct rule_decl d = { .kind = kind, .recover = 1, .fn = LUA_NOREF };
	struct dctx c = { .f = f, .d = &d, .line = (int)lua_tointeger(L, lua_upvalueindex(3)),
	    .what = kind == RULE_CHECK ? "check" : "report" };
	const char *const *keys = kind == RULE_CHECK ? check_keys : report_keys;
	char e[160];

	d.name = strdup(lua_tostring(L, lua_upvalueindex(2)));
	d.file = f->path;
	d.line = c.line;
	if (d.name == NULL)
		return luaL_error(L, "out of memory");
	if (lua_type(L, 1) != LUA_TTABLE) {
		derr(&c, NULL, "want %s \"%s\" { ... } with a table, not a %s", c.what,
		    d.name, luaL_typename(L, 1));
		rules_decl_clear(&d);
		return 0;
	}
	lua_settop(L, 1);
	/* unknown keys first: a typo ("evrey") is the likeliest mistake */
	lua_pushnil(L);
	while (lua_next(L, 1) != 0) {
		bool known = false;
		if (lua_type(L, -2) == LUA_TSTRING)
			for (const char *const *k = keys; *k != NULL; k++)
				known |= strcmp(*k, lua_tostring(L, -2)) == 0;
		if (!known) {
			if (lua_type(L, -2) == LUA_TSTRING)
				derr(&c, NULL, "unknown key \"%s\"", lua_tostring(L, -2));
			else
				derr(&c, NULL, "keys must be names, not a %s", luaL_typename(L, -2));
		}
		lua_pop(L, 1);
	}
	int has_every = get_duration(L, &c, "every", &d.every_ms);
	d.cron = get_string(L, &c, "cron", 200);
	if (has_every && d.cron != NULL)
		derr(&c, NULL, "give every or cron, not both");
	else if (!has_every && d.cron == NULL && !c.bad)
		derr(&c, NULL, "missing every or cron");
	else if (has_every && d.every_ms < 1000 && !c.bad)
		derr(&c, "every", "must be at least 1s");
	if (d.cron != NULL) {
		struct cron cr;
		if (cron_parse(d.cron, &cr, e, sizeof e) < 0)
			derr(&c, "cron", "%s", e);
	}
	d.description = get_string(L, &c, "description", 1024);
	get_notify(L, &c);
	if (kind == RULE_CHECK) {
		get_depends(L, &c);
		/* public = true (its name) or "API": shown on the status page */
		int pt = lua_getfield(L, 1, "public");
		if (pt == LUA_TBOOLEAN && lua_toboolean(L, -1))
			d.public_name = strdup(d.name);
		else if (pt == LUA_TSTRING) {
			size_t pl;
			const char *pn = lua_tolstring(L, -1, &pl);
			if (pl == 0 || pl > 80)
				derr(&c, "public", "a name of 1 to 80 bytes, or true");
			else
				d.public_name = strdup(pn);
		} else if (pt != LUA_TNIL && pt != LUA_TBOOLEAN)
			derr(&c, "public", "want true or a name to show, not a %s", luaL_typename(L, -1));
		lua_pop(L, 1);
		get_duration(L, &c, "jitter", &d.jitter_ms);
		if (has_every && d.jitter_ms >= d.every_ms && d.every_ms > 0)
			derr(&c, "jitter", "must be shorter than every");
		if (get_duration(L, &c, "timeout", &d.timeout_ms) && d.timeout_ms == 0)
			derr(&c, "timeout", "must be more than 0");
		get_duration(L, &c, "repeat", &d.repeat_ms);
		if (lua_getfield(L, 1, "after") == LUA_TSTRING) {
			lua_pop(L, 1);
			get_duration(L, &c, "after", &d.after_ms);
		} else {
			lua_pop(L, 1);
			get_int(L, &c, "after", 1, 10000, &d.after_count);
		}
		get_int(L, &c, "recover", 1, 10000, &d.recover);
		char *flap = get_string(L, &c, "flap", 32);
		if (flap != NULL) {
			int m = 0, n = 0, used = 0;
			if (sscanf(flap, "%d/%d%n", &m, &n, &used) != 2 || flap[used] != '\0' ||
			    m < 1 || n < m || n > 100)
				derr(&c, "flap", "want \"M/N\" (M failures within the last N runs, N <= 100)");
			d.flap_fails = m;
			d.flap_window = n;
			free(flap);
		}
		char *unk = get_string(L, &c, "unknown", 16);
		if (unk != NULL) {
			if (strcmp(unk, "ignore") == 0)
				d.unknown_ignore = true;
			else if (strcmp(unk, "fail") != 0)
				derr(&c, "unknown", "want \"fail\" or \"ignore\"");
			free(unk);
		}
		get_labels(L, &c);
	}
	const char *fkey = kind == RULE_CHECK ? "run" : "build";
	int t = lua_getfield(L, 1, fkey);
	if (t == LUA_TFUNCTION)
		d.fn = luaL_ref(L, LUA_REGISTRYINDEX);
	else {
		derr(&c, NULL, t == LUA_TNIL ? "missing %s function" : "%s must be a function",
		    fkey);
		lua_pop(L, 1);
	}
	for (size_t i = 0; i < f->ndecls; i++)
		if (strcmp(f->decls[i].name, d.name) == 0)
			derr(&c, NULL, "declared twice (first at line %d)", f->decls[i].line);
	if (f->ndecls >= MAX_DECLS)
		derr(&c, NULL, "more than %d checks and reports in one file", MAX_DECLS);
	if (!c.bad) {
		struct rule_decl *n = realloc(f->decls, (f->ndecls + 1) * sizeof *n);
		if (n != NULL) {
			f->decls = n;
			f->decls[f->ndecls++] = d;
			return 0;
		}
		derr(&c, NULL, "out of memory");
	}
	if (d.fn != LUA_NOREF)
		luaL_unref(L, LUA_REGISTRYINDEX, d.fn);
	rules_decl_clear(&d);
	return 0;
}

/* check "name": checks the name and returns the function that takes the table. */
static int
l_decl(lua_State *L)
{
	struct rule_file *f = file_of(L);
	int kind = (int)lua_tointeger(L, lua_upvalueindex(1));
	const char *what = kind == RULE_CHECK ? "check" : "report";
	lua_Debug ar;
	int line = 0;

	if (lua_getstack(L, 1, &ar) && lua_getinfo(L, "l", &ar))
		line = ar.currentline;
	if (!f->loading)
		return luaL_error(L, "%s() belongs at the top level of a rule file", what);
	size_t l;
	const char *name = lua_tolstring(L, 1, &l);
	bool ok = name != NULL && lua_type(L, 1) == LUA_TSTRING && l > 0 && l <= MAX_NAME;
	for (size_t i = 0; ok && i < l; i++)
		ok = isalnum((unsigned char)name[i]) || strchr("._:-", name[i]) != NULL;
	if (!ok) {
		load_error(f, line, "%s name must be 1 to %d letters, digits or . _ : -",
		    what, MAX_NAME);
		name = "?";
	}
	lua_pushinteger(L, kind);
	lua_pushstring(L, name);
	lua_pushinteger(L, line);
	lua_pushcclosure(L, l_decl_body, 3);
	return 1;
}

/* ---- var "NAME" { type = ..., default = ..., doc = ... } ------------------------
 *
 * What a rule file reads from [vars], declared with its type: vars.NAME is
 * then the typed value (a duration in seconds, a size in bytes, a list as a
 * table), and a [vars] value of the wrong type is an error naming the
 * config's line and the declaration, at load (so lint says it, and run
 * makes the file rules:FILE).  Undeclared vars stay plain strings. */

static const char *const var_types[] = { [VT_NUMBER] = "number", [VT_DURATION] = "duration",
	[VT_SIZE] = "size", [VT_PERCENT] = "percent", [VT_STRING] = "string", [VT_URL] = "url",
	[VT_PATH] = "path", [VT_GLOB] = "glob", [VT_BOOL] = "bool", [VT_LIST] = "list" };
#define NVAR_TYPES (sizeof var_types / sizeof var_types[0])

const char *
rules_var_type_name(enum var_type t)
{
	return (unsigned)t < NVAR_TYPES ? var_types[t] : "?";
}

static int
parse_number(const char *s, double *out)
{
	char *end;
	errno = 0;
	*out = strtod(s, &end);
	return end != s && *end == '\0' && errno == 0 && isfinite(*out) ? 0 : -1;
}

static int
parse_bool(const char *s, int *out)
{
	static const char *const yes[] = { "true", "yes", "on", "1" }, *const no[] = { "false",
		"no", "off", "0" };
	for (size_t i = 0; i < 4; i++) {
		if (strcmp(s, yes[i]) == 0)
			return *out = 1, 0;
		if (strcmp(s, no[i]) == 0)
			return *out = 0, 0;
	}
	return -1;
}

int
rules_var_check(enum var_type t, const char *s, char *err, size_t errlen)
{
	double d;
	int64_t ms;
	uint64_t b;
	int yn;
	char e[128];
	size_t l = strlen(s);

	switch (t) {
	case VT_NUMBER:
		if (parse_number(s, &d) == 0)
			return 0;
		snprintf(err, errlen, "want a number, not \"%s\"", s);
		return -1;
	case VT_DURATION:
		/* 2s, 5m, 1h30m; a bare number is seconds (latency_max = 2.0) */
		if (units_duration(s, &ms, e, sizeof e) == 0 || (parse_number(s, &d) == 0 && d >= 0))
			return 0;
		snprintf(err, errlen, "want a duration (e.g. 30s, 5m, 2h), not \"%s\"", s);
		return -1;
	case VT_SIZE:
		if (units_size(s, &b, e, sizeof e) == 0)
			return 0;
		snprintf(err, errlen, "want a size (e.g. 512K, 8M, 1G), not \"%s\"", s);
		return -1;
	case VT_PERCENT: {
		char num[64];
		snprintf(num, sizeof num, "%.*s", (int)(l > 0 && s[l - 1] == '%' ? l - 1 : l), s);
		if (parse_number(num, &d) == 0 && d >= 0 && d <= 100)
			return 0;
		snprintf(err, errlen, "want a percentage from 0 to 100 (e.g. 80 or 80%%), not \"%s\"", s);
		return -1;
	}
	case VT_URL:
		if ((strncmp(s, "http://", 7) == 0 && l > 7) || (strncmp(s, "https://", 8) == 0 && l > 8))
			return 0;
		snprintf(err, errlen, "want an http:// or https:// URL, not \"%s\"", s);
		return -1;
	case VT_PATH:
	case VT_GLOB:
		if (s[0] == '/')
			return 0;
		snprintf(err, errlen, "want an absolute %s, not \"%s\"", t == VT_PATH ? "path" : "glob", s);
		return -1;
	case VT_BOOL:
		if (parse_bool(s, &yn) == 0)
			return 0;
		snprintf(err, errlen, "want true or false, not \"%s\"", s);
		return -1;
	case VT_STRING:
	case VT_LIST:
		return 0;
	}
	snprintf(err, errlen, "unknown type");
	return -1;
}

/* 2400, not 2400.0, in a summary */
static void
push_num(lua_State *L, double d)
{
	if (d == floor(d) && fabs(d) < 9007199254740992.0)
		lua_pushinteger(L, (lua_Integer)d);
	else
		lua_pushnumber(L, d);
}

/* Pushes the typed value of text (checked already). */
static void
push_typed(lua_State *L, enum var_type t, const char *s)
{
	double d;
	int64_t ms;
	uint64_t b;
	int yn;
	char e[128], num[64];
	size_t l = strlen(s);

	switch (t) {
	case VT_NUMBER:
		parse_number(s, &d);
		push_num(L, d);
		return;
	case VT_DURATION:
		if (units_duration(s, &ms, e, sizeof e) == 0)
			lua_pushnumber(L, (double)ms / 1000.0);
		else {
			parse_number(s, &d);
			lua_pushnumber(L, d);
		}
		return;
	case VT_SIZE:
		units_size(s, &b, e, sizeof e);
		push_num(L, (double)b);
		return;
	case VT_PERCENT:
		snprintf(num, sizeof num, "%.*s", (int)(l > 0 && s[l - 1] == '%' ? l - 1 : l), s);
		parse_number(num, &d);
		push_num(L, d);
		return;
	case VT_BOOL:
		parse_bool(s, &yn);
		lua_pushboolean(L, yn);
		return;
	case VT_LIST: {
		lua_newtable(L);
		lua_Integer n = 0;
		for (const char *p = s; *p;) {
			while (*p == ' ' || *p == '\t' || *p == ',')
				p++;
			size_t k = strcspn(p, ",");
			size_t m = k;
			while (m > 0 && (p[m - 1] == ' ' || p[m - 1] == '\t'))
				m--;
			if (m > 0) {
				lua_pushlstring(L, p, m);
				lua_rawseti(L, -2, ++n);
			}
			p += k;
		}
		return;
	}
	default:
		lua_pushstring(L, s);
	}
}

static const char *const var_keys[] = { "type", "default", "doc", NULL };

static int
l_var_body(lua_State *L)
{
	struct rule_file *f = file_of(L);
	const char *name = lua_tostring(L, lua_upvalueindex(1));
	int line = (int)lua_tointeger(L, lua_upvalueindex(2));
	char e[300], dbuf[64];
	struct rule_var v = { .line = line };

	if (lua_type(L, 1) != LUA_TTABLE) {
		load_error(f, line, "var \"%s\": want var \"%s\" { type = ... } with a table", name, name);
		return 0;
	}
	lua_settop(L, 1);
	lua_pushnil(L);
	while (lua_next(L, 1) != 0) {
		bool known = false;
		for (const char *const *k = var_keys; *k && lua_type(L, -2) == LUA_TSTRING; k++)
			known |= strcmp(*k, lua_tostring(L, -2)) == 0;
		if (!known)
			load_error(f, line, "var \"%s\": unknown key \"%s\" (known: type, default, doc)", name,
			    lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : luaL_typename(L, -2));
		lua_pop(L, 1);
	}
	lua_getfield(L, 1, "type");
	const char *tn = lua_tostring(L, -1);
	size_t ti = 0;
	while (ti < NVAR_TYPES && (tn == NULL || strcmp(tn, var_types[ti]) != 0))
		ti++;
	if (ti == NVAR_TYPES) {
		load_error(f, line, "var \"%s\": type: want one of number, duration, size, percent,"
		    " string, url, path, glob, bool, list", name);
		return 0;
	}
	v.type = (enum var_type)ti;
	lua_pop(L, 1);
	int dt = lua_getfield(L, 1, "default");
	const char *def = NULL;
	if (dt == LUA_TNUMBER) {
		snprintf(dbuf, sizeof dbuf, "%.17g", lua_tonumber(L, -1));
		def = dbuf;
	} else if (dt == LUA_TBOOLEAN)
		def = lua_toboolean(L, -1) ? "true" : "false";
	else if (dt == LUA_TSTRING)
		def = lua_tostring(L, -1);
	else if (dt != LUA_TNIL) {
		load_error(f, line, "var \"%s\": default: want a string, number or boolean", name);
		return 0;
	}
	if (def != NULL && rules_var_check(v.type, def, e, sizeof e) < 0) {
		load_error(f, line, "var \"%s\": default: %s", name, e);
		return 0;
	}
	lua_getfield(L, 1, "doc");
	const char *doc = lua_tostring(L, -1);
	/* the config's value, checked against the declaration */
	const struct rules_env *env = f->env;
	const char *val = NULL;
	int vline = 0;
	for (size_t i = 0; i < env->nvars; i++)
		if (strcmp(env->vars[i].key, name) == 0) {
			val = env->vars[i].value;
			vline = env->vars[i].line;
		}
	if (val != NULL && rules_var_check(v.type, val, e, sizeof e) < 0) {
		/* the mistake is in the config: its line first, then who reads it */
		char full[1024];
		snprintf(full, sizeof full, "%s:%d: [vars] %s: %s (declared at %s:%d as %s)",
		    env->config_path ? env->config_path : "(config)", vline, name, e, f->path, line,
		    var_types[v.type]);
		f->nerrors++;
		if (env->on_error != NULL)
			env->on_error(env->ud, full);
		return 0;
	}
	for (size_t i = 0; i < f->nvars; i++)
		if (strcmp(f->vars[i].name, name) == 0) {
			load_error(f, line, "var \"%s\": declared twice (first at line %d)", name,
			    f->vars[i].line);
			return 0;
		}
	struct rule_var *nv = realloc(f->vars, (f->nvars + 1) * sizeof *nv);
	if (nv == NULL)
		return luaL_error(L, "out of memory");
	f->vars = nv;
	v.name = strdup(name);
	v.def = def ? strdup(def) : NULL;
	v.doc = doc ? strdup(doc) : NULL;
	f->vars[f->nvars++] = v;
	if (val != NULL || def != NULL) {
		push_typed(L, v.type, val != NULL ? val : def);
		rules_lib_set_var(L, name);
	}
	return 0;
}

/* var "name": checks the name and returns the function that takes the table */
static int
l_var(lua_State *L)
{
	struct rule_file *f = file_of(L);
	lua_Debug ar;
	int line = 0;

	if (lua_getstack(L, 1, &ar) && lua_getinfo(L, "l", &ar))
		line = ar.currentline;
	if (!f->loading)
		return luaL_error(L, "var() belongs at the top level of a rule file");
	size_t l;
	const char *name = lua_tolstring(L, 1, &l);
	bool ok = name != NULL && lua_type(L, 1) == LUA_TSTRING && l > 0 && l <= 64 &&
	    (isalpha((unsigned char)name[0]) || name[0] == '_');
	for (size_t i = 0; ok && i < l; i++)
		ok = isalnum((unsigned char)name[i]) || name[i] == '_';
	if (!ok) {
		load_error(f, line, "var name must be 1 to 64 letters, digits or _, not starting"
		    " with a digit");
		name = "?";
	}
	lua_pushstring(L, name);
	lua_pushinteger(L, line);
	lua_pushcclosure(L, l_var_body, 2);
	return 1;
}

static int
open_decls(lua_State *L)
{
	lua_pushglobaltable(L);
	lua_pushcfunction(L, l_var);
	lua_setfield(L, -2, "var");
	lua_pushinteger(L, RULE_CHECK);
	lua_pushcclosure(L, l_decl, 1);
	lua_setfield(L, -2, "check");
	lua_pushinteger(L, RULE_REPORT);
	lua_pushcclosure(L, l_decl, 1);
	lua_setfield(L, -2, "report");
	lua_pop(L, 1);
	return rules_lib_open(L);
}

/* ---- loading -------------------------------------------------------------- */

/* Lua's messages carry "FILE:LINE:" already; a kill has no position. */
static void
report_lua_error(struct rule_file *f, lua_State *L, int status)
{
	char m[768];
	size_t pl = strlen(f->path);

	if (f->sb.cur->kill != SB_ALIVE || status == LUA_ERRMEM) {
		load_error(f, 0, "%s (while loading)",
		    sb_kill_reason(f->sb.cur->kill != SB_ALIVE ? f->sb.cur->kill : SB_MEMORY));
		return;
	}
	sb_error_text(L, -1, m, sizeof m);
	if (strncmp(m, f->path, pl) == 0 && m[pl] == ':') {
		f->nerrors++;
		if (f->env->on_error != NULL)
			f->env->on_error(f->env->ud, m);
	} else
		load_error(f, 0, "%s", m);
}

struct rule_file *
rules_load(const char *path, const struct rules_env *env)
{
	struct rule_file *f = calloc(1, sizeof *f);
	char err[256], *text = NULL;
	size_t textlen = 0;
	int status;

	if (f == NULL || (f->path = strdup(path)) == NULL) {
		free(f);
		if (env->on_error != NULL)
			env->on_error(env->ud, "out of memory");
		return NULL;
	}
	f->env = env;
	/* read bounded and regular-only (file.c) before any Lua state exists;
	 * it is loaded from memory under the file's name, so errors still say
	 * FILE:LINE */
	char fioerr[512];
	if (file_read(path, FILE_RULES_MAX, &text, &textlen, fioerr, sizeof fioerr) < 0) {
		/* fioerr is "PATH: why"; load_error adds the path itself */
		size_t pl = strlen(path);
		load_error(f, 0, "%s", strncmp(fioerr, path, pl) == 0 && fioerr[pl] == ':' ?
		    fioerr + pl + 2 : fioerr);
		goto fail;
	}
	f->L = sb_new(&f->sb, env->memory);
	if (f->L == NULL) {
		load_error(f, 0, "%s", sb_kill_reason(SB_MEMORY));
		goto fail;
	}
	f->sb.host = f;
	if (sb_setup(f->L, err, sizeof err) < 0) {
		load_error(f, 0, "%s", err);
		goto fail;
	}
	lua_pushcfunction(f->L, open_decls);
	if (lua_pcall(f->L, 0, 0, 0) != LUA_OK) {
		report_lua_error(f, f->L, LUA_ERRRUN);
		goto fail;
	}
	/* text only: a precompiled chunk could break the VM's invariants */
	struct sb_budget load;
	sb_budget_init(&load, env->instructions, env->timeout_ms);
	if (env->cpu_ms > 0)
		load.cpu_left = (double)env->cpu_ms / 1000.0;
	sb_enter(&f->sb, &load);
	char chunk[PATH_MAX + 2];
	snprintf(chunk, sizeof chunk, "@%s", path);
	status = luaL_loadbufferx(f->L, text, textlen, chunk, "t");
	free(text);
	text = NULL;
	if (status == LUA_OK) {
		f->loading = 1;
		status = lua_pcall(f->L, 0, 0, 0);
		f->loading = 0;
	}
	if (status != LUA_OK || load.kill != SB_ALIVE) {
		report_lua_error(f, f->L, status);
		sb_enter(&f->sb, NULL);
		goto fail;
	}
	sb_enter(&f->sb, NULL);
	if (f->nerrors > 0)
		goto fail;
	lua_settop(f->L, 0);
	lua_gc(f->L, LUA_GCCOLLECT);
	return f;
fail:
	free(text);
	rules_free(f);
	return NULL;
}

void
rules_free(struct rule_file *f)
{
	if (f == NULL)
		return;
	while (f->runs != NULL)
		rules_abort(f->runs, "sandbox: rule file unloaded");
	/* no __gc can be set by a rule, so closing runs no rule code */
	if (f->L != NULL)
		lua_close(f->L);
	for (size_t i = 0; i < f->ndecls; i++)
		rules_decl_clear(&f->decls[i]);
	free(f->decls);
	for (size_t i = 0; i < f->nvars; i++) {
		free(f->vars[i].name);
		free(f->vars[i].def);
		free(f->vars[i].doc);
	}
	free(f->vars);
	for (size_t i = 0; i < f->ncursors; i++)
		free(f->cursors[i].key);
	free(f->cursors);
	free(f->path);
	free(f);
}

size_t
rules_count(const struct rule_file *f)
{
	return f->ndecls;
}

size_t
rules_var_count(const struct rule_file *f)
{
	return f->nvars;
}

const struct rule_var *
rules_var_get(const struct rule_file *f, size_t i)
{
	return i < f->nvars ? &f->vars[i] : NULL;
}

const struct rule_decl *
rules_get(const struct rule_file *f, size_t i)
{
	return i < f->ndecls ? &f->decls[i] : NULL;
}

const char *
rules_path(const struct rule_file *f)
{
	return f->path;
}

size_t
rules_memory(const struct rule_file *f)
{
	return f->sb.mem_used;
}

/* ---- running ----------------------------------------------------------------- */

struct rule_run {
	struct rule_file *f;
	const struct rule_decl *d;
	struct sb_budget b;
	lua_State *co;
	int     coref;              /* anchors co in the registry */
	double  t0;
	loop_timer_id deadline_t;
	loop_timer_id wake_t;
	struct rules_op *op;        /* the I/O the run waits on */
	int     parked;             /* yielded through rules_wait */
	rules_done_fn done;
	void   *ud;
	struct rule_run *prev, *next;   /* the file's runs in flight */
	int     nargs;              /* for the first resume: 1 for a report's r */
	int     repref;             /* a report: its r, anchored in the registry */
	char   *doc;                /* a report: its document, for done */
	/* last, and zeroed only up to its metrics: the 5.6 KiB of metric
	 * slots are written as metric() fills them, so a run in flight costs
	 * its first page or two, not seven (a thousand in flight at once) */
	struct result res;
};

/* (fn ref, report name or nil) -> thread, its ref, the report's ref or nil.
 * Protected: each step allocates in the rule's capped state. */
static int
prepare_run(lua_State *L)
{
	int ref = (int)lua_tointeger(L, 1);
	lua_State *co = lua_newthread(L);

	lua_rawgeti(L, LUA_REGISTRYINDEX, ref);
	lua_xmove(L, co, 1);
	lua_pushvalue(L, -1);
	lua_pushinteger(L, luaL_ref(L, LUA_REGISTRYINDEX));
	if (lua_isnil(L, 2)) {
		lua_pushnil(L);
		return 3;
	}
	rules_report_push(L, lua_tostring(L, 2));
	lua_pushvalue(L, -1);
	lua_xmove(L, co, 1);            /* build(r) */
	lua_pushinteger(L, luaL_ref(L, LUA_REGISTRYINDEX));
	return 3;
}

/* Reads the verdict at idx of co without allocating in the rule's state. */
static void
read_verdict(lua_State *co, int idx, struct result *res)
{
	int is_verdict = 0;

	idx = lua_absindex(co, idx);
	if (!lua_checkstack(co, 4)) {
		result_set(res, ST_UNKNOWN, "%s", sb_kill_reason(SB_MEMORY));
		return;
	}
	if (lua_getmetatable(co, idx)) {
		lua_rawgetp(co, LUA_REGISTRYINDEX, &rules_verdict_key);
		is_verdict = lua_rawequal(co, -1, -2);
		lua_pop(co, 2);
	}
	if (!is_verdict) {
		result_set(res, ST_UNKNOWN, "check returned a %s, not a verdict "
		    "(return ok(...), warn(...), crit(...) or unknown(...))",
		    luaL_typename(co, idx));
		return;
	}
	lua_rawgeti(co, idx, 1);
	lua_rawgeti(co, idx, 2);
	size_t l = 0;
	const char *s = lua_type(co, -1) == LUA_TSTRING ? lua_tolstring(co, -1, &l) : "";
	res->status = (enum status)lua_tointeger(co, -2);
	if (res->status > ST_UNKNOWN)
		res->status = ST_UNKNOWN;
	snprintf(res->summary, sizeof res->summary, "%.*s", (int)l, s);
	lua_pop(co, 2);
}

static void
run_finish(struct rule_run *run)
{
	struct rule_file *f = run->f;
	struct loop *l = f->env->loop;

	loop_timer_cancel(l, run->deadline_t);
	loop_timer_cancel(l, run->wake_t);
	if (run->op != NULL)
		run->op->free(run->op);
	/* A killed or failed coroutine is dropped, not closed: closing would run
	 * the rule's pending __close handlers after the run is over. */
	if (run->coref != LUA_NOREF)
		luaL_unref(f->L, LUA_REGISTRYINDEX, run->coref);
	if (run->repref != LUA_NOREF) {
		/* the document is taken whatever happened: a report that broke
		 * halfway says so in itself */
		lua_rawgeti(f->L, LUA_REGISTRYINDEX, run->repref);
		run->doc = rules_report_take(f->L, -1, run->res.status == ST_UNKNOWN ?
		    run->res.summary : NULL);
		lua_pop(f->L, 1);
		luaL_unref(f->L, LUA_REGISTRYINDEX, run->repref);
		if (run->doc != NULL && run->res.status != ST_UNKNOWN)
			report_headline(run->doc, run->res.summary, sizeof run->res.summary);
	}
	if (run->prev != NULL)
		run->prev->next = run->next;
	else
		f->runs = run->next;
	if (run->next != NULL)
		run->next->prev = run->prev;
	run->res.duration = clock_mono() - run->t0;
	run->done(run, &run->res, run->ud);
	free(run->doc);
	mem_free(run);
}

static void
run_step(struct rule_run *run)
{
	struct rule_file *f = run->f;
	struct result *res = &run->res;
	lua_State *co = run->co;
	int status, nres = 0;

	run->parked = 0;
	sb_enter(&f->sb, &run->b);
	status = lua_resume(co, f->L, run->nargs, &nres);
	run->nargs = 0;
	sb_enter(&f->sb, NULL);
	if (status == LUA_ERRMEM && run->b.kill == SB_ALIVE)
		run->b.kill = SB_MEMORY;
	if (run->b.kill != SB_ALIVE)
		result_set(res, ST_UNKNOWN, "%s", sb_kill_reason(run->b.kill));
	else if (status == LUA_YIELD && run->parked)
		return;                 /* parked on I/O; rules_wake resumes it */
	else if (status == LUA_YIELD)
		result_set(res, ST_UNKNOWN, "check yielded outside a coroutine");
	else if (status != LUA_OK) {
		char m[RESULT_SUMMARY_MAX];
		result_set(res, ST_UNKNOWN, "%s", sb_error_text(co, -1, m, sizeof m));
	} else if (run->d->kind == RULE_REPORT)
		result_set(res, ST_OK, "built");        /* what build returns is not used */
	else if (nres == 0)
		result_set(res, ST_UNKNOWN, "check returned no verdict");
	else
		read_verdict(co, -nres, res);
	run_finish(run);
}

static void
on_wake(struct loop *l, void *ud)
{
	struct rule_run *run = ud;

	(void)l;
	run->wake_t = 0;
	run_step(run);
}

static void
on_deadline(struct loop *l, void *ud)
{
	struct rule_run *run = ud;

	(void)l;
	/* Lua is not running (this is the loop): the run waits on I/O */
	run->deadline_t = 0;
	run->b.kill = SB_TIMEOUT;
	result_set(&run->res, ST_UNKNOWN, "%s", sb_kill_reason(SB_TIMEOUT));
	run_finish(run);
}

struct rule_run *
rules_start(struct rule_file *f, const struct rule_decl *d, rules_done_fn done,
    void *ud)
{
	struct rule_run *run = mem_alloc(sizeof *run);
	struct loop *l = f->env->loop;
	int64_t timeout = f->env->timeout_ms;

	if (run == NULL || l == NULL) {
		mem_free(run);
		return NULL;
	}
	memset(run, 0, offsetof(struct rule_run, res) + offsetof(struct result, metrics));
	run->f = f;
	run->d = d;
	run->done = done;
	run->ud = ud;
	run->coref = LUA_NOREF;
	run->repref = LUA_NOREF;
	run->t0 = clock_mono();
	run->res.started = clock_real();
	if (d->timeout_ms > 0 && d->timeout_ms < timeout)
		timeout = d->timeout_ms;
	sb_budget_init(&run->b, f->env->instructions, timeout);
	if (f->env->cpu_ms > 0)
		run->b.cpu_left = (double)f->env->cpu_ms / 1000.0;
	run->b.result = &run->res;
	run->b.check = d->name;
	run->b.run = run;
	run->next = f->runs;
	if (f->runs != NULL)
		f->runs->prev = run;
	f->runs = run;
	lua_settop(f->L, 0);
	lua_pushcfunction(f->L, prepare_run);
	lua_pushinteger(f->L, d->fn);
	if (d->kind == RULE_REPORT)
		lua_pushstring(f->L, d->name);
	else
		lua_pushnil(f->L);
	if (lua_pcall(f->L, 2, 3, 0) != LUA_OK) {
		result_set(&run->res, ST_UNKNOWN, "%s", sb_kill_reason(SB_MEMORY));
		run->wake_t = 0;
	} else {
		run->co = lua_tothread(f->L, -3);
		run->coref = (int)lua_tointeger(f->L, -2);
		if (lua_isinteger(f->L, -1)) {
			run->repref = (int)lua_tointeger(f->L, -1);
			run->nargs = 1;
		}
		run->b.thread = run->co;
	}
	lua_settop(f->L, 0);
	/* a little past the deadline: the hook ends a busy run itself */
	run->deadline_t = loop_timer_at(l, run->b.deadline + 0.05, on_deadline, run);
	/* the first step runs from the loop: done is never called from here */
	if (run->co != NULL)
		run->wake_t = loop_timer_at(l, loop_now(l), on_wake, run);
	if (run->deadline_t == 0 || (run->co != 0 && run->wake_t == 0)) {
		loop_timer_cancel(l, run->deadline_t);
		loop_timer_cancel(l, run->wake_t);
		if (run->coref != LUA_NOREF)
			luaL_unref(f->L, LUA_REGISTRYINDEX, run->coref);
		f->runs = run->next;
		if (f->runs != NULL)
			f->runs->prev = NULL;
		mem_free(run);
		return NULL;
	}
	return run;
}

void
rules_run_tag(struct rule_run *run, uint32_t tag)
{
	run->b.tag = tag;
}

const char *
rules_run_doc(const struct rule_run *run)
{
	return run->doc;
}

const char *
rules_run_check(const struct rule_run *run)
{
	return run->d->name;
}

void
rules_abort(struct rule_run *run, const char *why)
{
	result_set(&run->res, ST_UNKNOWN, "%s", why);
	run_finish(run);
}

/* ---- waiting for I/O (the probes of rules_net.c) ----------------------------------- */

struct rule_run *
rules_current(lua_State *L)
{
	return sb_of(L)->cur->run;
}

struct loop *
rules_loop(lua_State *L)
{
	return file_of(L)->env->loop;
}

double
rules_deadline(lua_State *L)
{
	return sb_of(L)->cur->deadline;
}

void
rules_check_can_wait(lua_State *L, const char *what)
{
	struct rule_run *run = rules_current(L);

	if (run == NULL || file_of(L)->env->loop == NULL)
		luaL_error(L, "%s only inside a check run", what);
	if (L != run->co)
		luaL_error(L, "%s cannot wait inside a coroutine the rule made", what);
	if (!lua_isyieldable(L))
		luaL_error(L, "%s cannot wait here (inside a metamethod, or a function "
		    "such as table.sort or string.gsub calling back)", what);
}

int
rules_wait(lua_State *L, struct rules_op *op, lua_KFunction cont)
{
	struct rule_run *run = rules_current(L);

	/* a stale op (its continuation raised) goes before the new one */
	if (run->op != NULL && run->op != op)
		run->op->free(run->op);
	op->run = run;
	run->op = op;
	run->parked = 1;
	/* the I/O may have ended (failed to start) before we got here */
	if (op->done) {
		op->done = 0;
		rules_wake(op);
	}
	return lua_yieldk(L, 0, (lua_KContext)op, cont);
}

void
rules_wake(struct rules_op *op)
{
	struct rule_run *run = op->run;

	if (run == NULL) {
		op->done = 1;           /* rules_wait will wake the run */
		return;
	}
	if (run->wake_t == 0)
		run->wake_t = loop_timer_at(run->f->env->loop,
		    loop_now(run->f->env->loop), on_wake, run);
	if (run->wake_t == 0)
		rules_abort(run, "out of memory");
}

void
rules_op_done(lua_State *L, struct rules_op *op)
{
	struct rule_run *run = rules_current(L);

	if (run != NULL && run->op == op)
		run->op = NULL;
	op->free(op);
}

/* ---- finding rule files ---------------------------------------------------------- */

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
add_path(char ***paths, size_t *n, const char *p)
{
	char **np = realloc(*paths, (*n + 1) * sizeof *np);
	if (np == NULL)
		return -1;
	*paths = np;
	if ((np[*n] = strdup(p)) == NULL)
		return -1;
	(*n)++;
	return 0;
}

static int
add_dir(char ***paths, size_t *n, const char *dir, char *err, size_t errlen)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t first = *n;
	char p[PATH_MAX];

	if (d == NULL) {
		snprintf(err, errlen, "%s: cannot read rules directory: %s", dir, strerror(errno));
		return -1;
	}
	while ((e = readdir(d)) != NULL) {
		size_t l = strlen(e->d_name);
		if (e->d_name[0] == '.' || l < 5 || strcmp(e->d_name + l - 4, ".lua") != 0)
			continue;
		snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
		if (add_path(paths, n, p) < 0) {
			closedir(d);
			snprintf(err, errlen, "out of memory");
			return -1;
		}
	}
	closedir(d);
	qsort(*paths + first, *n - first, sizeof **paths, cmp_str);
	return 0;
}

int
rules_paths(const char *spec, char ***paths, size_t *n, char *err, size_t errlen)
{
	char *copy = strdup(spec), *save = NULL;
	struct stat st;

	*paths = NULL;
	*n = 0;
	if (copy == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (char *t = strtok_r(copy, ",", &save); t != NULL; t = strtok_r(NULL, ",", &save)) {
		while (isspace((unsigned char)*t))
			t++;
		size_t l = strlen(t);
		while (l > 0 && isspace((unsigned char)t[l - 1]))
			t[--l] = '\0';
		if (l == 0)
			continue;
		if (stat(t, &st) == 0 && S_ISDIR(st.st_mode)) {
			if (add_dir(paths, n, t, err, errlen) < 0)
				goto fail;
		} else if (add_path(paths, n, t) < 0) {
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
	}
	free(copy);
	return 0;
fail:
	free(copy);
	rules_paths_free(*paths, *n);
	*paths = NULL;
	*n = 0;
	return -1;
}

void
rules_paths_free(char **paths, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(paths[i]);
	free(paths);
}

const char *
rules_lua_version(void)
{
	return LUA_RELEASE;
}
