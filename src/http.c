/* http.c — every HTTP(S) request drishti makes (probes now, webhooks later),
 * and the only libcurl user.
 *
 * curl's multi-socket API is joined to our loop as curl's own
 * docs/examples/ephiperfifo.c does it: CURLMOPT_SOCKETFUNCTION tells which
 * fds to watch, CURLMOPT_TIMERFUNCTION when to call socket_action next.  A
 * finished transfer is collected with curl_multi_info_read after
 * socket_action has returned, and only then is its callback called: no user
 * code ever runs inside a curl callback.  Probes open a fresh connection
 * each time by default, as a monitor should: a kept-alive connection would
 * hide a server that no longer accepts new ones. */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "http.h"
#include "log.h"
#include "mem.h"
#include "loop.h"

struct http_xfer {
	CURL   *easy;
	struct curl_slist *hdrs;
	struct curl_slist *rcpt;
	char   *upload;             /* SMTP: the message, read by curl */
	size_t  upload_len, upload_off;
	http_done_fn fn;
	void   *ud;
	size_t  max_body;
	int     connect_only;
	int     done;               /* removed from the multi handle */
	char   *body;
	size_t  body_len, body_cap;
	int     truncated;
	char   *head;
	size_t  head_len, head_cap;
	char    errbuf[CURL_ERROR_SIZE];
	int   (*charge)(void *ud, size_t n);
	void   *charge_ud;
	int     refused;            /* charge said no: the caller's memory is full */
	char    fenced[64];         /* an address refused by no_metadata, or "" */
};

static CURLM *multi;
static struct loop *hloop;
static loop_timer_id htimer;
static int inited;

/* Finished easy handles kept for the next request.  curl_easy_init builds
 * curl's whole per-handle state and its receive buffer; curl_easy_reset on
 * a kept handle clears the options and keeps the memory.  A connection is
 * never carried over: it lives in the multi handle's cache, and probes
 * forbid its reuse anyway.  Capped, so a burst of a thousand checks leaves
 * no more than this many idle. */
#define HTTP_SPARE_MAX 32
static CURL *spare[HTTP_SPARE_MAX];
static int nspare;

static void check_done(void);

static int
grow(struct http_xfer *x, char **buf, size_t *cap, size_t need, size_t max)
{
	if (need <= *cap)
		return 0;
	size_t n = *cap ? *cap : 1024;
	while (n < need)
		n *= 2;
	if (n > max + 1)
		n = max + 1;
	if (n < need)
		return -1;
	if (x->charge != NULL && x->charge(x->charge_ud, n - *cap) != 0) {
		x->refused = 1;
		return -1;
	}
	char *b = mem_realloc(*buf, n);
	if (b == NULL)
		return -1;
	*buf = b;
	*cap = n;
	return 0;
}

static size_t
on_body(char *p, size_t sz, size_t n, void *ud)
{
	struct http_xfer *x = ud;
	size_t len = sz * n, room = x->max_body - x->body_len;

	if (len > room) {
		/* keep what fits, then stop the transfer: no need to pull 50 MB */
		len = room;
		x->truncated = 1;
	}
	if (len > 0) {
		if (grow(x, &x->body, &x->body_cap, x->body_len + len + 1, x->max_body) < 0)
			return 0;
		memcpy(x->body + x->body_len, p, len);
		x->body_len += len;
		x->body[x->body_len] = '\0';
	}
	return x->truncated ? 0 : sz * n;
}

static size_t
on_header(char *p, size_t sz, size_t n, void *ud)
{
	struct http_xfer *x = ud;
	size_t len = sz * n;

	/* a new status line (after a redirect or a 100): keep the last only */
	if (len >= 5 && strncmp(p, "HTTP/", 5) == 0)
		x->head_len = 0;
	if (x->head_len + len < HTTP_HEADERS_MAX &&
	    grow(x, &x->head, &x->head_cap, x->head_len + len + 1, HTTP_HEADERS_MAX) == 0) {
		memcpy(x->head + x->head_len, p, len);
		x->head_len += len;
		x->head[x->head_len] = '\0';
	}
	return len;
}

static size_t
on_read(char *p, size_t sz, size_t n, void *ud)
{
	struct http_xfer *x = ud;
	size_t len = sz * n, left = x->upload_len - x->upload_off;

	if (len > left)
		len = left;
	memcpy(p, x->upload + x->upload_off, len);
	x->upload_off += len;
	return len;
}

