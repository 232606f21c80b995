/* job.c — the job and answer messages between the state and delivery
 * roles (job.h).  An event travels field by field, typed; its check's
 * description and labels ride with it, so the delivery role needs no rule
 * declarations (and includes no Lua). */
#include <stdlib.h>
#include <string.h>
#include "job.h"

void
job_encode(struct msg *m, uint64_t id, uint32_t rep, const char *reporter,
    const struct store_event *evs, const struct rule_decl *const *decls, size_t n)
{
	m_init(m, MSG_JOB);
	m_add_i64(m, (int64_t)id);
	m_add_u32(m, rep);
	m_add_str(m, reporter);
	m_add_u32(m, (uint32_t)n);
	for (size_t i = 0; i < n; i++) {
		const struct store_event *ev = &evs[i];
		const struct rule_decl *d = decls ? decls[i] : NULL;
		m_add_i64(m, ev->seq);
		m_add_str(m, ev->id);
		m_add_str(m, ev->kind);
		m_add_str(m, ev->check);
		m_add_u32(m, (uint32_t)ev->status);
		m_add_u32(m, (uint32_t)ev->previous);
		m_add_str(m, ev->summary);
		m_add_dbl(m, ev->since);
		m_add_dbl(m, ev->at);
		m_add_str(m, ev->metrics);
		m_add_u32(m, ev->doc != NULL);
		m_add_str(m, ev->doc);
		m_add_u32(m, d != NULL);
		m_add_str(m, d ? d->description : NULL);
		size_t nl = d ? (d->nlabels < JOB_LABELS_MAX ? d->nlabels : JOB_LABELS_MAX) : 0;
		m_add_u32(m, (uint32_t)nl);
		for (size_t k = 0; k < 2 * nl; k++)
			m_add_str(m, d->labels[k]);
	}
}

/* a string into a fixed field: refused when it does not fit */
static int
get_into(struct msg *m, char *out, size_t len)
{
	const char *s;

	if (m_get_str(m, &s, len - 1) < 0)
		return -1;
	memcpy(out, s, strlen(s) + 1);
	return 0;
}

static int
get_status(struct msg *m, enum status *st)
{
	uint32_t v;

	if (m_get_u32(m, &v) < 0 || v > ST_UNKNOWN)
		return -1;
	*st = (enum status)v;
	return 0;
}

int
job_decode(struct msg *m, struct job *j)
{
	uint32_t n;
	int64_t id;

	memset(j, 0, sizeof *j);
	if (m_get_i64(m, &id) < 0 || id <= 0 || m_get_u32(m, &j->rep) < 0 ||
	    m_get_str(m, &j->reporter, 256) < 0 || m_get_u32(m, &n) < 0 || n == 0 ||
	    n > JOB_EVENTS_MAX)
		return -1;
	j->id = (uint64_t)id;
	j->evs = calloc(n, sizeof *j->evs);
	j->cap = j->evs != NULL ? n : 0;
	j->decl = calloc(n, sizeof *j->decl);
	j->decls = calloc(n, sizeof *j->decls);
	j->labels = calloc((size_t)n * 2 * JOB_LABELS_MAX, sizeof *j->labels);
	if (j->evs == NULL || j->decl == NULL || j->decls == NULL || j->labels == NULL)
		goto bad;
	size_t nlab = 0;
	for (j->n = 0; j->n < n; j->n++) {
		struct store_event *ev = &j->evs[j->n];
		struct rule_decl *d = &j->decl[j->n];
		uint32_t has_doc, has_decl, nl;
		const char *doc, *desc;
		if (m_get_i64(m, &ev->seq) < 0 || get_into(m, ev->id, sizeof ev->id) < 0 ||
		    get_into(m, ev->kind, sizeof ev->kind) < 0 ||
		    get_into(m, ev->check, sizeof ev->check) < 0 ||
		    get_status(m, &ev->status) < 0 || get_status(m, &ev->previous) < 0 ||
		    get_into(m, ev->summary, sizeof ev->summary) < 0 ||
		    m_get_dbl(m, &ev->since) < 0 || m_get_dbl(m, &ev->at) < 0 ||
		    get_into(m, ev->metrics, sizeof ev->metrics) < 0 ||
		    m_get_u32(m, &has_doc) < 0 || has_doc > 1 ||
		    m_get_str(m, &doc, MSG_STR_MAX) < 0 ||
		    m_get_u32(m, &has_decl) < 0 || has_decl > 1 ||
		    m_get_str(m, &desc, 64 * 1024) < 0 ||
		    m_get_u32(m, &nl) < 0 || nl > JOB_LABELS_MAX)
			goto bad;
		if (has_doc && (ev->doc = strdup(doc)) == NULL)
			goto bad;
		d->description = has_decl && *desc ? (char *)desc : NULL;
		d->labels = (char **)&j->labels[nlab];
		d->nlabels = nl;
		for (size_t k = 0; k < 2 * (size_t)nl; k++)
			if (m_get_str(m, &j->labels[nlab++], 4096) < 0)
				goto bad;
		j->decls[j->n] = has_decl ? d : NULL;
	}
	if (m_end(m) < 0)
		goto bad;
	return 0;
bad:
	job_free(j);
	return -1;
}

void
job_free(struct job *j)
{
	for (size_t i = 0; j->evs != NULL && i < j->cap; i++)
		free(j->evs[i].doc);
	free(j->evs);
	free(j->decl);
	free(j->decls);
	free(j->labels);
	memset(j, 0, sizeof *j);
}

void
job_encode_done(struct msg *m, uint64_t id, enum deliver_outcome outcome, double retry_after,
    const char *error, const char *answer)
{
	m_init(m, MSG_DONE);
	m_add_i64(m, (int64_t)id);
	m_add_u32(m, (uint32_t)outcome);
	m_add_dbl(m, retry_after);
	m_add_str(m, error);
	m_add_str(m, answer);
}

int
job_decode_done(struct msg *m, uint64_t *id, enum deliver_outcome *outcome, double *retry_after,
    const char **error, const char **answer)
{
	int64_t i;
	uint32_t o;

	if (m_get_i64(m, &i) < 0 || i <= 0 || m_get_u32(m, &o) < 0 || o > DELIVER_DEAD ||
	    m_get_dbl(m, retry_after) < 0 || !(*retry_after >= 0 && *retry_after < 1e6) ||
	    m_get_str(m, error, 4096) < 0 ||
	    m_get_str(m, answer, 4096) < 0 || m_end(m) < 0)
		return -1;
	*id = (uint64_t)i;
	*outcome = (enum deliver_outcome)o;
	return 0;
}
