/* probe_sys.c — load, memory and uptime read from /proc, the way free(1) and
 * uptime(1) read them.  Memory "used" is total minus MemAvailable: page cache
 * that the kernel can drop is not counted as used. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "probe_sys.h"

static int
read_small(const char *path, char *buf, size_t len, char *err, size_t errlen)
{
	FILE *f = fopen(path, "re");
	size_t n;

	if (f == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	n = fread(buf, 1, len - 1, f);
	buf[n] = '\0';
	fclose(f);
	return 0;
}

int
probe_sys_load(struct probe_load *l, char *err, size_t errlen)
{
	char buf[256];

	if (read_small("/proc/loadavg", buf, sizeof buf, err, errlen) < 0)
		return -1;
	if (sscanf(buf, "%lf %lf %lf", &l->load1, &l->load5, &l->load15) != 3) {
		snprintf(err, errlen, "/proc/loadavg: unexpected format");
		return -1;
	}
	l->cores = sysconf(_SC_NPROCESSORS_ONLN);
	if (l->cores < 1)
		l->cores = 1;
	return 0;
}

int
probe_sys_memory(struct probe_memory *m, char *err, size_t errlen)
{
	char buf[8192];
	unsigned long long total = 0, avail = 0, stotal = 0, sfree = 0, v;
	int have = 0;

	if (read_small("/proc/meminfo", buf, sizeof buf, err, errlen) < 0)
		return -1;
	for (char *line = buf; line != NULL && *line != '\0';) {
		if (sscanf(line, "MemTotal: %llu kB", &v) == 1) total = v, have |= 1;
		else if (sscanf(line, "MemAvailable: %llu kB", &v) == 1) avail = v, have |= 2;
		else if (sscanf(line, "SwapTotal: %llu kB", &v) == 1) stotal = v;
		else if (sscanf(line, "SwapFree: %llu kB", &v) == 1) sfree = v;
		line = strchr(line, '\n');
		if (line != NULL)
			line++;
	}
	if (have != 3 || total == 0) {
		snprintf(err, errlen, "/proc/meminfo: no MemTotal or MemAvailable");
		return -1;
	}
	m->total = total * 1024;
	m->available = avail * 1024;
	m->used = m->total > m->available ? m->total - m->available : 0;
	m->pct = 100.0 * (double)m->used / (double)m->total;
	m->swap_total = stotal * 1024;
	m->swap_used = stotal > sfree ? (stotal - sfree) * 1024 : 0;
	m->swap_pct = stotal > 0 ? 100.0 * (double)m->swap_used / (double)m->swap_total : 0;
	return 0;
}

int
probe_sys_uptime(double *seconds, char *err, size_t errlen)
{
	char buf[128];

	if (read_small("/proc/uptime", buf, sizeof buf, err, errlen) < 0)
		return -1;
	if (sscanf(buf, "%lf", seconds) != 1) {
		snprintf(err, errlen, "/proc/uptime: unexpected format");
		return -1;
	}
	return 0;
}
