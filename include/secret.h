/* secret.h — the one reader of secret files, and what a reporter reads
 * from files at start: its secret (HMAC key or token), its SMTP password,
 * its body template and its headers with the values of header_file read
 * in.  Only the parent reads them (from files the agent's user cannot
 * read); the delivery role holds them, handed over in MSG_SECRET. */
#ifndef DRISHTI_SECRET_H
#define DRISHTI_SECRET_H
#include <stddef.h>
#include "config.h"

#define SECRET_MAX 4096             /* bytes in one secret file */
#define SECRET_HEADERS 16

struct secret_files {
	unsigned char *secret;
	size_t  secret_len;
	char   *password;
	char   *tmpl;
	char   *headers[SECRET_HEADERS];    /* "Name: value" */
	size_t  nheaders;
};

/* A secret file, whole (a regular file, at most SECRET_MAX bytes, not
 * empty), without a trailing newline, NUL-terminated.  0, or -1 with err. */
int  secret_read(const char *path, unsigned char **out, size_t *len, char *err, size_t errlen);
/* Everything rc names in files.  0, or -1 with err naming the reporter. */
int  secret_files_load(const struct config_reporter *rc, struct secret_files *f, char *err,
    size_t errlen);
/* Wipes and frees. */
void secret_files_free(struct secret_files *f);

#endif
