/* store.c — the state file's write path alone: CPU per recorded run when
 * N checks each record a routine run every second, committed GROUP at a
 * time (the agent's 0.2 s group commit at N = 100 is 20), for R seconds of
 * simulated time.  HOURS > 0 first gives every check that many hours of
 * roll-ups, as a file with history has (400 days: 9600).  Built against the
 * dev objects by tests/bench/store.sh; prints one line.  A measurement, not
 * a test.
 *   usage: store FILE N R GROUP HOURS */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "alert.h"
#include "result.h"
#include "store.h"
#include "store_int.h"

static double
cpu_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int
main(int argc, char **argv)
{
	struct store *s;
	char err[512], sql[512], name[32];
	if (argc != 6) {
		fprintf(stderr, "usage: store FILE N R GROUP HOURS\n");
		return 64;
	}
	const char *path = argv[1];
	int n = atoi(argv[2]), rounds = atoi(argv[3]), group = atoi(argv[4]), hours = atoi(argv[5]);
	double now = 1.7e9;

	unlink(path);
	if (n < 1 || rounds < 1 || group < 1 || store_open(&s, path, false, NULL, err, sizeof err) < 0) {
		fprintf(stderr, "store: %s\n", n < 1 || rounds < 1 || group < 1 ? "bad arguments" : err);
		return 1;
	}
	if (hours > 0) {
		int64_t h = (int64_t)(now / 3600);
		snprintf(sql, sizeof sql, "WITH RECURSIVE c(i) AS (SELECT 0 UNION ALL SELECT i + 1"
		    " FROM c WHERE i < %d), h(x) AS (SELECT %lld UNION ALL SELECT x + 1 FROM h"
		    " WHERE x < %lld) INSERT INTO rollups SELECT 0, 'bench.b' || i, x, 60, 60, 0, 0,"
		    " 0, 1.0, 0.01, 0.02, randomblob(40) FROM c, h", n - 1, (long long)(h - hours),
		    (long long)(h - 1));
		if (store_exec(s, "BEGIN") < 0 || store_exec(s, sql) < 0 || store_exec(s, "COMMIT") < 0) {
			fprintf(stderr, "store: cannot seed the roll-ups\n");
			return 1;
		}
	}
	struct result r = { .status = ST_OK, .duration = 0.001 };
	struct alert a = { 0 };
	struct alert_out ev = { 0 };
	snprintf(r.summary, sizeof r.summary, "up");
	double t0 = cpu_s();
	for (int k = 0; k < rounds; k++)
		for (int c = 0; c < n; c++) {
			snprintf(name, sizeof name, "bench.b%d", c);
			r.started = now + k;
			store_record(s, name, &r, &a, false, &ev, NULL);
			if ((k * n + c + 1) % group == 0)
				store_commit(s);
		}
	store_commit(s);
	printf("%.2f us per run (N = %d, %d s, %d per commit, %d hours of roll-ups)\n",
	    (cpu_s() - t0) * 1e6 / ((double)n * rounds), n, rounds, group, hours);
	store_close(s);
	unlink(path);
	return 0;
}
