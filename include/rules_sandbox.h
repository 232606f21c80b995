/* rules_sandbox.h — inside the rule host: the per-file sandbox (memory cap,
 * shared instruction budget, wall deadline, sticky kill) and the safe
 * environment.  Only src/rules*.c include this. */
#ifndef DRISHTI_RULES_SANDBOX_H
#define DRISHTI_RULES_SANDBOX_H
#include <lua.h>
#include <stddef.h>
#include <stdint.h>
#include "result.h"

enum sb_kill { SB_ALIVE, SB_MEMORY, SB_INSTRUCTIONS, SB_TIMEOUT };

#define SB_HOOK_COUNT 1000      /* instructions between hook calls */
#define SB_COST_COROUTINE 1000  /* charged per coroutine: what it could hide */

struct sandbox {
	/* memory: every byte of the state, counted by the allocator */
	size_t   mem_used, mem_limit, mem_peak;
	const void *refused_ptr;
	size_t   refused_size;
	int      refused;
	/* the current run (or the loading of the file) */
	uint64_t instr_used, instr_limit;
	double   deadline;              /* CLOCK_MONOTONIC seconds */
	enum sb_kill kill;
	lua_State *run_thread;          /* the thread the host resumes */
	struct result *result;          /* metric() writes here; NULL: loading */
	const char *check;              /* the check running, for log cursors */
	void    *host;                  /* the rule_file */
};

lua_State  *sb_new(struct sandbox *sb, size_t mem_limit);
/* Starts a budget: instructions and a deadline timeout_ms from now. */
void        sb_arm(struct sandbox *sb, uint64_t instructions, int64_t timeout_ms);
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
double      sb_now(void);
/* Describes the value at idx without running rule code. */
const char *sb_error_text(lua_State *L, int idx, char *buf, size_t len);

#endif
