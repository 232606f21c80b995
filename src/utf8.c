/* utf8.c — every byte that leaves drishti is valid UTF-8.  A summary cut at
 * its cap in the middle of a character, or a Latin-1 file name in a log
 * line, once made the webhook JSON invalid: a strict receiver answered 400
 * and the alert was kept as dead, never delivered.  So text is cleaned where
 * it enters (results, declarations, JSON strings): bad bytes become U+FFFD
 * and cuts fall between characters.  Escaping for terminals and logs is
 * here too, so a rule cannot write raw control characters there. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "utf8.h"

/* The length of the well-formed sequence at s (at most n bytes), or 0. */
static size_t
seq_len(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];

	if (c >= 0x01 && c < 0x80)
		return 1;
	size_t need;
	uint32_t min, cp;
	if (c >= 0xc2 && c <= 0xdf)
		need = 2, min = 0x80, cp = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		need = 3, min = 0x800, cp = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		need = 4, min = 0x10000, cp = c & 0x07;
	else
		return 0;
	if (n < need)
		return 0;
	for (size_t i = 1; i < need; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return need;
}

size_t
utf8_clean(char *dst, size_t cap, const char *src, size_t len)
{
	static const char repl[] = "\xef\xbf\xbd";
	const unsigned char *s = (const unsigned char *)src;
	size_t o = 0, i = 0;

	if (cap == 0)
		return 0;
	while (i < len) {
		size_t k = seq_len(s + i, len - i);
		const char *from = k ? (const char *)s + i : repl;
		size_t w = k ? k : 3;
		if (o + w + 1 > cap)
			break;
		memmove(dst + o, from, w);
		o += w;
		i += k ? k : 1;
	}
	dst[o] = '\0';
	return o;
}

void
utf8_fix(char *s, size_t cap)
{
	size_t len = strnlen(s, cap);
	if (utf8_valid(s, len))
		return;
	char stack[1024], *tmp = len <= sizeof stack ? stack : malloc(len);
	if (tmp == NULL) {
		s[0] = '\0';          /* no memory: nothing invalid leaves */
		return;
	}
	memcpy(tmp, s, len);
	utf8_clean(s, cap, tmp, len);
	if (tmp != stack)
		free(tmp);
}

bool
utf8_valid(const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	for (size_t i = 0; i < len;) {
		if (u[i] >= 0x01 && u[i] < 0x80) {
			i++;
			continue;
		}
		size_t k = seq_len(u + i, len - i);
		if (k == 0)
			return false;
		i += k;
	}
	return true;
}

size_t
utf8_escape(char *dst, size_t cap, const char *src)
{
	const unsigned char *s = (const unsigned char *)src;
	size_t o = 0, len = strlen(src);

	if (cap == 0)
		return 0;
	for (size_t i = 0; i < len;) {
		char esc[8];
		size_t k = seq_len(s + i, len - i), w;
		const char *from = esc;
		uint32_t c1 = k == 2 ? (uint32_t)((s[i] & 0x1f) << 6 | (s[i + 1] & 0x3f)) : 0;
		if (k == 1 && (s[i] < 0x20 || s[i] == 0x7f)) {
			switch (s[i]) {
			case '\n': memcpy(esc, "\\n", 3); break;
			case '\r': memcpy(esc, "\\r", 3); break;
			case '\t': memcpy(esc, "\\t", 3); break;
			case 0x1b: memcpy(esc, "\\e", 3); break;
			default: snprintf(esc, sizeof esc, "\\x%02x", s[i]);
			}
			w = strlen(esc);
		} else if (k == 2 && c1 >= 0x80 && c1 < 0xa0) {
			snprintf(esc, sizeof esc, "\\u%04x", (unsigned)c1);
			w = strlen(esc);
		} else if (k == 0) {
			snprintf(esc, sizeof esc, "\\x%02x", s[i]);
			w = strlen(esc);
			k = 1;
		} else {
			from = (const char *)s + i;
			w = k;
		}
		if (o + w + 1 > cap)
			break;
		memcpy(dst + o, from, w);
		o += w;
		i += k;
	}
	dst[o] = '\0';
	return o;
}
