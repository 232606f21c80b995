/* rules_lib.c — the API a rule calls: verdicts, metric, vars, now, duration,
 * and the local probes (fs.*, log.*, sys.*, json.*).  Each binding is thin:
 * it checks arguments, fences paths through paths.c, calls the plain-C probe,
 * and turns the answer into Lua values.  A failing probe returns nil and a
 * message (it is data for the rule), never a Lua error; a wrong argument is a
 * Lua error, since that is a bug in the rule. */
#include <lauxlib.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "clock.h"
#include "json.h"
#include "paths.h"
#include "probe_fs.h"
#include "probe_log.h"
#include "probe_sys.h"
#include "result.h"
#include "rules_lib.h"
#include "rules_sandbox.h"
#include "units.h"

const char rules_verdict_key = 0;
static const char vars_key = 0;
static const char jsonbox_key = 0;

#define JSON_DEPTH_MAX 100


static void
set_num(lua_State *L, const char *k, double v)
{
	lua_pushnumber(L, v);
	lua_setfield(L, -2, k);
}

static void
set_int(lua_State *L, const char *k, long long v)
{
	lua_pushinteger(L, (lua_Integer)v);
	lua_setfield(L, -2, k);
}

static void
set_str(lua_State *L, const char *k, const char *v)
{
	lua_pushstring(L, v);
	lua_setfield(L, -2, k);
}

static int
fail(lua_State *L, const char *msg)
{
	luaL_pushfail(L);
	lua_pushstring(L, msg);
	return 2;
}

/* ---- verdicts ------------------------------------------------------------- */

static int
verdict_index(lua_State *L)
{
	const char *k = luaL_checkstring(L, 2);

	if (strcmp(k, "status") == 0) {
		lua_rawgeti(L, 1, 1);
		lua_Integer st = lua_tointeger(L, -1);
		lua_pushstring(L, result_status_lower(st >= 0 && st <= 3 ? (enum status)st : ST_UNKNOWN));
	} else if (strcmp(k, "summary") == 0)
		lua_rawgeti(L, 1, 2);
	else
		lua_pushnil(L);
	return 1;
}

static int
verdict(lua_State *L)
{
	enum status st = (enum status)lua_tointeger(L, lua_upvalueindex(1));
	int n = lua_gettop(L);
	size_t len;

	if (n == 0)
		lua_pushliteral(L, "");
	else if (n == 1)
		luaL_checklstring(L, 1, NULL);
	else {
		/* string.format as it was when the file loaded, not a rule's copy */
		lua_pushvalue(L, lua_upvalueindex(2));
		lua_insert(L, 1);
		lua_call(L, n, 1);
	}
	luaL_checklstring(L, -1, &len);
	if (len >= RESULT_SUMMARY_MAX) {
		lua_pushlstring(L, lua_tostring(L, -1), RESULT_SUMMARY_MAX - 1);
		lua_remove(L, -2);
	}
	lua_createtable(L, 2, 0);
	lua_pushinteger(L, st);
	lua_rawseti(L, -2, 1);
	lua_pushvalue(L, -2);
	lua_rawseti(L, -2, 2);
	lua_rawgetp(L, LUA_REGISTRYINDEX, &rules_verdict_key);
	lua_setmetatable(L, -2);
	return 1;
}

/* ---- metric, vars, now, duration -------------------------------------------------- */

static int
l_metric(lua_State *L)
{
	struct sandbox *sb = sb_of(L);
	size_t nl, ul = 0;
	const char *name = luaL_checklstring(L, 1, &nl);
	lua_Number v = luaL_checknumber(L, 2);
	const char *unit = luaL_optlstring(L, 3, "", &ul);
	struct result *r = sb->cur->result;

	if (r == NULL)
		return luaL_error(L, "metric() only inside a check run");
	bool ok = nl > 0 && nl < METRIC_NAME_MAX;
	for (size_t i = 0; ok && i < nl; i++) {
		char c = name[i];
		ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
		    c == ':' || (i > 0 && ((c >= '0' && c <= '9') || c == '.'));
	}
	if (!ok)
		return luaL_argerror(L, 1, "a metric name is letters, digits, _ : . (not first), under 64 bytes");
	if (!isfinite(v))
		return luaL_argerror(L, 2, "not a finite number");
	if (ul >= METRIC_UNIT_MAX)
		return luaL_argerror(L, 3, "unit longer than 15 bytes");
	int i;
	for (i = 0; i < r->nmetrics; i++)
		if (strcmp(r->metrics[i].name, name) == 0)
			break;
	if (i == RESULT_METRICS_MAX)
		return luaL_error(L, "more than %d metrics in one run", RESULT_METRICS_MAX);
	if (i == r->nmetrics)           /* a run's metrics start unwritten (rules.c) */
		memset(&r->metrics[i], 0, sizeof r->metrics[i]);
	snprintf(r->metrics[i].name, sizeof r->metrics[i].name, "%s", name);
	snprintf(r->metrics[i].unit, sizeof r->metrics[i].unit, "%s", unit);
	r->metrics[i].value = v;
	if (i == r->nmetrics)
		r->nmetrics++;
	return 0;
}

