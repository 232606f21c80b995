/* rules_sandbox.c — the in-process half of the sandbox (DESIGN.md §6).
 *
 * Each rule file gets its own lua_State whose allocator counts every byte
 * against the file's cap, and a count hook that charges a budget shared by
 * every coroutine of the current run and checks a wall-clock deadline.  The
 * lessons of NOTES.md shape it:
 *  - a kill is sticky: once set, the hook fires on every instruction of any
 *    thread that runs, and yields out (a yield from a hook cannot be caught
 *    by pcall) or, where it cannot yield, raises again at once;
 *  - our pcall and xpcall wrappers never return control to rule code after a
 *    kill, and never call the rule's message handler then (it would run with
 *    hooks off);
 *  - __gc is refused in rule metatables (finalizers run with hooks off, even
 *    in lua_close);
 *  - the string metatable is locked and its __index is a private copy;
 *  - coroutines are charged when made, so work spread over many short ones
 *    cannot hide below the hook's period;
 *  - load is text only, into the rule's own environment.
 * The process boundary (a later issue) is what stops a C function that runs
 * too long; this file stops everything else. */
#include <lauxlib.h>
#include <errno.h>
#include <lualib.h>
#include <signal.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include "clock.h"
#include "log.h"
#include "mem.h"
#include "rules_sandbox.h"

static struct {
	int on;
	timer_t tick;
	volatile uint32_t *box;
} cpu;
static volatile sig_atomic_t cpu_over;
/* the run entered now: ticks charged to it, its limits in ticks (-1: none) */
static volatile sig_atomic_t cpu_ticks, cpu_soft = -1, cpu_hard = -1;


const char *
sb_kill_reason(enum sb_kill k)
{
	switch (k) {
	case SB_MEMORY: return "sandbox: memory limit";
	case SB_INSTRUCTIONS: return "sandbox: instruction limit";
	case SB_TIMEOUT: return "sandbox: timeout";
	case SB_CPU: return "sandbox: cpu limit";
	default: return "sandbox: killed";
	}
}

/* ---- memory ------------------------------------------------------------- */

static void *
sb_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
	struct sandbox *sb = ud;
	size_t old = ptr != NULL ? osize : 0;

	if (nsize == 0) {
		sb->mem_used -= old;
		mem_free(ptr);
		return NULL;
	}
	if (nsize > old && (nsize - old > sb->mem_limit ||
	    sb->mem_used + sb->mem_held + (nsize - old) > sb->mem_limit)) {
		/* Lua collects garbage and asks once more with the same block:
		 * refuse that second ask for good (the run is over), but not the
		 * first, so a rule near its cap is not killed for litter. */
		if (sb->refused && sb->refused_ptr == ptr && sb->refused_size == nsize)
			sb_set_kill(sb, SB_MEMORY);
		sb->refused = 1;
		sb->refused_ptr = ptr;
		sb->refused_size = nsize;
		return NULL;
	}
	void *n = mem_realloc(ptr, nsize);
	if (n == NULL)
		return NULL;
	sb->refused = 0;
	sb->mem_used = sb->mem_used - old + nsize;
	if (sb->mem_used > sb->mem_peak)
		sb->mem_peak = sb->mem_used;
	return n;
}

static int
sb_panic(lua_State *L)
{
	/* Every entry into Lua is protected; reaching this is a bug in the host. */
	const char *m = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "?";
	log_error("lua panic (a bug in drishti): %s", m);
	abort();
}

struct sandbox *
sb_of(lua_State *L)
{
	void *ud;
	lua_getallocf(L, &ud);
	return ud;
}

struct sandbox *
sb_get(lua_State *L)
{
	return sb_of(L);
}

size_t
sb_left(const struct sandbox *sb)
{
	size_t held = sb->mem_used + sb->mem_held;
	return held < sb->mem_limit ? sb->mem_limit - held : 0;
}

int
sb_hold(struct sandbox *sb, size_t n)
{
	if (n > sb_left(sb))
		return -1;
	sb->mem_held += n;
	return 0;
}

void
sb_release(struct sandbox *sb, size_t n)
{
	sb->mem_held -= n < sb->mem_held ? n : sb->mem_held;
}

