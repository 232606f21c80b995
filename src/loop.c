/* loop.c — the event loop every drishti process runs: epoll for fds, a
 * binary heap of timers on CLOCK_MONOTONIC, signals read from a signalfd (so
 * there are no signal handlers at all, let alone ones that do work), and a
 * queue of deferred calls.  The deferred queue is how a completion found
 * inside one callback (curl's, say) reaches Lua: it is run on the next
 * iteration, never from inside the callback that found it (NOTES.md). */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>
#include "clock.h"
#include "log.h"
#include "loop.h"

#define LOOP_FD_MAX 65536       /* fds we track: beyond, refuse */
#define LOOP_EVENTS 64

struct loop_timer {
	double  at;
	size_t  idx;                /* place in the heap */
	uint64_t seq;               /* ties run in the order they were set */
	loop_fn fn;
	void   *ud;
};

struct fdw {
	loop_fd_fn fn;
	void   *ud;
	int     used;
};

struct deferred {
	loop_fn fn;
	void   *ud;
};

struct sigw {
	int     signo;
	loop_fn fn;
	void   *ud;
};

struct loop {
	int     ep;
	int     stop;
	double  now;
	struct fdw *fds;
	size_t  nfds;
	struct loop_timer **heap;
	size_t  nheap, capheap;
	uint64_t seq;
	struct deferred *defq;
	size_t  ndef, capdef;
	int     sigfd;
	sigset_t sigs;
	struct sigw sigw[16];
	size_t  nsigw;
};


struct loop *
loop_new(void)
{
	struct loop *l = calloc(1, sizeof *l);

	if (l == NULL)
		return NULL;
	l->ep = epoll_create1(EPOLL_CLOEXEC);
	if (l->ep < 0) {
		log_error("epoll_create1: %s", strerror(errno));
		free(l);
		return NULL;
	}
	l->sigfd = -1;
	sigemptyset(&l->sigs);
	l->now = clock_mono();
	return l;
}

void
loop_free(struct loop *l)
{
	if (l == NULL)
		return;
	for (size_t i = 0; i < l->nheap; i++)
		free(l->heap[i]);
	free(l->heap);
	free(l->fds);
	free(l->defq);
	if (l->sigfd >= 0) {
		close(l->sigfd);
		sigprocmask(SIG_UNBLOCK, &l->sigs, NULL);
	}
	close(l->ep);
	free(l);
}

double
loop_now(struct loop *l)
{
	return l->now;
}

double
loop_update_now(struct loop *l)
{
	return l->now = clock_mono();
}

void
loop_stop(struct loop *l)
{
	l->stop = 1;
}

/* ---- fds ------------------------------------------------------------------ */

int
loop_fd_add(struct loop *l, int fd, uint32_t events, loop_fd_fn fn, void *ud)
{
	struct epoll_event ev = { .events = events, .data.fd = fd };

	if (fd < 0 || fd >= LOOP_FD_MAX) {
		log_error("loop: fd %d out of range", fd);
		return -1;
	}
	if ((size_t)fd >= l->nfds) {
		size_t n = l->nfds ? l->nfds : 64;
		while (n <= (size_t)fd)
			n *= 2;
		struct fdw *f = realloc(l->fds, n * sizeof *f);
		if (f == NULL)
			return -1;
		memset(f + l->nfds, 0, (n - l->nfds) * sizeof *f);
		l->fds = f;
		l->nfds = n;
	}
	if (epoll_ctl(l->ep, l->fds[fd].used ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd, &ev) < 0) {
		log_error("epoll_ctl(%d): %s", fd, strerror(errno));
		return -1;
	}
	l->fds[fd] = (struct fdw){ fn, ud, 1 };
	return 0;
}

int
loop_fd_mod(struct loop *l, int fd, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.fd = fd };

	if (fd < 0 || (size_t)fd >= l->nfds || !l->fds[fd].used)
		return -1;
	return epoll_ctl(l->ep, EPOLL_CTL_MOD, fd, &ev);
}

void
loop_fd_del(struct loop *l, int fd)
{
	if (fd < 0 || (size_t)fd >= l->nfds || !l->fds[fd].used)
		return;
	epoll_ctl(l->ep, EPOLL_CTL_DEL, fd, NULL);
	l->fds[fd].used = 0;
}

/* ---- timers ------------------------------------------------------------------ */

static int
tless(const struct loop_timer *a, const struct loop_timer *b)
{
	return a->at < b->at || (a->at == b->at && a->seq < b->seq);
}

static void
hswap(struct loop *l, size_t i, size_t j)
{
	struct loop_timer *t = l->heap[i];
	l->heap[i] = l->heap[j];
	l->heap[j] = t;
	l->heap[i]->idx = i;
	l->heap[j]->idx = j;
}

