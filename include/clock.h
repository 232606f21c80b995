/* clock.h — the two clocks drishti reads, in one place: the wall clock (what
 * is recorded and shown; it may jump) and the monotonic clock (what waits
 * and deadlines are measured on; it never does). */
#ifndef DRISHTI_CLOCK_H
#define DRISHTI_CLOCK_H

/* Unix seconds, CLOCK_REALTIME. */
double clock_real(void);
/* Seconds since some fixed point, CLOCK_MONOTONIC. */
double clock_mono(void);

#endif
