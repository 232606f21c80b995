/* rules_lib.h — inside the rule host: the API rules call (verdicts, probes,
 * metric, vars, json ...).  Only src/rules*.c include this. */
#ifndef DRISHTI_RULES_LIB_H
#define DRISHTI_RULES_LIB_H
#include <lua.h>
#include "probe_log.h"
#include "rules.h"

/* Its address keys the verdict metatable in the registry (no allocation to look up). */
extern const char rules_verdict_key;

/* Adds the API to the globals; call protected, after sb_setup. */
int rules_lib_open(lua_State *L);
/* The environment the file was loaded with. */
const struct rules_env *rules_env_of(lua_State *L);
/* The log cursor of (current check, path), made on first use; NULL if none. */
struct probe_log_cursor *rules_cursor(lua_State *L, const char *path);

#endif
