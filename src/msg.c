/* msg.c — the typed messages of msg.h and the connections that carry them.
 *
 * A message is an 8-byte header (u32 total length, u16 type, u16 version)
 * and tagged fields: a tag byte, then 4 bytes (u32), 8 (i64, double), or a
 * u32 length and that many bytes (data; a string also carries its NUL).
 * Both ends are the same executable, so numbers travel in host order; the
 * tags and lengths are what a reader checks, so a short, long or misread
 * message is refused rather than clamped.
 *
 * A connection is a non-blocking SOCK_STREAM socket: reads fill a capped
 * buffer that whole frames are cut from; writes go to a queue of messages
 * (each sent whole before the next, an fd riding with its first byte), so
 * a slow peer never blocks the loop and one that stops reading is dropped
 * once MSG_QUEUE_MAX bytes wait for it.  Passed fds (SCM_RIGHTS) arrive in
 * order and the message that claims one takes the oldest, as OpenSMTPD's
 * imsg does. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>
#include "clock.h"
#include "loop.h"
#include "msg.h"

#define HDR 8u
#define FDQ 8                       /* fds received, not yet claimed */

enum tag { TAG_U32 = 'u', TAG_I64 = 'i', TAG_DBL = 'd', TAG_STR = 's', TAG_DATA = 'b' };

static const char *const type_names[MSG__END] = {
	[MSG_CONFIG] = "config", [MSG_PEER] = "peer", [MSG_SECRET] = "secret",
	[MSG_GO] = "go", [MSG_RELOAD] = "reload", [MSG_RELOADED] = "reloaded",
	[MSG_STOP] = "stop", [MSG_HELLO] = "hello", [MSG_JOB] = "job", [MSG_DONE] = "done",
	[MSG_LOGFD] = "logfd", [MSG_HOOK] = "hook", [MSG_NOTIFY] = "notify",
};

const char *
msg_type_name(enum msg_type t)
{
	return t > 0 && t < MSG__END && type_names[t] ? type_names[t] : "unknown";
}

/* ---- building ------------------------------------------------------------------ */

void
m_init(struct msg *m, enum msg_type type)
{
	memset(m, 0, sizeof *m);
	m->type = type;
	m->fd = -1;
	m->len = HDR;
}

static void
put(struct msg *m, const void *p, size_t n)
{
	if (m->oom)
		return;
	if (m->len + n > MSG_MAX) {
		m->oom = true;
		return;
	}
	if (m->len + n > m->cap) {
		size_t cap = m->cap ? m->cap : 256;
		while (cap < m->len + n)
			cap *= 2;
		char *b = realloc(m->buf, cap);
		if (b == NULL) {
			m->oom = true;
			return;
		}
		m->buf = b;
		m->cap = cap;
	}
	if (n > 0)
		memcpy(m->buf + m->len, p, n);
	m->len += n;
}

static void
put_tag(struct msg *m, enum tag t)
{
	unsigned char c = (unsigned char)t;
	put(m, &c, 1);
}

void
m_add_u32(struct msg *m, uint32_t v)
{
	put_tag(m, TAG_U32);
	put(m, &v, sizeof v);
}

void
m_add_i64(struct msg *m, int64_t v)
{
	put_tag(m, TAG_I64);
	put(m, &v, sizeof v);
}

void
m_add_dbl(struct msg *m, double v)
{
	put_tag(m, TAG_DBL);
	put(m, &v, sizeof v);
}

void
m_add_data(struct msg *m, const void *p, size_t n)
{
	uint32_t n32 = (uint32_t)n;

	if (n > MSG_MAX) {
		m->oom = true;
		return;
	}
	put_tag(m, TAG_DATA);
	put(m, &n32, sizeof n32);
	put(m, p, n);
}

void
m_add_str(struct msg *m, const char *s)
{
	size_t n = s ? strlen(s) : 0;
	uint32_t n32 = (uint32_t)n;

	if (n > MSG_STR_MAX) {
		m->oom = true;
		return;
	}
	put_tag(m, TAG_STR);
	put(m, &n32, sizeof n32);
	put(m, s ? s : "", n + 1);
}

