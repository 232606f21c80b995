/* probe_tls.c — tls.cert: an mbedTLS client handshake on a socket that curl
 * connected (so name resolution and connect timeouts are curl's), driven
 * by our loop through WANT_READ / WANT_WRITE.  Verification is OPTIONAL on
 * purpose: the probe must report an expired or self-signed certificate, not
 * fail on it; `verified` and `why` say what a strict client would think.
 * CA bundles are parsed once per process and path (~150 certificates,
 * milliseconds each time otherwise) and shared, counted, by the handshakes
 * in flight: a probe with another ca_file never pulls a bundle from under
 * one still using it. */
#include <errno.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/error.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include "loop.h"
#include "probe_tls.h"

struct ca_entry {
	char    path[512];
	mbedtls_x509_crt crt;
	int     refs;
	struct ca_entry *next;
};

struct probe_tls {
	struct loop *loop;
	struct ca_entry *ca;
	int     fd;
	int     watching;
	mbedtls_ssl_context ssl;
	mbedtls_ssl_config conf;
	probe_tls_fn fn;
	void   *ud;
	int     finished;
	loop_timer_id kick;    /* the first step, from the loop */
	loop_timer_id deadline;    /* a peer that accepts and never speaks */
	double  timeout;
};

#define TLS_TIMED_OUT 1         /* finish()'s code for the deadline (mbedTLS's are < 0) */

static mbedtls_entropy_context entropy;
static mbedtls_ctr_drbg_context drbg;
static int rng_ready;
static struct ca_entry *cas;

static int
rng_init(void)
{
	if (rng_ready)
		return 0;
	mbedtls_entropy_init(&entropy);
	mbedtls_ctr_drbg_init(&drbg);
	if (mbedtls_ctr_drbg_seed(&drbg, mbedtls_entropy_func, &entropy,
	    (const unsigned char *)"drishti", 7) != 0)
		return -1;
	rng_ready = 1;
	return 0;
}
#define CA_CACHE_MAX 4          /* bundles kept parsed while unused */