/* SMTP: envelope, login and the message.  curl does the dot-stuffing. */
static int
smtp_setup(struct http_xfer *x, const struct http_request *rq)
{
	CURL *e = x->easy;

	if (rq->mail_from != NULL)
		curl_easy_setopt(e, CURLOPT_MAIL_FROM, rq->mail_from);
	for (const char *p = rq->mail_rcpt ? rq->mail_rcpt : ""; *p;) {
		char addr[320];
		while (*p == ' ' || *p == ',')
			p++;
		size_t l = strcspn(p, ", ");
		if (l == 0)
			break;
		snprintf(addr, sizeof addr, "%.*s", (int)(l < sizeof addr - 1 ? l : sizeof addr - 1), p);
		struct curl_slist *s = curl_slist_append(x->rcpt, addr);
		if (s == NULL)
			return -1;
		x->rcpt = s;
		p += l;
	}
	curl_easy_setopt(e, CURLOPT_MAIL_RCPT, x->rcpt);
	if (rq->username != NULL && *rq->username) {
		curl_easy_setopt(e, CURLOPT_USERNAME, rq->username);
		curl_easy_setopt(e, CURLOPT_PASSWORD, rq->password ? rq->password : "");
	}
	if (strncmp(rq->url, "smtp://", 7) == 0 && rq->starttls > 0)
		curl_easy_setopt(e, CURLOPT_USE_SSL, rq->starttls == 2 ? (long)CURLUSESSL_ALL :
		    (long)CURLUSESSL_TRY);
	x->upload = mem_alloc(rq->body_len + 1);
	if (x->upload == NULL)
		return -1;
	memcpy(x->upload, rq->body, rq->body_len);
	x->upload_len = rq->body_len;
	curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE, (curl_off_t)rq->body_len);
	curl_easy_setopt(e, CURLOPT_READFUNCTION, on_read);
	curl_easy_setopt(e, CURLOPT_READDATA, x);
	return 0;
}

/* ---- joining the loop ------------------------------------------------------- */

static void
on_fd(struct loop *l, int fd, uint32_t events, void *ud)
{
	int flags = 0, running;

	(void)l;
	(void)ud;
	if (events & LOOP_IN)
		flags |= CURL_CSELECT_IN;
	if (events & LOOP_OUT)
		flags |= CURL_CSELECT_OUT;
	if (events & ~(uint32_t)(LOOP_IN | LOOP_OUT))
		flags |= CURL_CSELECT_ERR;
	curl_multi_socket_action(multi, fd, flags, &running);
	check_done();
}

static int
sock_cb(CURL *e, curl_socket_t s, int what, void *up, void *sp)
{
	(void)e;
	(void)up;
	(void)sp;
	if (what == CURL_POLL_REMOVE) {
		loop_fd_del(hloop, s);
		return 0;
	}
	uint32_t ev = (what & CURL_POLL_IN ? LOOP_IN : 0) | (what & CURL_POLL_OUT ? LOOP_OUT : 0);
	return loop_fd_add(hloop, s, ev, on_fd, NULL) < 0 ? -1 : 0;
}

static void
on_timer(struct loop *l, void *ud)
{
	int running;

	(void)l;
	(void)ud;
	htimer = 0;
	curl_multi_socket_action(multi, CURL_SOCKET_TIMEOUT, 0, &running);
	check_done();
}

static int
timer_cb(CURLM *m, long ms, void *up)
{
	(void)m;
	(void)up;
	loop_timer_cancel(hloop, htimer);
	htimer = 0;
	/* never call socket_action from here: a 0 timeout runs next round */
	if (ms >= 0)
		htimer = loop_timer_at(hloop, loop_update_now(hloop) + (double)ms / 1000.0,
		    on_timer, NULL);
	return 0;
}

static void
check_done(void)
{
	CURLMsg *m;
	int left;

	while ((m = curl_multi_info_read(multi, &left)) != NULL) {
		if (m->msg != CURLMSG_DONE)
			continue;
		struct http_xfer *x = NULL;
		CURLcode rc = m->data.result;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&x);
		curl_socket_t sock = CURL_SOCKET_BAD;
		if (x->connect_only)
			curl_easy_getinfo(x->easy, CURLINFO_ACTIVESOCKET, &sock);
		/* a connect-only handle stays in the multi handle until
		 * http_release: removing it would hand the connection back */
		if (!x->connect_only) {
			curl_multi_remove_handle(multi, m->easy_handle);
			x->done = 1;
		}
		struct http_response r = { .body = x->body ? x->body : "",
		    .body_len = x->body_len, .truncated = x->truncated,
		    .headers = x->head ? x->head : "", .headers_len = x->head_len,
		    .socket = -1 };
		curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &r.status);
		curl_easy_getinfo(x->easy, CURLINFO_TOTAL_TIME, &r.time);
		curl_easy_getinfo(x->easy, CURLINFO_CONNECT_TIME, &r.connect_time);
		if (rc == CURLE_WRITE_ERROR && x->truncated)
			rc = CURLE_OK;      /* we stopped it at the cap: not a failure */
		if (rc != CURLE_OK && x->fenced[0])
			snprintf(r.error, sizeof r.error, "refused: %s is a link-local or cloud metadata"
			    " address ([sandbox] allow_metadata = true allows it)", x->fenced);
		else if (rc != CURLE_OK && x->refused)
			snprintf(r.error, sizeof r.error, "response larger than the memory"
			    " the caller has left (%zu bytes read)", x->body_len + x->head_len);
		else if (rc != CURLE_OK)
			snprintf(r.error, sizeof r.error, "%s",
			    x->errbuf[0] ? x->errbuf : curl_easy_strerror(rc));
		if (x->connect_only && rc == CURLE_OK)
			r.socket = sock == CURL_SOCKET_BAD ? -1 : (int)sock;
		int keep = x->connect_only;
		x->fn(x, &r, x->ud);
		if (!keep)
			http_release(x);
	}
}

