/* wire.c — the framing of supervisor <-> worker messages.  SOCK_SEQPACKET
 * keeps message boundaries, so a message is a header and a body in one
 * packet; the version in every header lets a supervisor refuse a worker of
 * another build instead of misreading it (NOTES.md: records that cross a
 * boundary carry a version).  A result travels as the raw struct: both ends
 * are the same executable. */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include "wire.h"

int
wire_send(int fd, enum wire_type type, uint32_t id, const void *body, size_t len)
{
	struct wire_hdr h = { WIRE_VERSION, (uint16_t)type, id };
	struct iovec iov[2] = { { &h, sizeof h }, { (void *)body, len } };
	struct msghdr m = { .msg_iov = iov, .msg_iovlen = len ? 2 : 1 };

	if (len + sizeof h > WIRE_MAX) {
		errno = EMSGSIZE;
		return -1;
	}
	for (;;) {
		ssize_t n = sendmsg(fd, &m, MSG_NOSIGNAL);
		if (n >= 0)
			return 0;
		if (errno != EINTR)
			return -1;
	}
}

int
wire_recv(int fd, struct wire_hdr *h, char *buf, size_t *len)
{
	struct iovec iov[2] = { { h, sizeof *h }, { buf, WIRE_MAX - sizeof *h } };
	struct msghdr m = { .msg_iov = iov, .msg_iovlen = 2 };
	ssize_t n;

	do
		n = recvmsg(fd, &m, 0);
	while (n < 0 && errno == EINTR);
	if (n <= 0)
		return (int)n;
	if ((size_t)n < sizeof *h || (m.msg_flags & MSG_TRUNC) || h->version != WIRE_VERSION) {
		errno = EPROTO;
		return -1;
	}
	*len = (size_t)n - sizeof *h;
	return 1;
}

int
wire_batch_flush(struct wire_batch *b)
{
	int rc = 0;

	if (b->n > 0)
		rc = wire_send(b->fd, b->type, b->n, b->buf, b->len);
	b->n = 0;
	b->len = 0;
	return rc;
}

int
wire_batch_add(struct wire_batch *b, uint32_t id, const void *a, size_t alen,
    const void *c, size_t clen)
{
	uint32_t rl = (uint32_t)(alen + clen);
	size_t need = 2 * sizeof(uint32_t) + rl;

	if (need > sizeof b->buf) {
		errno = EMSGSIZE;
		return -1;
	}
	if (b->len + need > sizeof b->buf && wire_batch_flush(b) < 0)
		return -1;
	memcpy(b->buf + b->len, &id, sizeof id);
	memcpy(b->buf + b->len + 4, &rl, sizeof rl);
	memcpy(b->buf + b->len + 8, a, alen);
	if (clen > 0)
		memcpy(b->buf + b->len + 8 + alen, c, clen);
	b->len += need;
	b->n++;
	return 0;
}

int
wire_batch_next(const char *buf, size_t len, size_t *off, uint32_t *id,
    const char **rec, size_t *rlen)
{
	uint32_t rl;

	if (*off + 8 > len)
		return 0;
	memcpy(id, buf + *off, sizeof *id);
	memcpy(&rl, buf + *off + 4, sizeof rl);
	if (rl > len - *off - 8)
		return 0;           /* a record cut short: drop the rest */
	*rec = buf + *off + 8;
	*rlen = rl;
	*off += 8 + rl;
	return 1;
}
