/* probe_log.c — the log probes behind log.* in rules, and the only user of
 * libc's regex.  A log may be 10 GB: nothing here reads a file whole.
 * "last N lines" and "since" read backwards from the end in blocks; "new
 * lines since the previous run" reads forwards from a saved (inode, offset)
 * cursor and follows a rotation to the rotated file (PATH.1) when the inode
 * changed.  Every call reads at most PROBE_LOG_SCAN_MAX bytes. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "clock.h"
#include "probe_log.h"

#define BLOCK 65536

/* ---- reading lines backwards ------------------------------------------ */

struct rline {
	int      fd;
	off_t    pos;           /* file bytes before pos are not read yet */
	size_t   lo, hi;        /* buf[lo..hi) holds file[pos .. pos+hi-lo) */
	uint64_t budget;        /* bytes still allowed to read */
	int      skip;          /* discarding the head of an over-long line */
	int      done;
	char     buf[BLOCK + PROBE_LOG_LINE_MAX];
};

static int
rline_open(struct rline *r, const char *path, char *err, size_t errlen)
{
	struct stat st;

	memset(r, 0, offsetof(struct rline, buf));
	r->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (r->fd < 0 || fstat(r->fd, &st) < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		if (r->fd >= 0)
			close(r->fd);
		return -1;
	}
	r->pos = st.st_size;
	r->lo = r->hi = sizeof r->buf;
	r->budget = PROBE_LOG_SCAN_MAX;
	return 0;
}

static int
rline_fill(struct rline *r)
{
	size_t n = r->hi - r->lo, want = BLOCK;
	ssize_t got;
	int first = r->hi == sizeof r->buf && r->pos > 0 && n == 0 &&
	    r->budget == PROBE_LOG_SCAN_MAX;

	memmove(r->buf + sizeof r->buf - n, r->buf + r->lo, n);
	r->lo = sizeof r->buf - n;
	r->hi = sizeof r->buf;
	if ((off_t)want > r->pos)
		want = (size_t)r->pos;
	if (want > r->budget)
		want = (size_t)r->budget;
	if (want == 0)
		return 0;
	got = pread(r->fd, r->buf + r->lo - want, want, r->pos - (off_t)want);
	if (got != (ssize_t)want)
		return -1;
	r->lo -= want;
	r->pos -= (off_t)want;
	r->budget -= want;
	/* the newline that ends the file ends the last line; it starts none */
	if (first && r->buf[r->hi - 1] == '\n')
		r->hi--;
	return 1;
}

/* 1 and a line (valid until the next call), 0 at the start, -1 on error. */
static int
rline_prev(struct rline *r, const char **line, size_t *len)
{
	for (;;) {
		if (r->done)
			return 0;
		char *nl = r->hi > r->lo ?
		    memrchr(r->buf + r->lo, '\n', r->hi - r->lo) : NULL;
		if (nl != NULL) {
			*line = nl + 1;
			*len = (size_t)(r->buf + r->hi - (nl + 1));
			r->hi = (size_t)(nl - r->buf);
			if (r->skip) {
				r->skip = 0;
				continue;
			}
			return 1;
		}
		if (r->pos == 0 || r->budget == 0) {
			r->done = 1;
			if (r->skip || (r->hi == r->lo && r->pos != 0))
				return 0;
			*line = r->buf + r->lo;
			*len = r->hi - r->lo;
			/* a line cut by the scan budget is not a whole line */
			return r->pos == 0 ? 1 : 0;
		}
		if (r->hi - r->lo >= PROBE_LOG_LINE_MAX) {
			/* an over-long line: keep its tail, drop the rest */
			int was_skip = r->skip;
			*line = r->buf + r->hi - PROBE_LOG_LINE_MAX;
			*len = PROBE_LOG_LINE_MAX;
			r->lo = r->hi;
			r->skip = 1;
			if (!was_skip)
				return 1;
			continue;
		}
		if (rline_fill(r) < 0)
			return -1;
	}
}

/* ---- timestamps --------------------------------------------------------- */

static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";

