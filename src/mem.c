/* mem.c — the allocator of the hot path, and its one knob.
 *
 * musl's malloc (mallocng) returns a group of chunks to the kernel the
 * moment its last chunk is freed, so a program that allocates and frees
 * the same few kilobytes a thousand times a second makes a thousand
 * mmap, munmap and madvise calls, each a TLB flush on every core: an HTTP
 * check cost 2-4x the curl floor on it.  mimalloc keeps freed pages and
 * reuses them, but costs about 120 KiB of PSS in each process that wakes
 * it, and as the malloc of every process drishti's idle PSS went from 3.0
 * to 8.2 MB.  So the static build links it as a plain library
 * (cross/build.sh), what is allocated and freed per check comes here by
 * name (curl through curl_global_init_mem, http.c's buffers, rule runs and
 * their I/O records, each rule file's Lua state, the state role's queued
 * run records and SQLite), and a process turns to mimalloc only once it is
 * busy (mem_busy): the parent, delivery and the workers of the shipped
 * rules never do.
 *
 * Blocks from before the turn stay where they are: mimalloc is confined to
 * one address range reserved at the turn (an arena, with OS allocation
 * outside it switched off), so a block is mimalloc's exactly when it lies
 * in that range, and mem_free and mem_realloc send each block back to its
 * own allocator.  A full arena sends new blocks to the C library again.
 *
 * The mi_* names are weak references: the glibc build, which does not link
 * mimalloc, finds them NULL and uses the C library throughout.  mimalloc
 * decommits a freed page only when it is next called after a delay, so a
 * worker whose checks all start on the same minute would hold that burst's
 * peak all the time between: mem_trim, called when a worker has been idle
 * a second, decommits it now (malloc_trim in the glibc build). */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <malloc.h>
#include <sys/mman.h>
#include <unistd.h>
#include "mem.h"

extern void *mi_malloc(size_t n) __attribute__((weak));
extern void *mi_calloc(size_t k, size_t n) __attribute__((weak));
extern void *mi_realloc(void *p, size_t n) __attribute__((weak));
extern char *mi_strdup(const char *s) __attribute__((weak));
extern void  mi_free(void *p) __attribute__((weak));
extern size_t mi_usable_size(const void *p) __attribute__((weak));
extern void  mi_collect(bool force) __attribute__((weak));
extern void  mi_option_set(int option, long value) __attribute__((weak));
extern int   mi_reserve_os_memory_ex(size_t size, bool commit, bool allow_large,
    bool exclusive, int *arena_id) __attribute__((weak));
extern void *mi_arena_area(int arena_id, size_t *size) __attribute__((weak));

/* mimalloc 2.0's option numbers (mimalloc.h's mi_option_t: that header is
 * not on the glibc build's path, so they are here) */
enum { MI_OPTION_DECOMMIT_DELAY = 15, MI_OPTION_LIMIT_OS_ALLOC = 17 };

/* A freed page waits this long (ms) before mimalloc gives it back.  Its
 * default, 25 ms, is shorter than the gap between two checks of a busy
 * worker: at 1000 checks/s that was a madvise and a TLB flush on both
 * cores for about every check.  Under load nothing is given back now;
 * mem_trim gives it all back after a second without work. */
#define MEM_DECOMMIT_DELAY_MS 2000
/* A process turns to mimalloc when this much work (mem_busy) comes in one
 * second: below it musl's page traffic costs little and mimalloc's ~120
 * KiB of PSS per process would cost more (the shipped rules never get
 * there). */
#define MEM_HOT_PER_S 20
/* Address space (not memory) mimalloc may use; past it, blocks come from
 * the C library again.  Its own range is how a block is told apart. */
#if UINTPTR_MAX > 0xffffffffu
#define MEM_ARENA (1024u << 20)
#else
#define MEM_ARENA (256u << 20)
#endif

static bool hot;                /* new blocks come from mimalloc */
static bool tried;              /* going hot was tried (once) */
static uintptr_t arena_lo;      /* mimalloc's blocks are all in here */
static size_t arena_len;
static double win_start;        /* mem_busy's one-second window */
static unsigned win_n;

static bool
own(const void *p)
{
	return (uintptr_t)p - arena_lo < arena_len;
}

bool
mem_is_own(const void *p)
{
	return own(p);
}

/* The arena first, then the options that confine mimalloc to it: from
 * then on no mimalloc block lies outside [arena_lo, arena_lo + len). */
