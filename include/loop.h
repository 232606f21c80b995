/* loop.h — one single-threaded event loop per process: fds (epoll), timers
 * (a heap on CLOCK_MONOTONIC), signals (signalfd) and deferred calls. */
#ifndef DRISHTI_LOOP_H
#define DRISHTI_LOOP_H
#include <stdint.h>

struct loop;
/* A timer's id: 0 is none.  An id whose timer fired or was cancelled is
 * stale and cancelling it does nothing (loop.c). */
typedef uint64_t loop_timer_id;

#define LOOP_IN  0x1
#define LOOP_OUT 0x4            /* the epoll values, for callers' ease */

typedef void (*loop_fd_fn)(struct loop *l, int fd, uint32_t events, void *ud);
typedef void (*loop_fn)(struct loop *l, void *ud);

struct loop *loop_new(void);
void   loop_free(struct loop *l);
/* Runs until loop_stop; 0, or -1 if epoll failed. */
int    loop_run(struct loop *l);
void   loop_stop(struct loop *l);
/* Monotonic seconds, read once per iteration and on demand. */
double loop_now(struct loop *l);
double loop_update_now(struct loop *l);
/* The next instant after now that is a whole number of periods on the
 * monotonic clock: periodic chores armed on it share their wake-ups. */
double loop_tick(struct loop *l, double period);

int    loop_fd_add(struct loop *l, int fd, uint32_t events, loop_fd_fn fn, void *ud);
int    loop_fd_mod(struct loop *l, int fd, uint32_t events);
void   loop_fd_del(struct loop *l, int fd);

/* Calls fn at monotonic time `at`.  The handle is valid until fn runs or
 * loop_timer_cancel; cancelling NULL is a no-op. */
loop_timer_id loop_timer_at(struct loop *l, double at, loop_fn fn, void *ud);
void   loop_timer_cancel(struct loop *l, loop_timer_id t);
/* Calls fn on the next iteration, outside whatever callback is running. */
int    loop_defer(struct loop *l, loop_fn fn, void *ud);

/* Delivers signo through a signalfd: it is blocked for normal delivery, so
 * no handler ever runs in the middle of the loop. */
int    loop_signal(struct loop *l, int signo, loop_fn fn, void *ud);
/* Stops calling fn for signo (the signal stays blocked). */
void   loop_signal_del(struct loop *l, int signo, loop_fn fn, void *ud);

#endif
