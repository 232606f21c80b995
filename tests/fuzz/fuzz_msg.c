/* fuzz_msg.c — libFuzzer target: the message reader of msg.c (frames cut
 * from a byte stream, typed fields read back) and the decoders of the
 * messages between the state and delivery roles (job.c), which must
 * refuse, never misread, whatever a compromised peer sends. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "job.h"
#include "msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* reads fields of whatever kind comes next until one fails */
static void
walk(struct msg *m)
{
	for (int i = 0; i < 256; i++) {
		uint32_t u;
		int64_t l;
		double d;
		const char *s;
		const void *p;
		size_t n;
		if (m_get_u32(m, &u) == 0 || m_get_i64(m, &l) == 0 || m_get_dbl(m, &d) == 0 ||
		    m_get_str(m, &s, MSG_STR_MAX) == 0 || m_get_data(m, &p, &n, MSG_MAX) == 0)
			continue;
		break;
	}
	(void)m_end(m);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* an aligned copy, as a connection's buffer is */
	char *buf = malloc(size ? size : 1);
	size_t off = 0;

	if (buf == NULL)
		return 0;
	memcpy(buf, data, size);
	for (int k = 0; k < 64; k++) {
		struct msg m;
		size_t used;
		if (msg_frame(buf + off, size - off, &m, &used) != 1)
			break;
		off += used;
		size_t start = m.off;
		if (m.type == MSG_JOB) {
			struct job j;
			if (job_decode(&m, &j) == 0)
				job_free(&j);
		} else if (m.type == MSG_DONE) {
			uint64_t id;
			enum deliver_outcome o;
			double ra;
			const char *e, *a;
			(void)job_decode_done(&m, &id, &o, &ra, &e, &a);
		}
		m.off = start;
		walk(&m);
	}
	free(buf);
	return 0;
}