/* ---- the budget and the kill -------------------------------------------- */

void
sb_set_kill(struct sandbox *sb, enum sb_kill k)
{
	if (sb->cur->kill == SB_ALIVE)
		sb->cur->kill = k;
}

static void sb_hook(lua_State *L, lua_Debug *ar);

int
sb_kill_now(lua_State *L)
{
	struct sandbox *sb = sb_of(L);

	/* from now on every instruction of this thread comes back here */
	lua_sethook(L, sb_hook, LUA_MASKCOUNT, 1);
	if (lua_isyieldable(L))
		return lua_yield(L, 0);
	return luaL_error(L, "%s", sb_kill_reason(sb->cur->kill));
}

static void
sb_hook(lua_State *L, lua_Debug *ar)
{
	struct sandbox *sb = sb_of(L);
	struct sb_budget *b = sb->cur;

	(void)ar;
	if (b->kill == SB_ALIVE) {
		b->used += SB_HOOK_COUNT;
		if (cpu_over)
			b->kill = SB_CPU;
		else if (b->used > b->limit)
			b->kill = SB_INSTRUCTIONS;
		else if (clock_mono() > b->deadline)
			b->kill = SB_TIMEOUT;
		else
			return;
	}
	lua_sethook(L, sb_hook, LUA_MASKCOUNT, 1);
	if (lua_isyieldable(L)) {
		lua_yield(L, 0);
		return;
	}
	luaL_error(L, "%s", sb_kill_reason(b->kill));
}

void
sb_budget_init(struct sb_budget *b, uint64_t instructions, int64_t timeout_ms)
{
	memset(b, 0, sizeof *b);
	b->limit = instructions;
	b->deadline = clock_mono() + (double)timeout_ms / 1000.0;
	b->kill = SB_ALIVE;
	b->cpu_left = -1;
}

/* ---- CPU time ------------------------------------------------------------------
 *
 * The count hook cannot see time spent inside one C function (a backtracking
 * gsub, table.concat of a huge table).  The kernel can: one timer on the
 * worker thread's CPU clock ticks every SB_CPU_TICK_MS of CPU the thread
 * spends, and the handler charges the tick to the run entered at that
 * moment (ticks between runs are nobody's).  At the budget it raises the
 * flag the hook turns into SB_CPU; SB_CPU_GRACE later, a run stuck in C, it
 * ends the worker with SIGXCPU, whose default action the supervisor reads
 * as "cpu limit".  Entering and leaving a run costs no system call: reading
 * the CPU clock and re-arming two timers at every resume had cost ten
 * system calls per HTTP check, more than its Lua.  A run is charged to
 * within a tick. */

static void
on_cpu_tick(int sig)
{
	(void)sig;
	if (cpu_soft < 0)
		return;
	if (++cpu_ticks >= cpu_soft)
		cpu_over = 1;
	/* the one thing a handler does beyond a flag: the hook may never run
	 * again, so the kernel's default action for SIGXCPU ends the worker
	 * (signal and raise are async-signal-safe) */
	if (cpu_ticks >= cpu_hard) {
		signal(SIGXCPU, SIG_DFL);
		raise(SIGXCPU);
	}
}

int
sb_cpu_setup(volatile uint32_t *box, int timers, char *err, size_t errlen)
{
	struct sigevent ev;
	struct sigaction sa;
	struct itimerspec it;
	struct rlimit nocore = { 0, 0 };

	cpu.box = box;
	cpu.on = 1;                 /* the black box at least */
	if (!timers)
		return 0;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_cpu_tick;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	/* a worker ended by SIGXCPU leaves no core (it may hold a rule's data) */
	setrlimit(RLIMIT_CORE, &nocore);
	signal(SIGXCPU, SIG_DFL);
	if (sigaction(SIGPROF, &sa, NULL) < 0)
		goto fail;
	memset(&ev, 0, sizeof ev);
	ev.sigev_notify = SIGEV_SIGNAL;
	ev.sigev_signo = SIGPROF;
	if (timer_create(CLOCK_THREAD_CPUTIME_ID, &ev, &cpu.tick) < 0)
		goto fail;
	memset(&it, 0, sizeof it);
	it.it_value.tv_nsec = it.it_interval.tv_nsec = SB_CPU_TICK_MS * 1000000L;
	if (timer_settime(cpu.tick, 0, &it, NULL) < 0) {
		timer_delete(cpu.tick);
		goto fail;
	}
	return 0;
fail:
	snprintf(err, errlen, "CPU timer: %s", strerror(errno));
	return -1;
}

