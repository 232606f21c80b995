/* worker.c — a rule worker, and how the supervisor starts one.
 *
 * A worker is this same binary, exec'd fresh (so it carries none of the
 * supervisor's memory, where webhook secrets live), talking over a
 * SOCK_SEQPACKET socket on fd 3.  Before it loads any rule it drops root to
 * [agent] user, sets no_new_privs, and where the kernel has Landlock confines
 * itself to reading the rule file, read_paths and what libc needs: it can
 * write no file at all, the state file included.  It then loads its one rule
 * file, reports each declaration (or each load error) and runs checks when
 * asked, many at once on its own event loop.  Its log lines travel to the
 * supervisor, which writes them.  If the supervisor dies, the kernel kills
 * the worker (PR_SET_PDEATHSIG). */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "http.h"
#include "json.h"
#include "log.h"
#include "loop.h"
#include "mem.h"
#include "priv.h"
#include "result.h"
#include "rules.h"
#include "rules_sandbox.h"
#include "wire.h"
#include "worker.h"

#define WORKER_FD 3
#define WORKER_BOX_FD 4         /* the black box (worker_box_new), when there is one */

/* ---- declarations on the wire ------------------------------------------------- */

char *
worker_decl_encode(const struct rule_decl *d)
{
	struct json *o = json_new(JSON_OBJECT), *n = json_new(JSON_ARRAY),
	    *lb = json_new(JSON_OBJECT);

	json_add(o, "kind", json_new_number(d->kind));
	json_add(o, "name", json_new_string(d->name));
	json_add(o, "file", json_new_string(d->file));
	json_add(o, "line", json_new_number(d->line));
	json_add(o, "every_ms", json_new_number((double)d->every_ms));
	if (d->cron != NULL)
		json_add(o, "cron", json_new_string(d->cron));
	json_add(o, "jitter_ms", json_new_number((double)d->jitter_ms));
	json_add(o, "timeout_ms", json_new_number((double)d->timeout_ms));
	json_add(o, "after_count", json_new_number(d->after_count));
	json_add(o, "after_ms", json_new_number((double)d->after_ms));
	json_add(o, "recover", json_new_number(d->recover));
	json_add(o, "flap_fails", json_new_number(d->flap_fails));
	json_add(o, "flap_window", json_new_number(d->flap_window));
	json_add(o, "repeat_ms", json_new_number((double)d->repeat_ms));
	json_add(o, "unknown_ignore", json_new(d->unknown_ignore ? JSON_TRUE : JSON_FALSE));
	if (d->description != NULL)
		json_add(o, "description", json_new_string(d->description));
	if (d->public_name != NULL)
		json_add(o, "public", json_new_string(d->public_name));
	for (size_t i = 0; d->notify != NULL && i < d->nnotify; i++)
		json_add(n, NULL, json_new_string(d->notify[i]));
	json_add(o, "notify", d->notify != NULL ? n : json_new(JSON_NULL));
	if (d->notify == NULL)
		json_free(n);
	for (size_t i = 0; i < d->nlabels; i++)
		json_add(lb, d->labels[2 * i], json_new_string(d->labels[2 * i + 1]));
	json_add(o, "labels", lb);
	struct json *dp = json_new(JSON_ARRAY);
	for (size_t i = 0; i < d->ndepends; i++)
		json_add(dp, NULL, json_new_string(d->depends[i]));
	json_add(o, "depends", dp);
	char *s = json_print(o, false);
	json_free(o);
	return s;
}

static double
jnum(const struct json *o, const char *k)
{
	const struct json *v = json_get(o, k);
	return v != NULL && json_type(v) == JSON_NUMBER ? json_number(v) : 0;
}

static char *
jstr(const struct json *o, const char *k)
{
	const struct json *v = json_get(o, k);
	return v != NULL && json_type(v) == JSON_STRING ? strdup(json_string(v)) : NULL;
}

