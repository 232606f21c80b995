/* http.h — HTTP(S) transfers (and bare TCP connects) on the event loop,
 * through libcurl's multi-socket interface.  The only libcurl user. */
#ifndef DRISHTI_HTTP_H
#define DRISHTI_HTTP_H
#include <stddef.h>
#include <stdint.h>

struct loop;
struct http_xfer;

#define HTTP_BODY_DEFAULT (1u << 20)
#define HTTP_HEADERS_MAX  (64u << 10)
#define HTTP_ERROR_MAX    256

struct http_request {
	const char *method;             /* GET POST HEAD (PUT DELETE) */
	const char *url;
	const char *body;
	size_t      body_len;
	const char *const *headers;     /* "Name: value" */
	size_t      nheaders;
	int64_t     timeout_ms;
	int         follow;             /* follow redirects (at most 5) */
	int         insecure;           /* no certificate verification */
	int         reuse;              /* allow a kept-alive connection */
	const char *ca_file;
	const char *pin;                /* sha256//BASE64 */
	size_t      max_body;           /* 0: HTTP_BODY_DEFAULT */
	int         connect_only;       /* TCP connect and stop (tcp.connect, tls.cert) */
	const char *protocols;          /* NULL: "http,https" */
	int         no_metadata;        /* refuse link-local and cloud metadata addresses */
	/* SMTP (an smtp:// or smtps:// url): the body is the whole message */
	const char *mail_from;
	const char *mail_rcpt;          /* comma-separated addresses */
	const char *username;
	const char *password;
	int         starttls;           /* smtp://: 0 off, 1 try, 2 required */
	/* Asked before a response buffer (body or headers) grows by n bytes;
	 * nonzero refuses, and the transfer fails saying so (a rule's memory
	 * cap).  NULL: no asking. */
	int       (*charge)(void *ud, size_t n);
	void       *charge_ud;
};

struct http_response {
	long    status;                 /* 0 when no response came; SMTP: the last reply code */
	double  time;                   /* seconds, total */
	double  connect_time;
	char   *body;                   /* NUL-terminated */
	size_t  body_len;
	int     truncated;              /* body cut at max_body */
	char   *headers;                /* the last response's header lines */
	size_t  headers_len;
	char    error[HTTP_ERROR_MAX];  /* "" on success */
	int     socket;                 /* connect_only: the connected socket */
};

/* Inside the done callback: the body, now the caller's to mem_free (NULL when
 * there is none); the response's body pointer is not to be used after. */
char *http_take_body(struct http_xfer *x);

/* Called once per started transfer, after curl has returned, never from
 * inside a curl callback.  For connect_only transfers the connection stays
 * open until http_release. */
typedef void (*http_done_fn)(struct http_xfer *x, const struct http_response *r, void *ud);

int  http_init(struct loop *l, char *err, size_t errlen);
void http_shutdown(void);
/* NULL with err when it could not start: then fn is never called. */
struct http_xfer *http_start(const struct http_request *rq, http_done_fn fn,
    void *ud, char *err, size_t errlen);
/* Stops a transfer; fn will not be called. */
void http_cancel(struct http_xfer *x);
/* Frees a finished connect_only transfer and closes its connection. */
void http_release(struct http_xfer *x);
const char *http_version(void);

#endif