static void
cpu_enter(struct sb_budget *b)
{
	cpu_over = 0;
	if (cpu.box != NULL)
		*cpu.box = b->tag;
	if (b->cpu_left < 0)
		return;             /* no budget: the box only */
	/* the limits last: a tick in between finds no run */
	double tick = SB_CPU_TICK_MS / 1000.0;
	int soft = (int)ceil(b->cpu_left / tick - 1e-9);
	cpu_ticks = 0;
	cpu_hard = soft + (int)(SB_CPU_GRACE / tick + 0.5);
	cpu_soft = soft > 0 ? soft : 1;
	if (soft <= 0)
		cpu_over = 1;       /* spent: this resume ends at once */
}

static void
cpu_leave(struct sb_budget *b)
{
	if (b->cpu_left >= 0) {
		cpu_soft = -1;      /* first: no tick is charged from here */
		cpu_hard = -1;
		b->cpu_left -= cpu_ticks * (SB_CPU_TICK_MS / 1000.0);
		if (b->cpu_left < 0)
			b->cpu_left = 0;
	}
	if (cpu.box != NULL)
		*cpu.box = 0;
}

void
sb_enter(struct sandbox *sb, struct sb_budget *b)
{
	if (cpu.on && b == NULL && sb->cur != &sb->idle)
		cpu_leave(sb->cur);
	else if (cpu.on && b != NULL)
		cpu_enter(b);
	sb->cur = b != NULL ? b : &sb->idle;
	sb->refused = 0;
}

int
sb_charge(lua_State *L, uint64_t n)
{
	struct sb_budget *b = sb_of(L)->cur;

	if (b->kill != SB_ALIVE)
		return 1;
	b->used += n;
	if (b->used > b->limit)
		b->kill = SB_INSTRUCTIONS;
	else if (clock_mono() > b->deadline)
		b->kill = SB_TIMEOUT;
	return b->kill != SB_ALIVE;
}

lua_State *
sb_new(struct sandbox *sb, size_t mem_limit)
{
	lua_State *L;

	memset(sb, 0, sizeof *sb);
	sb->mem_limit = mem_limit;
	sb_budget_init(&sb->idle, UINT64_MAX, (int64_t)1 << 40);
	sb->cur = &sb->idle;
	L = lua_newstate(sb_alloc, sb);
	if (L == NULL)
		return NULL;
	lua_atpanic(L, sb_panic);
	/* threads made later inherit the hook of the thread that makes them */
	lua_sethook(L, sb_hook, LUA_MASKCOUNT, SB_HOOK_COUNT);
	return L;
}

const char *
sb_error_text(lua_State *L, int idx, char *buf, size_t len)
{
	/* Only a string is shown as it is: anything else could run rule code
	 * (__tostring) outside the sandbox's protection. */
	if (lua_type(L, idx) == LUA_TSTRING) {
		size_t l;
		const char *s = lua_tolstring(L, idx, &l);
		snprintf(buf, len, "%.*s", (int)(l < len ? l : len - 1), s);
	} else
		snprintf(buf, len, "error object is a %s value", luaL_typename(L, idx));
	return buf;
}

/* ---- wrappers of the base library ---------------------------------------- */

static int
finish_pcall(lua_State *L, int status, lua_KContext extra)
{
	struct sandbox *sb = sb_of(L);

	if (status == LUA_ERRMEM)
		sb_set_kill(sb, SB_MEMORY);
	if (sb->cur->kill != SB_ALIVE)
		return sb_kill_now(L);
	if (status != LUA_OK && status != LUA_YIELD) {
		lua_pushboolean(L, 0);
		lua_pushvalue(L, -2);
		return 2;
	}
	return lua_gettop(L) - (int)extra;
}

