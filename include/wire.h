/* wire.h — messages between the supervisor and its rule workers, over a
 * SOCK_SEQPACKET socketpair (one message per packet, boundaries kept). */
#ifndef DRISHTI_WIRE_H
#define DRISHTI_WIRE_H
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "result.h"

#define WIRE_VERSION 1
#define WIRE_MAX (64u << 10)    /* bytes in one message */

enum wire_type {                /* append only: values cross processes */
	WIRE_INIT = 1,          /* sup -> worker: JSON settings */
	WIRE_DECL = 2,          /* worker -> sup: JSON, one declaration */
	WIRE_LOADED = 3,        /* worker -> sup: all declarations sent */
	WIRE_LOADERR = 4,       /* worker -> sup: one load error line */
	WIRE_RUN = 5,           /* sup -> worker: a batch of (run id, index, name) */
	WIRE_RESULT = 6,        /* worker -> sup: a batch of (run id, index, result) */
	WIRE_LOG = 7,           /* worker -> sup: level, text */
	WIRE_HISTORY = 8,       /* worker -> sup: request id, struct hist_req */
	WIRE_ANSWER = 9,        /* sup -> worker: request id, struct hist_ans */
	WIRE_REPORT = 10,       /* worker -> sup: run id; u32 index, then a report's
	                         * JSON document (sent just before its RESULT) */
	WIRE_CURSORS = 11,      /* worker -> sup: run id; u32 index, then the check's
	                         * log.count {new = true} cursors, JSON [{p,d,i,o}]
	                         * (sent just before its RESULT when one moved) */
	WIRE_SEEK = 12,         /* sup -> worker: id = the check's index; its saved
	                         * cursors, JSON as above (before any RUN) */
};

struct wire_hdr {
	uint16_t version;
	uint16_t type;
	uint32_t id;            /* run id for RUN / RESULT, level for LOG */
};

/* Sends one message; -1 with errno on failure (EAGAIN: the peer is slow). */
int wire_send(int fd, enum wire_type type, uint32_t id, const void *body, size_t len);
/* Receives one message: header into h, body into buf (WIRE_MAX bytes),
 * its length into len.  1, 0 at EOF, -1 with errno (EAGAIN, EPROTO). */
int wire_recv(int fd, struct wire_hdr *h, char *buf, size_t *len);

/* Records packed into one message (RUN and RESULT): many checks due or done
 * in one loop iteration cost one send and one wake-up, not one each.  A
 * record is u32 id, u32 length, then the bytes; the header's id is the
 * number of records. */
struct wire_batch {
	int      fd;
	enum wire_type type;
	uint32_t n;
	size_t   len;
	char     buf[WIRE_MAX - sizeof(struct wire_hdr)];
};

/* Adds a record, sending the batch first if it would not fit.  -1 if a send
 * failed (errno). */
int wire_batch_add(struct wire_batch *b, uint32_t id, const void *a, size_t alen,
    const void *c, size_t clen);
int wire_batch_flush(struct wire_batch *b);
/* Walks the records of a received batch: 1 and the next record, 0 at the end. */
int wire_batch_next(const char *buf, size_t len, size_t *off, uint32_t *id,
    const char **rec, size_t *rlen);

#endif
