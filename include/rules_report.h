/* rules_report.h — the report object a report rule's build function fills
 * (rules_report.c).  Only src/rules*.c include this. */
#ifndef DRISHTI_RULES_REPORT_H
#define DRISHTI_RULES_REPORT_H
#include <lua.h>

/* Pushes a new, empty report named name. */
int   rules_report_push(lua_State *L, const char *name);
/* Ends the report at idx and returns its JSON document (malloc'd; NULL if
 * there is none).  failed: why the build did not finish, or NULL. */
char *rules_report_take(lua_State *L, int idx, const char *failed);

#endif
