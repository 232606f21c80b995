/* loop.c — the event loop every drishti process runs: epoll for fds, a
 * binary heap of timers on CLOCK_MONOTONIC, signals read from a signalfd (so
 * there are no signal handlers at all, let alone ones that do work), and a
 * queue of deferred calls.  The deferred queue is how a completion found
 * inside one callback (curl's, say) reaches Lua: it is run on the next
 * iteration, never from inside the callback that found it (NOTES.md). */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>
#include "clock.h"
#include "mem.h"
#include "log.h"
#include "loop.h"

#define LOOP_FD_MAX 65536       /* fds we track: beyond, refuse */
#define LOOP_EVENTS 64

/* A timer lives in a slot; its id is the slot and the slot's generation,
 * which moves on each time the slot is freed (fired or cancelled).  A
 * stale id (a timer that fired, whose owner kept the id) matches no live
 * slot, so cancelling it does nothing: no use after free, and never
 * another timer's cancellation (Redis ae.c holds its timers by id). */
struct tslot {
	double  at;
	uint32_t idx;               /* place in the heap */
	uint32_t gen;
	uint64_t seq;               /* ties run in the order they were set */
	loop_fn fn;
	void   *ud;
	uint32_t next_free;
	bool    live;
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
	struct tslot *slots;
	uint32_t nslots, free_slot;     /* free list through next_free; UINT32_MAX: none */
	uint32_t *heap;                 /* slot numbers */
	size_t  nheap, capheap;
	uint64_t seq;
	struct deferred *defq;
	size_t  ndef, capdef;
	int     sigfd;
	sigset_t sigs;
	struct sigw sigw[16];
	size_t  nsigw;
	double  trimmed;                /* when the stack was last trimmed */
};

/* Before the loop sleeps 100 ms or more, at most this often (seconds), it
 * gives back the stack pages its callbacks touched below its own frame
 * (mem_stack_trim): a role's set-up, a reload or a deep rule run reaches
 * tens of KiB deeper than the loop ever will again.  About thirty cheap
 * system calls; the first a second after the loop starts. */
#define LOOP_TRIM_EVERY 10.0


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
	l->free_slot = UINT32_MAX;
	sigemptyset(&l->sigs);
	l->now = clock_mono();
	return l;
}

void
loop_free(struct loop *l)
{
	if (l == NULL)
		return;
	free(l->slots);
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

/* An idle state role woke twice a second, for its outbox's poll and for
 * the state file's health, at phases set by when each began: on one grid
 * they wake it once (and the ten-second prune and the status page with
 * them). */
double
loop_tick(struct loop *l, double period)
{
	double now = loop_update_now(l);

	if (!(period > 0))
		return now;
	return (floor(now / period) + 1) * period;
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

#define SLOT(l, i) (&(l)->slots[(l)->heap[i]])

static int
tless(const struct tslot *a, const struct tslot *b)
{
	return a->at < b->at || (a->at == b->at && a->seq < b->seq);
}

static void
hswap(struct loop *l, size_t i, size_t j)
{
	uint32_t t = l->heap[i];
	l->heap[i] = l->heap[j];
	l->heap[j] = t;
	SLOT(l, i)->idx = (uint32_t)i;
	SLOT(l, j)->idx = (uint32_t)j;
}

static void
hup(struct loop *l, size_t i)
{
	while (i > 0 && tless(SLOT(l, i), SLOT(l, (i - 1) / 2))) {
		hswap(l, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
}

static void
hdown(struct loop *l, size_t i)
{
	for (;;) {
		size_t m = i, a = 2 * i + 1, b = 2 * i + 2;
		if (a < l->nheap && tless(SLOT(l, a), SLOT(l, m)))
			m = a;
		if (b < l->nheap && tless(SLOT(l, b), SLOT(l, m)))
			m = b;
		if (m == i)
			return;
		hswap(l, i, m);
		i = m;
	}
}

static loop_timer_id
id_of(const struct loop *l, uint32_t slot)
{
	return ((uint64_t)l->slots[slot].gen << 32) | ((uint64_t)slot + 1);
}

loop_timer_id
loop_timer_at(struct loop *l, double at, loop_fn fn, void *ud)
{
	if (l->nheap == l->capheap) {
		size_t n = l->capheap ? 2 * l->capheap : 64;
		uint32_t *h = realloc(l->heap, n * sizeof *h);
		if (h == NULL)
			return 0;
		l->heap = h;
		l->capheap = n;
	}
	if (l->free_slot == UINT32_MAX) {
		if (l->nslots == UINT32_MAX - 1)
			return 0;
		uint32_t n = l->nslots ? 2 * l->nslots : 64;
		struct tslot *s = realloc(l->slots, n * sizeof *s);
		if (s == NULL)
			return 0;
		for (uint32_t i = l->nslots; i < n; i++)
			s[i] = (struct tslot){ .next_free = i + 1 < n ? i + 1 : UINT32_MAX };
		l->slots = s;
		l->free_slot = l->nslots;
		l->nslots = n;
	}
	uint32_t k = l->free_slot;
	struct tslot *t = &l->slots[k];
	l->free_slot = t->next_free;
	t->at = at;
	t->idx = (uint32_t)l->nheap;
	t->seq = l->seq++;
	t->fn = fn;
	t->ud = ud;
	t->live = true;
	l->heap[l->nheap++] = k;
	hup(l, t->idx);
	return id_of(l, k);
}

static void
slot_free(struct loop *l, uint32_t k)
{
	struct tslot *t = &l->slots[k];
	size_t i = t->idx;

	l->nheap--;
	if (i != l->nheap) {
		l->heap[i] = l->heap[l->nheap];
		SLOT(l, i)->idx = (uint32_t)i;
		hup(l, i);
		hdown(l, i);
	}
	t->live = false;
	t->gen++;
	t->next_free = l->free_slot;
	l->free_slot = k;
}

void
loop_timer_cancel(struct loop *l, loop_timer_id id)
{
	uint32_t k = (uint32_t)(id & 0xffffffffu) - 1;

	if (id == 0 || k >= l->nslots || !l->slots[k].live || l->slots[k].gen != (uint32_t)(id >> 32))
		return;
	slot_free(l, k);
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
	while (l->nheap > 0 && SLOT(l, 0)->at <= now && SLOT(l, 0)->seq < limit) {
		uint32_t k = l->heap[0];
		loop_fn fn = l->slots[k].fn;
		void *ud = l->slots[k].ud;
		slot_free(l, k);
		fn(l, ud);
	}
}

int
loop_run(struct loop *l)
{
	struct epoll_event ev[LOOP_EVENTS];

	l->stop = 0;
	l->trimmed = loop_update_now(l) - LOOP_TRIM_EVERY + 1.0;
	while (!l->stop) {
		int timeout = -1;
		loop_update_now(l);
		if (l->ndef > 0)
			timeout = 0;
		else if (l->nheap > 0) {
			double d = SLOT(l, 0)->at - l->now;
			timeout = d <= 0 ? 0 : (int)(d * 1000) + 1;
		}
		if ((timeout < 0 || timeout >= 100) && l->now - l->trimmed >= LOOP_TRIM_EVERY) {
			l->trimmed = l->now;
			mem_stack_trim();
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
