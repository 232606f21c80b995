/* rules_sandbox.h — inside the rule host: the per-file sandbox (memory cap,
 * shared instruction budget, wall deadline, sticky kill) and the safe
 * environment.  Only src/rules*.c include this. */
#ifndef DRISHTI_RULES_SANDBOX_H
#define DRISHTI_RULES_SANDBOX_H
#include <lua.h>
#include <stddef.h>
#include <stdint.h>
#include "result.h"

enum sb_kill { SB_ALIVE, SB_MEMORY, SB_INSTRUCTIONS, SB_TIMEOUT, SB_CPU };

#define SB_HOOK_COUNT 1000      /* instructions between hook calls */
#define SB_COST_COROUTINE 1000  /* charged per coroutine: what it could hide */

/* What one run (or the loading of a file) may spend.  Runs of one file
 * interleave while they wait for I/O; the one being resumed is `cur`. */
struct sb_budget {
	uint64_t used, limit;           /* instructions, shared by the run's coroutines */
	double   deadline;              /* CLOCK_MONOTONIC seconds */
	enum sb_kill kill;              /* sticky */
	lua_State *thread;              /* the run's own coroutine; NULL when loading */
	struct result *result;          /* metric() writes here; NULL when loading */
	const char *check;              /* the check running, for log cursors */
	void    *run;                   /* the host's run, opaque here */
	double   cpu_left;              /* thread CPU seconds left; < 0: no limit */
	uint32_t tag;                   /* what the black box shows while it runs */
};

/* CPU seconds a run may spend past its budget inside one C function (where
 * no hook reaches) before the kernel ends the worker with SIGXCPU. */
#define SB_CPU_GRACE 0.25
#define SB_CPU_TICK_MS 10           /* the CPU budget's resolution */

struct sandbox {
	/* memory: every byte of the state, counted by the allocator */
	size_t   mem_used, mem_limit, mem_peak;
	size_t   mem_held;              /* held by probes outside Lua (sb_hold) */
	const void *refused_ptr;
	size_t   refused_size;
	int      refused;
	struct sb_budget *cur;          /* never NULL */
	struct sb_budget idle;          /* cur between runs: no limits */
	void    *host;                  /* the rule_file */
};

lua_State  *sb_new(struct sandbox *sb, size_t mem_limit);
/* Memory a probe holds for a rule outside Lua (a response body as it
 * arrives, its headers) is charged to the rule file's cap, as Lua's own is,
 * until released: 0, or -1 when the file has not that much left. */
struct sandbox *sb_get(lua_State *L);
size_t      sb_left(const struct sandbox *sb);
int         sb_hold(struct sandbox *sb, size_t n);
void        sb_release(struct sandbox *sb, size_t n);
/* A fresh budget: instructions and a deadline timeout_ms from now. */
void        sb_budget_init(struct sb_budget *b, uint64_t instructions, int64_t timeout_ms);
/* Makes b the budget charged from now on (NULL: none). */
void        sb_enter(struct sandbox *sb, struct sb_budget *b);
struct sandbox *sb_of(lua_State *L);
const char *sb_kill_reason(enum sb_kill k);
/* Charges n instructions of C-side work; true when that killed the run. */
int         sb_charge(lua_State *L, uint64_t n);
/* Ends the run now: yields out if it can, else raises.  `return sb_kill_now(L)`. */
int         sb_kill_now(lua_State *L);
void        sb_set_kill(struct sandbox *sb, enum sb_kill k);
/* Builds the rule environment (allow-listed globals) and makes it the
 * state's globals.  Runs protected; 0 / -1. */
int         sb_setup(lua_State *L, char *err, size_t errlen);
/* Turns on the black box and, with timers, the CPU budget for this process
 * (a worker): one timer on the thread's CPU clock, ticking every
 * SB_CPU_TICK_MS, charges the run entered.  At the budget it sets a flag
 * the count hook turns into SB_CPU; SB_CPU_GRACE later it raises SIGXCPU
 * with its default action, for a run stuck in C.  box, if not
 * NULL, is shared with the supervisor: it holds the tag of the budget
 * running, so whoever buries the worker knows which run it was.
 * 0 / -1 with err. */
int         sb_cpu_setup(volatile uint32_t *box, int timers, char *err, size_t errlen);
/* Describes the value at idx without running rule code. */
const char *sb_error_text(lua_State *L, int idx, char *buf, size_t len);

#endif
