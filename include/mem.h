/* mem.h — the allocator of the hot path, and giving memory back when idle. */
#ifndef DRISHTI_MEM_H
#define DRISHTI_MEM_H

#include <stdbool.h>
#include <stddef.h>

/* One unit of hot-path work (a run begun, a result stored) at monotonic
 * time now: a process that sees enough of it in a second moves its new
 * blocks to mimalloc for good (mem.c says why not before). */
void  mem_busy(double now);
/* True when the family is an allocator of its own (not the C library's
 * malloc): a library with its own allocator hook is then worth pointing at
 * it (SQLite in store.c). */
bool  mem_own(void);
bool  mem_is_own(const void *p);  /* a block of that allocator (tests) */

/* malloc's family for what one check allocates and frees by the thousand
 * (curl's handles and buffers, the run records, Lua, SQLite's scratch):
 * mimalloc once the process is busy and the build links it (the static
 * product), the C library's otherwise.  Any block of the family may be
 * given to any of these, whichever allocator it came from; not to free(). */
void *mem_alloc(size_t n);
void *mem_calloc(size_t k, size_t n);
void *mem_realloc(void *p, size_t n);
char *mem_strdup(const char *s);
void  mem_free(void *p);

/* Returns freed, cached pages to the kernel.  Costs a few system calls
 * and the page faults of the next burst: call it when a burst of work has
 * ended, not per request. */
void mem_trim(void);
/* Gives back the stack pages below the caller's frame: what start-up (the
 * config, the sandbox, SQLite's open) or a deep run touched once and the
 * loop never will again.  Calls a few system calls; for a loop's start and
 * an idle moment. */
void mem_stack_trim(void);

#endif
