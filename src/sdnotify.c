/* sdnotify.c — systemd's notify protocol (sdnotify.h): a datagram to
 * $NOTIFY_SOCKET (a path, or "@" for the abstract namespace) per state.
 * Only the parent, systemd's main PID, speaks it. */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include "log.h"
#include "sdnotify.h"

static int fd = -1;
static struct sockaddr_un addr;
static socklen_t addrlen;

static const char *const known[] = { "READY=1", "RELOADING=1", "STOPPING=1", "WATCHDOG=1",
	NULL };

bool
sdnotify_known(const char *s)
{
	for (const char *const *k = known; *k != NULL; k++)
		if (strcmp(s, *k) == 0)
			return true;
	return false;
}

bool
sdnotify_open(void)
{
	const char *path = getenv("NOTIFY_SOCKET");

	if (path == NULL || (*path != '/' && *path != '@') || strlen(path) >= sizeof addr.sun_path)
		return false;
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	memset(&addr, 0, sizeof addr);
	addr.sun_family = AF_UNIX;
	memcpy(addr.sun_path, path, strlen(path));
	if (*path == '@')
		addr.sun_path[0] = '\0';        /* abstract namespace */
	addrlen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(path));
	return true;
}

bool
sdnotify_send(const char *state)
{
	if (fd < 0 || !sdnotify_known(state))
		return false;
	if (sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&addr, addrlen) < 0) {
		log_debug("sd_notify: %s", strerror(errno));
		return false;
	}
	return true;
}

void
sdnotify_close(void)
{
	if (fd >= 0)
		close(fd);
	fd = -1;
}