int
worker_decl_decode(const char *s, size_t len, struct rule_decl *d)
{
	char e[128];
	struct json *o = json_parse(s, len, e, sizeof e);
	const struct json *v;

	memset(d, 0, sizeof *d);
	if (o == NULL || json_type(o) != JSON_OBJECT) {
		json_free(o);
		return -1;
	}
	d->kind = (enum rule_kind)jnum(o, "kind");
	d->name = jstr(o, "name");
	d->file = NULL;             /* the supervisor keeps the path itself */
	d->line = (int)jnum(o, "line");
	d->every_ms = (int64_t)jnum(o, "every_ms");
	d->cron = jstr(o, "cron");
	d->jitter_ms = (int64_t)jnum(o, "jitter_ms");
	d->timeout_ms = (int64_t)jnum(o, "timeout_ms");
	d->after_count = (int)jnum(o, "after_count");
	d->after_ms = (int64_t)jnum(o, "after_ms");
	d->recover = (int)jnum(o, "recover");
	d->flap_fails = (int)jnum(o, "flap_fails");
	d->flap_window = (int)jnum(o, "flap_window");
	d->repeat_ms = (int64_t)jnum(o, "repeat_ms");
	v = json_get(o, "unknown_ignore");
	d->unknown_ignore = v != NULL && json_type(v) == JSON_TRUE;
	d->description = jstr(o, "description");
	d->public_name = jstr(o, "public");
	d->fn = -1;
	v = json_get(o, "notify");
	if (v != NULL && json_type(v) == JSON_ARRAY) {
		size_t n = 0;
		for (const struct json *c = json_child(v); c != NULL; c = json_next(c))
			n++;
		d->notify = calloc(n + 1, sizeof *d->notify);
		for (const struct json *c = json_child(v); d->notify && c; c = json_next(c))
			if (json_type(c) == JSON_STRING)
				d->notify[d->nnotify++] = strdup(json_string(c));
	}
	v = json_get(o, "depends");
	if (v != NULL && json_type(v) == JSON_ARRAY) {
		size_t n = 0;
		for (const struct json *c = json_child(v); c != NULL; c = json_next(c))
			n++;
		d->depends = n > 0 ? calloc(n + 1, sizeof *d->depends) : NULL;
		for (const struct json *c = json_child(v); d->depends && c; c = json_next(c))
			if (json_type(c) == JSON_STRING)
				d->depends[d->ndepends++] = strdup(json_string(c));
	}
	v = json_get(o, "labels");
	if (v != NULL && json_type(v) == JSON_OBJECT) {
		size_t n = 0;
		for (const struct json *c = json_child(v); c != NULL; c = json_next(c))
			n++;
		d->labels = calloc(2 * n + 1, sizeof *d->labels);
		for (const struct json *c = json_child(v); d->labels && c; c = json_next(c))
			if (json_type(c) == JSON_STRING) {
				d->labels[2 * d->nlabels] = strdup(json_key(c));
				d->labels[2 * d->nlabels + 1] = strdup(json_string(c));
				d->nlabels++;
			}
	}
	json_free(o);
	return d->name != NULL ? 0 : -1;
}

/* ---- the supervisor's side: starting one ----------------------------------------- */

static char *
init_message(const char *file, const struct config *cfg)
{
	struct json *o = json_new(JSON_OBJECT), *vars = json_new(JSON_OBJECT),
	    *reps = json_new(JSON_ARRAY);

	json_add(o, "file", json_new_string(file));
	json_add(o, "read_paths", json_new_string(cfg->read_paths));
	json_add(o, "exec", json_new_string(cfg->exec ? cfg->exec : ""));
	json_add(o, "memory", json_new_number((double)cfg->memory));
	json_add(o, "instructions", json_new_number((double)cfg->instructions));
	json_add(o, "timeout_ms", json_new_number((double)cfg->timeout_ms));
	json_add(o, "cpu_ms", json_new_number((double)cfg->cpu_ms));
	json_add(o, "allow_metadata", json_new_number(cfg->allow_metadata ? 1 : 0));
	json_add(o, "user", json_new_string(cfg->user ? cfg->user : ""));
	json_add(o, "log_level", json_new_string(cfg->log_level ? cfg->log_level : "info"));
	struct json *lines = json_new(JSON_OBJECT);
	for (size_t i = 0; i < cfg->nvars; i++) {
		json_add(vars, cfg->vars[i].key, json_new_string(cfg->vars[i].value));
		json_add(lines, cfg->vars[i].key, json_new_number(cfg->vars[i].line));
	}
	json_add(o, "vars", vars);
	json_add(o, "var_lines", lines);
	json_add(o, "config", json_new_string(cfg->path ? cfg->path : "(defaults)"));
	if (cfg->nreporters == 0)
		json_add(reps, NULL, json_new_string("stdout"));
	for (size_t i = 0; i < cfg->nreporters; i++)
		json_add(reps, NULL, json_new_string(cfg->reporters[i].name));
	json_add(o, "reporters", reps);
	char *s = json_print(o, false);
	json_free(o);
	return s;
}