void
m_clear(struct msg *m)
{
	free(m->buf);
	m->buf = NULL;
	m->len = m->cap = m->off = 0;
}

/* ---- reading ------------------------------------------------------------------- */

static int
take(struct msg *m, enum tag t, void *out, size_t n)
{
	if (m->off + 1 + n > m->len || (unsigned char)m->buf[m->off] != (unsigned char)t)
		return -1;
	memcpy(out, m->buf + m->off + 1, n);
	m->off += 1 + n;
	return 0;
}

int
m_get_u32(struct msg *m, uint32_t *v)
{
	return take(m, TAG_U32, v, sizeof *v);
}

int
m_get_i64(struct msg *m, int64_t *v)
{
	return take(m, TAG_I64, v, sizeof *v);
}

int
m_get_dbl(struct msg *m, double *v)
{
	return take(m, TAG_DBL, v, sizeof *v);
}

static int
span(struct msg *m, enum tag t, size_t extra, const char **p, size_t *n, size_t max)
{
	uint32_t n32;
	size_t at = m->off;

	if (take(m, t, &n32, sizeof n32) < 0)
		return -1;
	if (n32 > max || n32 + extra > m->len - m->off) {
		m->off = at;
		return -1;
	}
	*p = m->buf + m->off;
	*n = n32;
	m->off += n32 + extra;
	return 0;
}

int
m_get_data(struct msg *m, const void **p, size_t *n, size_t max)
{
	const char *c;

	if (span(m, TAG_DATA, 0, &c, n, max) < 0)
		return -1;
	*p = c;
	return 0;
}

int
m_get_str(struct msg *m, const char **s, size_t max)
{
	size_t n, at = m->off;

	if (span(m, TAG_STR, 1, s, &n, max) < 0)
		return -1;
	if ((*s)[n] != '\0' || memchr(*s, '\0', n) != NULL) {
		m->off = at;
		return -1;
	}
	return 0;
}

int
m_end(struct msg *m)
{
	return m->off == m->len ? 0 : -1;
}

int
msg_frame(const char *buf, size_t len, struct msg *m, size_t *used)
{
	uint32_t total;
	uint16_t type, version;

	if (len < HDR)
		return 0;
	memcpy(&total, buf, 4);
	memcpy(&type, buf + 4, 2);
	memcpy(&version, buf + 6, 2);
	if (total < HDR || total > MSG_MAX || version != MSG_VERSION || type == 0 ||
	    type >= MSG__END)
		return -1;
	if (len < total)
		return 0;
	memset(m, 0, sizeof *m);
	m->type = (enum msg_type)type;
	m->buf = (char *)buf;
	m->len = total;
	m->off = HDR;
	m->fd = -1;
	*used = total;
	return 1;
}

/* ---- connections ----------------------------------------------------------------- */

struct outq {
	struct outq *next;
	char   *buf;
	size_t  len, off;
	int     fd;                 /* dup'd; sent with the first byte */
};

struct msg_conn {
	struct loop *loop;
	int     fd;
	char    peer[32];
	msg_fn  on_msg;
	msg_gone_fn on_gone;
	void   *ud;
	char   *in;
	size_t  inlen, incap;
	int     fds[FDQ];
	int     nfds;
	struct outq *head, *tail;
	size_t  queued;
	bool    gone, writing, in_cb, freed;
};

static void conn_io(struct loop *l, int fd, uint32_t events, void *ud);

static void
gone(struct msg_conn *c, const char *why)
{
	if (c->gone)
		return;
	c->gone = true;
	loop_fd_del(c->loop, c->fd);
	if (c->on_gone)
		c->on_gone(c, why, c->ud);
}