static int
month_of(const char *s)
{
	for (int i = 0; i < 12; i++)
		if (strncmp(s, months + 3 * i, 3) == 0)
			return i;
	return -1;
}

static int
digits(const char *s, int n, int *out)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

double
probe_log_timestamp(const char *line, size_t len, double now)
{
	struct tm tm;
	int y, mo, d, h, mi, s;
	const char *p = line;

	memset(&tm, 0, sizeof tm);
	if (len > 0 && *p == '[')
		p++, len--;
	/* ISO 8601: 2026-11-26T09:00:00[.123][Z|+01:00] or with a space */
	if (len >= 19 && digits(p, 4, &y) == 0 && p[4] == '-' &&
	    digits(p + 5, 2, &mo) == 0 && p[7] == '-' && digits(p + 8, 2, &d) == 0 &&
	    (p[10] == 'T' || p[10] == ' ') && digits(p + 11, 2, &h) == 0 &&
	    p[13] == ':' && digits(p + 14, 2, &mi) == 0 && p[16] == ':' &&
	    digits(p + 17, 2, &s) == 0) {
		const char *z = p + 19;
		size_t rest = len - 19;
		while (rest > 0 && (*z == '.' || *z == ',' || isdigit((unsigned char)*z)))
			z++, rest--;
		tm.tm_year = y - 1900; tm.tm_mon = mo - 1; tm.tm_mday = d;
		tm.tm_hour = h; tm.tm_min = mi; tm.tm_sec = s;
		if (rest > 0 && *z == 'Z')
			return (double)timegm(&tm);
		int oh, om;
		if (rest >= 6 && (*z == '+' || *z == '-') && digits(z + 1, 2, &oh) == 0 &&
		    z[3] == ':' && digits(z + 4, 2, &om) == 0) {
			double off = (oh * 3600 + om * 60) * (*z == '-' ? -1 : 1);
			return (double)timegm(&tm) - off;
		}
		tm.tm_isdst = -1;
		return (double)mktime(&tm);
	}
	/* syslog: "Nov 26 09:00:00" (no year: this year, or last if ahead) */
	if (len >= 15 && (mo = month_of(p)) >= 0 && p[3] == ' ' &&
	    (p[4] == ' ' || isdigit((unsigned char)p[4])) &&
	    isdigit((unsigned char)p[5]) && p[6] == ' ' &&
	    digits(p + 7, 2, &h) == 0 && p[9] == ':' && digits(p + 10, 2, &mi) == 0 &&
	    p[12] == ':' && digits(p + 13, 2, &s) == 0) {
		time_t t = (time_t)now;
		struct tm cur;
		localtime_r(&t, &cur);
		d = (p[4] == ' ' ? 0 : (p[4] - '0') * 10) + (p[5] - '0');
		tm.tm_year = cur.tm_year; tm.tm_mon = mo; tm.tm_mday = d;
		tm.tm_hour = h; tm.tm_min = mi; tm.tm_sec = s; tm.tm_isdst = -1;
		time_t r = mktime(&tm);
		if ((double)r > now + 86400) {
			tm.tm_year--;
			tm.tm_isdst = -1;
			r = mktime(&tm);
		}
		return (double)r;
	}
	/* common log format: ... [26/Nov/2026:09:00:00 +0000] ... */
	size_t scan = len < 256 ? len : 256;
	const char *b = memchr(line, '[', scan);
	if (b != NULL && (size_t)(b - line) + 27 <= len &&
	    digits(b + 1, 2, &d) == 0 && b[3] == '/' && (mo = month_of(b + 4)) >= 0 &&
	    b[7] == '/' && digits(b + 8, 4, &y) == 0 && b[12] == ':' &&
	    digits(b + 13, 2, &h) == 0 && b[15] == ':' && digits(b + 16, 2, &mi) == 0 &&
	    b[18] == ':' && digits(b + 19, 2, &s) == 0 && b[21] == ' ' &&
	    (b[22] == '+' || b[22] == '-')) {
		int oh, om;
		if (digits(b + 23, 2, &oh) == 0 && digits(b + 25, 2, &om) == 0) {
			tm.tm_year = y - 1900; tm.tm_mon = mo; tm.tm_mday = d;
			tm.tm_hour = h; tm.tm_min = mi; tm.tm_sec = s;
			double off = (oh * 3600 + om * 60) * (b[22] == '-' ? -1 : 1);
			return (double)timegm(&tm) - off;
		}
	}
	return -1;
}

