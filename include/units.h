/* units.h — strict parsing of durations ("500ms 30s 5m 2h 7d") and sizes
 * ("512K 8M 1G"). */
#ifndef DRISHTI_UNITS_H
#define DRISHTI_UNITS_H
#include <stddef.h>
#include <stdint.h>

/* Milliseconds.  A bare number is refused: the unit is the point. */
int units_duration(const char *s, int64_t *ms, char *err, size_t errlen);
/* Bytes.  A bare number means bytes. */
int units_size(const char *s, uint64_t *bytes, char *err, size_t errlen);
/* "1h30m" style, for messages and `help config`. */
void units_fmt_duration(int64_t ms, char *buf, size_t len);
void units_fmt_size(uint64_t bytes, char *buf, size_t len);

#endif