struct msg_conn *
msg_conn_new(struct loop *l, int fd, const char *peer, msg_fn on_msg, msg_gone_fn on_gone,
    void *ud)
{
	struct msg_conn *c = calloc(1, sizeof *c);

	if (c == NULL)
		return NULL;
	c->loop = l;
	c->fd = fd;
	snprintf(c->peer, sizeof c->peer, "%s", peer);
	c->on_msg = on_msg;
	c->on_gone = on_gone;
	c->ud = ud;
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	if (loop_fd_add(l, fd, LOOP_IN, conn_io, c) < 0) {
		free(c);
		return NULL;
	}
	return c;
}

void
msg_conn_free(struct msg_conn *c)
{
	if (c == NULL)
		return;
	if (c->in_cb) {             /* freed from inside its own callback */
		c->freed = true;
		if (!c->gone) {
			c->gone = true;
			loop_fd_del(c->loop, c->fd);
		}
		c->on_gone = NULL;
		return;
	}
	if (!c->gone)
		loop_fd_del(c->loop, c->fd);
	close(c->fd);
	for (int i = 0; i < c->nfds; i++)
		close(c->fds[i]);
	while (c->head != NULL) {
		struct outq *q = c->head;
		c->head = q->next;
		if (q->fd >= 0)
			close(q->fd);
		free(q->buf);
		free(q);
	}
	free(c->in);
	free(c);
}

bool
msg_conn_alive(const struct msg_conn *c)
{
	return c != NULL && !c->gone;
}

const char *
msg_conn_peer(const struct msg_conn *c)
{
	return c->peer;
}

/* Writes what it can; 0, or -1 when the peer is gone. */
static int
drain(struct msg_conn *c)
{
	while (c->head != NULL) {
		struct outq *q = c->head;
		struct iovec iov = { q->buf + q->off, q->len - q->off };
		char cbuf[CMSG_SPACE(sizeof(int))];
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
		if (q->fd >= 0 && q->off == 0) {
			memset(cbuf, 0, sizeof cbuf);
			mh.msg_control = cbuf;
			mh.msg_controllen = sizeof cbuf;
			struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
			cm->cmsg_level = SOL_SOCKET;
			cm->cmsg_type = SCM_RIGHTS;
			cm->cmsg_len = CMSG_LEN(sizeof(int));
			memcpy(CMSG_DATA(cm), &q->fd, sizeof(int));
		}
		ssize_t n = sendmsg(c->fd, &mh, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				break;
			return -1;
		}
		if (q->fd >= 0 && q->off == 0) {
			close(q->fd);
			q->fd = -2;         /* sent; not again */
		}
		q->off += (size_t)n;
		c->queued -= (size_t)n;
		if (q->off < q->len)
			continue;
		c->head = q->next;
		if (c->head == NULL)
			c->tail = NULL;
		free(q->buf);
		free(q);
	}
	bool want = c->head != NULL;
	if (want != c->writing && !c->gone) {
		c->writing = want;
		loop_fd_mod(c->loop, c->fd, LOOP_IN | (want ? LOOP_OUT : 0));
	}
	return 0;
}

int
msg_send(struct msg_conn *c, struct msg *m)
{
	if (c == NULL || c->gone || m->oom) {
		m_clear(m);
		return -1;
	}
	if (m->buf == NULL) {               /* no fields: the header alone */
		put(m, "", 0);
		if (m->buf == NULL && (m->buf = malloc(HDR)) != NULL)
			m->cap = HDR;
		if (m->buf == NULL)
			return -1;
	}
	uint32_t total = (uint32_t)m->len;
	uint16_t type = (uint16_t)m->type, version = MSG_VERSION;
	memcpy(m->buf, &total, 4);
	memcpy(m->buf + 4, &type, 2);
	memcpy(m->buf + 6, &version, 2);
	if (c->queued + m->len > MSG_QUEUE_MAX) {
		m_clear(m);
		gone(c, "its queue is full (it stopped reading)");
		return -1;
	}
	struct outq *q = calloc(1, sizeof *q);
	if (q == NULL) {
		m_clear(m);
		return -1;
	}
	q->buf = m->buf;
	q->len = m->len;
	q->fd = m->fd >= 0 ? fcntl(m->fd, F_DUPFD_CLOEXEC, 3) : -1;
	m->buf = NULL;
	m_clear(m);
	if (c->tail)
		c->tail->next = q;
	else
		c->head = q;
	c->tail = q;
	c->queued += q->len;
	if (drain(c) < 0) {
		gone(c, strerror(errno));
		return -1;
	}
	return 0;
}

