/* probe_sys.h — host figures from /proc: load, memory, uptime. */
#ifndef DRISHTI_PROBE_SYS_H
#define DRISHTI_PROBE_SYS_H
#include <stddef.h>
#include <stdint.h>

struct probe_load { double load1, load5, load15; long cores; };
struct probe_memory {
	uint64_t total, available, used, swap_total, swap_used;   /* bytes */
	double   pct;           /* used / total, used = total - available */
	double   swap_pct;
};

int probe_sys_load(struct probe_load *l, char *err, size_t errlen);
int probe_sys_memory(struct probe_memory *m, char *err, size_t errlen);
int probe_sys_uptime(double *seconds, char *err, size_t errlen);

#endif
