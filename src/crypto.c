/* crypto.c — HMAC-SHA256 through mbedTLS (its only user besides the TLS
 * probe), a constant-time comparison for whoever checks a signature, and
 * a wipe for secrets leaving memory. */
#include <mbedtls/md.h>
#include <string.h>
#include "crypto.h"

int
crypto_hmac_sha256_hex(const void *key, size_t keylen, const void *msg, size_t msglen,
    char *hex)
{
	static const char digits[] = "0123456789abcdef";
	unsigned char mac[32];
	const mbedtls_md_info_t *md = mbedtls_md_info_from_type(MBEDTLS_MD_SHA256);

	if (md == NULL || mbedtls_md_hmac(md, key, keylen, msg, msglen, mac) != 0)
		return -1;
	for (int i = 0; i < 32; i++) {
		hex[2 * i] = digits[mac[i] >> 4];
		hex[2 * i + 1] = digits[mac[i] & 15];
	}
	hex[64] = '\0';
	crypto_wipe(mac, sizeof mac);
	return 0;
}

bool
crypto_equal(const void *a, const void *b, size_t len)
{
	const volatile unsigned char *x = a, *y = b;
	unsigned char d = 0;

	for (size_t i = 0; i < len; i++)
		d |= (unsigned char)(x[i] ^ y[i]);
	return d == 0;
}

void
crypto_wipe(void *p, size_t n)
{
	volatile unsigned char *v = p;
	while (n--)
		*v++ = 0;
}