static void
hup(struct loop *l, size_t i)
{
	while (i > 0 && tless(l->heap[i], l->heap[(i - 1) / 2])) {
		hswap(l, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
}

static void
hdown(struct loop *l, size_t i)
{
	for (;;) {
		size_t m = i, a = 2 * i + 1, b = 2 * i + 2;
		if (a < l->nheap && tless(l->heap[a], l->heap[m]))
			m = a;
		if (b < l->nheap && tless(l->heap[b], l->heap[m]))
			m = b;
		if (m == i)
			return;
		hswap(l, i, m);
		i = m;
	}
}

struct loop_timer *
loop_timer_at(struct loop *l, double at, loop_fn fn, void *ud)
{
	struct loop_timer *t;

	if (l->nheap == l->capheap) {
		size_t n = l->capheap ? 2 * l->capheap : 64;
		struct loop_timer **h = realloc(l->heap, n * sizeof *h);
		if (h == NULL)
			return NULL;
		l->heap = h;
		l->capheap = n;
	}
	t = malloc(sizeof *t);
	if (t == NULL)
		return NULL;
	*t = (struct loop_timer){ .at = at, .idx = l->nheap, .seq = l->seq++, .fn = fn, .ud = ud };
	l->heap[l->nheap++] = t;
	hup(l, t->idx);
	return t;
}

static void
heap_remove(struct loop *l, struct loop_timer *t)
{
	size_t i = t->idx;

	l->nheap--;
	if (i != l->nheap) {
		l->heap[i] = l->heap[l->nheap];
		l->heap[i]->idx = i;
		hup(l, i);
		hdown(l, l->heap[i]->idx);
	}
}

void
loop_timer_cancel(struct loop *l, struct loop_timer *t)
{
	if (t == NULL)
		return;
	heap_remove(l, t);
	free(t);
}

int
loop_defer(struct loop *l, loop_fn fn, void *ud)
{
	if (l->ndef == l->capdef) {
		size_t n = l->capdef ? 2 * l->capdef : 32;
		struct deferred *d = realloc(l->defq, n * sizeof *d);
		if (d == NULL)
			return -1;
		l->defq = d;
		l->capdef = n;
	}
	l->defq[l->ndef++] = (struct deferred){ fn, ud };
	return 0;
}

/* ---- signals ------------------------------------------------------------------- */

static void
on_signal(struct loop *l, int fd, uint32_t events, void *ud)
{
	struct signalfd_siginfo si;

	(void)events;
	(void)ud;
	while (read(fd, &si, sizeof si) == (ssize_t)sizeof si)
		for (size_t i = 0; i < l->nsigw; i++)
			if ((int)si.ssi_signo == l->sigw[i].signo)
				l->sigw[i].fn(l, l->sigw[i].ud);
}

int
loop_signal(struct loop *l, int signo, loop_fn fn, void *ud)
{
	if (l->nsigw >= sizeof l->sigw / sizeof l->sigw[0])
		return -1;
	sigaddset(&l->sigs, signo);
	if (sigprocmask(SIG_BLOCK, &l->sigs, NULL) < 0)
		return -1;
	int fd = signalfd(l->sigfd, &l->sigs, SFD_NONBLOCK | SFD_CLOEXEC);
	if (fd < 0) {
		log_error("signalfd: %s", strerror(errno));
		return -1;
	}
	if (l->sigfd < 0 && loop_fd_add(l, fd, LOOP_IN, on_signal, NULL) < 0) {
		close(fd);
		return -1;
	}
	l->sigfd = fd;
	l->sigw[l->nsigw++] = (struct sigw){ signo, fn, ud };
	return 0;
}

void
loop_signal_del(struct loop *l, int signo, loop_fn fn, void *ud)
{
	for (size_t i = 0; i < l->nsigw; i++)
		if (l->sigw[i].signo == signo && l->sigw[i].fn == fn && l->sigw[i].ud == ud) {
			l->sigw[i] = l->sigw[--l->nsigw];
			return;
		}
}

/* ---- running --------------------------------------------------------------------- */

static void
run_deferred(struct loop *l)
{
	/* calls deferred while these run wait for the next round */
	size_t n = l->ndef;
	if (n == 0)
		return;
	for (size_t i = 0; i < n; i++)
		l->defq[i].fn(l, l->defq[i].ud);
	memmove(l->defq, l->defq + n, (l->ndef - n) * sizeof *l->defq);
	l->ndef -= n;
}

static void
run_timers(struct loop *l)
{
	/* only timers due now: one set by a callback for "now" waits a round */
	double now = loop_update_now(l);
	uint64_t limit = l->seq;
	while (l->nheap > 0 && l->heap[0]->at <= now && l->heap[0]->seq < limit) {
		struct loop_timer *t = l->heap[0];
		heap_remove(l, t);
		loop_fn fn = t->fn;
		void *ud = t->ud;
		free(t);
		fn(l, ud);
	}
}

int
loop_run(struct loop *l)
{
	struct epoll_event ev[LOOP_EVENTS];

	l->stop = 0;
	while (!l->stop) {
		int timeout = -1;
		loop_update_now(l);
		if (l->ndef > 0)
			timeout = 0;
		else if (l->nheap > 0) {
			double d = l->heap[0]->at - l->now;
			timeout = d <= 0 ? 0 : (int)(d * 1000) + 1;
		}
		int n = epoll_wait(l->ep, ev, LOOP_EVENTS, timeout);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			log_error("epoll_wait: %s", strerror(errno));
			return -1;
		}
		loop_update_now(l);
		for (int i = 0; i < n; i++) {
			int fd = ev[i].data.fd;
			if ((size_t)fd < l->nfds && l->fds[fd].used)
				l->fds[fd].fn(l, fd, ev[i].events, l->fds[fd].ud);
		}
		run_timers(l);
		run_deferred(l);
	}
	return 0;
}
