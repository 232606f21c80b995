/* mem.c — the allocator of the hot path, and its one knob.
 *
 * musl's malloc (mallocng) returns a group of chunks to the kernel the
 * moment its last chunk is freed, so a program that allocates and frees
 * the same few kilobytes a thousand times a second makes a thousand
 * mmap, munmap and madvise calls: an HTTP check cost 4x the curl floor on
 * it, most of it in curl's per-request handles and buffers.  mimalloc
 * keeps freed pages and reuses them, but it costs about 200 KiB of PSS in
 * each process that wakes it, and in place of malloc everywhere drishti's
 * idle PSS went from 3.0 to 8.2 MB.  So the static build links it as a
 * plain library (cross/build.sh) and only curl goes through here
 * (curl_global_init_mem in http.c, at a worker's first request) with the
 * transfer records: a worker that makes no request, Lua, SQLite, mbedTLS
 * and the rest of drishti stay on the C library's malloc.
 *
 * The mi_* names are weak references: the glibc build, which does not link
 * mimalloc, finds them NULL and uses the C library.  mimalloc decommits a
 * freed page only when it is next called after a delay, so a worker whose
 * checks all start on the same minute would hold that burst's peak all
 * the time between: mem_trim, called when a worker has been idle a second,
 * decommits it now (malloc_trim in the glibc build). */
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
