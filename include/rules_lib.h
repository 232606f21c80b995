/* rules_lib.h — inside the rule host: the API rules call (verdicts, probes,
 * metric, vars, json ...).  Only src/rules*.c include this. */
#ifndef DRISHTI_RULES_LIB_H
#define DRISHTI_RULES_LIB_H
#include <lua.h>
#include "probe_log.h"
#include "rules.h"

/* Its address keys the verdict metatable in the registry (no allocation to look up). */
extern const char rules_verdict_key;

/* Something a run waits for.  The owner embeds it first in its own struct
 * and provides free(), which also cancels whatever is in flight. */
struct rule_run;
struct rules_op {
	void  (*free)(struct rules_op *op);
	struct rule_run *run;
	int    done;                /* rules_wake was called */
};

struct rule_run *rules_current(lua_State *L);   /* NULL while loading */
struct loop *rules_loop(lua_State *L);
double rules_deadline(lua_State *L);            /* of the current run, monotonic */
/* Raises unless the running code may wait here: in a check run, on the
 * run's own coroutine, with no C call in between.  Call before starting I/O. */
void   rules_check_can_wait(lua_State *L, const char *what);
/* Parks the run on op: `return rules_wait(L, op, cont)`; cont gets op as ctx. */
int    rules_wait(lua_State *L, struct rules_op *op, lua_KFunction cont);
/* The I/O finished: the run resumes from the loop. */
void   rules_wake(struct rules_op *op);
/* In cont, when op's results are on the stack: detaches and frees op. */
void   rules_op_done(lua_State *L, struct rules_op *op);
int    rules_net_open(lua_State *L);
int    rules_history_open(lua_State *L);
int    rules_exec_open(lua_State *L);

/* Pushes the Lua value of JSON text (nil if it does not parse). */
int    rules_json_decode(lua_State *L, const char *s, size_t len);
/* Sets vars.NAME to the value on top of the stack (popped): a declared
 * var's typed value replaces the config's text. */
void   rules_lib_set_var(lua_State *L, const char *name);
/* Adds the API to the globals; call protected, after sb_setup. */
int rules_lib_open(lua_State *L);
/* The environment the file was loaded with. */
const struct rules_env *rules_env_of(lua_State *L);
/* The log cursor of (current check, path), made on first use; NULL if none. */
struct probe_log_cursor *rules_cursor(lua_State *L, const char *path);

#endif
