/* mem.c — the allocator of the hot path, and its one knob.
 *
 * musl's malloc (mallocng) returns a group of chunks to the kernel the
 * moment its last chunk is freed, so a program that allocates and frees
 * the same few kilobytes a thousand times a second makes a thousand
 * mmap, munmap and madvise calls: an HTTP check cost 4x the curl floor on
 * it.  mimalloc keeps freed pages and reuses them, but everywhere it held
 * 5 MB more at idle than musl across drishti's processes.  So the static
 * build links mimalloc as a plain library (cross/build.sh) and only what a
 * check churns goes through here: curl (curl_global_init_mem in http.c),
 * Lua (the sandbox's allocator) and the run and transfer records.  The
 * rest of drishti, SQLite and mbedTLS stay on the C library's malloc.
 *
 * The mi_* names are weak references: the glibc build, which does not link
 * mimalloc, finds them NULL and uses the C library.  mimalloc decommits a
 * freed page only when it is next called after a delay, so a worker whose
 * checks all start on the same second would hold that second's peak all
 * the time between: mem_trim, called when a burst has ended, decommits it
 * now (malloc_trim in the glibc build). */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include "mem.h"

extern void *mi_malloc(size_t n) __attribute__((weak));
extern void *mi_calloc(size_t k, size_t n) __attribute__((weak));
extern void *mi_realloc(void *p, size_t n) __attribute__((weak));
extern char *mi_strdup(const char *s) __attribute__((weak));
extern void  mi_free(void *p) __attribute__((weak));
extern void  mi_collect(bool force) __attribute__((weak));

void *
mem_alloc(size_t n)
{
	return mi_malloc != NULL ? mi_malloc(n) : malloc(n);
}

void *
mem_calloc(size_t k, size_t n)
{
	return mi_calloc != NULL ? mi_calloc(k, n) : calloc(k, n);
}

void *
mem_realloc(void *p, size_t n)
{
	return mi_realloc != NULL ? mi_realloc(p, n) : realloc(p, n);
}

char *
mem_strdup(const char *s)
{
	return mi_strdup != NULL ? mi_strdup(s) : strdup(s);
}

void
mem_free(void *p)
{
	if (mi_free != NULL)
		mi_free(p);
	else
		free(p);
}

void
mem_trim(void)
{
	if (mi_collect != NULL) {
		mi_collect(true);
		return;
	}
#ifdef __GLIBC__
	malloc_trim(0);
#endif
}