static CURL *
easy_get(void)
{
	return nspare > 0 ? spare[--nspare] : curl_easy_init();
}

/* a connect-only handle owns its connection: only cleanup closes it */
static void
easy_put(CURL *e, int keep)
{
	if (keep && nspare < HTTP_SPARE_MAX) {
		curl_easy_reset(e);
		spare[nspare++] = e;
	} else
		curl_easy_cleanup(e);
}

/* ---- the API ------------------------------------------------------------------ */

/* curl is set up at the first request, not at http_init: a worker whose
 * rules make no request (host.lua, the reports) never builds curl's state
 * or wakes the allocator curl uses (mem.c), about 200 KiB of PSS each */
static int
setup(char *err, size_t errlen)
{
	if (inited)
		return 0;
	/* curl allocates and frees its handles and buffers at every request:
	 * the hot path's allocator (mem.c) */
	if (curl_global_init_mem(CURL_GLOBAL_DEFAULT, mem_alloc, mem_free, mem_realloc,
	    mem_strdup, mem_calloc) != CURLE_OK ||
	    (multi = curl_multi_init()) == NULL) {
		snprintf(err, errlen, "curl: cannot initialise");
		return -1;
	}
	curl_multi_setopt(multi, CURLMOPT_SOCKETFUNCTION, sock_cb);
	curl_multi_setopt(multi, CURLMOPT_TIMERFUNCTION, timer_cb);
	inited = 1;
	return 0;
}

int
http_init(struct loop *l, char *err, size_t errlen)
{
	(void)err;
	(void)errlen;
	hloop = l;
	return 0;
}

void
http_shutdown(void)
{
	if (!inited)
		return;
	loop_timer_cancel(hloop, htimer);
	htimer = 0;
	while (nspare > 0)
		curl_easy_cleanup(spare[--nspare]);
	curl_multi_cleanup(multi);
	curl_global_cleanup();
	multi = NULL;
	inited = 0;
}

const char *
http_version(void)
{
	return curl_version_info(CURLVERSION_NOW)->version;
}

/* A rule's connection to a link-local address (169.254.0.0/16, fe80::/10)
 * or a cloud's metadata service (fd00:ec2::254) is refused: from a cloud
 * VM those hand out the machine's credentials.  Asked for every address
 * curl tries, after name resolution, so a name or a redirect that leads
 * there is refused too. */
static bool
fenced_addr(const struct sockaddr *sa, char *text, size_t len)
{
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;
		const unsigned char *b = (const unsigned char *)&in->sin_addr;
		if (b[0] == 169 && b[1] == 254) {
			inet_ntop(AF_INET, &in->sin_addr, text, (socklen_t)len);
			return true;
		}
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)sa;
		const unsigned char *b = in6->sin6_addr.s6_addr;
		static const unsigned char ec2[16] = { 0xfd, 0x00, 0x0e, 0xc2, 0, 0, 0, 0, 0, 0, 0, 0,
			0, 0, 0x02, 0x54 };
		static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
		if ((b[0] == 0xfe && (b[1] & 0xc0) == 0x80) || memcmp(b, ec2, 16) == 0 ||
		    (memcmp(b, mapped, 12) == 0 && b[12] == 169 && b[13] == 254)) {
			inet_ntop(AF_INET6, &in6->sin6_addr, text, (socklen_t)len);
			return true;
		}
	}
	return false;
}

static curl_socket_t
open_socket(void *ud, curlsocktype purpose, struct curl_sockaddr *a)
{
	struct http_xfer *x = ud;

	(void)purpose;
	if (fenced_addr(&a->addr, x->fenced, sizeof x->fenced))
		return CURL_SOCKET_BAD;
	return socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
}