void
rules_lib_set_var(lua_State *L, const char *name)
{
	lua_rawgetp(L, LUA_REGISTRYINDEX, &vars_key);
	lua_insert(L, -2);
	lua_setfield(L, -2, name);
	lua_pop(L, 1);
}

static int
vars_newindex(lua_State *L)
{
	return luaL_error(L, "vars are read-only (set them in the config's [vars])");
}

static int
vars_next(lua_State *L)
{
	luaL_checktype(L, 1, LUA_TTABLE);
	lua_settop(L, 2);
	if (lua_next(L, 1))
		return 2;
	lua_pushnil(L);
	return 1;
}

static int
vars_pairs(lua_State *L)
{
	lua_pushcfunction(L, vars_next);
	lua_rawgetp(L, LUA_REGISTRYINDEX, &vars_key);
	lua_pushnil(L);
	return 3;
}

static int
l_now(lua_State *L)
{
	lua_pushnumber(L, clock_real());
	return 1;
}

static int
l_duration(lua_State *L)
{
	char e[160];
	int64_t ms;

	if (units_duration(luaL_checkstring(L, 1), &ms, e, sizeof e) < 0)
		return luaL_argerror(L, 1, e);
	lua_pushnumber(L, (lua_Number)ms / 1000.0);
	return 1;
}

/* ---- fs ----------------------------------------------------------------------- */

static int
fence(lua_State *L, const char *path, char *real)
{
	char e[PATH_MAX + 64];

	if (paths_check(rules_env_of(L)->read_paths, path, real, e, sizeof e) < 0) {
		fail(L, e);
		return -1;
	}
	return 0;
}

static void
push_file(lua_State *L, const struct probe_file *f, double now)
{
	lua_createtable(L, 0, 4);
	set_str(L, "path", f->path);
	set_int(L, "size", (long long)f->size);
	set_num(L, "mtime", f->mtime);
	set_num(L, "age", now - f->mtime);
}

static int
l_fs_usage(lua_State *L)
{
	struct probe_usage u;
	char e[PATH_MAX + 64];

	if (probe_fs_usage(luaL_checkstring(L, 1), &u, e, sizeof e) < 0)
		return fail(L, e);
	lua_createtable(L, 0, 4);
	set_int(L, "total", (long long)u.total);
	set_int(L, "used", (long long)u.used);
	set_int(L, "free", (long long)u.free);
	set_num(L, "pct", u.pct);
	return 1;
}

static int
l_fs_stat(lua_State *L)
{
	char real[PATH_MAX], e[PATH_MAX + 64];
	const char *path = luaL_checkstring(L, 1);
	struct probe_file f;

	if (fence(L, path, real) < 0)
		return 2;
	if (probe_fs_stat(real, &f, e, sizeof e) < 0)
		return fail(L, e);
	snprintf(f.path, sizeof f.path, "%s", path);
	push_file(L, &f, clock_real());
	return 1;
}

