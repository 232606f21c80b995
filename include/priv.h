/* priv.h — giving up privileges: the user, no_new_privs, Landlock, seccomp;
 * and the roles of `drishti run` (DESIGN §9) each process confines itself
 * as. */
#ifndef DRISHTI_PRIV_H
#define DRISHTI_PRIV_H
#include <stddef.h>

struct msg;

enum role { ROLE_PARENT, ROLE_STATE, ROLE_DELIVERY, ROLE_WORKER, ROLE__N };

/* The descriptors a role is exec'd with: its socket to the parent, and the
 * state role's hold on the state file's lock. */
#define ROLE_FD_PARENT 3
#define ROLE_FD_LOCK 4

const char *priv_role_name(enum role r);

/* As root with a user named: becomes that user (and its groups).  Not root:
 * nothing to do.  0 / -1 with err. */
int priv_drop(const char *user, char *err, size_t errlen);
/* [agent] user as configured, or the default: drishti, else nobody. */
const char *priv_user(const char *configured);
/* PR_SET_NO_NEW_PRIVS: no exec can gain privileges again. */
int priv_no_new_privs(char *err, size_t errlen);
/* Confines the process's file access to reading the comma list `reads`
 * (plus what libc, name resolution and TLS need, of /etc only those files)
 * and reading and writing under the comma list `writes`.  Nothing may be
 * executed, unless `execs` (a comma list of files or directories, NULL or
 * "" for none) names what: then those and the system's program and library
 * directories may be executed too.
 * 1 if confined, 0 if the kernel has no Landlock, -1 on error. */
int priv_landlock(const char *reads, const char *execs, const char *writes, char *err,
    size_t errlen);
/* The same, writing nothing (a rule worker). */
int priv_landlock_readonly(const char *reads, const char *execs, char *err, size_t errlen);
/* Installs the role's system call filter (priv.c lists it); anything else
 * kills the process.  1 installed, 0 not built with libseccomp, -1. */
int priv_seccomp(enum role r, char *err, size_t errlen);
/* no_new_privs, Landlock, then seccomp: what a role does once it has
 * opened what it needs.  0 / -1 with err. */
int priv_confine(enum role r, const char *reads, const char *execs, const char *writes,
    char *err, size_t errlen);
/* MSG_HOOK: a test's request (DRISHTI_TEST_HOOKS set), "syscall" makes a
 * system call no role makes.  -1 refuses the message. */
int priv_test_hook(struct msg *m);

/* For a child between fork and exec (system calls only): the fd limit is
 * read before the fork, then every fd above `fd` is closed (close_range
 * where the kernel has it; closefrom(3) is glibc's, the static builds use
 * musl). */
long priv_fd_limit(void);
void priv_close_above(int fd, long limit);

#endif