volatile uint32_t *
worker_box_new(int *fd)
{
	*fd = memfd_create("drishti-box", MFD_CLOEXEC);
	if (*fd < 0)
		return NULL;
	void *p = MAP_FAILED;
	if (ftruncate(*fd, sizeof(uint32_t)) == 0)
		p = mmap(NULL, sizeof(uint32_t), PROT_READ | PROT_WRITE, MAP_SHARED, *fd, 0);
	if (p == MAP_FAILED) {
		close(*fd);
		*fd = -1;
		return NULL;
	}
	return p;
}

void
worker_box_free(volatile uint32_t *box, int fd)
{
	if (box != NULL)
		munmap((void *)(uintptr_t)box, sizeof(uint32_t));
	if (fd >= 0)
		close(fd);
}

int
worker_spawn(const char *file, const struct config *cfg, int box_fd, pid_t *pid, int *fd,
    char *err, size_t errlen)
{
	int sv[2];
	char *init = init_message(file, cfg);

	if (init == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		snprintf(err, errlen, "socketpair: %s", strerror(errno));
		free(init);
		return -1;
	}
	int big = 1 << 20;
	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
	setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
	fflush(NULL);
	long maxfd = priv_fd_limit();
	pid_t p = fork();
	if (p < 0) {
		snprintf(err, errlen, "fork: %s", strerror(errno));
		close(sv[0]);
		close(sv[1]);
		free(init);
		return -1;
	}
	if (p == 0) {
		/* the child: fd 3 is the socket, 0 and 1 are /dev/null, 2 stays */
		sigset_t all;
		sigemptyset(&all);
		sigprocmask(SIG_SETMASK, &all, NULL);
		int null = open("/dev/null", O_RDWR);
		if (null >= 0) {
			dup2(null, 0);
			dup2(null, 1);
		}
		if (dup2(sv[1], WORKER_FD) < 0)
			_exit(127);
		if (box_fd < 0)
			close(WORKER_BOX_FD);
		else if (box_fd == WORKER_BOX_FD ? fcntl(box_fd, F_SETFD, 0) < 0 :
		    dup2(box_fd, WORKER_BOX_FD) < 0)
			_exit(127);
		priv_close_above(WORKER_BOX_FD, maxfd);
		/* the file in argv is for ps(1) only; the real one comes in INIT */
		char *argv[] = { "drishti", "__worker", (char *)file, NULL };
		execv("/proc/self/exe", argv);
		_exit(127);
	}
	close(sv[1]);
	if (wire_send(sv[0], WIRE_INIT, 0, init, strlen(init)) < 0) {
		snprintf(err, errlen, "worker %s: %s", file, strerror(errno));
		free(init);
		close(sv[0]);
		kill(p, SIGKILL);
		*pid = p;
		*fd = -1;
		return -1;
	}
	free(init);
	fcntl(sv[0], F_SETFL, fcntl(sv[0], F_GETFL) | O_NONBLOCK);
	*pid = p;
	*fd = sv[0];
	return 0;
}

/* ---- the worker's side -------------------------------------------------------------- */

static int wfd = WORKER_FD;
static struct rule_file *wfile;

static void
sink(enum log_level level, const char *msg)
{
	wire_send(wfd, WIRE_LOG, (uint32_t)level, msg, strlen(msg));
}

static void
send_error(void *ud, const char *msg)
{
	(void)ud;
	wire_send(wfd, WIRE_LOADERR, 0, msg, strlen(msg));
}

struct req {
	uint32_t id;            /* the supervisor's run id */
	uint32_t windex;        /* the check's index here */
};

static struct wire_batch results = { .fd = WORKER_FD, .type = WIRE_RESULT };
static struct loop *wloop;
static loop_timer_id flush_t;

/* Runs in flight; when none has been for WORKER_IDLE_S, the memory of the
 * last burst goes back to the kernel (mem.c says why).  A second: checks
 * due every second keep their working set (trimming between such bursts
 * cost a third more CPU per check in page faults), a worker whose checks
 * run a minute apart holds nothing between them. */
#define WORKER_IDLE_S 1.0
static unsigned inflight;
static loop_timer_id idle_t;