void
msg_flush(struct msg_conn *c, double timeout)
{
	double end = clock_mono() + timeout;

	while (c != NULL && !c->gone && c->head != NULL) {
		double left = end - clock_mono();
		struct pollfd p = { c->fd, POLLOUT, 0 };
		if (left <= 0 || poll(&p, 1, (int)(left * 1000) + 1) <= 0)
			return;
		if (drain(c) < 0)
			return;
	}
}

static void
take_fds(struct msg_conn *c, struct msghdr *mh)
{
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(mh); cm != NULL; cm = CMSG_NXTHDR(mh, cm)) {
		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		size_t n = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < n; i++) {
			int fd;
			memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof fd);
			if (c->nfds < FDQ)
				c->fds[c->nfds++] = fd;
			else
				close(fd);
		}
	}
}

/* Cuts whole frames from the input and hands them on; -1 with why. */
static int
deliver(struct msg_conn *c, const char **why)
{
	size_t off = 0;
	int rc = 0;

	c->in_cb = true;
	while (!c->freed && !c->gone) {
		struct msg m;
		size_t used;
		int f = msg_frame(c->in + off, c->inlen - off, &m, &used);
		if (f == 0)
			break;
		if (f < 0) {
			*why = "a malformed message header";
			rc = -1;
			break;
		}
		if (m.type == MSG_PEER || m.type == MSG_LOGFD) {
			if (c->nfds == 0) {
				*why = "a message that should carry a descriptor came without one";
				rc = -1;
				break;
			}
			m.fd = c->fds[0];
			memmove(c->fds, c->fds + 1, (size_t)--c->nfds * sizeof(int));
		}
		off += used;
		if (c->on_msg(c, &m, c->ud) < 0) {
			static char b[64];
			if (m.fd >= 0)
				close(m.fd);
			snprintf(b, sizeof b, "a malformed %s message", msg_type_name(m.type));
			*why = b;
			rc = -1;
			break;
		}
	}
	c->in_cb = false;
	if (!c->freed && off > 0) {
		memmove(c->in, c->in + off, c->inlen - off);
		c->inlen -= off;
	}
	return rc;
}

static void
conn_io(struct loop *l, int fd, uint32_t events, void *ud)
{
	struct msg_conn *c = ud;
	const char *why = NULL;

	(void)l;
	(void)fd;
	if ((events & LOOP_OUT) && drain(c) < 0) {
		gone(c, strerror(errno));
		return;
	}
	if (!(events & ~(uint32_t)LOOP_OUT))
		return;
	for (;;) {
		if (c->incap - c->inlen < 65536) {
			size_t cap = c->incap ? c->incap * 2 : 65536;
			if (cap > 2 * (size_t)MSG_MAX) {
				gone(c, "it sent more than one message can hold");
				return;
			}
			char *b = realloc(c->in, cap);
			if (b == NULL) {
				gone(c, "out of memory");
				return;
			}
			c->in = b;
			c->incap = cap;
		}
		char cbuf[CMSG_SPACE(FDQ * sizeof(int))];
		struct iovec iov = { c->in + c->inlen, c->incap - c->inlen };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
		    .msg_controllen = sizeof cbuf };
		ssize_t n = recvmsg(c->fd, &mh, MSG_CMSG_CLOEXEC);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			gone(c, n == 0 ? "it closed the connection" : strerror(errno));
			return;
		}
		take_fds(c, &mh);
		c->inlen += (size_t)n;
		int rc = deliver(c, &why);
		if (c->freed) {
			c->in_cb = false;
			msg_conn_free(c);
			return;
		}
		if (rc < 0) {
			gone(c, why);
			return;
		}
	}
}