static int
l_fs_newest(lua_State *L)
{
	const char *pat = luaL_checkstring(L, 1);
	const char *roots = rules_env_of(L)->read_paths;
	char dir[PATH_MAX], real[PATH_MAX], e[PATH_MAX + 64];
	struct probe_newest n;

	/* the fixed directory part of the pattern must be inside read_paths */
	size_t fixed = strcspn(pat, "*?[");
	if (fixed >= sizeof dir)
		return fail(L, "pattern too long");
	memcpy(dir, pat, fixed);
	dir[fixed] = '\0';
	char *slash = strrchr(dir, '/');
	if (slash == NULL)
		return fail(L, "not an absolute path");
	slash[slash == dir ? 1 : 0] = '\0';
	if (paths_check(roots, dir, real, e, sizeof e) < 0)
		return fail(L, e);
	if (probe_fs_newest(roots, pat, &n, e, sizeof e) < 0)
		return fail(L, e);
	if (n.count == 0)
		return fail(L, "no file matches");
	double now = clock_real();
	push_file(L, &n.newest, now);
	set_int(L, "count", n.count);
	if (n.has_prev) {
		push_file(L, &n.prev, now);
		lua_setfield(L, -2, "prev");
	}
	return 1;
}

static int
l_fs_gzip_ok(lua_State *L)
{
	char real[PATH_MAX], e[PATH_MAX + 128];
	const char *path = luaL_checkstring(L, 1);
	uint64_t max = 4ULL << 30;

	if (lua_istable(L, 2) && lua_getfield(L, 2, "max") != LUA_TNIL) {
		if (units_size(luaL_checkstring(L, -1), &max, e, sizeof e) < 0)
			return luaL_argerror(L, 2, e);
	}
	if (fence(L, path, real) < 0) {
		lua_pushboolean(L, 0);
		lua_replace(L, -3);
		return 2;
	}
	int rc = probe_fs_gzip_ok(real, max, e, sizeof e);
	lua_pushboolean(L, rc == 1);
	if (rc == 1)
		return 1;
	lua_pushstring(L, e);
	return 2;
}

/* ---- log ---------------------------------------------------------------------- */

static int
l_log_count(lua_State *L)
{
	const char *path = luaL_checkstring(L, 1);
	const char *re = luaL_checkstring(L, 2);
	struct probe_log_query q = { .mode = LOG_LAST };
	char real[PATH_MAX], e[PATH_MAX + 128];
	int64_t ms;
	long n;

	luaL_checktype(L, 3, LUA_TTABLE);
	int modes = 0;
	if (lua_getfield(L, 3, "last") != LUA_TNIL) {
		lua_Integer last = luaL_checkinteger(L, -1);
		if (last < 1 || last > PROBE_LOG_LINES_MAX)
			return luaL_argerror(L, 3, "last must be 1 to 1000000");
		q.mode = LOG_LAST;
		q.last = (long)last;
		modes++;
	}
	if (lua_getfield(L, 3, "since") != LUA_TNIL) {
		if (units_duration(luaL_checkstring(L, -1), &ms, e, sizeof e) < 0)
			return luaL_argerror(L, 3, e);
		q.mode = LOG_SINCE;
		q.since = clock_real() - (double)ms / 1000.0;
		modes++;
	}
	if (lua_getfield(L, 3, "new") != LUA_TNIL && lua_toboolean(L, -1)) {
		q.mode = LOG_NEW;
		modes++;
	}
	q.icase = lua_getfield(L, 3, "ignore_case") != LUA_TNIL && lua_toboolean(L, -1);
	lua_settop(L, 3);
	if (modes != 1)
		return luaL_argerror(L, 3, "give one of { last = N }, { since = \"24h\" }, { new = true }");
	if (fence(L, path, real) < 0)
		return 2;
	if (q.mode == LOG_NEW && (q.cursor = rules_cursor(L, real)) == NULL)
		return luaL_error(L, "log.count { new = true } only inside a check run");
	if (probe_log_count(real, re, &q, &n, e, sizeof e) < 0) {
		if (strncmp(e, "bad regex", 9) == 0)
			return luaL_argerror(L, 2, e);
		return fail(L, e);
	}
	lua_pushinteger(L, n);
	return 1;
}

struct tail_ctx {
	lua_State *L;
	lua_Integer i;
};

static int
tail_line(void *ud, const char *line, size_t len)
{
	struct tail_ctx *t = ud;
	lua_pushlstring(t->L, line, len);
	lua_rawseti(t->L, -2, ++t->i);
	return 0;
}