static int
sb_pcall(lua_State *L)
{
	int status;

	luaL_checkany(L, 1);
	if (sb_of(L)->cur->kill != SB_ALIVE)
		return sb_kill_now(L);
	lua_pushboolean(L, 1);
	lua_insert(L, 1);
	status = lua_pcallk(L, lua_gettop(L) - 2, LUA_MULTRET, 0, 0, finish_pcall);
	return finish_pcall(L, status, 0);
}

/* The rule's message handler, called only while the run is alive. */
static int
xpcall_handler(lua_State *L)
{
	if (sb_of(L)->cur->kill != SB_ALIVE)
		return 1;               /* the error as it is; no rule code */
	lua_pushvalue(L, lua_upvalueindex(1));
	lua_insert(L, 1);
	lua_call(L, lua_gettop(L) - 1, 1);
	return 1;
}

static int
sb_xpcall(lua_State *L)
{
	int status, n = lua_gettop(L);

	luaL_checktype(L, 2, LUA_TFUNCTION);
	if (sb_of(L)->cur->kill != SB_ALIVE)
		return sb_kill_now(L);
	lua_pushvalue(L, 2);
	lua_pushcclosure(L, xpcall_handler, 1);
	lua_replace(L, 2);                      /* handler in place of the rule's */
	lua_pushboolean(L, 1);
	lua_pushvalue(L, 1);
	lua_rotate(L, 3, 2);                    /* true, f, args... */
	status = lua_pcallk(L, n - 2, LUA_MULTRET, 2, 2, finish_pcall);
	return finish_pcall(L, status, 2);
}

static int
sb_setmetatable(lua_State *L)
{
	int t = lua_type(L, 2);

	luaL_checktype(L, 1, LUA_TTABLE);
	luaL_argexpected(L, t == LUA_TNIL || t == LUA_TTABLE, 2, "nil or table");
	if (luaL_getmetafield(L, 1, "__metatable") != LUA_TNIL)
		return luaL_error(L, "cannot change a protected metatable");
	if (t == LUA_TTABLE) {
		/* rawget: a __gc reachable only through __index is no finalizer */
		lua_pushliteral(L, "__gc");
		if (lua_rawget(L, 2) != LUA_TNIL)
			return luaL_error(L, "sandbox: __gc metamethods are not allowed");
		lua_pop(L, 1);
	}
	lua_settop(L, 2);
	lua_setmetatable(L, 1);
	return 1;
}

static int
sb_load(lua_State *L)
{
	size_t len;
	const char *s = lua_tolstring(L, 1, &len);
	const char *name = luaL_optstring(L, 2, "load");
	const char *mode = luaL_optstring(L, 3, "t");
	char chunkname[128];
	int status;

	if (s == NULL || lua_type(L, 1) != LUA_TSTRING)
		return luaL_error(L, "sandbox: load takes a string (text chunks only)");
	if (strchr(mode, 't') == NULL)
		return luaL_error(L, "sandbox: load is text only (mode \"t\")");
	snprintf(chunkname, sizeof chunkname, "=%s", name);
	status = luaL_loadbufferx(L, s, len, chunkname, "t");
	if (status != LUA_OK) {
		if (status == LUA_ERRMEM) {
			sb_set_kill(sb_of(L), SB_MEMORY);
			return sb_kill_now(L);
		}
		luaL_pushfail(L);
		lua_insert(L, -2);
		return 2;
	}
	if (!lua_isnone(L, 4)) {
		lua_pushvalue(L, 4);
		if (!lua_setupvalue(L, -2, 1))
			lua_pop(L, 1);
	}
	/* otherwise _ENV is the state's globals: the rule's own environment */
	return 1;
}

static int
sb_collectgarbage(lua_State *L)
{
	const char *opt = luaL_optstring(L, 1, "collect");

	if (strcmp(opt, "count") != 0)
		return luaL_error(L, "sandbox: collectgarbage(\"%s\") is not allowed", opt);
	int k = lua_gc(L, LUA_GCCOUNT), b = lua_gc(L, LUA_GCCOUNTB);
	lua_pushnumber(L, (lua_Number)k + (lua_Number)b / 1024);
	return 1;
}

