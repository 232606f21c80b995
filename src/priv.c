/* priv.c — what a process gives up before it runs rule code: root (to the
 * configured user), the chance to regain privileges through exec
 * (no_new_privs), and with Landlock (Linux 5.13+) all file access but
 * reading the few places a rule may read and libc needs.  A worker so
 * confined cannot write the state file or anything else, whatever a bug in
 * the Lua host let a rule do. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
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
#include "log.h"
#include "msg.h"
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

const char *
priv_user(const char *configured)
{
	if (configured != NULL && *configured != '\0')
		return configured;
	return getpwnam("drishti") != NULL ? "drishti" : "nobody";
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

/* What any process of ours reads beside its own paths: the C library's
 * files (the dev build's shared libraries, zoneinfo), and of /etc only
 * what name resolution, TLS and local time need, not all of it (a secret
 * under /etc/drishti is out of reach twice: by its mode and here). */
static const char *const base_reads[] = { "/usr", "/lib", "/lib64", "/proc",
	"/dev/urandom", "/dev/null", "/etc/hosts", "/etc/resolv.conf", "/etc/nsswitch.conf",
	"/etc/host.conf", "/etc/gai.conf", "/etc/services", "/etc/protocols",
	"/etc/localtime", "/etc/ssl", "/etc/ca-certificates", "/etc/ld.so.cache",
	"/etc/ld.so.preload", "/etc/machine-id", "/etc/passwd", "/etc/group", NULL };