static void
on_idle(struct loop *l, void *ud)
{
	(void)l;
	(void)ud;
	idle_t = 0;
	mem_trim();
}

static void
run_begins(void)
{
	inflight++;
	mem_busy(loop_now(wloop));
	loop_timer_cancel(wloop, idle_t);
	idle_t = 0;
}

static void
run_ends(void)
{
	if (inflight > 0 && --inflight == 0 && idle_t == 0)
		idle_t = loop_timer_at(wloop, loop_now(wloop) + WORKER_IDLE_S, on_idle, NULL);
}

static void
flush_results(struct loop *l, void *ud)
{
	(void)l;
	(void)ud;
	flush_t = 0;
	if (wire_batch_flush(&results) < 0)
		exit(0);                /* the supervisor is gone */
}

/* Results finished in one loop iteration go back in one message. */
static void
send_result(uint32_t id, uint32_t windex, const struct result *res)
{
	/* only the metrics used travel */
	size_t len = result_size(res);

	if (wire_batch_add(&results, id, &windex, sizeof windex, res, len) < 0)
		exit(0);
	if (flush_t == 0)
		flush_t = loop_timer_at(wloop, loop_now(wloop), flush_results, NULL);
	if (flush_t == 0)
		flush_results(wloop, NULL);
}

/* A test's hostile worker (DRISHTI_TEST_HOOKS set in the agent's
 * environment): a check named hook.wire.garbage, .short or .huge answers
 * with bytes that are no message, a truncated one or an oversized one,
 * instead of its result; hook.syscall makes a forbidden system call.  True
 * when it answered instead of the result. */
static bool
test_hook(const char *check)
{
	static char junk[WIRE_MAX + 4096];

	if (getenv("DRISHTI_TEST_HOOKS") == NULL)
		return false;
	if (strcmp(check, "hook.syscall") == 0) {
		/* a call no process of ours makes: the filter kills us here */
		syscall(SYS_swapoff, "/nonexistent");
		return false;
	}
	if (strncmp(check, "hook.wire.", 10) != 0)
		return false;
	const char *k = check + 10;
	size_t n = strcmp(k, "short") == 0 ? 3 : strcmp(k, "huge") == 0 ? sizeof junk : 200;
	for (size_t i = 0; i < n; i++)
		junk[i] = (char)(0xA5 ^ (i * 7));
	if (send(wfd, junk, n, MSG_NOSIGNAL) < 0)
		log_warn("test hook: %s", strerror(errno));
	return true;
}

static void
run_done(struct rule_run *run, const struct result *res, void *ud)
{
	struct req *q = ud;
	const char *doc = rules_run_doc(run);

	if (doc != NULL) {
		/* the document goes first, on its own: the RESULT that follows
		 * in the batch finds it waiting */
		size_t dl = strlen(doc);
		char *m = malloc(sizeof q->windex + dl);
		if (m != NULL) {
			memcpy(m, &q->windex, sizeof q->windex);
			memcpy(m + sizeof q->windex, doc, dl);
			if (wire_send(WORKER_FD, WIRE_REPORT, q->id, m,
			    sizeof q->windex + dl) < 0)
				log_error("report \"%s\": its document could not be sent: %s",
				    rules_run_check(run), strerror(errno));
			free(m);
		}
	}
	/* the check's log cursors, if a run moved one, go with its result:
	 * the supervisor writes both in one transaction */
	char *cj = rules_cursors_take(wfile, rules_run_check(run));
	if (cj != NULL) {
		size_t cl = strlen(cj);
		char *m = malloc(sizeof q->windex + cl);
		if (sizeof q->windex + cl > WIRE_MAX - sizeof(struct wire_hdr))
			log_warn("check \"%s\": %zu bytes of log cursors do not fit a message;"
			    " not saved", rules_run_check(run), cl);
		else if (m != NULL) {
			memcpy(m, &q->windex, sizeof q->windex);
			memcpy(m + sizeof q->windex, cj, cl);
			if (wire_send(WORKER_FD, WIRE_CURSORS, q->id, m, sizeof q->windex + cl) < 0)
				log_error("check \"%s\": its log cursors could not be sent: %s",
				    rules_run_check(run), strerror(errno));
		}
		free(m);
		free(cj);
	}
	run_ends();
	if (test_hook(rules_run_check(run))) {
		mem_free(q);
		return;
	}
	send_result(q->id, q->windex, res);
	mem_free(q);
}