static int
l_log_tail(lua_State *L)
{
	const char *path = luaL_checkstring(L, 1);
	lua_Integer n = luaL_optinteger(L, 2, 10);
	char real[PATH_MAX], e[PATH_MAX + 64];
	struct tail_ctx t = { L, 0 };

	if (n < 1 || n > PROBE_LOG_TAIL_MAX)
		return luaL_argerror(L, 2, "n must be 1 to 10000");
	if (fence(L, path, real) < 0)
		return 2;
	lua_createtable(L, (int)n, 0);
	/* lines are pushed while probe_log_tail holds its buffers: a memory
	 * error would leak them, so make sure the table fits first */
	if (probe_log_tail(real, n, tail_line, &t, e, sizeof e) < 0)
		return fail(L, e);
	return 1;
}

/* ---- sys ------------------------------------------------------------------------ */

static int
l_sys_load(lua_State *L)
{
	struct probe_load l;
	char e[128];

	if (probe_sys_load(&l, e, sizeof e) < 0)
		return fail(L, e);
	lua_createtable(L, 0, 4);
	set_num(L, "load1", l.load1);
	set_num(L, "load5", l.load5);
	set_num(L, "load15", l.load15);
	set_int(L, "cores", l.cores);
	return 1;
}

static int
l_sys_memory(lua_State *L)
{
	struct probe_memory m;
	char e[128];

	if (probe_sys_memory(&m, e, sizeof e) < 0)
		return fail(L, e);
	lua_createtable(L, 0, 7);
	set_int(L, "total", (long long)m.total);
	set_int(L, "available", (long long)m.available);
	set_int(L, "used", (long long)m.used);
	set_num(L, "pct", m.pct);
	set_int(L, "swap_total", (long long)m.swap_total);
	set_int(L, "swap_used", (long long)m.swap_used);
	set_num(L, "swap_pct", m.swap_pct);
	return 1;
}

static int
l_sys_uptime(lua_State *L)
{
	double s;
	char e[128];

	if (probe_sys_uptime(&s, e, sizeof e) < 0)
		return fail(L, e);
	lua_pushnumber(L, s);
	return 1;
}

/* ---- json ---------------------------------------------------------------------- */

/* A cJSON tree is held in a box whose __gc (ours, not a rule's) frees it, so
 * a memory error while converting cannot leak it. */
struct jsonbox {
	struct json *j;
	char   *text;
};

static int
jsonbox_gc(lua_State *L)
{
	struct jsonbox *b = lua_touserdata(L, 1);
	if (b != NULL && b->j != NULL) {
		json_free(b->j);
		b->j = NULL;
	}
	if (b != NULL) {
		free(b->text);
		b->text = NULL;
	}
	return 0;
}

/* Pushes the boxes' metatable, made on first use: a box without its __gc
 * would leak its tree when decoding stops with an error (the JSON fuzz
 * target decodes on a bare state, as any caller may). */
static void
jsonbox_meta(lua_State *L)
{
	if (lua_rawgetp(L, LUA_REGISTRYINDEX, &jsonbox_key) == LUA_TTABLE)
		return;
	lua_pop(L, 1);
	lua_createtable(L, 0, 1);
	lua_pushcfunction(L, jsonbox_gc);
	lua_setfield(L, -2, "__gc");
	lua_pushvalue(L, -1);
	lua_rawsetp(L, LUA_REGISTRYINDEX, &jsonbox_key);
}

static struct jsonbox *
jsonbox_new(lua_State *L)
{
	struct jsonbox *b = lua_newuserdatauv(L, sizeof *b, 0);
	b->j = NULL;
	b->text = NULL;
	jsonbox_meta(L);
	lua_setmetatable(L, -2);
	return b;
}

static void
push_json(lua_State *L, const struct json *j, int depth)
{
	if (depth > JSON_DEPTH_MAX)
		luaL_error(L, "json.decode: nested deeper than %d", JSON_DEPTH_MAX);
	luaL_checkstack(L, 4, "json.decode");
	switch (json_type(j)) {
	case JSON_NULL:
		lua_pushlightuserdata(L, NULL);
		break;
	case JSON_FALSE:
	case JSON_TRUE:
		lua_pushboolean(L, json_type(j) == JSON_TRUE);
		break;
	case JSON_NUMBER: {
		double v = json_number(j);
		if (v == floor(v) && fabs(v) < 9007199254740992.0)
			lua_pushinteger(L, (lua_Integer)v);
		else
			lua_pushnumber(L, v);
		break;
	}
	case JSON_STRING:
		lua_pushstring(L, json_string(j));
		break;
	case JSON_ARRAY: {
		lua_Integer i = 0;
		lua_newtable(L);
		for (const struct json *c = json_child(j); c != NULL; c = json_next(c)) {
			push_json(L, c, depth + 1);
			lua_rawseti(L, -2, ++i);
		}
		break;
	}
	case JSON_OBJECT:
		lua_newtable(L);
		for (const struct json *c = json_child(j); c != NULL; c = json_next(c)) {
			push_json(L, c, depth + 1);
			lua_setfield(L, -2, json_key(c));
		}
		break;
	default:
		lua_pushnil(L);
	}
}