struct http_xfer *
http_start(const struct http_request *rq, http_done_fn fn, void *ud, char *err,
    size_t errlen)
{
	struct http_xfer *x;
	CURL *e;

	if (setup(err, errlen) < 0)
		return NULL;
	x = mem_calloc(1, sizeof *x);
	if (x == NULL || (e = easy_get()) == NULL) {
		mem_free(x);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	x->easy = e;
	x->fn = fn;
	x->ud = ud;
	x->max_body = rq->max_body ? rq->max_body : HTTP_BODY_DEFAULT;
	x->charge = rq->charge;
	x->charge_ud = rq->charge_ud;
	x->connect_only = rq->connect_only;
	const char *protos = rq->protocols ? rq->protocols : "http,https";
	long tmo = rq->timeout_ms > 0 ? (long)rq->timeout_ms : 10000;

	curl_easy_setopt(e, CURLOPT_URL, rq->url);
	curl_easy_setopt(e, CURLOPT_PRIVATE, x);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->errbuf);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, protos);
	curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, protos);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, tmo);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, tmo < 10000 ? tmo : 10000L);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "drishti/" DRISHTI_VERSION);
	/* probes read small answers; a hundred checks in flight should not
	 * hold a hundred 16 KiB buffers (curl's default) */
	curl_easy_setopt(e, CURLOPT_BUFFERSIZE, 4096L);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, x);
	/* a kept handle keeps its TLS session cache through curl_easy_reset:
	 * every probe shakes hands in full, as a fresh client would */
	curl_easy_setopt(e, CURLOPT_SSL_SESSIONID_CACHE, 0L);
	if (!rq->reuse) {
		curl_easy_setopt(e, CURLOPT_FRESH_CONNECT, 1L);
		/* a connect-only connection must outlive the transfer: the
		 * caller uses it, then http_release closes it */
		if (!rq->connect_only)
			curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L);
	}
	if (rq->follow) {
		curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
		curl_easy_setopt(e, CURLOPT_MAXREDIRS, 5L);
	}
	if (rq->insecure) {
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	if (rq->ca_file != NULL)
		curl_easy_setopt(e, CURLOPT_CAINFO, rq->ca_file);
	if (rq->pin != NULL)
		curl_easy_setopt(e, CURLOPT_PINNEDPUBLICKEY, rq->pin);
	if (rq->connect_only)
		curl_easy_setopt(e, CURLOPT_CONNECT_ONLY, 1L);
	if (rq->no_metadata) {
		curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, open_socket);
		curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, x);
	}
	const char *m = rq->method ? rq->method : "GET";
	int smtp = strncmp(rq->url, "smtp://", 7) == 0 || strncmp(rq->url, "smtps://", 8) == 0;
	if (smtp) {
		if (smtp_setup(x, rq) < 0)
			goto oom;
	} else if (strcmp(m, "HEAD") == 0)
		curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
	else if (strcmp(m, "POST") == 0 || rq->body != NULL) {
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)rq->body_len);
		curl_easy_setopt(e, CURLOPT_COPYPOSTFIELDS, rq->body ? rq->body : "");
		if (strcmp(m, "POST") != 0)
			curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, m);
	} else if (strcmp(m, "GET") != 0)
		curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, m);
	for (size_t i = 0; i < rq->nheaders; i++) {
		struct curl_slist *s = curl_slist_append(x->hdrs, rq->headers[i]);
		if (s == NULL)
			goto oom;
		x->hdrs = s;
	}
	if (x->hdrs != NULL)
		curl_easy_setopt(e, CURLOPT_HTTPHEADER, x->hdrs);
	if (curl_multi_add_handle(multi, e) != CURLM_OK)
		goto oom;
	return x;
oom:
	snprintf(err, errlen, "cannot start transfer");
	x->done = 1;
	http_release(x);
	return NULL;
}

void
http_cancel(struct http_xfer *x)
{
	if (x == NULL)
		return;
	http_release(x);
}

char *
http_take_body(struct http_xfer *x)
{
	char *b = x->body;
	x->body = NULL;
	x->body_len = 0;
	x->body_cap = 0;
	return b;
}

void
http_release(struct http_xfer *x)
{
	if (x == NULL)
		return;
	if (!x->done)
		curl_multi_remove_handle(multi, x->easy);
	easy_put(x->easy, !x->connect_only);
	curl_slist_free_all(x->hdrs);
	curl_slist_free_all(x->rcpt);
	mem_free(x->upload);
	mem_free(x->body);
	mem_free(x->head);
	mem_free(x);
}