static struct ca_entry *
ca_get(const char *path, char *err, size_t errlen)
{
	struct ca_entry *e, **pp;
	int idle = 0;

	for (e = cas; e != NULL; e = e->next)
		if (strcmp(e->path, path) == 0) {
			e->refs++;
			return e;
		}
	/* drop an unused bundle when too many are kept */
	for (e = cas; e != NULL; e = e->next)
		idle += e->refs == 0;
	for (pp = &cas; idle >= CA_CACHE_MAX && *pp != NULL;) {
		if ((*pp)->refs == 0) {
			e = *pp;
			*pp = e->next;
			mbedtls_x509_crt_free(&e->crt);
			free(e);
			idle--;
		} else
			pp = &(*pp)->next;
	}
	e = calloc(1, sizeof *e);
	if (e == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	mbedtls_x509_crt_init(&e->crt);
	int rc = mbedtls_x509_crt_parse_file(&e->crt, path);
	if (rc < 0) {
		char m[128];
		mbedtls_strerror(rc, m, sizeof m);
		snprintf(err, errlen, "ca_file %s: %s", path, m);
		mbedtls_x509_crt_free(&e->crt);
		free(e);
		return NULL;
	}
	snprintf(e->path, sizeof e->path, "%s", path);
	e->refs = 1;
	e->next = cas;
	cas = e;
	return e;
}

static int
bio_send(void *ctx, const unsigned char *buf, size_t len)
{
	struct probe_tls *p = ctx;
	ssize_t n = send(p->fd, buf, len, MSG_NOSIGNAL);
	if (n >= 0)
		return (int)n;
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
		return MBEDTLS_ERR_SSL_WANT_WRITE;
	return MBEDTLS_ERR_NET_SEND_FAILED;
}

static int
bio_recv(void *ctx, unsigned char *buf, size_t len)
{
	struct probe_tls *p = ctx;
	ssize_t n = recv(p->fd, buf, len, 0);
	if (n > 0)
		return (int)n;
	if (n == 0)
		return MBEDTLS_ERR_NET_CONN_RESET;
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
		return MBEDTLS_ERR_SSL_WANT_READ;
	return MBEDTLS_ERR_NET_RECV_FAILED;
}

static double
x509_time(const mbedtls_x509_time *t)
{
	struct tm tm = { .tm_year = t->year - 1900, .tm_mon = t->mon - 1,
	    .tm_mday = t->day, .tm_hour = t->hour, .tm_min = t->min, .tm_sec = t->sec };
	return (double)timegm(&tm);
}

static void
finish(struct probe_tls *p, int rc)
{
	struct probe_tls_cert c;

	memset(&c, 0, sizeof c);
	if (p->watching) {
		loop_fd_del(p->loop, p->fd);
		p->watching = 0;
	}
	p->finished = 1;
	loop_timer_cancel(p->loop, p->deadline);
	p->deadline = 0;
	const mbedtls_x509_crt *peer = rc == 0 ? mbedtls_ssl_get_peer_cert(&p->ssl) : NULL;
	if (rc == TLS_TIMED_OUT) {
		snprintf(c.error, sizeof c.error, "TLS handshake: no answer within %.1f s", p->timeout);
	} else if (rc != 0) {
		char m[200];
		mbedtls_strerror(rc, m, sizeof m);
		snprintf(c.error, sizeof c.error, "TLS handshake: %s", m);
	} else if (peer == NULL) {
		snprintf(c.error, sizeof c.error, "TLS handshake: no certificate");
	} else {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		c.not_after = x509_time(&peer->valid_to);
		c.not_before = x509_time(&peer->valid_from);
		c.days_left = (c.not_after - (double)ts.tv_sec) / 86400.0;
		mbedtls_x509_dn_gets(c.subject, sizeof c.subject, &peer->subject);
		mbedtls_x509_dn_gets(c.issuer, sizeof c.issuer, &peer->issuer);
		uint32_t flags = mbedtls_ssl_get_verify_result(&p->ssl);
		c.verified = flags == 0;
		if (!c.verified) {
			char m[512];
			mbedtls_x509_crt_verify_info(m, sizeof m, "", flags);
			/* one line: "a; b" instead of "a\nb\n" */
			size_t l = strlen(m);
			while (l > 0 && m[l - 1] == '\n')
				m[--l] = '\0';
			for (char *q = m; *q != '\0'; q++)
				if (*q == '\n')
					*q = ';';
			snprintf(c.why, sizeof c.why, "%s", m);
		}
	}
	p->fn(p, &c, p->ud);
}

static void step(struct probe_tls *p);

static void
on_io(struct loop *l, int fd, uint32_t events, void *ud)
{
	(void)l;
	(void)fd;
	(void)events;
	step(ud);
}

static void
step(struct probe_tls *p)
{
	int rc = mbedtls_ssl_handshake(&p->ssl);
	uint32_t want;

	if (rc == MBEDTLS_ERR_SSL_WANT_READ)
		want = LOOP_IN;
	else if (rc == MBEDTLS_ERR_SSL_WANT_WRITE)
		want = LOOP_OUT;
	else {
		finish(p, rc);
		return;
	}
	if (loop_fd_add(p->loop, p->fd, want, on_io, p) < 0) {
		finish(p, MBEDTLS_ERR_NET_RECV_FAILED);
		return;
	}
	p->watching = 1;
}

static void
on_deadline(struct loop *l, void *ud)
{
	struct probe_tls *p = ud;

	(void)l;
	p->deadline = 0;
	if (!p->finished)
		finish(p, TLS_TIMED_OUT);
}

static void
start_step(struct loop *l, void *ud)
{
	struct probe_tls *p = ud;

	(void)l;
	p->kick = 0;
	step(p);
}

struct probe_tls *
probe_tls_start(struct loop *l, int fd, const char *host, const char *ca_file,
    double timeout, probe_tls_fn fn, void *ud, char *err, size_t errlen)
{
	struct probe_tls *p;

	if (rng_init() < 0) {
		snprintf(err, errlen, "TLS: no random source");
		return NULL;
	}
	p = calloc(1, sizeof *p);
	if (p == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	p->ca = ca_get(ca_file ? ca_file : PROBE_TLS_CA_DEFAULT, err, errlen);
	if (p->ca == NULL) {
		free(p);
		return NULL;
	}
	p->loop = l;
	p->fd = fd;
	p->fn = fn;
	p->ud = ud;
	mbedtls_ssl_init(&p->ssl);
	mbedtls_ssl_config_init(&p->conf);
	if (mbedtls_ssl_config_defaults(&p->conf, MBEDTLS_SSL_IS_CLIENT,
	    MBEDTLS_SSL_TRANSPORT_STREAM, MBEDTLS_SSL_PRESET_DEFAULT) != 0)
		goto fail;
	mbedtls_ssl_conf_authmode(&p->conf, MBEDTLS_SSL_VERIFY_OPTIONAL);
	mbedtls_ssl_conf_ca_chain(&p->conf, &p->ca->crt, NULL);
	mbedtls_ssl_conf_rng(&p->conf, mbedtls_ctr_drbg_random, &drbg);
	if (mbedtls_ssl_setup(&p->ssl, &p->conf) != 0 ||
	    mbedtls_ssl_set_hostname(&p->ssl, host) != 0)
		goto fail;
	mbedtls_ssl_set_bio(&p->ssl, p, bio_send, bio_recv, NULL);
	/* the first step runs from the loop, so fn is never called from here */
	p->kick = loop_timer_at(l, loop_now(l), start_step, p);
	if (p->kick == 0)
		goto fail;
	/* the probe's own timeout, not the check's deadline */
	p->timeout = timeout > 0.001 ? timeout : 0.001;
	p->deadline = loop_timer_at(l, loop_update_now(l) + p->timeout, on_deadline, p);
	return p;
fail:
	snprintf(err, errlen, "TLS: cannot set up the handshake");
	mbedtls_ssl_free(&p->ssl);
	mbedtls_ssl_config_free(&p->conf);
	p->ca->refs--;
	free(p);
	return NULL;
}

void
probe_tls_free(struct probe_tls *p)
{
	if (p == NULL)
		return;
	loop_timer_cancel(p->loop, p->kick);
	loop_timer_cancel(p->loop, p->deadline);
	if (p->watching)
		loop_fd_del(p->loop, p->fd);
	mbedtls_ssl_free(&p->ssl);
	mbedtls_ssl_config_free(&p->conf);
	p->ca->refs--;
	free(p);
}
