/* unit_mem.c — the hot path's allocator (src/mem.c): a process starts on
 * the C library's malloc, turns to mimalloc after 20 units of work in one
 * second (not 19, not 20 spread over two seconds), and every block goes
 * back to the allocator it came from, across the turn, through realloc, and
 * past a full arena.  The same assertions hold in the glibc build, where
 * mimalloc is not linked and nothing turns. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "mem.h"

static int failed, n;

static void
ok(int cond, const char *what)
{
	n++;
	if (!cond)
		failed = 1;
	printf("%s - mem: %s\n", cond ? "ok" : "not ok", what);
}

static int
pattern_ok(const unsigned char *p, size_t len, unsigned char seed)
{
	for (size_t i = 0; i < len; i++)
		if (p[i] != (unsigned char)(seed + i * 7))
			return 0;
	return 1;
}

static void
pattern(unsigned char *p, size_t len, unsigned char seed)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (unsigned char)(seed + i * 7);
}

int
main(void)
{
	int linked = mem_own();

	printf("# mimalloc linked: %s\n", linked ? "yes" : "no");
	unsigned char *cold = mem_alloc(100);
	char *cold_s = mem_strdup("before the turn");
	pattern(cold, 100, 1);
	ok(cold != NULL && !mem_is_own(cold), "a quiet process allocates from the C library");

	for (int i = 0; i < 19; i++)
		mem_busy(10.0 + i * 0.01);
	for (int i = 0; i < 19; i++)
		mem_busy(11.5 + i * 0.01);
	unsigned char *still = mem_alloc(100);
	ok(still != NULL && !mem_is_own(still), "19 runs a second, twice, do not turn it");

	for (int i = 0; i < 20; i++)
		mem_busy(20.0 + i * 0.01);
	unsigned char *hot = mem_alloc(100);
	pattern(hot, 100, 2);
	ok(hot != NULL && mem_is_own(hot) == linked,
	    "20 in one second turn it to mimalloc (where linked)");
	char *hot_s = mem_strdup("after the turn");
	unsigned char *hot_z = mem_calloc(64, 16);
	int zero = hot_z != NULL;
	for (size_t i = 0; zero && i < 64 * 16; i++)
		zero = hot_z[i] == 0;
	ok(hot_s != NULL && mem_is_own(hot_s) == linked && zero && mem_is_own(hot_z) == linked,
	    "strdup and calloc follow the turn; calloc's block is zeroed");

	unsigned char *moved = mem_realloc(cold, 5000);
	ok(moved != NULL && pattern_ok(moved, 100, 1) && mem_is_own(moved) == linked,
	    "an old block grown after the turn moves over with its bytes");
	unsigned char *grown = mem_realloc(hot, 300000);
	ok(grown != NULL && pattern_ok(grown, 100, 2) && mem_is_own(grown) == linked,
	    "a new block grows in place or within mimalloc, bytes kept");
	ok(strcmp(cold_s, "before the turn") == 0 && strcmp(hot_s, "after the turn") == 0,
	    "strings from both sides intact");
	mem_free(cold_s);
	mem_free(hot_s);
	mem_free(hot_z);
	mem_free(still);
	mem_free(moved);
	mem_free(grown);
	mem_free(NULL);
	ok(1, "every block freed to its own allocator");

	/* past the arena (1 GiB of address space): untouched 32 MiB blocks
	 * until well beyond it; the overflow comes from the C library */
	enum { BIG = 32 << 20 };
	int count = linked && sizeof(void *) == 8 ? 40 : 4, got = 0, own = 0;
	void *big[40];
	for (int i = 0; i < count; i++) {
		big[i] = mem_alloc(BIG);
		got += big[i] != NULL;
		own += big[i] != NULL && mem_is_own(big[i]);
	}
	printf("# %d blocks of 32 MiB: %d from mimalloc\n", count, own);
	ok(got == count, "every large block is served, arena full or not");
	ok(linked ? (own > 0 && own < count) : own == 0,
	    "mimalloc serves what fits its arena, the C library the rest");
	unsigned char *after = mem_realloc(big[0], 100);
	if (after != NULL)
		big[0] = after;
	ok(after != NULL, "a block shrinks whichever allocator holds it");
	for (int i = 0; i < count; i++)
		mem_free(big[i]);
	mem_trim();
	ok(1, "all freed and trimmed");
	printf("# %d assertions\n", n);
	return failed;
}
