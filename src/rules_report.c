/* rules_report.c — the `r` a report's build function fills:
 *
 *   r:section(title)
 *   r:item(label, value, { target =, max =, min =, format =, currency = })
 *   r:note(fmt, ...)
 *   r:chart(title, points, { format =, target = })
 *
 * The document grows on the C heap, outside the rule's Lua memory cap, so it
 * has its own cap (REPORT_DOC_MAX, counted as it grows); past it the build
 * fails with a clear error.  An item with a target is met or missed here,
 * once, so every renderer and every receiver agree on it.  When the run
 * ends the host takes the document (rules_report_take) and the object
 * refuses further use: a rule that kept `r` in a global cannot write into a
 * report already sent. */
#include <lauxlib.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "json.h"
#include "report.h"
#include "rules_lib.h"
#include "rules_report.h"

#define POINTS_MAX 400

static const char report_key = 0;

struct rreport {
	struct json *doc;
	struct json *sections;
	struct json *rows;          /* of the current section */
	size_t  size;               /* bytes the document will print to, about */
	int     met, missed;
	int     closed;
};

static struct rreport *
check_report(lua_State *L)
{
	struct rreport *r = lua_touserdata(L, 1);
	if (r == NULL || !lua_getmetatable(L, 1)) {
		luaL_error(L, "report method called without the report (use r:item, not r.item)");
		return NULL;
	}
	lua_rawgetp(L, LUA_REGISTRYINDEX, &report_key);
	if (!lua_rawequal(L, -1, -2))
		luaL_error(L, "report method called without the report (use r:item, not r.item)");
	lua_pop(L, 2);
	if (r->closed)
		luaL_error(L, "report: this report is finished; it cannot change now");
	return r;
}

static void
grow(lua_State *L, struct rreport *r, size_t n)
{
	r->size += n;
	if (r->size > REPORT_DOC_MAX)
		luaL_error(L, "report: larger than %d KB; say less, or split it",
		    (int)(REPORT_DOC_MAX >> 10));
}

static struct json *
new_section(struct rreport *r, const char *title)
{
	struct json *s = json_new(JSON_OBJECT);
	json_add(s, "title", json_new_string(title));
	r->rows = json_new(JSON_ARRAY);
	json_add(s, "rows", r->rows);
	json_add(r->sections, NULL, s);
	return s;
}

/* rows go into the current section; one without a title if none yet */
static struct json *
rows_of(struct rreport *r)
{
	if (r->rows == NULL)
		new_section(r, "");
	return r->rows;
}

static int
l_section(lua_State *L)
{
	struct rreport *r = check_report(L);
	size_t l;
	const char *title = luaL_checklstring(L, 2, &l);
	grow(L, r, l + 32);
	new_section(r, title);
	lua_settop(L, 1);
	return 1;
}

static const char *
opt_string(lua_State *L, int t, const char *key, size_t max)
{
	const char *s = NULL;
	if (lua_getfield(L, t, key) == LUA_TSTRING) {
		s = lua_tostring(L, -1);
		if (strlen(s) > max)
			luaL_error(L, "report: %s longer than %d bytes", key, (int)max);
	} else if (!lua_isnil(L, -1))
		luaL_error(L, "report: %s must be a string, not a %s", key, luaL_typename(L, -1));
	lua_pop(L, 1);      /* the string stays reachable: it is in the table */
	return s;
}

static int
opt_number(lua_State *L, int t, const char *key, double *v)
{
	int ty = lua_getfield(L, t, key), has = 0;
	if (ty == LUA_TNUMBER) {
		*v = lua_tonumber(L, -1);
		has = 1;
	} else if (ty != LUA_TNIL)
		luaL_error(L, "report: %s must be a number, not a %s", key, luaL_typename(L, -1));
	lua_pop(L, 1);
	return has;
}

static const char *
check_format(lua_State *L, const char *f)
{
	static const char *const ok[] = { "pct", "ms", "duration", "bytes", "money", "number",
		NULL };
	if (f == NULL)
		return NULL;
	for (int i = 0; ok[i]; i++)
		if (strcmp(f, ok[i]) == 0)
			return f;
	luaL_error(L, "report: format \"%s\": use pct, ms, duration, bytes, money or number", f);
	return NULL;
}

static const char *const item_keys[] = { "target", "min", "max", "format", "currency", "met",
	NULL };
static const char *const chart_keys[] = { "target", "format", NULL };

static void
known_keys(lua_State *L, int t, const char *const *keys)
{
	lua_pushnil(L);
	while (lua_next(L, t)) {
		int found = 0;
		if (lua_type(L, -2) == LUA_TSTRING)
			for (int i = 0; keys[i] && !found; i++)
				found = strcmp(lua_tostring(L, -2), keys[i]) == 0;
		if (!found)
			luaL_error(L, "report: unknown option \"%s\"", lua_type(L, -2) == LUA_TSTRING ?
			    lua_tostring(L, -2) : luaL_typename(L, -2));
		lua_pop(L, 1);
	}
}

