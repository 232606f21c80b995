/* probe_tls.h — the TLS certificate probe: a handshake on a connected
 * socket, driven by the event loop, that reports the server's certificate
 * whether or not it verifies. */
#ifndef DRISHTI_PROBE_TLS_H
#define DRISHTI_PROBE_TLS_H
#include <stddef.h>

struct loop;
struct probe_tls;

#define PROBE_TLS_CA_DEFAULT "/etc/ssl/certs/ca-certificates.crt"

struct probe_tls_cert {
	double not_after, not_before;   /* unix seconds */
	double days_left;               /* negative once expired */
	char   subject[256];
	char   issuer[256];
	int    verified;                /* chain and name verified */
	char   why[512];                /* why not verified */
	char   error[256];              /* the handshake failed: nothing above */
};

typedef void (*probe_tls_fn)(struct probe_tls *p, const struct probe_tls_cert *c, void *ud);

/* Handshakes on fd (connected, non-blocking) as a client for host, within
 * timeout seconds (then c->error says so).  fn is called once, from the
 * loop; NULL with err when it could not start. */
struct probe_tls *probe_tls_start(struct loop *l, int fd, const char *host,
    const char *ca_file, double timeout, probe_tls_fn fn, void *ud, char *err, size_t errlen);
/* Stops and frees; after fn has run, frees.  fn is not called after. */
void probe_tls_free(struct probe_tls *p);

#endif
