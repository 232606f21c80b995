/* outbox.h — delivery of the events in the state file to the reporters. */
#ifndef DRISHTI_OUTBOX_H
#define DRISHTI_OUTBOX_H
#include <stddef.h>
#include "config.h"
#include "rules.h"

struct loop;
struct store;
struct outbox;

#define OUTBOX_BACKOFF_BASE 1.0     /* seconds */
#define OUTBOX_BACKOFF_CAP 300.0

/* Finds a check's declaration (notify, labels); NULL if unknown. */
typedef const struct rule_decl *(*outbox_decl_fn)(void *ud, const char *check);

/* Reads the reporters' secrets now (the caller holds config errors already
 * checked).  NULL with err. */
struct outbox *outbox_new(struct loop *l, struct store *s, const struct config *cfg,
    outbox_decl_fn decl, void *ud, char *err, size_t errlen);
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