static int
sb_print(lua_State *L)
{
	luaL_Buffer b;
	int n = lua_gettop(L);

	luaL_buffinit(L, &b);
	for (int i = 1; i <= n; i++) {
		size_t l;
		const char *s = luaL_tolstring(L, i, &l);
		if (i > 1)
			luaL_addchar(&b, '\t');
		luaL_addlstring(&b, s, l > 1024 ? 1024 : l);
		lua_pop(L, 1);
	}
	luaL_pushresult(&b);
	lua_Debug ar;
	int line = 0;
	char src[128] = "?";
	if (lua_getstack(L, 1, &ar) && lua_getinfo(L, "Sl", &ar)) {
		line = ar.currentline;
		snprintf(src, sizeof src, "%s", ar.short_src);
	}
	log_info("%s:%d: print: %s", src, line, lua_tostring(L, -1));
	return 0;
}

/* ---- table functions whose C loops the hook cannot see -------------------- */

static int
call_orig(lua_State *L)
{
	lua_pushvalue(L, lua_upvalueindex(1));
	lua_insert(L, 1);
	lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
	return lua_gettop(L);
}

static int
sb_table_move(lua_State *L)
{
	lua_Integer f = luaL_checkinteger(L, 2), e = luaL_checkinteger(L, 3);

	if (e >= f && sb_charge(L, (uint64_t)e - (uint64_t)f + 1))
		return sb_kill_now(L);
	return call_orig(L);
}

static int
sb_table_shift(lua_State *L)
{
	/* insert and remove shift every element above pos: charge #t */
	luaL_checktype(L, 1, LUA_TTABLE);
	lua_Integer n = luaL_len(L, 1);
	if (n > 0 && sb_charge(L, (uint64_t)n))
		return sb_kill_now(L);
	return call_orig(L);
}

/* ---- coroutines ------------------------------------------------------------ */

static int
sb_co_new(lua_State *L)
{
	if (sb_charge(L, SB_COST_COROUTINE))
		return sb_kill_now(L);
	return call_orig(L);
}

static int
sb_co_resume(lua_State *L)
{
	lua_State *co = lua_tothread(L, 1);
	if (sb_charge(L, 1))
		return sb_kill_now(L);
	int n = call_orig(L);
	struct sandbox *sb = sb_of(L);
	if (co != NULL && lua_status(co) == LUA_ERRMEM)
		sb_set_kill(sb, SB_MEMORY);
	if (sb->cur->kill != SB_ALIVE)
		return sb_kill_now(L);
	return n;
}

/* A function made by coroutine.wrap, checked after each resume. */
static int
sb_wrapped_call(lua_State *L)
{
	if (sb_charge(L, 1))
		return sb_kill_now(L);
	int n = call_orig(L);
	if (sb_of(L)->cur->kill != SB_ALIVE)
		return sb_kill_now(L);
	return n;
}

static int
sb_co_wrap(lua_State *L)
{
	if (sb_charge(L, SB_COST_COROUTINE))
		return sb_kill_now(L);
	call_orig(L);
	lua_settop(L, 1);
	lua_pushcclosure(L, sb_wrapped_call, 1);
	return 1;
}

/* ---- building the environment ---------------------------------------------- */

/* Copies the named fields of the table at src into a new table. */
static void
copy_fields(lua_State *L, int src, const char *const *names)
{
	lua_newtable(L);
	for (; *names != NULL; names++) {
		lua_getfield(L, src, *names);
		lua_setfield(L, -2, *names);
	}
}

/* Replaces t[name] with a C closure over the original. */
static void
wrap_field(lua_State *L, int t, const char *name, lua_CFunction fn)
{
	lua_getfield(L, t, name);
	lua_pushcclosure(L, fn, 1);
	lua_setfield(L, t, name);
}

static const char *const base_names[] = { "assert", "error", "getmetatable",
	"ipairs", "next", "pairs", "rawequal", "rawget", "rawlen", "rawset",
	"select", "tonumber", "tostring", "type", "_VERSION", NULL };
static const char *const string_names[] = { "byte", "char", "find", "format",
	"gmatch", "gsub", "len", "lower", "match", "pack", "packsize", "rep",
	"reverse", "sub", "unpack", "upper", NULL };
static const char *const table_names[] = { "concat", "insert", "move", "pack",
	"remove", "sort", "unpack", NULL };
