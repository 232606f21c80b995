/* priv.h — giving up privileges: the user, no_new_privs, Landlock. */
#ifndef DRISHTI_PRIV_H
#define DRISHTI_PRIV_H
#include <stddef.h>

/* As root with a user named: becomes that user (and its groups).  Not root:
 * nothing to do.  0 / -1 with err. */
int priv_drop(const char *user, char *err, size_t errlen);
/* PR_SET_NO_NEW_PRIVS: no exec can gain privileges again. */
int priv_no_new_privs(char *err, size_t errlen);
/* Confines the process's file access to reading the comma list `reads`
 * (plus what libc and TLS need); nothing may be written.  Nothing may be
 * executed either, unless `execs` (a comma list of directories, NULL or ""
 * for none) names where allow-listed commands live: then those and the
 * system's program and library directories may be executed too.
 * 1 if confined, 0 if the kernel has no Landlock, -1 on error. */
int priv_landlock_readonly(const char *reads, const char *execs, char *err, size_t errlen);

/* For a child between fork and exec (system calls only): the fd limit is
 * read before the fork, then every fd above `fd` is closed (close_range
 * where the kernel has it; closefrom(3) is glibc's, the static builds use
 * musl). */
long priv_fd_limit(void);
void priv_close_above(int fd, long limit);

#endif
