/* units.c — durations and sizes as the config and the rules write them.
 * Parsing is strict on purpose: "5 m", "5mins", "-1s", "1.5h" or an overflow
 * is an error the user sees with its file and line, never a silent zero.
 * A duration may chain terms, largest first ("1h30m"), as Go and systemd do. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include "units.h"

static const struct {
	const char *suffix;
	int64_t ms;
} dur_units[] = {
	{ "ms", 1 }, { "s", 1000 }, { "m", 60000 }, { "h", 3600000 },
	{ "d", 86400000 }, { "w", 604800000 },
};

#define DUR_MAX ((int64_t)100 * 365 * 86400000)   /* 100 years */

int
units_duration(const char *s, int64_t *ms, char *err, size_t errlen)
{
	const char *p = s;
	int64_t total = 0, last_unit = INT64_MAX;

	if (*p == '\0') {
		snprintf(err, errlen, "empty duration");
		return -1;
	}
	while (*p != '\0') {
		int64_t n = 0;
		if (!isdigit((unsigned char)*p))
			goto bad;
		while (isdigit((unsigned char)*p)) {
			n = n * 10 + (*p++ - '0');
			if (n > DUR_MAX)
				goto range;
		}
		size_t ul = 0;
		while (isalpha((unsigned char)p[ul]))
			ul++;
		int64_t unit = -1;
		for (size_t i = 0; i < sizeof dur_units / sizeof dur_units[0]; i++)
			if (strlen(dur_units[i].suffix) == ul &&
			    strncmp(p, dur_units[i].suffix, ul) == 0)
				unit = dur_units[i].ms;
		if (unit < 0 || unit >= last_unit)
			goto bad;
		last_unit = unit;
		if (n > DUR_MAX / unit)
			goto range;
		total += n * unit;
		if (total > DUR_MAX)
			goto range;
		p += ul;
	}
	*ms = total;
	return 0;
bad:
	snprintf(err, errlen, "bad duration \"%.64s\" (want e.g. 500ms, 30s, 5m, 2h, 7d)", s);
	return -1;
range:
	snprintf(err, errlen, "duration \"%.64s\" is out of range", s);
	return -1;
}

int
units_size(const char *s, uint64_t *bytes, char *err, size_t errlen)
{
	const char *p = s;
	uint64_t n = 0, mul = 1;

	if (!isdigit((unsigned char)*p))
		goto bad;
	while (isdigit((unsigned char)*p)) {
		if (n > (UINT64_MAX - 9) / 10)
			goto range;
		n = n * 10 + (uint64_t)(*p++ - '0');
	}
	switch (*p) {
	case '\0': break;
	case 'K': case 'k': mul = 1ULL << 10; p++; break;
	case 'M': mul = 1ULL << 20; p++; break;
	case 'G': mul = 1ULL << 30; p++; break;
	case 'T': mul = 1ULL << 40; p++; break;
	default: goto bad;
	}
	if (*p == 'B' || (*p == 'i' && p[1] == 'B' && mul > 1))
		p += *p == 'i' ? 2 : 1;
	if (*p != '\0')
		goto bad;
	if (n > UINT64_MAX / mul)
		goto range;
	*bytes = n * mul;
	return 0;
bad:
	snprintf(err, errlen, "bad size \"%.64s\" (want e.g. 512K, 8M, 1G)", s);
	return -1;
range:
	snprintf(err, errlen, "size \"%.64s\" is out of range", s);
	return -1;
}

void
units_fmt_duration(int64_t ms, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	if (ms == 0) {
		snprintf(buf, len, "0s");
		return;
	}
	for (int i = (int)(sizeof dur_units / sizeof dur_units[0]) - 2; i >= 0; i--) {
		int64_t u = dur_units[i].ms;
		if (ms >= u && off < len) {
			int w = snprintf(buf + off, len - off, "%lld%s",
			    (long long)(ms / u), dur_units[i].suffix);
			if (w > 0)
				off += (size_t)w;
			ms %= u;
		}
	}
}

void
units_fmt_size(uint64_t bytes, char *buf, size_t len)
{
	static const char sfx[] = "KMGT";
	int i = -1;

	while (bytes >= 1024 && bytes % 1024 == 0 && i < 3) {
		bytes /= 1024;
		i++;
	}
	if (i < 0)
		snprintf(buf, len, "%llu", (unsigned long long)bytes);
	else
		snprintf(buf, len, "%llu%c", (unsigned long long)bytes, sfx[i]);
}
