/* reporter.h — what each reporter type sends for an event: the request
 * (body, headers, signature, mail envelope) and how to read the answer.
 * The outbox (outbox.c) decides when; this decides what. */
#ifndef DRISHTI_REPORTER_H
#define DRISHTI_REPORTER_H
#include <stddef.h>
#include "config.h"
#include "http.h"
#include "rules.h"
#include "store.h"

#define REPORTER_HEADERS 24
#define REPORTER_TEMPLATE_MAX (64 * 1024)   /* a body template file */

struct reporter_ctx {
	const struct config_reporter *cfg;
	const char *agent;
	const unsigned char *secret;        /* HMAC key (webhook), or NULL */
	size_t      secret_len;
	const char *password;               /* smtp, or NULL */
	const char *tmpl;                   /* webhook: body template, or NULL */
	const char *const *headers;         /* webhook: "Name: value", sent as is */
	size_t      nheaders;
};

struct reporter_msg {
	struct http_request rq;
	char   *body;
	char   *hdr[REPORTER_HEADERS];      /* owned */
	const char *hdrp[REPORTER_HEADERS];
};

/* Builds the request for ev (decls[i] describes evs[i], may be NULL): one
 * event for every type but alertmanager, which takes many in one POST (its
 * re-send of what is firing).  0, or -1 with err. */
int  reporter_build(const struct reporter_ctx *c, const struct store_event *evs,
    const struct rule_decl *const *decls, size_t n, struct reporter_msg *m,
    char *err, size_t errlen);
void reporter_msg_free(struct reporter_msg *m);
/* How a send went: 0 delivered, 1 try again (retry_after set from the
 * answer, else 0), 2 refused for good.  err describes a failure. */
int  reporter_outcome(const struct config_reporter *rc, const struct http_response *r,
    double *retry_after, char *err, size_t errlen);
/* A body template's placeholders are all known: 0, or -1 with err naming
 * the line and the placeholder. */
int  reporter_template_check(const char *tmpl, char *err, size_t errlen);
/* The built-in reporter used when none is configured: stdout. */
extern const struct config_reporter reporter_stdout;
/* The types that send over the network (not stdout or file). */
int  reporter_is_remote(const char *type);

#endif