int
priv_landlock(const char *reads, const char *execs, const char *writes, char *err, size_t errlen)
{
#ifdef SYS_landlock_create_ruleset
	uint64_t fs = LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_WRITE_FILE |
	    LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR |
	    LANDLOCK_ACCESS_FS_REMOVE_DIR | LANDLOCK_ACCESS_FS_REMOVE_FILE |
	    LANDLOCK_ACCESS_FS_MAKE_CHAR | LANDLOCK_ACCESS_FS_MAKE_DIR |
	    LANDLOCK_ACCESS_FS_MAKE_REG | LANDLOCK_ACCESS_FS_MAKE_SOCK |
	    LANDLOCK_ACCESS_FS_MAKE_FIFO | LANDLOCK_ACCESS_FS_MAKE_BLOCK |
	    LANDLOCK_ACCESS_FS_MAKE_SYM;
	uint64_t rd = LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR;
	uint64_t wr = rd | LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_REMOVE_FILE |
	    LANDLOCK_ACCESS_FS_MAKE_REG | LANDLOCK_ACCESS_FS_MAKE_DIR;
	int abi = (int)syscall(SYS_landlock_create_ruleset, NULL, 0,
	    LANDLOCK_CREATE_RULESET_VERSION);

	if (abi < 1)
		return 0;
#ifdef LANDLOCK_ACCESS_FS_REFER
	if (abi >= 2) {
		fs |= LANDLOCK_ACCESS_FS_REFER;
		wr |= LANDLOCK_ACCESS_FS_REFER;     /* rename into place */
	}
#endif
#ifdef LANDLOCK_ACCESS_FS_TRUNCATE
	if (abi >= 3) {
		fs |= LANDLOCK_ACCESS_FS_TRUNCATE;
		wr |= LANDLOCK_ACCESS_FS_TRUNCATE;
	}
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
	for (const char *const *p = base_reads; *p != NULL; p++)
		add_path(rs, *p, rd);
	for (const char *const *p = exec_paths; can_exec && *p != NULL; p++)
		add_path(rs, *p, rd | LANDLOCK_ACCESS_FS_EXECUTE);
	if (add_list(rs, reads, rd, err, errlen) < 0 ||
	    (can_exec && add_list(rs, execs, rd | LANDLOCK_ACCESS_FS_EXECUTE, err, errlen) < 0) ||
	    add_list(rs, writes, wr, err, errlen) < 0) {
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
	(void)writes;
	(void)err;
	(void)errlen;
	return 0;
#endif
}

int
priv_landlock_readonly(const char *reads, const char *execs, char *err, size_t errlen)
{
	return priv_landlock(reads, execs, NULL, err, errlen);
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

/* ---- roles ---------------------------------------------------------------------- */

static const char *const role_names[ROLE__N] = {
	[ROLE_PARENT] = "parent", [ROLE_STATE] = "state", [ROLE_DELIVERY] = "delivery",
	[ROLE_WORKER] = "worker",
};

const char *
priv_role_name(enum role r)
{
	return r < ROLE__N ? role_names[r] : "?";
}

/* The system calls each role makes, by name (a name this architecture does
 * not have is skipped).  Anything else kills the process (SIGSYS): a role
 * doing what it never does has been taken over, and the parent restarts
 * it.  The state role forks and execs the rule workers, and the filter is
 * inherited across exec, so its list is the workers' (and what the
 * commands a rule may exec() need): it is the widest.  The delivery role
 * talks to the network and the parent only. */
static const char *const sys_base[] = {
	"read", "write", "readv", "writev", "pread64", "pwrite64", "close", "fstat",
	"fstat64", "newfstatat", "fstatat64", "stat", "stat64", "lstat", "lstat64", "statx",
	"lseek", "_llseek", "mmap", "mmap2", "munmap", "mremap", "mprotect", "madvise", "brk",
	"rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "sigreturn", "sigaltstack",
	"exit", "exit_group", "getpid", "gettid", "getppid", "getuid", "geteuid", "getgid",
	"getegid", "getuid32", "geteuid32", "getgid32", "getegid32", "getresuid",
	"getresgid", "getresuid32", "getresgid32", "getgroups", "getgroups32",
	"clock_gettime", "clock_gettime64", "clock_getres", "clock_getres_time64",
	"clock_nanosleep", "clock_nanosleep_time64", "nanosleep", "gettimeofday", "time",
	"getrandom", "futex", "futex_time64", "set_robust_list", "get_robust_list", "rseq",
	"set_tid_address", "epoll_create", "epoll_create1", "epoll_ctl", "epoll_wait",
	"epoll_pwait", "epoll_pwait2", "poll", "ppoll", "ppoll_time64", "select",
	"_newselect", "pselect6", "pselect6_time64", "fcntl", "fcntl64", "ioctl", "open",
	"openat", "getdents", "getdents64", "readlink", "readlinkat", "access", "faccessat",
	"faccessat2", "getcwd", "uname", "sysinfo", "prlimit64", "getrlimit", "ugetrlimit",
	"sendmsg", "recvmsg", "sendto", "recvfrom", "dup", "dup2", "dup3", "pipe", "pipe2",
	"timerfd_create", "timerfd_settime", "timerfd_settime64", "timerfd_gettime",
	"timerfd_gettime64", "signalfd", "signalfd4", "eventfd", "eventfd2", "sched_yield",
	"sched_getaffinity", "membarrier", "restart_syscall", "umask", "fsync", "fdatasync",
	"ftruncate", "ftruncate64", "prctl", "arch_prctl", "set_thread_area", "get_thread_area",
	"cacheflush", "set_tls", "getcpu", "tgkill", "tkill", "kill", "socket", "connect",
	"getsockopt", "setsockopt", "getsockname", "getpeername", "shutdown", "sendmmsg",
	"recvmmsg", "recvmmsg_time64", "bind", "socketpair", "statfs", "statfs64",
	"fstatfs", "fstatfs64", NULL };
/* what the state role (and through it the workers and their commands) adds */
static const char *const sys_state[] = {
	"unlink", "unlinkat", "rename", "renameat", "renameat2", "mkdir", "mkdirat", "rmdir",
	"fchmod", "fchmodat", "chmod", "flock", "fallocate", "link", "linkat", "symlink",
	"symlinkat", "utimensat", "utimensat_time64", "fchdir", "chdir",
	"clone", "clone3", "fork", "vfork", "execve", "execveat", "wait4", "waitid",
	"setpgid", "getpgid", "getpgrp", "setsid", "getsid", "inotify_init", "inotify_init1",
	"inotify_add_watch", "inotify_rm_watch", "memfd_create", "landlock_create_ruleset",
	"landlock_add_rule", "landlock_restrict_self", "seccomp", "setrlimit",
	"timer_create", "timer_settime", "timer_settime64", "timer_gettime",
	"timer_gettime64", "timer_delete", "timer_getoverrun", "setitimer", "getitimer",
	"alarm", "sched_getparam", "sched_getscheduler", "sched_setaffinity", "capget",
	"getpriority", "setpriority", "close_range", "mincore", "msync", "mlock", "munlock",
	"splice", "tee", "sendfile", "sendfile64", "copy_file_range", "fadvise64",
	"fadvise64_64", "arm_fadvise64_64", "readahead", "pause", "rt_sigsuspend",
	"rt_sigtimedwait", "rt_sigtimedwait_time64", "rt_sigqueueinfo", "rt_tgsigqueueinfo",
	"rt_sigpending", "getxattr", "lgetxattr", "fgetxattr", "listxattr", "flistxattr",
	"name_to_handle_at", "getrusage", "times", "sched_get_priority_max",
	"sched_get_priority_min", "ioprio_get", "personality", "accept", "accept4", "listen",
	"pidfd_open", "pidfd_send_signal", "pidfd_getfd", "waitpid", "epoll_wait_old",
	"process_vm_readv", "statmount", "listmount", "truncate", "truncate64", NULL };

#ifdef DRISHTI_SAN
/* the sanitizers' runtime: LeakSanitizer stops the world with a traced
 * thread at exit */
static const char *const sys_san[] = { "clone", "clone3", "ptrace", "wait4", "waitid",
	"sched_getaffinity", "mincore", "readlink", "unlink", NULL };
#endif

#ifdef DRISHTI_HAVE_SECCOMP
#include <seccomp.h>

static int
allow(scmp_filter_ctx ctx, const char *const *names)
{
	for (const char *const *n = names; *n != NULL; n++) {
		int nr = seccomp_syscall_resolve_name(*n);
		if (nr == __NR_SCMP_ERROR)
			continue;
		if (strcmp(*n, "clone3") == 0) {
			/* its flags are in memory, out of a filter's sight */
			seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), nr, 0);
			continue;
		}
		seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
	}
	return 0;
}
#endif

