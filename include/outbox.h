/* outbox.h — delivery of the events in the state file to the reporters. */
#ifndef DRISHTI_OUTBOX_H
#define DRISHTI_OUTBOX_H
#include <stddef.h>
#include <stdint.h>
#include "config.h"
#include "deliver.h"
#include "rules.h"

struct loop;
struct store;
struct outbox;

#define OUTBOX_BACKOFF_BASE 1.0     /* seconds */
#define OUTBOX_BACKOFF_CAP 300.0

/* Finds a check's declaration (notify, labels); NULL if unknown. */
typedef const struct rule_decl *(*outbox_decl_fn)(void *ud, const char *check);

/* How a send leaves: the state role's link to the delivery role.  send
 * hands over evs[0..n) (decls[i] describes evs[i]) for reporter number rep
 * and sets *job to an id (never 0) that its answer will carry to
 * outbox_done; -1 when it cannot take it now (the delivery role is not
 * there: outbox_kick again once it is). */
struct outbox_sender {
	int   (*send)(void *ud, size_t rep, const struct store_event *evs,
	    const struct rule_decl *const *decls, size_t n, uint64_t *job);
	void   *ud;
};

/* The outbox of the running config, sending through sender.  NULL with
 * err. */
struct outbox *outbox_new(struct loop *l, struct store *s, const struct config *cfg,
    outbox_decl_fn decl, void *ud, const struct outbox_sender *sender, char *err,
    size_t errlen);
/* The answer to a job. */
void outbox_done(struct outbox *o, uint64_t job, enum deliver_outcome outcome,
    double retry_after, const char *error);
/* The delivery role went: its jobs are forgotten, to be sent again. */
void outbox_lost(struct outbox *o);
/* Reporter number i's config (for the sender), or NULL. */
const struct config_reporter *outbox_reporter(const struct outbox *o, size_t i);
/* New events are in the store: deliver what is due. */
void outbox_kick(struct outbox *o);
void outbox_free(struct outbox *o);
/* `drishti notify-test`: one test event through one reporter; prints the
 * receiver's answer.  Exit status: 0 accepted, 1 refused or unreachable. */
int  outbox_test(struct loop *l, const struct config *cfg, const char *reporter);
/* `drishti report NAME --send`: the report through every reporter that
 * takes reports, now, each answer printed.  0 all accepted, else 1 (78: a
 * secret could not be read). */
int  outbox_send_report(struct loop *l, const struct config *cfg, const char *name,
    const char *headline, const char *doc);

#endif