static int
l_item(lua_State *L)
{
	struct rreport *r = check_report(L);
	size_t l;
	const char *label = luaL_checklstring(L, 2, &l);
	int vt = lua_type(L, 3);
	double target = 0, v = 0;
	const char *cmp = ">=", *fmt = NULL, *cur = NULL;
	int has_target = 0, forced = -1;

	if (vt != LUA_TNONE && vt != LUA_TNIL && vt != LUA_TNUMBER && vt != LUA_TSTRING &&
	    vt != LUA_TBOOLEAN)
		return luaL_error(L, "report: item \"%s\": value must be a number, string, boolean"
		    " or nil, not a %s", label, luaL_typename(L, 3));
	if (!lua_isnoneornil(L, 4)) {
		luaL_checktype(L, 4, LUA_TTABLE);
		known_keys(L, 4, item_keys);
		double mx;
		if (opt_number(L, 4, "target", &target) || opt_number(L, 4, "min", &target))
			has_target = 1;
		if (opt_number(L, 4, "max", &mx)) {
			if (has_target)
				return luaL_error(L, "report: item \"%s\": give target (or min) or max, not both", label);
			target = mx;
			cmp = "<=";
			has_target = 1;
		}
		fmt = check_format(L, opt_string(L, 4, "format", 16));
		cur = opt_string(L, 4, "currency", 8);
		int mt = lua_getfield(L, 4, "met");
		if (mt == LUA_TBOOLEAN) {
			forced = lua_toboolean(L, -1);
		} else if (mt != LUA_TNIL)
			return luaL_error(L, "report: item \"%s\": met must be true or false", label);
		lua_pop(L, 1);
	}
	grow(L, r, l + 160 + (vt == LUA_TSTRING ? lua_rawlen(L, 3) : 0));
	struct json *row = json_new(JSON_OBJECT);
	json_add(row, "item", json_new_string(label));
	if (vt == LUA_TNUMBER) {
		v = lua_tonumber(L, 3);
		json_add(row, "value", isfinite(v) ? json_new_number(v) : json_new(JSON_NULL));
	} else if (vt == LUA_TSTRING) {
		const char *s = lua_tostring(L, 3);
		json_add(row, "display", json_new_string(s));
	} else if (vt == LUA_TBOOLEAN)
		json_add(row, "display", json_new_string(lua_toboolean(L, 3) ? "yes" : "no"));
	else
		json_add(row, "value", json_new(JSON_NULL));
	if (fmt != NULL)
		json_add(row, "format", json_new_string(fmt));
	if (cur != NULL)
		json_add(row, "currency", json_new_string(cur));
	/* no data (nil, NaN, a string such as "not checked") against a target
	 * is neither met nor missed: it says nothing either way, and must not
	 * turn into an action item */
	int nodata = forced < 0 && (vt == LUA_TNONE || vt == LUA_TNIL || vt == LUA_TSTRING ||
	    (vt == LUA_TNUMBER && !isfinite(v)));
	if (has_target && nodata) {
		json_add(row, "target", json_new_number(target));
		json_add(row, "cmp", json_new_string(cmp));
		json_add(row, "met", json_new(JSON_NULL));
		lua_pushnil(L);
	} else if (has_target || forced >= 0) {
		if (has_target) {
			json_add(row, "target", json_new_number(target));
			json_add(row, "cmp", json_new_string(cmp));
		}
		int met = vt == LUA_TNUMBER && isfinite(v) &&
		    (strcmp(cmp, "<=") == 0 ? v <= target : v >= target);
		if (vt == LUA_TBOOLEAN)
			met = lua_toboolean(L, 3);
		if (forced >= 0)
			met = forced;   /* the rule judged it itself */
		json_add(row, "met", json_new(met ? JSON_TRUE : JSON_FALSE));
		if (met)
			r->met++;
		else
			r->missed++;
		lua_pushboolean(L, met);
	} else
		lua_pushnil(L);
	json_add(rows_of(r), NULL, row);
	return 1;           /* met: true / false; nil without a target or without data */
}

static int
l_note(lua_State *L)
{
	struct rreport *r = check_report(L);
	size_t l;
	const char *text;

	if (lua_gettop(L) > 2) {
		/* r:note(fmt, ...) formats like ok(fmt, ...) */
		lua_getglobal(L, "string");
		lua_getfield(L, -1, "format");
		lua_remove(L, -2);
		lua_insert(L, 2);
		lua_call(L, lua_gettop(L) - 2, 1);
	}
	text = luaL_checklstring(L, 2, &l);
	grow(L, r, l + 16);
	struct json *row = json_new(JSON_OBJECT);
	json_add(row, "note", json_new_string(text));
	json_add(rows_of(r), NULL, row);
	lua_settop(L, 1);
	return 1;
}