static int
l_json_decode(lua_State *L)
{
	size_t len;
	const char *s = luaL_checklstring(L, 1, &len);
	char e[128];

	struct jsonbox *b = jsonbox_new(L);
	b->j = json_parse(s, len, e, sizeof e);
	if (b->j == NULL)
		return fail(L, e);
	push_json(L, b->j, 0);
	json_free(b->j);
	b->j = NULL;
	return 1;
}

int
rules_json_decode(lua_State *L, const char *s, size_t len)
{
	char e[128];
	struct jsonbox *b = jsonbox_new(L);

	b->j = json_parse(s, len, e, sizeof e);
	if (b->j == NULL) {
		lua_pop(L, 1);
		lua_pushnil(L);
		return 1;
	}
	push_json(L, b->j, 0);
	json_free(b->j);
	b->j = NULL;
	lua_remove(L, -2);
	return 1;
}

/* Builds the tree for the value at idx; -1 with err on a value JSON lacks. */
static struct json *
to_json(lua_State *L, int idx, int depth, char *err, size_t errlen)
{
	idx = lua_absindex(L, idx);
	if (depth > JSON_DEPTH_MAX) {
		snprintf(err, errlen, "nested deeper than %d (a cycle?)", JSON_DEPTH_MAX);
		return NULL;
	}
	switch (lua_type(L, idx)) {
	case LUA_TNIL:
		return json_new(JSON_NULL);
	case LUA_TLIGHTUSERDATA:
		if (lua_touserdata(L, idx) == NULL)
			return json_new(JSON_NULL);
		break;
	case LUA_TBOOLEAN:
		return json_new(lua_toboolean(L, idx) ? JSON_TRUE : JSON_FALSE);
	case LUA_TNUMBER:
		return json_new_number(lua_tonumber(L, idx));
	case LUA_TSTRING:
		return json_new_string(lua_tostring(L, idx));
	case LUA_TTABLE: {
		if (!lua_checkstack(L, 4)) {
			snprintf(err, errlen, "out of memory");
			return NULL;
		}
		size_t n = lua_rawlen(L, idx), count = 0;
		lua_pushnil(L);
		while (lua_next(L, idx) != 0) {
			count++;
			lua_pop(L, 1);
		}
		bool array = count == n && n > 0;
		struct json *out = json_new(array || count == 0 ? JSON_ARRAY : JSON_OBJECT);
		if (out == NULL)
			goto oom;
		if (array) {
			for (size_t i = 1; i <= n; i++) {
				lua_rawgeti(L, idx, (lua_Integer)i);
				struct json *c = to_json(L, -1, depth + 1, err, errlen);
				lua_pop(L, 1);
				if (c == NULL || json_add(out, NULL, c) < 0) {
					json_free(out);
					return NULL;
				}
			}
			return out;
		}
		lua_pushnil(L);
		while (lua_next(L, idx) != 0) {
			char key[64];
			const char *k;
			if (lua_type(L, -2) == LUA_TSTRING)
				k = lua_tostring(L, -2);
			else if (lua_isinteger(L, -2)) {
				snprintf(key, sizeof key, "%lld", (long long)lua_tointeger(L, -2));
				k = key;
			} else {
				snprintf(err, errlen, "a %s key cannot be a JSON key",
				    luaL_typename(L, -2));
				lua_pop(L, 2);
				json_free(out);
				return NULL;
			}
			struct json *c = to_json(L, -1, depth + 1, err, errlen);
			lua_pop(L, 1);
			if (c == NULL || json_add(out, k, c) < 0) {
				lua_pop(L, 1);
				json_free(out);
				return NULL;
			}
		}
		return out;
	}
	default:
		break;
	}
	snprintf(err, errlen, "cannot encode a %s", luaL_typename(L, idx));
	return NULL;
oom:
	snprintf(err, errlen, "out of memory");
	return NULL;
}

