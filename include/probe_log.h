/* probe_log.h — log probes: count matching lines, tail. */
#ifndef DRISHTI_PROBE_LOG_H
#define DRISHTI_PROBE_LOG_H
#include <stdint.h>
#include <stddef.h>
#include <sys/types.h>

#define PROBE_LOG_LINE_MAX   65536               /* longer lines are cut */
#define PROBE_LOG_SCAN_MAX   (64ULL << 20)       /* bytes read by one call */
#define PROBE_LOG_LINES_MAX  1000000             /* last = N, at most */
#define PROBE_LOG_TAIL_MAX   10000               /* log.tail lines */
#define PROBE_LOG_TAIL_BYTES (1 << 20)

enum probe_log_mode { LOG_LAST, LOG_SINCE, LOG_NEW };

/* Where a { new = true } count stopped: the file's identity and offset. */
struct probe_log_cursor {
	int      valid;
	dev_t    dev;
	ino_t    ino;
	uint64_t off;
};

struct probe_log_query {
	enum probe_log_mode mode;
	long     last;              /* LOG_LAST */
	double   since;             /* LOG_SINCE: unix seconds */
	int      icase;
	struct probe_log_cursor *cursor;  /* LOG_NEW: read and updated */
};

/* Counts lines matching the POSIX ERE.  path is already fenced. */
int probe_log_count(const char *path, const char *regex,
    const struct probe_log_query *q, long *count, char *err, size_t errlen);

/* Calls fn for each of the last n lines, oldest first. */
typedef int (*probe_log_line_fn)(void *ud, const char *line, size_t len);
int probe_log_tail(const char *path, long n, probe_log_line_fn fn, void *ud,
    char *err, size_t errlen);

/* A leading timestamp (ISO 8601, syslog, or common log format); -1 if none. */
double probe_log_timestamp(const char *line, size_t len, double now);

#endif
