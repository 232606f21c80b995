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
	WIRE_RUN = 5,           /* sup -> worker: run_id, check name */
	WIRE_RESULT = 6,        /* worker -> sup: run_id, struct result */
	WIRE_LOG = 7,           /* worker -> sup: level, text */
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

#endif
