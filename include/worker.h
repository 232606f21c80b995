/* worker.h — rule worker processes: the supervisor starts one per rule
 * file; the worker loads it, says what it declares, and runs checks on
 * request. */
#ifndef DRISHTI_WORKER_H
#define DRISHTI_WORKER_H
#include <stddef.h>
#include <sys/types.h>
#include "config.h"
#include "rules.h"

/* Starts a worker for file: a fresh exec of this binary, so it holds none
 * of the supervisor's memory (secrets).  fd is the supervisor's end of the
 * socket, non-blocking.  0 / -1 with err. */
int  worker_spawn(const char *file, const struct config *cfg, pid_t *pid, int *fd,
    char *err, size_t errlen);
/* The worker's side: `drishti __worker`, fd 3 the socket.  Exit status. */
int  worker_main(void);
/* A declaration as it crosses the socket (JSON). */
char *worker_decl_encode(const struct rule_decl *d);
int  worker_decl_decode(const char *s, size_t len, struct rule_decl *d);

#endif