static void
go_hot(void)
{
	int id = -1;
	size_t len = 0;
	void *lo;

	tried = true;
	if (mi_malloc == NULL || mi_reserve_os_memory_ex == NULL || mi_arena_area == NULL ||
	    mi_option_set == NULL)
		return;
	mi_option_set(MI_OPTION_LIMIT_OS_ALLOC, 1);
	mi_option_set(MI_OPTION_DECOMMIT_DELAY, MEM_DECOMMIT_DELAY_MS);
	if (mi_reserve_os_memory_ex(MEM_ARENA, false, false, false, &id) != 0 ||
	    (lo = mi_arena_area(id, &len)) == NULL || len == 0)
		return;
	arena_lo = (uintptr_t)lo;
	arena_len = len;
	hot = true;
}

void
mem_busy(double now)
{
	if (tried)
		return;
	if (now - win_start >= 1.0 || now < win_start) {
		win_start = now;
		win_n = 0;
	}
	if (++win_n >= MEM_HOT_PER_S)
		go_hot();
}

bool
mem_own(void)
{
	return mi_malloc != NULL;
}

void *
mem_alloc(size_t n)
{
	void *p;

	if (hot && (p = mi_malloc(n)) != NULL)
		return p;
	return malloc(n);
}

void *
mem_calloc(size_t k, size_t n)
{
	void *p;

	if (hot && (p = mi_calloc(k, n)) != NULL)
		return p;
	return calloc(k, n);
}

/* A block moves to the other family when its own cannot (or should no
 * longer) hold it: copied, and given back to the family it came from. */
static void *
move(void *p, size_t old, size_t n, bool to_mi)
{
	void *q = to_mi ? mi_malloc(n) : malloc(n);

	if (q == NULL)
		return NULL;
	memcpy(q, p, old < n ? old : n);
	if (to_mi)
		free(p);
	else
		mi_free(p);
	return q;
}

void *
mem_realloc(void *p, size_t n)
{
	void *q;

	if (p == NULL)
		return mem_alloc(n);
	if (own(p)) {
		if ((q = mi_realloc(p, n)) != NULL || n == 0)
			return q;
		return move(p, mi_usable_size(p), n, false);
	}
	if (hot && n > 0 && (q = move(p, malloc_usable_size(p), n, true)) != NULL)
		return q;
	return realloc(p, n);
}

char *
mem_strdup(const char *s)
{
	char *p;

	if (hot && (p = mi_strdup(s)) != NULL)
		return p;
	return strdup(s);
}

/* curl_easy_reset frees each of its ~80 string options, most of them
 * NULL: about 220 calls a check, returned here, not in the C library */
void
mem_free(void *p)
{
	if (p == NULL)
		return;
	if (own(p))
		mi_free(p);
	else
		free(p);
}

void
mem_trim(void)
{
	if (hot)
		mi_collect(true);
#ifdef __GLIBC__
	malloc_trim(0);
#endif
	/* the stack: loop_run trims it before each long sleep */
}

/* A stack keeps every page its deepest call touched: each role's start-up
 * reaches 30-60 KiB deep (config parsing, Landlock and seccomp set-up,
 * SQLite's open), its idle loop a few KiB, and five processes' stacks were
 * 230 KiB of the agent's idle PSS.  Below the stack pointer nothing is
 * live, so those pages are dropped (MADV_DONTNEED: a later deeper call gets
 * zero pages again).  Page by page downwards from two pages below this
 * frame (room for the system call's own frames), until madvise meets the
 * end of the stack mapping (ENOMEM), and never more than MEM_STACK_TRIM
 * below: the mapping's end is not always the stack's.  Under qemu-user the
 * guest's stack is a plain 8 MiB mapping with the heap right below it, and
 * a walk to the first unmapped page zeroed the heap.  Natively nothing is
 * mapped within the stack's rlimit (at least 128 MiB) below its top. */
#define MEM_STACK_TRIM (128u << 10)

__attribute__((noinline)) void
mem_stack_trim(void)
{
	volatile char here = 0;
	uintptr_t pg = (uintptr_t)sysconf(_SC_PAGESIZE);

	if (pg == 0 || pg == (uintptr_t)-1)
		return;
	uintptr_t p = ((uintptr_t)&here & ~(pg - 1)) - 2 * pg;
	for (uintptr_t i = 0; i < MEM_STACK_TRIM / pg && p >= pg; i++, p -= pg)
		if (madvise((void *)p, pg, MADV_DONTNEED) < 0)
			break;
}
