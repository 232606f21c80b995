/* mem.h — the allocator of the hot path, and giving memory back when idle. */
#ifndef DRISHTI_MEM_H
#define DRISHTI_MEM_H

#include <stddef.h>

/* malloc's family for what one HTTP check allocates and frees by the
 * thousand (curl's handles and buffers): mimalloc where the build links it
 * (the static product), the C library's otherwise.  Memory from one family
 * goes back to the same family. */
void *mem_alloc(size_t n);
void *mem_calloc(size_t k, size_t n);
void *mem_realloc(void *p, size_t n);
char *mem_strdup(const char *s);
void  mem_free(void *p);

/* Returns freed, cached pages to the kernel.  Costs a few system calls
 * and the page faults of the next burst: call it when a burst of work has
 * ended, not per request. */
void mem_trim(void);

#endif