static void
refuse(uint32_t id, uint32_t windex, const char *why)
{
	struct result r;

	memset(&r, 0, sizeof r);
	result_set(&r, ST_UNKNOWN, "%s", why);
	send_result(id, windex, &r);
}

static void
start_one(uint32_t id, const char *rec, size_t len)
{
	uint32_t windex;

	if (len < sizeof windex)
		return;
	memcpy(&windex, rec, sizeof windex);
	const char *name = rec + sizeof windex;
	size_t nl = len - sizeof windex;
	const struct rule_decl *d = rules_get(wfile, windex);
	if (d == NULL || strlen(d->name) != nl || memcmp(d->name, name, nl) != 0) {
		refuse(id, windex, "no such check in this worker");
		return;
	}
	struct req *q = mem_alloc(sizeof *q);
	if (q == NULL) {
		refuse(id, windex, "out of memory");
		return;
	}
	q->id = id;
	q->windex = windex;
	run_begins();
	struct rule_run *run = rules_start(wfile, d, run_done, q);
	if (run == NULL) {
		run_ends();
		mem_free(q);
		refuse(id, windex, "could not start the run");
	} else
		rules_run_tag(run, id);     /* its first step runs later, from the loop */
}

static int
ask_history(void *ud, uint32_t id, const struct hist_req *q)
{
	(void)ud;
	return wire_send(wfd, WIRE_HISTORY, id, q, sizeof *q);
}

