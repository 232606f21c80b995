/* rules_history.c — history.* for rules: uptime, avg, max, min, sum,
 * percentile, count, last.  The history lives in the supervisor's state
 * file, which a worker cannot open; so each call sends a question through
 * the rule host's environment, parks the run, and resumes it when the
 * answer comes back.  No data is nil; a question the supervisor could not
 * answer is nil and a message. */
#include <lauxlib.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "result.h"
#include "rules_lib.h"
#include "rules_sandbox.h"
#include "units.h"

struct hist_op {
	struct rules_op op;         /* first */
	uint32_t id;
	int32_t fn;
	struct hist_ans ans;
	struct hist_op *next;
};

static struct hist_op *pending;
static uint32_t next_id = 1;

static void
op_free(struct rules_op *o)
{
	struct hist_op *op = (struct hist_op *)o;

	for (struct hist_op **p = &pending; *p != NULL; p = &(*p)->next)
		if (*p == op) {
			*p = op->next;
			break;
		}
	free(op);
}

void
rules_history_answer(uint32_t id, const struct hist_ans *a)
{
	for (struct hist_op *op = pending; op != NULL; op = op->next)
		if (op->id == id) {
			op->ans = *a;
			rules_wake(&op->op);
			return;
		}
	/* the run it was for has ended (timeout): nothing to do */
}

static int
hist_cont(lua_State *L, int status, lua_KContext ctx)
{
	struct hist_op *op = (struct hist_op *)ctx;
	int n = 1;

	(void)status;
	if (op->ans.found == 1 && op->fn == HIST_STATUS) {
		lua_pushstring(L, result_status_lower((enum status)((int)op->ans.value & 3)));
		lua_pushnumber(L, op->ans.ts);
		n = 2;
	} else if (op->ans.found == 1 && op->fn == HIST_WORST) {
		lua_pushstring(L, result_status_lower((enum status)((int)op->ans.value & 3)));
	} else if (op->ans.found == 1 && op->fn == HIST_INCIDENTS) {
		rules_json_decode(L, op->ans.list, (size_t)op->ans.list_len);
	} else if (op->ans.found == 1) {
		lua_pushnumber(L, op->ans.value);
		if (op->ans.ts > 0) {
			lua_pushnumber(L, op->ans.ts);
			n = 2;
		}
	} else if (op->ans.found == 0)
		lua_pushnil(L);
	else {
		lua_pushnil(L);
		lua_pushliteral(L, "history: the state file could not answer");
		n = 2;
	}
	rules_op_done(L, &op->op);
	return n;
}

static double
window_arg(lua_State *L, int idx)
{
	int64_t ms;
	char e[160];

	if (lua_type(L, idx) == LUA_TNUMBER)
		return lua_tonumber(L, idx);
	if (units_duration(luaL_checkstring(L, idx), &ms, e, sizeof e) < 0)
		luaL_argerror(L, idx, e);
	if (ms < 60000 || ms > (int64_t)400 * 86400000)
		luaL_argerror(L, idx, "a window from 1m to 400d");
	return (double)ms / 1000.0;
}

static int
ask(lua_State *L, struct hist_req *q)
{
	const struct rules_env *env = rules_env_of(L);

	if (env->history == NULL) {
		lua_pushnil(L);
		lua_pushliteral(L, "history: no state file here");
		return 2;
	}
	rules_check_can_wait(L, "history");
	struct hist_op *op = calloc(1, sizeof *op);
	if (op == NULL)
		return luaL_error(L, "out of memory");
	op->op.free = op_free;
	op->fn = q->fn;
	op->id = next_id++;
	if (next_id == 0)
		next_id = 1;
	op->next = pending;
	pending = op;
	if (env->history(env->history_ud, op->id, q) < 0) {
		op->ans.found = -1;
		rules_wake(&op->op);
	}
	return rules_wait(L, &op->op, hist_cont);
}

static void
name_arg(lua_State *L, int idx, struct hist_req *q)
{
	size_t l;
	const char *s = luaL_checklstring(L, idx, &l);
	if (l == 0 || l >= sizeof q->name)
		luaL_argerror(L, idx, "a check or metric name");
	memcpy(q->name, s, l + 1);
}

