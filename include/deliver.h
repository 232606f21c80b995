/* deliver.h — one send, now: an event (or Alertmanager's re-send of many)
 * through one reporter, with the reporter's secrets.  The outbox decides
 * what and when; this is what the delivery role (and the one-shot commands
 * notify-test and report --send) runs for each send. */
#ifndef DRISHTI_DELIVER_H
#define DRISHTI_DELIVER_H
#include <stddef.h>
#include "config.h"
#include "rules.h"
#include "secret.h"
#include "store.h"

struct loop;
struct deliver;

enum deliver_outcome { DELIVER_OK, DELIVER_RETRY, DELIVER_DEAD };

/* How it went: error describes a failure; answer is what the receiver said
 * (notify-test shows it). */
typedef void (*deliver_fn)(void *ud, enum deliver_outcome outcome, double retry_after,
    const char *error, const char *answer);

struct deliver_req {
	const struct config_reporter *cfg;
	const char *agent;
	const struct secret_files *f;       /* NULL: none */
	const struct store_event *evs;
	const struct rule_decl *const *decls;   /* per event, may be NULL */
	size_t  n;
};

/* Brings up (once) what network sends need. */
int  deliver_init(struct loop *l, char *err, size_t errlen);
void deliver_shutdown(void);
/* Starts the send; fn is called exactly once, maybe before this returns
 * (a local reporter, a request that cannot be built).  Returns a handle
 * while the send is in flight, else NULL. */
struct deliver *deliver_start(const struct deliver_req *rq, deliver_fn fn, void *ud);
/* Stops a send in flight; fn is not called. */
void deliver_cancel(struct deliver *d);

#endif