/* ---- counting ------------------------------------------------------------ */

static int
pattern_compile(regex_t *re, const char *regex, int icase, char *err, size_t errlen)
{
	int rc = regcomp(re, regex, REG_EXTENDED | REG_NOSUB | (icase ? REG_ICASE : 0));
	if (rc != 0) {
		char m[128];
		regerror(rc, re, m, sizeof m);
		snprintf(err, errlen, "bad regex \"%.64s\": %s", regex, m);
		return -1;
	}
	return 0;
}

static int
line_matches(const regex_t *re, const char *line, size_t len)
{
	/* A NUL-terminated copy: REG_STARTEND alone would do for glibc, but
	 * not every regexec (nor ASan's interceptor) honours it. */
	static char buf[PROBE_LOG_LINE_MAX + 1];
	regmatch_t m[1];

	if (len > PROBE_LOG_LINE_MAX)
		len = PROBE_LOG_LINE_MAX;
	memcpy(buf, line, len);
	buf[len] = '\0';
	m[0].rm_so = 0;
	m[0].rm_eo = (regoff_t)len;
#ifdef REG_STARTEND
	return regexec(re, buf, 1, m, REG_STARTEND) == 0;
#else
	/* musl: the copy ends at the line's first NUL byte, if it has one */
	return regexec(re, buf, 0, m, 0) == 0;
#endif
}


/* Counts complete lines of fd from off up to the end; *end is where the
 * last complete line ended. */
static int
count_forward(int fd, uint64_t off, uint64_t *budget, const regex_t *re,
    long *count, uint64_t *end)
{
	static char buf[BLOCK + PROBE_LOG_LINE_MAX];
	size_t have = 0;
	int cut = 0;            /* dropping the rest of an over-long line */
	ssize_t got;

	*end = off;
	for (;;) {
		size_t want = sizeof buf - have;
		if (want > *budget)
			want = (size_t)*budget;
		if (want == 0)
			break;
		got = pread(fd, buf + have, want, (off_t)(off + have));
		if (got < 0)
			return -1;
		if (got == 0)
			break;
		*budget -= (uint64_t)got;
		size_t total = have + (size_t)got, start = 0;
		char *nl;
		while ((nl = memchr(buf + start, '\n', total - start)) != NULL) {
			size_t l = (size_t)(nl - (buf + start));
			if (!cut && line_matches(re, buf + start, l > PROBE_LOG_LINE_MAX ?
			    PROBE_LOG_LINE_MAX : l))
				(*count)++;
			cut = 0;
			start += l + 1;
		}
		off += start;
		*end = off;
		have = total - start;
		memmove(buf, buf + start, have);
		if (have >= PROBE_LOG_LINE_MAX) {
			/* an over-long line: match its head now, skip the rest */
			if (!cut && line_matches(re, buf, PROBE_LOG_LINE_MAX))
				(*count)++;
			cut = 1;
			off += have;
			have = 0;
		}
	}
	return 0;
}