int
priv_seccomp(enum role r, char *err, size_t errlen)
{
#ifdef DRISHTI_HAVE_SECCOMP
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);

	/* libseccomp asks the kernel which actions it has: before 4.14 there
	 * is no KILL_PROCESS, and killing the thread is what it has; qemu-user
	 * answers for neither (the guest's seccomp calls are not passed on).
	 * No filter then, warned about by the caller as Landlock is. */
	if (ctx == NULL)
		ctx = seccomp_init(SCMP_ACT_KILL);
	if (ctx == NULL)
		return 0;
	/* the kernel's own errno from seccomp_load, not libseccomp's catch-all
	 * ECANCELED: EINVAL or ENOSYS below mean "no filters here" */
	seccomp_attr_set(ctx, SCMP_FLTATR_API_SYSRAWRC, 1);
	allow(ctx, sys_base);
	if (r == ROLE_STATE || r == ROLE_WORKER)
		allow(ctx, sys_state);
	if (r == ROLE_DELIVERY) {
		/* threads only (curl's resolver): no new processes */
		int nr = seccomp_syscall_resolve_name("clone");
		if (nr != __NR_SCMP_ERROR)
			seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1,
			    SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD));
		nr = seccomp_syscall_resolve_name("clone3");
		if (nr != __NR_SCMP_ERROR)
			seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), nr, 0);
	}
#ifdef DRISHTI_SAN
	allow(ctx, sys_san);
#endif
	int rc = seccomp_load(ctx);
	seccomp_release(ctx);
	if (rc == -EINVAL || rc == -ENOSYS) {
		/* a kernel without seccomp filters, or qemu-user, which refuses
		 * them (they would filter its own calls): as with Landlock, the
		 * process runs on without, and says so */
		return 0;
	}
	if (rc < 0) {
		snprintf(err, errlen, "seccomp: %s", strerror(-rc));
		return -1;
	}
	return 1;
#else
	(void)r;
	(void)err;
	(void)errlen;
	return 0;
#endif
}

int
priv_confine(enum role r, const char *reads, const char *execs, const char *writes, char *err,
    size_t errlen)
{
	char e[512];

	if (priv_no_new_privs(err, errlen) < 0)
		return -1;
	if (priv_landlock(reads, execs, writes, e, sizeof e) < 0) {
		snprintf(err, errlen, "%s", e);
		return -1;
	}
	int sc = priv_seccomp(r, err, errlen);
	if (sc < 0)
		return -1;
#ifdef DRISHTI_HAVE_SECCOMP
	if (sc == 0)
		log_warn("%s role: this kernel (or emulator) takes no seccomp filter; running"
		    " without one", priv_role_name(r));
#endif
	return 0;
}

int
priv_test_hook(struct msg *m)
{
	const char *what;

	if (m_get_str(m, &what, 64) < 0 || m_end(m) < 0)
		return -1;
	/* only in a test's agent: DRISHTI_TEST_HOOKS in the parent's
	 * environment; otherwise the message is refused like any bad one */
	if (getenv("DRISHTI_TEST_HOOKS") == NULL)
		return -1;
	if (strcmp(what, "syscall") == 0) {
		/* a call no role makes: the filter must kill us here */
		log_warn("test hook: making a forbidden system call (swapoff)");
		syscall(SYS_swapoff, "/nonexistent");
		log_error("test hook: the forbidden system call returned: %s", strerror(errno));
		return 0;
	}
	return -1;
}
