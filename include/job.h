/* job.h — what crosses between the state role and the delivery role: a job
 * (one event, or Alertmanager's re-send of many, for one reporter) and its
 * answer.  Both ends encode and decode here, so the two can never disagree
 * on a field; a decode refuses anything out of bounds. */
#ifndef DRISHTI_JOB_H
#define DRISHTI_JOB_H
#include <stddef.h>
#include <stdint.h>
#include "deliver.h"
#include "msg.h"
#include "rules.h"
#include "store.h"

#define JOB_EVENTS_MAX 64           /* events in one job (Alertmanager's batch) */
#define JOB_LABELS_MAX 64           /* label pairs of one check */

/* A decoded job.  Strings of decls point into the message. */
struct job {
	uint64_t id;
	uint32_t rep;
	const char *reporter;
	size_t  n, cap;
	struct store_event *evs;                /* n, malloc'd (docs too) */
	struct rule_decl *decl;                 /* n */
	const struct rule_decl **decls;         /* n: &decl[i] or NULL */
	const char **labels;                    /* every decl's pairs */
};

void job_encode(struct msg *m, uint64_t id, uint32_t rep, const char *reporter,
    const struct store_event *evs, const struct rule_decl *const *decls, size_t n);
/* 0, or -1 when m is not a whole, well-formed job. */
int  job_decode(struct msg *m, struct job *j);
void job_free(struct job *j);

void job_encode_done(struct msg *m, uint64_t id, enum deliver_outcome outcome,
    double retry_after, const char *error, const char *answer);
int  job_decode_done(struct msg *m, uint64_t *id, enum deliver_outcome *outcome,
    double *retry_after, const char **error, const char **answer);

#endif