/* points: { v1, v2, ... } or { {t, v}, ... } or { {t = , v = }, ... } */
static int
l_chart(lua_State *L)
{
	struct rreport *r = check_report(L);
	size_t l;
	const char *title = luaL_checklstring(L, 2, &l);
	luaL_checktype(L, 3, LUA_TTABLE);
	double target = 0;
	int has_target = 0;
	const char *fmt = NULL;

	if (!lua_isnoneornil(L, 4)) {
		luaL_checktype(L, 4, LUA_TTABLE);
		known_keys(L, 4, chart_keys);
		has_target = opt_number(L, 4, "target", &target);
		fmt = check_format(L, opt_string(L, 4, "format", 16));
	}
	lua_Integer n = luaL_len(L, 3);
	if (n > POINTS_MAX)
		return luaL_error(L, "report: chart \"%s\": %d points; at most %d", title, (int)n,
		    POINTS_MAX);
	grow(L, r, l + 64 + (size_t)n * 28);
	/* in the document before the points are read: a point's metamethod
	 * that raises must not leak what was built */
	struct json *row = json_new(JSON_OBJECT), *pts = json_new(JSON_ARRAY);
	json_add(row, "chart", json_new_string(title));
	if (fmt != NULL)
		json_add(row, "format", json_new_string(fmt));
	if (has_target)
		json_add(row, "target", json_new_number(target));
	json_add(row, "points", pts);
	json_add(rows_of(r), NULL, row);
	for (lua_Integer i = 1; i <= n; i++) {
		double t = (double)i, v;
		int ty = lua_geti(L, 3, i), has = 1;
		if (ty == LUA_TNUMBER)
			v = lua_tonumber(L, -1);
		else if (ty == LUA_TTABLE) {
			int a = lua_geti(L, -1, 1), b = lua_geti(L, -2, 2);
			if (a != LUA_TNUMBER) {
				lua_pop(L, 2);
				a = lua_getfield(L, -1, "t");
				b = lua_getfield(L, -2, "v");
			}
			has = a == LUA_TNUMBER && b == LUA_TNUMBER;
			t = lua_tonumber(L, -2);
			v = lua_tonumber(L, -1);
			lua_pop(L, 2);
		} else
			has = 0, v = 0;
		lua_pop(L, 1);
		if (!has || !isfinite(v) || !isfinite(t))
			continue;   /* a day without data is a gap, not a zero */
		struct json *p = json_new(JSON_ARRAY);
		json_add(p, NULL, json_new_number(t));
		json_add(p, NULL, json_new_number(v));
		json_add(pts, NULL, p);
	}
	lua_settop(L, 1);
	return 1;
}

static int
report_gc(lua_State *L)
{
	struct rreport *r = lua_touserdata(L, 1);
	if (r != NULL && r->doc != NULL) {
		json_free(r->doc);
		r->doc = NULL;
	}
	return 0;
}

int
rules_report_push(lua_State *L, const char *name)
{
	struct rreport *r = lua_newuserdatauv(L, sizeof *r, 0);
	memset(r, 0, sizeof *r);
	if (lua_rawgetp(L, LUA_REGISTRYINDEX, &report_key) != LUA_TTABLE) {
		static const luaL_Reg m[] = { { "section", l_section }, { "item", l_item },
			{ "note", l_note }, { "chart", l_chart }, { NULL, NULL } };
		lua_pop(L, 1);
		lua_createtable(L, 0, 3);
		lua_createtable(L, 0, 4);
		luaL_setfuncs(L, m, 0);
		lua_setfield(L, -2, "__index");
		lua_pushcfunction(L, report_gc);
		lua_setfield(L, -2, "__gc");
		lua_pushliteral(L, "report");
		lua_setfield(L, -2, "__metatable");
		lua_pushvalue(L, -1);
		lua_rawsetp(L, LUA_REGISTRYINDEX, &report_key);
	}
	lua_setmetatable(L, -2);
	r->doc = json_new(JSON_OBJECT);
	json_add(r->doc, "name", json_new_string(name));
	r->sections = json_new(JSON_ARRAY);
	json_add(r->doc, "sections", r->sections);
	r->size = 128 + strlen(name);
	return 0;
}

char *
rules_report_take(lua_State *L, int idx, const char *failed)
{
	struct rreport *r = lua_touserdata(L, idx);
	if (r == NULL || r->doc == NULL)
		return NULL;
	if (failed != NULL) {
		/* a broken build still tells the operator what it got to */
		struct json *s = json_new(JSON_OBJECT), *rows = json_new(JSON_ARRAY);
		struct json *row = json_new(JSON_OBJECT);
		char msg[1200];
		snprintf(msg, sizeof msg, "This report did not finish: %s", failed);
		json_add(row, "note", json_new_string(msg));
		json_add(rows, NULL, row);
		json_add(s, "title", json_new_string("Report error"));
		json_add(s, "rows", rows);
		json_add(r->sections, NULL, s);
		json_add(r->doc, "error", json_new_string(failed));
	}
	json_add(r->doc, "met", json_new_number(r->met));
	json_add(r->doc, "missed", json_new_number(r->missed));
	char *s = json_print(r->doc, false);
	json_free(r->doc);
	r->doc = NULL;
	r->closed = 1;
	return s;
}
