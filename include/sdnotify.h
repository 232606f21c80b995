/* sdnotify.h — systemd's notify protocol, spoken by the parent only (the
 * unit keeps NotifyAccess=main): the state role's READY, RELOADING,
 * STOPPING and WATCHDOG reach it as MSG_NOTIFY and are relayed. */
#ifndef DRISHTI_SDNOTIFY_H
#define DRISHTI_SDNOTIFY_H
#include <stdbool.h>

/* Opens NOTIFY_SOCKET if set; false when there is none. */
bool sdnotify_open(void);
/* Sends one of the known states ("READY=1" ...); others are refused. */
bool sdnotify_send(const char *state);
/* true when s is one a role may ask for */
bool sdnotify_known(const char *s);
void sdnotify_close(void);

#endif
