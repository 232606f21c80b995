/* secret.c — reading secrets (secret.h).  A secret is read whole from a
 * regular file with a bound, copied once, and every intermediate buffer is
 * wiped; what leaves memory is wiped too (crypto_wipe). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "crypto.h"
#include "file.h"
#include "reporter.h"
#include "secret.h"

int
secret_read(const char *path, unsigned char **out, size_t *len, char *err, size_t errlen)
{
	unsigned char buf[SECRET_MAX];
	char *text;
	size_t tl;

	/* regular files only, bounded, read errors are errors (file.c) */
	if (file_read(path, SECRET_MAX, &text, &tl, err, errlen) < 0)
		return -1;
	memcpy(buf, text, tl);
	crypto_wipe(text, tl);
	free(text);
	ssize_t n = (ssize_t)tl;
	if (n <= 0) {
		snprintf(err, errlen, "%s: empty", path);
		return -1;
	}
	/* a trailing newline from an editor is not part of the key */
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		n--;
	*out = malloc((size_t)n + 1);
	if (*out == NULL) {
		crypto_wipe(buf, sizeof buf);
		return -1;
	}
	memcpy(*out, buf, (size_t)n);
	(*out)[n] = '\0';          /* a password is used as a string */
	*len = (size_t)n;
	crypto_wipe(buf, sizeof buf);
	return 0;
}

void
secret_files_free(struct secret_files *f)
{
	if (f->secret != NULL) {
		crypto_wipe(f->secret, f->secret_len);
		free(f->secret);
	}
	if (f->password != NULL) {
		crypto_wipe(f->password, strlen(f->password));
		free(f->password);
	}
	free(f->tmpl);
	for (size_t i = 0; i < f->nheaders; i++) {
		crypto_wipe(f->headers[i], strlen(f->headers[i]));
		free(f->headers[i]);
	}
	memset(f, 0, sizeof *f);
}

int
secret_files_load(const struct config_reporter *rc, struct secret_files *f, char *err,
    size_t errlen)
{
	char e[400];
	size_t pl, tl;

	memset(f, 0, sizeof *f);
	if ((rc->secret_file && *rc->secret_file &&
	    secret_read(rc->secret_file, &f->secret, &f->secret_len, e, sizeof e) < 0) ||
	    (rc->password_file && *rc->password_file &&
	    secret_read(rc->password_file, (unsigned char **)&f->password, &pl, e, sizeof e) < 0))
		goto fail;
	if (rc->tmpl != NULL && *rc->tmpl != '\0') {
		if (file_read(rc->tmpl, REPORTER_TEMPLATE_MAX, &f->tmpl, &tl, e, sizeof e) < 0 ||
		    reporter_template_check(f->tmpl, e, sizeof e) < 0)
			goto fail;
	}
	for (size_t i = 0; i < rc->nheaders && i < SECRET_HEADERS; i++) {
		const char *h = rc->headers[i];
		if (h[0] == 'H')
			f->headers[f->nheaders] = strdup(h + 1);
		else {
			/* "FName: FILE": the value is the file's, a secret */
			const char *colon = strchr(h, ':');
			unsigned char *v = NULL;
			size_t vl;
			if (secret_read(colon + 2, &v, &vl, e, sizeof e) < 0)
				goto fail;
			if (memchr(v, '\n', vl) != NULL || memchr(v, '\r', vl) != NULL) {
				crypto_wipe(v, vl);
				free(v);
				snprintf(e, sizeof e, "%s: a header value is one line", colon + 2);
				goto fail;
			}
			size_t len = (size_t)(colon - h) + vl + 2;
			f->headers[f->nheaders] = malloc(len);
			if (f->headers[f->nheaders] != NULL)
				snprintf(f->headers[f->nheaders], len, "%.*s: %s", (int)(colon - h - 1),
				    h + 1, (char *)v);
			crypto_wipe(v, vl);
			free(v);
		}
		if (f->headers[f->nheaders] == NULL) {
			snprintf(e, sizeof e, "out of memory");
			goto fail;
		}
		f->nheaders++;
	}
	return 0;
fail:
	snprintf(err, errlen, "reporter \"%s\": %s", rc->name, e);
	secret_files_free(f);
	return -1;
}

