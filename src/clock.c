/* clock.c — the one place the clocks are read (clock.h).  Everything that
 * records or shows a time reads clock_real(); everything that waits reads
 * clock_mono() (through the loop, mostly), so a clock jump moves what is
 * shown but never what is due. */
#include <time.h>
#include "clock.h"

static double
read_clock(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double
clock_real(void)
{
	return read_clock(CLOCK_REALTIME);
}

double
clock_mono(void)
{
	return read_clock(CLOCK_MONOTONIC);
}