static const char *const math_names[] = { "abs", "ceil", "cos", "deg", "exp",
	"floor", "fmod", "huge", "log", "max", "maxinteger", "min", "mininteger",
	"modf", "pi", "rad", "random", "randomseed", "sin", "sqrt", "tan",
	"tointeger", "type", "ult", "atan", "asin", "acos", NULL };
static const char *const utf8_names[] = { "char", "charpattern", "codes",
	"codepoint", "len", "offset", NULL };
static const char *const co_names[] = { "close", "create", "isyieldable",
	"resume", "running", "status", "wrap", "yield", NULL };
static const char *const os_names[] = { "clock", "date", "time", NULL };

static int
setup(lua_State *L)
{
	static const struct { const char *name; lua_CFunction open; } libs[] = {
		{ "_G", luaopen_base }, { "string", luaopen_string },
		{ "table", luaopen_table }, { "math", luaopen_math },
		{ "utf8", luaopen_utf8 }, { "coroutine", luaopen_coroutine },
		{ "os", luaopen_os },
	};
	int lib[7];

	/* open the libraries without making them global */
	for (int i = 0; i < 7; i++) {
		luaL_requiref(L, libs[i].name, libs[i].open, 0);
		lib[i] = lua_gettop(L);
	}
	lua_newtable(L);                                /* G: the rule's globals */
	int G = lua_gettop(L);
	for (const char *const *n = base_names; *n != NULL; n++) {
		lua_getfield(L, lib[0], *n);
		lua_setfield(L, G, *n);
	}
	static const struct { const char *name; lua_CFunction fn; } base_fns[] = {
		{ "pcall", sb_pcall }, { "xpcall", sb_xpcall },
		{ "setmetatable", sb_setmetatable }, { "load", sb_load },
		{ "collectgarbage", sb_collectgarbage }, { "print", sb_print },
	};
	for (size_t i = 0; i < sizeof base_fns / sizeof base_fns[0]; i++) {
		lua_pushcfunction(L, base_fns[i].fn);
		lua_setfield(L, G, base_fns[i].name);
	}
	lua_pushvalue(L, G);
	lua_setfield(L, G, "_G");

	/* string: the global table and the methods' __index are two copies, and
	 * the real metatable is locked, so no rule can reach or poison it */
	copy_fields(L, lib[1], string_names);
	lua_setfield(L, G, "string");
	lua_pushliteral(L, "");
	lua_getmetatable(L, -1);
	copy_fields(L, lib[1], string_names);
	lua_setfield(L, -2, "__index");
	lua_pushboolean(L, 0);
	lua_setfield(L, -2, "__metatable");
	lua_pop(L, 2);

	copy_fields(L, lib[2], table_names);
	wrap_field(L, lua_gettop(L), "move", sb_table_move);
	wrap_field(L, lua_gettop(L), "insert", sb_table_shift);
	wrap_field(L, lua_gettop(L), "remove", sb_table_shift);
	lua_setfield(L, G, "table");
	copy_fields(L, lib[3], math_names);
	lua_setfield(L, G, "math");
	copy_fields(L, lib[4], utf8_names);
	lua_setfield(L, G, "utf8");
	copy_fields(L, lib[5], co_names);
	wrap_field(L, lua_gettop(L), "create", sb_co_new);
	wrap_field(L, lua_gettop(L), "wrap", sb_co_wrap);
	wrap_field(L, lua_gettop(L), "resume", sb_co_resume);
	lua_setfield(L, G, "coroutine");
	copy_fields(L, lib[6], os_names);
	lua_setfield(L, G, "os");

	/* G becomes the globals every chunk of this state sees */
	lua_pushvalue(L, G);
	lua_rawseti(L, LUA_REGISTRYINDEX, LUA_RIDX_GLOBALS);
	return 0;
}

int
sb_setup(lua_State *L, char *err, size_t errlen)
{
	lua_pushcfunction(L, setup);
	if (lua_pcall(L, 0, 0, 0) != LUA_OK) {
		char m[256];
		snprintf(err, errlen, "sandbox setup: %s", sb_error_text(L, -1, m, sizeof m));
		lua_pop(L, 1);
		return -1;
	}
	return 0;
}
