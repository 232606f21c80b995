/* paths.c — the fence of DESIGN.md §6: rules read files only under
 * [sandbox] read_paths.  Both sides are resolved with realpath(3) at the time
 * of the check, so a symlink or ".." inside a read path that points out of it
 * is refused, and a read path that is itself a symlink still works.  The
 * comparison is on whole path components: /var/log does not admit
 * /var/logs. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "paths.h"

bool
paths_under(const char *roots, const char *resolved)
{
	const char *p = roots;

	while (p != NULL && *p != '\0') {
		char root[PATH_MAX], real[PATH_MAX];
		size_t n;
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		n = strcspn(p, ",");
		while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
			n--;
		if (n > 0 && n < sizeof root) {
			memcpy(root, p, n);
			root[n] = '\0';
			if (realpath(root, real) != NULL) {
				size_t rl = strlen(real);
				if (strcmp(real, "/") == 0 ||
				    (strncmp(resolved, real, rl) == 0 &&
				     (resolved[rl] == '\0' || resolved[rl] == '/')))
					return true;
			}
		}
		p += strcspn(p, ",");
	}
	return false;
}

int
paths_check(const char *roots, const char *path, char *resolved, char *err,
    size_t errlen)
{
	if (path == NULL || *path != '/') {
		snprintf(err, errlen, "%s: not an absolute path", path ? path : "(nil)");
		return -1;
	}
	if (realpath(path, resolved) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (!paths_under(roots, resolved)) {
		snprintf(err, errlen, "%s: outside read_paths", path);
		return -1;
	}
	return 0;
}