/* { ago = "7d" }: the window ends that long before now (last week's
 * uptime, a day of a chart) */
static void
opts_arg(lua_State *L, int idx, struct hist_req *q)
{
	int64_t ms;
	char e[160];

	if (lua_isnoneornil(L, idx))
		return;
	luaL_checktype(L, idx, LUA_TTABLE);
	int t = lua_getfield(L, idx, "ago");
	if (t == LUA_TNUMBER)
		q->ago = lua_tonumber(L, -1);
	else if (t == LUA_TSTRING) {
		if (units_duration(lua_tostring(L, -1), &ms, e, sizeof e) < 0)
			luaL_argerror(L, idx, e);
		q->ago = (double)ms / 1000.0;
	} else if (t != LUA_TNIL)
		luaL_argerror(L, idx, "ago: a duration");
	lua_pop(L, 1);
	if (!(q->ago >= 0 && q->ago <= 400.0 * 86400))
		luaL_argerror(L, idx, "ago: from 0 to 400d");
}

static int
simple(lua_State *L, enum hist_fn fn)
{
	struct hist_req q = { .fn = fn };
	name_arg(L, 1, &q);
	q.window = window_arg(L, 2);
	opts_arg(L, 3, &q);
	return ask(L, &q);
}

static int l_uptime(lua_State *L) { return simple(L, HIST_UPTIME); }
static int l_avg(lua_State *L) { return simple(L, HIST_AVG); }
static int l_max(lua_State *L) { return simple(L, HIST_MAX); }
static int l_min(lua_State *L) { return simple(L, HIST_MIN); }
static int l_sum(lua_State *L) { return simple(L, HIST_SUM); }

static int
l_percentile(lua_State *L)
{
	struct hist_req q = { .fn = HIST_PERCENTILE };
	name_arg(L, 1, &q);
	q.p = luaL_checknumber(L, 2);
	if (!(q.p >= 0 && q.p <= 100))
		luaL_argerror(L, 2, "a percentile from 0 to 100");
	q.window = window_arg(L, 3);
	opts_arg(L, 4, &q);
	return ask(L, &q);
}

static int
l_count(lua_State *L)
{
	static const char *const st[] = { "ok", "warn", "crit", "unknown", "fail", NULL };
	struct hist_req q = { .fn = HIST_COUNT };
	name_arg(L, 1, &q);
	int i = luaL_checkoption(L, 2, NULL, st);
	q.status = i == 4 ? -1 : i;
	q.window = window_arg(L, 3);
	opts_arg(L, 4, &q);
	return ask(L, &q);
}

/* history.status(check): "ok" ... and when it last ran; nil if it never did */
static int
l_status(lua_State *L)
{
	struct hist_req q = { .fn = HIST_STATUS };
	name_arg(L, 1, &q);
	return ask(L, &q);
}

/* history.worst(): the worst status among alerts firing now ("ok": none) */
static int
l_worst(lua_State *L)
{
	struct hist_req q = { .fn = HIST_WORST };
	snprintf(q.name, sizeof q.name, "*");
	return ask(L, &q);
}

/* history.incidents(window): { {check, status, alerted, resolved, seconds,
 * open}, ... } newest first */
static int
l_incidents(lua_State *L)
{
	struct hist_req q = { .fn = HIST_INCIDENTS };
	snprintf(q.name, sizeof q.name, "*");
	q.window = window_arg(L, 1);
	return ask(L, &q);
}

static int
l_last(lua_State *L)
{
	struct hist_req q = { .fn = HIST_LAST };
	name_arg(L, 1, &q);
	return ask(L, &q);
}

int
rules_history_open(lua_State *L)
{
	static const luaL_Reg fns[] = { { "uptime", l_uptime }, { "avg", l_avg },
		{ "max", l_max }, { "min", l_min }, { "sum", l_sum },
		{ "percentile", l_percentile }, { "count", l_count }, { "last", l_last },
		{ "status", l_status }, { "worst", l_worst }, { "incidents", l_incidents },
		{ NULL, NULL } };

	lua_pushglobaltable(L);
	lua_newtable(L);
	luaL_setfuncs(L, fns, 0);
	lua_setfield(L, -2, "history");
	lua_pop(L, 1);
	return 0;
}
