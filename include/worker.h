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
 * socket, non-blocking.  box_fd, if not -1, is the worker's black box (see
 * worker_box_new), passed to it as fd 4.  0 / -1 with err. */
int  worker_spawn(const char *file, const struct config *cfg, int box_fd, pid_t *pid,
    int *fd, char *err, size_t errlen);
/* The black box: a word of memory the supervisor shares with a worker, in
 * which the worker keeps the id of the run it is executing (0: none).  When
 * a worker dies stuck in C, killed by the kernel or crashed, it names the run
 * to blame.  NULL (and *fd -1) where memfd is missing. */
volatile uint32_t *worker_box_new(int *fd);
void worker_box_free(volatile uint32_t *box, int fd);
/* The worker's side: `drishti __worker`, fd 3 the socket.  Exit status. */
int  worker_main(void);
/* A declaration as it crosses the socket (JSON). */
char *worker_decl_encode(const struct rule_decl *d);
int  worker_decl_decode(const char *s, size_t len, struct rule_decl *d);

#endif