static int
count_new(const char *path, const regex_t *re, struct probe_log_cursor *c,
    long *count, char *err, size_t errlen)
{
	struct stat st, old;
	uint64_t budget = PROBE_LOG_SCAN_MAX, end, start = 0;
	char rotated[PATH_MAX];
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (!c->valid) {
		/* first run: nothing is new yet, as with tail -n0 -F */
		start = (uint64_t)st.st_size;
	} else if (c->dev == st.st_dev && c->ino == st.st_ino) {
		/* same file; shorter than before means it was truncated in place */
		start = c->off <= (uint64_t)st.st_size ? c->off : 0;
	} else {
		/* rotated: finish the old file if it is still at PATH.1 */
		snprintf(rotated, sizeof rotated, "%s.1", path);
		int ofd = open(rotated, O_RDONLY | O_CLOEXEC);
		if (ofd >= 0) {
			if (fstat(ofd, &old) == 0 && old.st_ino == c->ino &&
			    old.st_dev == c->dev && c->off <= (uint64_t)old.st_size)
				count_forward(ofd, c->off, &budget, re, count, &end);
			close(ofd);
		}
		start = 0;
	}
	/* more new data than one call reads: keep to the newest part */
	if ((uint64_t)st.st_size > start + budget)
		start = (uint64_t)st.st_size - budget;
	if (count_forward(fd, start, &budget, re, count, &end) < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	if (!c->valid)
		end = (uint64_t)st.st_size;
	close(fd);
	c->valid = 1;
	c->dev = st.st_dev;
	c->ino = st.st_ino;
	c->off = end;
	return 0;
}

int
probe_log_count(const char *path, const char *regex,
    const struct probe_log_query *q, long *count, char *err, size_t errlen)
{
	regex_t re;
	int rc = 0;

	*count = 0;
	if (pattern_compile(&re, regex, q->icase, err, errlen) < 0)
		return -1;
	if (q->mode == LOG_NEW) {
		rc = count_new(path, &re, q->cursor, count, err, errlen);
		regfree(&re);
		return rc;
	}
	struct rline *r = malloc(sizeof *r);
	if (r == NULL || rline_open(r, path, err, errlen) < 0) {
		if (r == NULL)
			snprintf(err, errlen, "out of memory");
		free(r);
		regfree(&re);
		return -1;
	}
	double now = clock_real();
	const char *line;
	size_t len;
	long seen = 0;
	while (q->mode != LOG_LAST || seen < q->last) {
		int got = rline_prev(r, &line, &len);
		if (got < 0) {
			snprintf(err, errlen, "%s: read error", path);
			rc = -1;
			break;
		}
		if (got == 0)
			break;
		seen++;
		if (q->mode == LOG_SINCE) {
			double ts = probe_log_timestamp(line, len, now);
			if (ts >= 0 && ts < q->since)
				break;
		}
		if (line_matches(&re, line, len))
			(*count)++;
	}
	close(r->fd);
	free(r);
	regfree(&re);
	return rc;
}

int
probe_log_tail(const char *path, long n, probe_log_line_fn fn, void *ud,
    char *err, size_t errlen)
{
	struct rline *r = malloc(sizeof *r);
	const char *line;
	size_t len, bytes = 0;
	long got = 0;
	char **lines = NULL;
	size_t *lens = NULL;
	int rc = 0;

	if (n > PROBE_LOG_TAIL_MAX)
		n = PROBE_LOG_TAIL_MAX;
	if (r == NULL || rline_open(r, path, err, errlen) < 0) {
		if (r == NULL)
			snprintf(err, errlen, "out of memory");
		free(r);
		return -1;
	}
	lines = calloc((size_t)(n > 0 ? n : 1), sizeof *lines);
	lens = calloc((size_t)(n > 0 ? n : 1), sizeof *lens);
	if (lines == NULL || lens == NULL) {
		snprintf(err, errlen, "out of memory");
		rc = -1;
		goto out;
	}
	while (got < n && bytes < PROBE_LOG_TAIL_BYTES) {
		int k = rline_prev(r, &line, &len);
		if (k < 0) {
			snprintf(err, errlen, "%s: read error", path);
			rc = -1;
			goto out;
		}
		if (k == 0)
			break;
		if (len > PROBE_LOG_TAIL_BYTES - bytes)
			len = PROBE_LOG_TAIL_BYTES - bytes;
		lines[got] = malloc(len + 1);
		if (lines[got] == NULL) {
			snprintf(err, errlen, "out of memory");
			rc = -1;
			goto out;
		}
		memcpy(lines[got], line, len);
		lines[got][len] = '\0';
		lens[got++] = len;
		bytes += len;
	}
	for (long i = got - 1; i >= 0 && rc == 0; i--)
		if (fn(ud, lines[i], lens[i]) < 0)
			rc = -1;
out:
	for (long i = 0; lines != NULL && i < got; i++)
		free(lines[i]);
	free(lines);
	free(lens);
	close(r->fd);
	free(r);
	return rc;
}
