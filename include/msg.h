/* msg.h — typed, length-checked messages between drishti's processes (the
 * parent, the state role and the delivery role; see DESIGN §9).  A message
 * is a header (length, type, version) and a run of tagged fields added with
 * m_add_* and read back, in the same order, with m_get_*; m_end says every
 * byte was read.  Any mismatch (short, long, wrong tag, unknown type, a
 * string with a NUL inside) makes the reader refuse the message and the
 * connection drops its peer: OpenSMTPD's m_add / m_get / m_end, with ntpd's
 * size checks in dispatch_imsg. */
#ifndef DRISHTI_MSG_H
#define DRISHTI_MSG_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MSG_VERSION 1
#define MSG_MAX (4u << 20)          /* one message, header included */
#define MSG_QUEUE_MAX (32u << 20)   /* unsent bytes to one peer: past it, drop it */
#define MSG_STR_MAX (1u << 20)      /* one string field */

enum msg_type {                     /* append only: values cross processes */
	MSG_CONFIG = 1,     /* parent -> role: generation, config path, config text */
	MSG_PEER,           /* parent -> role: the other role's socket (fd passed) */
	MSG_SECRET,         /* parent -> delivery: reporter, secret, password,
	                     * template, n headers ("Name: value") */
	MSG_GO,             /* parent -> role: all is sent, start */
	MSG_RELOAD,         /* parent -> state: generation, path, text */
	MSG_RELOADED,       /* state -> parent: generation, 1 taken / 0 refused */
	MSG_STOP,           /* parent -> role: stop (grace seconds) */
	MSG_HELLO,          /* delivery -> state: the generation it serves */
	MSG_JOB,            /* state -> delivery: job id, reporter, n events */
	MSG_DONE,           /* delivery -> state: job id, outcome, retry_after,
	                     * error, answer */
	MSG_LOGFD,          /* parent -> role: the reopened log (fd passed) */
	MSG_HOOK,           /* parent -> role: test hook (DRISHTI_TEST_HOOKS only) */
	MSG_NOTIFY,         /* state -> parent: an sd_notify state to relay */
	MSG__END
};

/* One message being built or read.  buf holds the header and the fields. */
struct msg {
	enum msg_type type;
	char   *buf;
	size_t  len, cap, off;
	int     fd;                 /* passed with it, or -1; a reader owns it */
	bool    oom;                /* an add failed: the message is not sent */
};

const char *msg_type_name(enum msg_type t);

/* Building: m_init, then the adds; msg_send (below) takes the buffer. */
void m_init(struct msg *m, enum msg_type type);
void m_add_u32(struct msg *m, uint32_t v);
void m_add_i64(struct msg *m, int64_t v);
void m_add_dbl(struct msg *m, double v);
void m_add_str(struct msg *m, const char *s);       /* NULL travels as "" */
void m_add_data(struct msg *m, const void *p, size_t n);
void m_clear(struct msg *m);

/* Reading: each returns 0, or -1 when the next field is not of that kind
 * or not whole.  Strings and data point into the message (valid until it
 * is freed); a string is NUL-terminated, at most max bytes, no NUL inside. */
int  m_get_u32(struct msg *m, uint32_t *v);
int  m_get_i64(struct msg *m, int64_t *v);
int  m_get_dbl(struct msg *m, double *v);
int  m_get_str(struct msg *m, const char **s, size_t max);
int  m_get_data(struct msg *m, const void **p, size_t *n, size_t max);
/* 0 when every byte was read, else -1. */
int  m_end(struct msg *m);

/* Frames: 1 and a whole message at the front of buf (its length in *used),
 * 0 when more bytes are needed, -1 when what is there can never be a
 * message (length or version or type out of range).  m's buffer points
 * into buf. */
int  msg_frame(const char *buf, size_t len, struct msg *m, size_t *used);

/* A connection to one peer over a non-blocking stream socket, driven by the
 * loop.  on_msg gets each whole message and returns 0, or -1 to refuse it
 * (the peer is then dropped); on_gone is called once when the peer goes
 * (EOF, error, a refused message, a full queue), with why. */
struct loop;
struct msg_conn;
typedef int  (*msg_fn)(struct msg_conn *c, struct msg *m, void *ud);
typedef void (*msg_gone_fn)(struct msg_conn *c, const char *why, void *ud);

struct msg_conn *msg_conn_new(struct loop *l, int fd, const char *peer, msg_fn on_msg,
    msg_gone_fn on_gone, void *ud);
void msg_conn_free(struct msg_conn *c);
/* Queues m (and its fd, if any, which stays the caller's) for the peer;
 * m is cleared.  -1 if the connection is gone or the message is bad. */
int  msg_send(struct msg_conn *c, struct msg *m);
/* Sends what is queued, blocking at most timeout seconds (a stopping
 * process's last words).  */
void msg_flush(struct msg_conn *c, double timeout);
bool msg_conn_alive(const struct msg_conn *c);
const char *msg_conn_peer(const struct msg_conn *c);

#endif
