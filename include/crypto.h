/* crypto.h — HMAC-SHA256 for signed webhooks, and a comparison that takes
 * the same time whatever the inputs. */
#ifndef DRISHTI_CRYPTO_H
#define DRISHTI_CRYPTO_H
#include <stdbool.h>
#include <stddef.h>

/* hex: 65 bytes.  0 / -1. */
int  crypto_hmac_sha256_hex(const void *key, size_t keylen, const void *msg, size_t msglen,
    char *hex);
bool crypto_equal(const void *a, const void *b, size_t len);
/* Overwrites n bytes in a way the compiler keeps. */
void crypto_wipe(void *p, size_t n);

#endif
