/* probe_fs.h — file-system probes: usage, stat, newest file, gzip integrity. */
#ifndef DRISHTI_PROBE_FS_H
#define DRISHTI_PROBE_FS_H
#include <limits.h>
#include <stdint.h>
#include <stddef.h>

struct probe_usage {
	uint64_t total, used, free;     /* bytes; free = available to users */
	double   pct;                   /* used / (used + free), as df shows */
};

struct probe_file {
	char     path[PATH_MAX];
	uint64_t size;
	double   mtime;                 /* unix seconds */
};

struct probe_newest {
	long              count;        /* files matched */
	struct probe_file newest;
	int               has_prev;
	struct probe_file prev;         /* the one before: size trends, shrinking dumps */
};

#define PROBE_GLOB_MAX 100000           /* matches looked at, at most */

int probe_fs_usage(const char *path, struct probe_usage *u, char *err, size_t errlen);
/* path must already be checked against read_paths. */
int probe_fs_stat(const char *path, struct probe_file *f, char *err, size_t errlen);
/* Files matching pattern that lie under roots; 0 with count 0 when none. */
int probe_fs_newest(const char *roots, const char *pattern, struct probe_newest *n,
    char *err, size_t errlen);
/* 1 whole and valid, 0 not (why in err), -1 could not check (err). */
int probe_fs_gzip_ok(const char *path, uint64_t max_bytes, char *err, size_t errlen);

#endif