static int
l_json_encode(lua_State *L)
{
	char e[160] = "out of memory";

	luaL_checkany(L, 1);
	struct jsonbox *b = jsonbox_new(L);
	b->j = to_json(L, 1, 0, e, sizeof e);
	if (b->j == NULL)
		return fail(L, e);
	b->text = json_print(b->j, false);
	json_free(b->j);
	b->j = NULL;
	if (b->text == NULL)
		return fail(L, "out of memory");
	/* the box still owns the text if this push raises */
	lua_pushstring(L, b->text);
	free(b->text);
	b->text = NULL;
	return 1;
}

/* ---- opening ---------------------------------------------------------------------- */

static void
lib(lua_State *L, const char *name, const luaL_Reg *fns)
{
	lua_newtable(L);
	luaL_setfuncs(L, fns, 0);
	lua_setfield(L, -2, name);
}

int
rules_lib_open(lua_State *L)
{
	static const luaL_Reg fs_fns[] = { { "usage", l_fs_usage }, { "stat", l_fs_stat },
		{ "newest", l_fs_newest }, { "gzip_ok", l_fs_gzip_ok }, { NULL, NULL } };
	static const luaL_Reg log_fns[] = { { "count", l_log_count },
		{ "tail", l_log_tail }, { NULL, NULL } };
	static const luaL_Reg sys_fns[] = { { "load", l_sys_load },
		{ "memory", l_sys_memory }, { "uptime", l_sys_uptime }, { NULL, NULL } };
	static const luaL_Reg json_fns[] = { { "decode", l_json_decode },
		{ "encode", l_json_encode }, { NULL, NULL } };
	const struct rules_env *env = rules_env_of(L);

	lua_pushglobaltable(L);
	int G = lua_gettop(L);

	/* verdicts share one locked metatable the host recognises */
	lua_createtable(L, 0, 2);
	lua_pushcfunction(L, verdict_index);
	lua_setfield(L, -2, "__index");
	lua_pushliteral(L, "verdict");
	lua_setfield(L, -2, "__metatable");
	lua_rawsetp(L, LUA_REGISTRYINDEX, &rules_verdict_key);
	lua_getfield(L, G, "string");
	lua_getfield(L, -1, "format");
	int fmt = lua_gettop(L);
	for (int i = 0; i < 4; i++) {
		lua_pushinteger(L, i);
		lua_pushvalue(L, fmt);
		lua_pushcclosure(L, verdict, 2);
		lua_setfield(L, G, result_status_lower((enum status)i));
	}
	lua_pop(L, 2);

	lua_pushcfunction(L, l_metric);
	lua_setfield(L, G, "metric");
	lua_pushcfunction(L, l_now);
	lua_setfield(L, G, "now");
	lua_pushcfunction(L, l_duration);
	lua_setfield(L, G, "duration");

	/* vars: a userdata, so not even rawset can change what a rule sees */
	lua_createtable(L, 0, (int)env->nvars);
	for (size_t i = 0; i < env->nvars; i++) {
		lua_pushstring(L, env->vars[i].value);
		lua_setfield(L, -2, env->vars[i].key);
	}
	lua_pushvalue(L, -1);
	lua_rawsetp(L, LUA_REGISTRYINDEX, &vars_key);
	lua_newuserdatauv(L, 0, 0);
	lua_createtable(L, 0, 4);
	lua_pushvalue(L, -3);
	lua_setfield(L, -2, "__index");
	lua_pushcfunction(L, vars_newindex);
	lua_setfield(L, -2, "__newindex");
	lua_pushcfunction(L, vars_pairs);
	lua_setfield(L, -2, "__pairs");
	lua_pushliteral(L, "vars");
	lua_setfield(L, -2, "__metatable");
	lua_setmetatable(L, -2);
	lua_setfield(L, G, "vars");
	lua_pop(L, 1);

	jsonbox_meta(L);
	lua_pop(L, 1);

	lib(L, "fs", fs_fns);
	lib(L, "log", log_fns);
	lib(L, "sys", sys_fns);
	lib(L, "json", json_fns);
	lua_getfield(L, G, "json");
	lua_pushlightuserdata(L, NULL);
	lua_setfield(L, -2, "null");
	lua_pop(L, 2);
	rules_history_open(L);
	rules_exec_open(L);
	return rules_net_open(L);
}