static void
on_request(struct loop *l, int fd, uint32_t events, void *ud)
{
	static char buf[WIRE_MAX];
	struct wire_hdr h;
	size_t len, off = 0, rlen;
	uint32_t id;
	const char *rec;

	(void)events;
	(void)ud;
	int rc = wire_recv(fd, &h, buf, &len);
	if (rc < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return;
	if (rc <= 0) {
		loop_stop(l);           /* EOF: the supervisor said goodbye */
		return;
	}
	if (h.type == WIRE_ANSWER) {
		static struct hist_ans a;
		memset(&a, 0, offsetof(struct hist_ans, list));
		memcpy(&a, buf, len < sizeof a ? len : sizeof a);
		if (a.list_len < 0 || (size_t)a.list_len > len - offsetof(struct hist_ans, list) ||
		    len < offsetof(struct hist_ans, list))
			a.list_len = 0;
		rules_history_answer(h.id, &a);
		return;
	}
	if (h.type == WIRE_SEEK) {
		const struct rule_decl *d = rules_get(wfile, h.id);
		if (d != NULL)
			rules_cursors_seek(wfile, d->name, buf, len);
		return;
	}
	if (h.type != WIRE_RUN)
		return;
	while (wire_batch_next(buf, len, &off, &id, &rec, &rlen))
		start_one(id, rec, rlen);
}

int
worker_main(void)
{
	static char buf[WIRE_MAX];
	struct wire_hdr h;
	size_t len;
	char err[512];
	struct json *init = NULL;
	int status = 70;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	prctl(PR_SET_NAME, "drishti-worker");  /* not "exe", from /proc/self/exe */
	if (getppid() == 1)
		return 70;              /* the supervisor died before we started */
	if (wire_recv(wfd, &h, buf, &len) <= 0 || h.type != WIRE_INIT) {
		fprintf(stderr, "drishti worker: no settings from the supervisor\n");
		return 70;
	}
	init = json_parse(buf, len, err, sizeof err);
	if (init == NULL || json_type(init) != JSON_OBJECT) {
		fprintf(stderr, "drishti worker: bad settings: %s\n", err);
		json_free(init);
		return 70;
	}
	char *file = jstr(init, "file"), *read_paths = jstr(init, "read_paths");
	char *exec = jstr(init, "exec");
	char *user = jstr(init, "user"), *level = jstr(init, "log_level");
	enum log_level lv = LOG_LVL_INFO;
	if (level != NULL)
		log_level_parse(level, &lv);
	log_set_level(lv);
	log_set_sink(sink);

	/* vars and reporter names, as the rule host wants them */
	size_t nvars = 0, nreps = 0;
	const struct json *jv = json_get(init, "vars"), *jr = json_get(init, "reporters");
	for (const struct json *c = jv ? json_child(jv) : NULL; c; c = json_next(c))
		nvars++;
	for (const struct json *c = jr ? json_child(jr) : NULL; c; c = json_next(c))
		nreps++;
	struct config_var *vars = calloc(nvars + 1, sizeof *vars);
	const char **reps = calloc(nreps + 1, sizeof *reps);
	size_t i = 0;
	for (const struct json *c = jv ? json_child(jv) : NULL; vars && c; c = json_next(c), i++) {
		vars[i].key = (char *)json_key(c);
		vars[i].value = (char *)(json_type(c) == JSON_STRING ? json_string(c) : "");
		const struct json *vl = json_get(init, "var_lines");
		vars[i].line = vl != NULL ? (int)jnum(vl, vars[i].key) : 0;
	}
	i = 0;
	for (const struct json *c = jr ? json_child(jr) : NULL; reps && c; c = json_next(c))
		if (json_type(c) == JSON_STRING)
			reps[i++] = json_string(c);

	char reads[8192], execs[4096];
	snprintf(reads, sizeof reads, "%s,%s", file ? file : "", read_paths ? read_paths : "");
	rules_exec_dirs(exec, execs, sizeof execs);
	int ll = 0;
	if (file == NULL || vars == NULL || reps == NULL ||
	    priv_drop(priv_user(user), err, sizeof err) < 0 ||
	    priv_no_new_privs(err, sizeof err) < 0 ||
	    (ll = priv_landlock_readonly(reads, execs, err, sizeof err)) < 0) {
		if (file == NULL || vars == NULL || reps == NULL)
			snprintf(err, sizeof err, "bad settings");
		log_error("worker %s: %s", file ? file : "?", err);
		send_error(NULL, err);
		wire_send(wfd, WIRE_LOADED, 1, NULL, 0);
		goto out;
	}
	if (ll == 0)
		log_debug("worker %s: no Landlock in this kernel; file access is not confined", file);

	struct loop *loop = loop_new();
	wloop = loop;
	if (loop == NULL || http_init(loop, err, sizeof err) < 0) {
		send_error(NULL, loop ? err : "cannot make an event loop");
		wire_send(wfd, WIRE_LOADED, 1, NULL, 0);
		loop_free(loop);
		goto out;
	}
	struct rules_env env = {
		.loop = loop, .read_paths = read_paths, .exec = exec, .vars = vars, .nvars = nvars,
		.allow_metadata = jnum(init, "allow_metadata") != 0,
		.config_path = json_get(init, "config") ? json_string(json_get(init, "config")) : NULL,
		.reporters = reps, .nreporters = i,
		.memory = (uint64_t)jnum(init, "memory"),
		.instructions = (uint64_t)jnum(init, "instructions"),
		.timeout_ms = (int64_t)jnum(init, "timeout_ms"),
		.cpu_ms = (int64_t)jnum(init, "cpu_ms"),
		.on_error = send_error,
		.history = ask_history,
	};
	/* the CPU budget and the black box; before any rule code runs */
	volatile uint32_t *box = NULL;
	if (fcntl(WORKER_BOX_FD, F_GETFD) >= 0) {
		void *p = mmap(NULL, sizeof(uint32_t), PROT_READ | PROT_WRITE, MAP_SHARED,
		    WORKER_BOX_FD, 0);
		box = p != MAP_FAILED ? p : NULL;
	}
	if (sb_cpu_setup(box, env.cpu_ms > 0, err, sizeof err) < 0) {
		log_warn("worker %s: %s; no CPU budget", file, err);
		env.cpu_ms = 0;
	}
	wfile = rules_load(file, &env);
	if (wfile == NULL) {
		wire_send(wfd, WIRE_LOADED, 1, NULL, 0);
		status = 78;
	} else {
		for (size_t k = 0; k < rules_count(wfile); k++) {
			char *s = worker_decl_encode(rules_get(wfile, k));
			if (s == NULL || wire_send(wfd, WIRE_DECL, 0, s, strlen(s)) < 0) {
				free(s);
				goto done;
			}
			free(s);
		}
		wire_send(wfd, WIRE_LOADED, 0, NULL, 0);
		if (loop_fd_add(loop, wfd, LOOP_IN, on_request, NULL) == 0)
			loop_run(loop);
		status = 0;
	}
done:
	rules_free(wfile);
	loop_timer_cancel(loop, flush_t);
	flush_t = 0;
	http_shutdown();
	loop_free(loop);
out:
	log_set_sink(NULL);
	free(vars);
	free(reps);
	free(file);
	free(read_paths);
	free(exec);
	free(user);
	free(level);
	json_free(init);
	return status;
}
