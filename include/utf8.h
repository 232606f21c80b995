/* utf8.h — making text valid UTF-8 where it enters, and printable where it
 * leaves for a terminal or a log. */
#ifndef DRISHTI_UTF8_H
#define DRISHTI_UTF8_H
#include <stdbool.h>
#include <stddef.h>

/* Copies len bytes of src into dst (cap bytes, NUL-terminated) as valid
 * UTF-8: each byte that does not start a well-formed sequence (overlong,
 * surrogate, past U+10FFFF, cut short) becomes U+FFFD, and the copy is cut
 * only between characters.  NUL bytes become U+FFFD too.  The length
 * written. */
size_t utf8_clean(char *dst, size_t cap, const char *src, size_t len);
/* The same, in place, for a NUL-terminated string in a buffer of cap. */
void   utf8_fix(char *s, size_t cap);
bool   utf8_valid(const char *s, size_t len);
/* Copies s into dst with control characters (C0, DEL, C1) escaped as \n,
 * \r, \t, \e or \xHH, cut between characters; for log lines and tables. */
size_t utf8_escape(char *dst, size_t cap, const char *s);

#endif
