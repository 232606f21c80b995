/* file.c — the one way a file the user names is read.  `lint -c /dev/zero`
 * once grew without bound and a FIFO with no writer hung the agent: here
 * the open is non-blocking, the file must be regular, its size is checked
 * before and while it is read (it may grow under us), and a read error is an
 * error, never an early end of file. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "file.h"

static const char *
kind_of(mode_t m)
{
	if (S_ISDIR(m))
		return "a directory";
	if (S_ISFIFO(m))
		return "a FIFO";
	if (S_ISCHR(m) || S_ISBLK(m))
		return "a device";
	if (S_ISSOCK(m))
		return "a socket";
	return "not a regular file";
}

int
file_read(const char *path, size_t max, char **out, size_t *len, char *err, size_t errlen)
{
	struct stat st;
	char *buf = NULL;
	size_t n = 0;

	*out = NULL;
	*len = 0;
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0) {
		snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: cannot read: %s", path, kind_of(st.st_mode));
		goto fail;
	}
	if ((unsigned long long)st.st_size > max) {
		snprintf(err, errlen, "%s: cannot read: larger than %zu bytes", path, max);
		goto fail;
	}
	size_t cap = (size_t)st.st_size + 1;
	if ((buf = malloc(cap + 1)) == NULL) {
		snprintf(err, errlen, "%s: out of memory", path);
		goto fail;
	}
	for (;;) {
		if (n == cap) {
			/* it grew since fstat: allowed up to max */
			size_t ncap = cap * 2 > max + 1 ? max + 1 : cap * 2;
			if (ncap <= cap) {
				snprintf(err, errlen, "%s: cannot read: larger than %zu bytes", path, max);
				goto fail;
			}
			char *nb = realloc(buf, ncap + 1);
			if (nb == NULL) {
				snprintf(err, errlen, "%s: out of memory", path);
				goto fail;
			}
			buf = nb;
			cap = ncap;
		}
		ssize_t r = read(fd, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			snprintf(err, errlen, "%s: read error: %s", path, strerror(errno));
			goto fail;
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (n > max) {
			snprintf(err, errlen, "%s: cannot read: larger than %zu bytes", path, max);
			goto fail;
		}
	}
	close(fd);
	buf[n] = '\0';
	*out = buf;
	*len = n;
	return 0;
fail:
	free(buf);
	close(fd);
	return -1;
}

int
file_mkdirs(const char *dir, unsigned mode)
{
	char d[PATH_MAX];

	if (snprintf(d, sizeof d, "%s", dir) >= (int)sizeof d) {
		errno = ENAMETOOLONG;
		return -1;
	}
	for (char *p = d + 1; *p; p++)
		if (*p == '/') {
			*p = '\0';
			if (mkdir(d, (mode_t)mode) < 0 && errno != EEXIST)
				return -1;
			*p = '/';
		}
	return mkdir(d, (mode_t)mode) < 0 && errno != EEXIST ? -1 : 0;
}
