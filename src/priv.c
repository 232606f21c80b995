/* priv.c — what a process gives up before it runs rule code: root (to the
 * configured user), the chance to regain privileges through exec
 * (no_new_privs), and with Landlock (Linux 5.13+) all file access but
 * reading the few places a rule may read and libc needs.  A worker so
 * confined cannot write the state file or anything else, whatever a bug in
 * the Lua host let a rule do. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/landlock.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "priv.h"

int
priv_drop(const char *user, char *err, size_t errlen)
{
	struct passwd *pw;

	if (geteuid() != 0 || user == NULL || *user == '\0')
		return 0;
	pw = getpwnam(user);
	if (pw == NULL) {
		snprintf(err, errlen, "[agent] user: no user \"%s\"", user);
		return -1;
	}
	if (initgroups(pw->pw_name, pw->pw_gid) < 0 || setgid(pw->pw_gid) < 0 ||
	    setuid(pw->pw_uid) < 0) {
		snprintf(err, errlen, "cannot become user \"%s\": %s", user, strerror(errno));
		return -1;
	}
	if (setuid(0) == 0) {
		snprintf(err, errlen, "could regain root after dropping to \"%s\"", user);
		return -1;
	}
	return 0;
}

int
priv_no_new_privs(char *err, size_t errlen)
{
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		snprintf(err, errlen, "no_new_privs: %s", strerror(errno));
		return -1;
	}
	return 0;
}

#ifdef SYS_landlock_create_ruleset
static int
add_path(int ruleset, const char *path, uint64_t access)
{
	struct landlock_path_beneath_attr pb = { .allowed_access = access };
	int fd = open(path, O_PATH | O_CLOEXEC);

	if (fd < 0)
		return 0;               /* a path that is not there needs no rule */
	pb.parent_fd = fd;
	int rc = (int)syscall(SYS_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH, &pb, 0);
	if (rc < 0 && errno == EINVAL) {
		/* a file, not a directory: only file rights apply */
		pb.allowed_access &= LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_EXECUTE;
		rc = (int)syscall(SYS_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH, &pb, 0);
	}
	close(fd);
	return rc;
}

/* Adds each path of a comma list; -1 with err at the first refused. */
static int
add_list(int rs, const char *list, uint64_t access, char *err, size_t errlen)
{
	char *copy = strdup(list ? list : ""), *save = NULL;
	for (char *t = copy ? strtok_r(copy, ",", &save) : NULL; t != NULL;
	    t = strtok_r(NULL, ",", &save)) {
		while (*t == ' ' || *t == '\t')
			t++;
		size_t l = strlen(t);
		while (l > 0 && (t[l - 1] == ' ' || t[l - 1] == '\t'))
			t[--l] = '\0';
		if (l > 0 && add_path(rs, t, access) < 0) {
			snprintf(err, errlen, "landlock: %s: %s", t, strerror(errno));
			free(copy);
			return -1;
		}
	}
	free(copy);
	return 0;
}
#endif

int
priv_landlock_readonly(const char *reads, const char *execs, char *err, size_t errlen)
{
#ifdef SYS_landlock_create_ruleset
	static const char *const libc_paths[] = { "/etc", "/usr", "/lib", "/lib64",
		"/proc", "/dev/urandom", "/dev/null", NULL };
	uint64_t fs = LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_WRITE_FILE |
	    LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR |
	    LANDLOCK_ACCESS_FS_REMOVE_DIR | LANDLOCK_ACCESS_FS_REMOVE_FILE |
	    LANDLOCK_ACCESS_FS_MAKE_CHAR | LANDLOCK_ACCESS_FS_MAKE_DIR |
	    LANDLOCK_ACCESS_FS_MAKE_REG | LANDLOCK_ACCESS_FS_MAKE_SOCK |
	    LANDLOCK_ACCESS_FS_MAKE_FIFO | LANDLOCK_ACCESS_FS_MAKE_BLOCK |
	    LANDLOCK_ACCESS_FS_MAKE_SYM;
	uint64_t rd = LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR;
	int abi = (int)syscall(SYS_landlock_create_ruleset, NULL, 0,
	    LANDLOCK_CREATE_RULESET_VERSION);

	if (abi < 1)
		return 0;
#ifdef LANDLOCK_ACCESS_FS_REFER
	if (abi >= 2)
		fs |= LANDLOCK_ACCESS_FS_REFER;
#endif
#ifdef LANDLOCK_ACCESS_FS_TRUNCATE
	if (abi >= 3)
		fs |= LANDLOCK_ACCESS_FS_TRUNCATE;
#endif
	struct landlock_ruleset_attr attr = { .handled_access_fs = fs };
	int rs = (int)syscall(SYS_landlock_create_ruleset, &attr, sizeof attr, 0);
	if (rs < 0) {
		snprintf(err, errlen, "landlock: %s", strerror(errno));
		return -1;
	}
	int can_exec = execs != NULL && *execs != '\0';
	/* exec(): a plugin needs its loader, its libraries and often /bin/sh */
	static const char *const exec_paths[] = { "/usr", "/lib", "/lib64", "/bin", "/sbin", NULL };
	for (const char *const *p = libc_paths; *p != NULL; p++)
		add_path(rs, *p, rd);
	for (const char *const *p = exec_paths; can_exec && *p != NULL; p++)
		add_path(rs, *p, rd | LANDLOCK_ACCESS_FS_EXECUTE);
	if (add_list(rs, reads, rd, err, errlen) < 0 ||
	    (can_exec && add_list(rs, execs, rd | LANDLOCK_ACCESS_FS_EXECUTE, err, errlen) < 0)) {
		close(rs);
		return -1;
	}
	if (syscall(SYS_landlock_restrict_self, rs, 0) < 0) {
		snprintf(err, errlen, "landlock: %s", strerror(errno));
		close(rs);
		return -1;
	}
	close(rs);
	return 1;
#else
	(void)reads;
	(void)execs;
	(void)err;
	(void)errlen;
	return 0;
#endif
}

long
priv_fd_limit(void)
{
	struct rlimit rl;

	return getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
	    rl.rlim_cur < 65536 ? (long)rl.rlim_cur : 65536;
}

void
priv_close_above(int fd, long limit)
{
#ifdef SYS_close_range
	if (syscall(SYS_close_range, (unsigned)fd + 1, ~0U, 0) == 0)
		return;
#endif
	for (long i = fd + 1; i < limit; i++)
		close((int)i);
}
