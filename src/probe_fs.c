/* probe_fs.c — the file-system probes behind fs.* in rules, and the only
 * zlib user.  Plain C with no Lua in sight, so the rule host stays a thin
 * binding and these can be called from anywhere.  Paths arrive already
 * fenced by paths.c, except for glob matches, which are fenced here one by
 * one. */
#include <errno.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <zlib.h>
#include "paths.h"
#include "probe_fs.h"

int
probe_fs_usage(const char *path, struct probe_usage *u, char *err, size_t errlen)
{
	struct statvfs sv;

	if (statvfs(path, &sv) < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	uint64_t fr = sv.f_frsize ? sv.f_frsize : sv.f_bsize;
	u->total = (uint64_t)sv.f_blocks * fr;
	u->used = (uint64_t)(sv.f_blocks - sv.f_bfree) * fr;
	u->free = (uint64_t)sv.f_bavail * fr;
	/* df's Use%: blocks reserved for root count as neither used nor free */
	u->pct = u->used + u->free > 0 ?
	    100.0 * (double)u->used / (double)(u->used + u->free) : 0.0;
	return 0;
}

static void
file_from_stat(struct probe_file *f, const char *path, const struct stat *st)
{
	snprintf(f->path, sizeof f->path, "%s", path);
	f->size = (uint64_t)st->st_size;
	f->mtime = (double)st->st_mtim.tv_sec + (double)st->st_mtim.tv_nsec / 1e9;
}

int
probe_fs_stat(const char *path, struct probe_file *f, char *err, size_t errlen)
{
	struct stat st;

	if (stat(path, &st) < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	file_from_stat(f, path, &st);
	return 0;
}

static int
glob_err(const char *epath, int eerrno)
{
	(void)epath;
	(void)eerrno;
	return 0;               /* an unreadable directory is no match, not a failure */
}

int
probe_fs_newest(const char *roots, const char *pattern, struct probe_newest *n,
    char *err, size_t errlen)
{
	glob_t g;
	int rc;

	memset(n, 0, sizeof *n);
	if (*pattern != '/') {
		snprintf(err, errlen, "%s: not an absolute path", pattern);
		return -1;
	}
	rc = glob(pattern, GLOB_NOSORT, glob_err, &g);
	if (rc == GLOB_NOMATCH)
		return 0;
	if (rc != 0) {
		snprintf(err, errlen, "%s: glob failed", pattern);
		return -1;
	}
	for (size_t i = 0; i < g.gl_pathc && i < PROBE_GLOB_MAX; i++) {
		char real[PATH_MAX];
		struct stat st;
		struct probe_file f;
		if (realpath(g.gl_pathv[i], real) == NULL || !paths_under(roots, real) ||
		    stat(real, &st) < 0 || !S_ISREG(st.st_mode))
			continue;
		file_from_stat(&f, g.gl_pathv[i], &st);
		n->count++;
		if (n->count == 1 || f.mtime > n->newest.mtime) {
			if (n->count > 1) {
				n->prev = n->newest;
				n->has_prev = 1;
			}
			n->newest = f;
		} else if (!n->has_prev || f.mtime > n->prev.mtime) {
			n->prev = f;
			n->has_prev = 1;
		}
	}
	globfree(&g);
	return 0;
}

int
probe_fs_gzip_ok(const char *path, uint64_t max_bytes, char *err, size_t errlen)
{
	static char buf[65536];
	struct stat st;
	gzFile gz;
	int n, errnum;

	if (stat(path, &st) < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if ((uint64_t)st.st_size > max_bytes) {
		snprintf(err, errlen, "%s: %llu bytes is more than max (%llu); not checked",
		    path, (unsigned long long)st.st_size, (unsigned long long)max_bytes);
		return -1;
	}
	if (st.st_size == 0) {
		snprintf(err, errlen, "empty file");
		return 0;
	}
	gz = gzopen(path, "rb");
	if (gz == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	n = gzread(gz, buf, sizeof buf);
	if (n >= 0 && gzdirect(gz)) {
		gzclose(gz);
		snprintf(err, errlen, "not a gzip file");
		return 0;
	}
	while (n > 0)
		n = gzread(gz, buf, sizeof buf);
	if (n < 0) {
		const char *m = gzerror(gz, &errnum);
		snprintf(err, errlen, "%s", errnum == Z_ERRNO ? strerror(errno) : m);
		gzclose(gz);
		return 0;
	}
	/* gzread reports a stream cut short only at close */
	errnum = gzclose(gz);
	if (errnum == Z_BUF_ERROR) {
		snprintf(err, errlen, "truncated: unexpected end of file");
		return 0;
	}
	if (errnum != Z_OK) {
		snprintf(err, errlen, "gzip error %d", errnum);
		return 0;
	}
	return 1;
}
