/* parent.c — `drishti run`: the parent process (DESIGN §9).
 *
 * It is the only process that may stay root, so it does little: reads the
 * config (the text is what every role loads, so all agree) and the
 * reporters' secret files, takes the state file's lock, makes the
 * directories the roles write and gives them to the agent's user, then
 * forks and execs two roles as that user and restarts either when it dies:
 *
 *   state     (state.c)    the state file, alert state, the scheduler and the
 *                          rule workers; no secrets
 *   delivery  (delivery.c) the reporters, curl and TLS, and the secrets
 *
 * Each gets only its own socket to the parent (fd 3; the state role also
 * the lock, fd 4) and a socket to the other, made here and handed to both
 * (MSG_PEER), again after either restarts.  Messages are msg.h's: typed,
 * length-checked, and a malformed one drops (kills) the role.
 *
 * SIGHUP: the log is reopened and handed on, the config read again and, if
 * it is good, sent to the state role (MSG_RELOAD); when that role has taken
 * it (MSG_RELOADED), the delivery role is replaced by one with the new
 * config and secrets.  SIGTERM / SIGINT: both roles are told to stop and
 * given the grace the state role needs for runs in flight. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "cli.h"
#include "clock.h"
#include "config.h"
#include "crypto.h"
#include "file.h"
#include "log.h"
#include "loop.h"
#include "msg.h"
#include "priv.h"
#include "sdnotify.h"
#include "secret.h"
#include "store.h"

#define STOP_WAIT 15.0          /* seconds the roles get to stop (the state role's grace + 5) */
#define RESTART_MIN 0.2         /* seconds before a dead role's first restart */
#define RESTART_MAX 30.0
#define RESTART_CALM 60.0       /* a role that lived this long starts its backoff afresh */

enum role_state { RS_DOWN, RS_WAITING, RS_UP, RS_STOPPING };

struct parent;

struct child {
	struct parent *p;
	enum role which;
	enum role_state st;
	pid_t   pid;
	struct msg_conn *conn;
	double  started;
	int     fails;              /* deaths in a row, for the backoff */
	bool    replace;            /* stopped on purpose: start the next at once */
	loop_timer_id restart_t;
	int     exit_code;
};

/* A config as the roles get it: text, the parsed form, the secrets. */
struct gen {
	uint32_t n;
	char   *path;               /* "" for the built-in defaults */
	char   *text;
	size_t  len;
	struct config cfg;
	struct secret_files *files;
	size_t  nfiles;
};

struct parent {
	struct loop *loop;
	struct gen cur, next;       /* next: a reload the state role is loading */
	bool    have_next;
	struct child roles[ROLE__N];
	const char *given;
	bool    allow_root;
	bool    drop;               /* started as root: roles become user */
	uid_t   uid;
	gid_t   gid;
	char    user[64];
	int     lock_fd;
	bool    stopping;
	loop_timer_id kill_t;
	int     exit_code;
};

static void spawn(struct parent *p, struct child *r);

/* ---- configs -------------------------------------------------------------------- */

static void
gen_free(struct gen *g)
{
	for (size_t i = 0; i < g->nfiles; i++)
		secret_files_free(&g->files[i]);
	free(g->files);
	if (g->path != NULL)
		config_free(&g->cfg);
	free(g->path);
	free(g->text);
	memset(g, 0, sizeof *g);
}

/* Reads and checks the config and reads every secret it names.  0, or -1
 * with err. */
static int
gen_load(struct gen *g, const char *given, char *err, size_t errlen)
{
	const char *path = config_find(given);

	memset(g, 0, sizeof *g);
	if (path == NULL) {
		if (config_defaults(&g->cfg, err, errlen) < 0) {
			config_free(&g->cfg);
			return -1;
		}
		g->text = strdup("");
	} else {
		if (file_read(path, FILE_CONFIG_MAX, &g->text, &g->len, err, errlen) < 0)
			return -1;
		if (config_load_text(&g->cfg, path, g->text, g->len, true, err, errlen) < 0) {
			free(g->text);
			g->text = NULL;
			return -1;
		}
	}
	g->path = strdup(path ? path : "");
	g->nfiles = g->cfg.nreporters ? g->cfg.nreporters : 1;
	g->files = calloc(g->nfiles, sizeof *g->files);
	if (g->path == NULL || g->text == NULL || g->files == NULL) {
		snprintf(err, errlen, "out of memory");
		gen_free(g);
		return -1;
	}
	for (size_t i = 0; i < g->cfg.nreporters; i++)
		if (secret_files_load(&g->cfg.reporters[i], &g->files[i], err, errlen) < 0) {
			gen_free(g);
			return -1;
		}
	return 0;
}

/* ---- the user and the places the roles write --------------------------------------- */

static int
pick_user(struct parent *p, const struct config *cfg)
{
	const char *want = cfg->user && *cfg->user ? cfg->user : "drishti";
	struct passwd *pw;

	if (geteuid() != 0) {
		/* not root: everything runs as who started us, confined the same */
		p->drop = false;
		p->uid = geteuid();
		p->gid = getegid();
		pw = getpwuid(p->uid);
		snprintf(p->user, sizeof p->user, "%s", pw ? pw->pw_name : "(this user)");
		return 0;
	}
	pw = getpwnam(want);
	if (pw == NULL && !(cfg->user && *cfg->user)) {
		pw = getpwnam("nobody");
		if (pw != NULL)
			log_warn("[agent] user: there is no user \"drishti\"; the roles and rules run as"
			    " \"nobody\" (make a user drishti, or set [agent] user)");
	}
	if (pw == NULL) {
		log_error("%s: [agent] user: no user \"%s\"", cfg->path ? cfg->path : "(defaults)", want);
		return -1;
	}
	if (pw->pw_uid == 0) {
		if (!p->allow_root) {
			log_error("%s: [agent] user = %s: refusing to run the roles and rules as root"
			    " (use an unprivileged user; `drishti run --allow-root` overrides)",
			    cfg->path ? cfg->path : "(defaults)", want);
			return -1;
		}
		log_warn("RUNNING AS ROOT: --allow-root with [agent] user = %s: the state and delivery"
		    " roles and every rule run with root's privileges; a bug in a rule or a"
		    " library is then root's", want);
	}
	p->drop = pw->pw_uid != 0;
	p->uid = pw->pw_uid;
	p->gid = pw->pw_gid;
	snprintf(p->user, sizeof p->user, "%s", pw->pw_name);
	return 0;
}

/* dir of path ("." for a bare name) */
static void
dir_of(const char *path, char *out, size_t len)
{
	const char *sl = strrchr(path, '/');

	if (sl == NULL)
		snprintf(out, len, ".");
	else
		snprintf(out, len, "%.*s", sl == path ? 1 : (int)(sl - path), path);
}

/* A directory a role writes: made if missing (the user's), and where it is
 * ours to give (the state directory) handed to the user.  Another one the
 * user cannot write is said once, here, with the fix. */
static void
prepare_dir(struct parent *p, const char *dir, bool ours, const char *what)
{
	struct stat st;

	if (*dir == '\0')
		return;
	bool made = stat(dir, &st) < 0;
	/* the parents it makes are open to pass through; the place itself is
	 * the user's */
	if (made && (file_mkdirs(dir, 0755) < 0 || (ours && chmod(dir, 0750) < 0))) {
		log_error("%s: cannot make %s: %s", what, dir, strerror(errno));
		return;
	}
	if (!p->drop)
		return;
	if ((made || ours) && stat(dir, &st) == 0 && st.st_uid != p->uid &&
	    chown(dir, p->uid, p->gid) < 0)
		log_error("%s: cannot give %s to user %s: %s", what, dir, p->user, strerror(errno));
	if (!made && !ours && stat(dir, &st) == 0 && !(st.st_uid == p->uid && (st.st_mode & 0200)) &&
	    !(st.st_mode & 0002) && !(st.st_gid == p->gid && (st.st_mode & 0020)))
		log_warn("%s: user %s cannot write %s: writes there will fail (chown %s %s, or"
		    " chgrp and chmod g+w)", what, p->user, dir, p->user, dir);
}

static void
prepare(struct parent *p, const struct config *cfg)
{
	char dir[PATH_MAX];

	dir_of(cfg->state, dir, sizeof dir);
	prepare_dir(p, dir, true, "[agent] state");
	if (p->drop) {
		/* the state file made now, empty (SQLite's new database) and the
		 * user's: nothing run as root before the state role opens it
		 * (`drishti status`, sqlite3) can make it root's */
		int nf = open(cfg->state, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0640);
		if (nf >= 0) {
			if (fchown(nf, p->uid, p->gid) < 0)
				log_error("[agent] state: cannot give %s to user %s: %s", cfg->state,
				    p->user, strerror(errno));
			close(nf);
		}
		/* a state file made by an older drishti, which ran as root */
		static const char *const suffixes[] = { "", "-wal", "-shm", "-journal", ".lock" };
		for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
			char f[PATH_MAX + 16];
			struct stat st;
			snprintf(f, sizeof f, "%s%s", cfg->state, suffixes[i]);
			if (lstat(f, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid != p->uid &&
			    chown(f, p->uid, p->gid) < 0)
				log_error("[agent] state: cannot give %s to user %s: %s", f, p->user,
				    strerror(errno));
		}
	}
	if (cfg->textfile && *cfg->textfile) {
		dir_of(cfg->textfile, dir, sizeof dir);
		prepare_dir(p, dir, false, "[output] textfile");
	}
	if (cfg->status_page && *cfg->status_page)
		prepare_dir(p, cfg->status_page, false, "[output] status_page");
	for (size_t i = 0; i < cfg->nreporters; i++)
		if (strcmp(cfg->reporters[i].type, "file") == 0 && *cfg->reporters[i].path) {
			dir_of(cfg->reporters[i].path, dir, sizeof dir);
			prepare_dir(p, dir, false, "[reporter] path");
		}
}

/* ---- talking to the roles --------------------------------------------------------------- */

static void
send_config(struct child *r, const struct gen *g, enum msg_type type)
{
	struct msg m;

	m_init(&m, type);
	m_add_u32(&m, g->n);
	m_add_str(&m, g->path);
	m_add_data(&m, g->text, g->len);
	msg_send(r->conn, &m);
}

static void
send_secrets(struct child *r, const struct gen *g)
{
	for (size_t i = 0; i < g->cfg.nreporters; i++) {
		const struct secret_files *f = &g->files[i];
		struct msg m;
		m_init(&m, MSG_SECRET);
		m_add_u32(&m, (uint32_t)i);
		m_add_data(&m, f->secret, f->secret ? f->secret_len : 0);
		m_add_str(&m, f->password);
		m_add_str(&m, f->tmpl);
		m_add_u32(&m, (uint32_t)f->nheaders);
		for (size_t k = 0; k < f->nheaders; k++)
			m_add_str(&m, f->headers[k]);
		msg_send(r->conn, &m);
	}
}

static void
send_plain(struct child *r, enum msg_type type)
{
	struct msg m;

	m_init(&m, type);
	msg_send(r->conn, &m);
}

/* A fresh socket between the state and delivery roles, to both. */
static void
link_roles(struct parent *p)
{
	struct child *s = &p->roles[ROLE_STATE], *d = &p->roles[ROLE_DELIVERY];
	int sv[2];

	if (s->st != RS_UP || d->st != RS_UP || !msg_conn_alive(s->conn) || !msg_conn_alive(d->conn))
		return;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		log_error("socketpair: %s", strerror(errno));
		return;
	}
	struct msg m;
	m_init(&m, MSG_PEER);
	m.fd = sv[0];
	msg_send(s->conn, &m);
	m_init(&m, MSG_PEER);
	m.fd = sv[1];
	msg_send(d->conn, &m);
	close(sv[0]);
	close(sv[1]);
}

static void
kill_role(struct child *r, int sig)
{
	if (r->pid > 0)
		kill(r->pid, sig);
}

static void
adopt_next(struct parent *p)
{
	gen_free(&p->cur);
	p->cur = p->next;
	memset(&p->next, 0, sizeof p->next);
	p->have_next = false;
}

static int
on_role_msg(struct msg_conn *c, struct msg *m, void *ud)
{
	struct child *r = ud;
	struct parent *p = r->p;
	uint32_t gen, ok;

	(void)c;
	if (r->which == ROLE_STATE && m->type == MSG_NOTIFY) {
		const char *st;
		if (m_get_str(m, &st, 32) < 0 || m_end(m) < 0 || !sdnotify_known(st))
			return -1;
		sdnotify_send(st);
		return 0;
	}
	if (r->which != ROLE_STATE || m->type != MSG_RELOADED)
		return -1;
	if (m_get_u32(m, &gen) < 0 || m_get_u32(m, &ok) < 0 || m_end(m) < 0)
		return -1;
	if (!p->have_next || gen != p->next.n)
		return 0;                   /* a reload of the rules alone */
	if (!ok) {
		gen_free(&p->next);
		p->have_next = false;
		return 0;
	}
	adopt_next(p);
	/* the delivery role follows: a new one, with the new reporters */
	struct child *d = &p->roles[ROLE_DELIVERY];
	if (d->st == RS_UP) {
		d->replace = true;
		d->st = RS_STOPPING;
		send_plain(d, MSG_STOP);
		kill_role(d, SIGTERM);
	}
	return 0;
}

static void
on_role_gone(struct msg_conn *c, const char *why, void *ud)
{
	struct child *r = ud;

	(void)c;
	/* a role that spoke out of turn, or closed its socket: it goes; its
	 * death (SIGCHLD) restarts it */
	if (r->st == RS_UP && r->pid > 0 && !r->p->stopping) {
		/* its socket closed as it dies: SIGCHLD follows with its status.
		 * Anything else is a fault of its own: it goes */
		if (strstr(why, "closed") != NULL)
			return;
		log_error("%s role: %s; killing it", priv_role_name(r->which), why);
		kill_role(r, SIGKILL);
	}
}

/* ---- starting, reaping, restarting -------------------------------------------------------- */

static void
on_restart(struct loop *l, void *ud)
{
	struct child *r = ud;
	struct parent *p = r->p;

	(void)l;
	r->restart_t = 0;
	if (!p->stopping)
		spawn(p, r);
}

static void
spawn(struct parent *p, struct child *r)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		log_error("socketpair: %s", strerror(errno));
		r->st = RS_WAITING;
		r->restart_t = loop_timer_at(p->loop, loop_update_now(p->loop) + RESTART_MAX,
		    on_restart, r);
		return;
	}
	long maxfd = priv_fd_limit();
	int logfd = log_fd();
	const char *arg = r->which == ROLE_STATE ? "__state" : "__delivery";
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid == 0) {
		/* the child: system calls only, then exec */
		/* out of the way first (either may sit on 3 or 4), then into
		 * place: dup2 onto another number also clears close-on-exec */
		int sock = fcntl(sv[1], F_DUPFD, 10);
		int lock = r->which == ROLE_STATE && p->lock_fd >= 0 ? fcntl(p->lock_fd, F_DUPFD, 10) : -1;
		if (logfd >= 0)
			dup2(logfd, STDERR_FILENO);
		if (sock < 0 || dup2(sock, ROLE_FD_PARENT) < 0)
			_exit(70);
		if (lock >= 0) {
			if (dup2(lock, ROLE_FD_LOCK) < 0)
				_exit(70);
		} else
			close(ROLE_FD_LOCK);
		priv_close_above(ROLE_FD_LOCK, maxfd);
		if (p->drop && (setgroups(0, NULL) < 0 || initgroups(p->user, p->gid) < 0 ||
		    setgid(p->gid) < 0 || setuid(p->uid) < 0 || setuid(0) == 0))
			_exit(71);
		prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
		/* the agent killed (-9) is the whole agent gone at once, as it was
		 * in one process: a role does not outlive its parent and hold the
		 * lock against the next start.  Set after setuid, which clears it */
		prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
		if (getppid() != parent)
			_exit(73);
		signal(SIGPIPE, SIG_DFL);
		/* sd_notify is the parent's (MSG_NOTIFY relays the state
		 * role's); systemd's watchdog is the state role's to feed */
		unsetenv("NOTIFY_SOCKET");
		if (r->which == ROLE_STATE && getenv("WATCHDOG_USEC") != NULL) {
			char pidbuf[24];
			snprintf(pidbuf, sizeof pidbuf, "%ld", (long)getpid());
			setenv("WATCHDOG_PID", pidbuf, 1);
		} else {
			unsetenv("WATCHDOG_USEC");
			unsetenv("WATCHDOG_PID");
		}
		char *argv[] = { "drishti", (char *)arg, NULL };
		execv("/proc/self/exe", argv);
		_exit(72);
	}
	close(sv[1]);
	if (pid < 0) {
		log_error("fork: %s", strerror(errno));
		close(sv[0]);
		r->st = RS_WAITING;
		r->restart_t = loop_timer_at(p->loop, loop_update_now(p->loop) + RESTART_MAX,
		    on_restart, r);
		return;
	}
	r->pid = pid;
	r->st = RS_UP;
	r->started = clock_mono();
	r->replace = false;
	r->conn = msg_conn_new(p->loop, sv[0], priv_role_name(r->which), on_role_msg, on_role_gone,
	    r);
	if (r->conn == NULL) {
		close(sv[0]);
		kill_role(r, SIGKILL);
		return;
	}
	/* the state role loads the config it is running; a reload in flight
	 * is sent again once it is up */
	send_config(r, &p->cur, MSG_CONFIG);
	if (r->which == ROLE_DELIVERY)
		send_secrets(r, &p->cur);
	link_roles(p);
	send_plain(r, MSG_GO);
	log_debug("%s role started (pid %ld, user %s)", priv_role_name(r->which), (long)pid,
	    p->user);
}

static void
stopped_all(struct parent *p)
{
	for (int i = ROLE_STATE; i <= ROLE_DELIVERY; i++)
		if (p->roles[i].pid > 0)
			return;
	loop_stop(p->loop);
}

static void
reaped(struct parent *p, struct child *r, int status)
{
	double lived = clock_mono() - r->started;
	long pid = (long)r->pid;
	char how[64];

	msg_conn_free(r->conn);
	r->conn = NULL;
	r->pid = 0;
	if (WIFSIGNALED(status))
		snprintf(how, sizeof how, "was killed by signal %d (%s)", WTERMSIG(status),
		    strsignal(WTERMSIG(status)));
	else
		snprintf(how, sizeof how, "exited with status %d", WEXITSTATUS(status));
	if (p->stopping) {
		if (r->which == ROLE_STATE && WIFEXITED(status))
			p->exit_code = WEXITSTATUS(status);
		r->st = RS_DOWN;
		stopped_all(p);
		return;
	}
	if (r->replace) {           /* a reload's new delivery role */
		spawn(p, r);
		return;
	}
	/* a role that could not start for a reason a restart cannot mend (a
	 * config error, a lock held): the agent stops and says so */
	if (WIFEXITED(status) && (WEXITSTATUS(status) == EXIT_CONFIG ||
	    WEXITSTATUS(status) == EXIT_UNAVAILABLE || WEXITSTATUS(status) == EXIT_TEMPFAIL) &&
	    lived < RESTART_CALM) {
		log_error("%s role %s; stopping", priv_role_name(r->which), how);
		p->exit_code = WEXITSTATUS(status);
		r->st = RS_DOWN;
		p->stopping = true;
		for (int i = ROLE_STATE; i <= ROLE_DELIVERY; i++)
			kill_role(&p->roles[i], SIGTERM);
		stopped_all(p);
		return;
	}
	if (lived >= RESTART_CALM)
		r->fails = 0;
	double wait = RESTART_MIN;
	for (int i = 0; i < r->fails && wait < RESTART_MAX; i++)
		wait *= 2;
	if (wait > RESTART_MAX)
		wait = RESTART_MAX;
	r->fails++;
	log_error("%s role (pid %ld) %s; restarting it in %.1f s", priv_role_name(r->which),
	    pid, how, wait);
	r->st = RS_WAITING;
	r->restart_t = loop_timer_at(p->loop, loop_update_now(p->loop) + wait, on_restart, r);
}

static void
on_chld(struct loop *l, void *ud)
{
	struct parent *p = ud;
	int status;
	pid_t pid;

	(void)l;
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
		for (int i = ROLE_STATE; i <= ROLE_DELIVERY; i++)
			if (p->roles[i].pid == pid)
				reaped(p, &p->roles[i], status);
}

static void
on_kill(struct loop *l, void *ud)
{
	struct parent *p = ud;

	(void)l;
	p->kill_t = 0;
	for (int i = ROLE_STATE; i <= ROLE_DELIVERY; i++)
		if (p->roles[i].pid > 0) {
			log_error("%s role did not stop in %.0f s; killing it",
			    priv_role_name((enum role)i), STOP_WAIT);
			kill_role(&p->roles[i], SIGKILL);
		}
}

static void
on_term(struct loop *l, void *ud)
{
	struct parent *p = ud;

	if (p->stopping) {
		/* a second signal: now */
		for (int i = ROLE_STATE; i <= ROLE_DELIVERY; i++)
			kill_role(&p->roles[i], SIGTERM);
		return;
	}
	p->stopping = true;
	for (int i = ROLE_STATE; i <= ROLE_DELIVERY; i++) {
		struct child *r = &p->roles[i];
		loop_timer_cancel(l, r->restart_t);
		r->restart_t = 0;
		kill_role(r, SIGTERM);
	}
	p->kill_t = loop_timer_at(l, loop_update_now(l) + STOP_WAIT, on_kill, p);
	stopped_all(p);
}

static void
on_hup(struct loop *l, void *ud)
{
	struct parent *p = ud;
	char err[1024];

	(void)l;
	/* logrotate's postrotate sends SIGHUP: the log first, for everyone */
	if (log_reopen(err, sizeof err) < 0)
		log_error("%s", err);
	else if (log_fd() >= 0)
		for (int i = ROLE_STATE; i <= ROLE_DELIVERY; i++)
			if (msg_conn_alive(p->roles[i].conn)) {
				struct msg m;
				m_init(&m, MSG_LOGFD);
				m.fd = log_fd();
				msg_send(p->roles[i].conn, &m);
			}
	if (p->stopping)
		return;
	struct gen g;
	if (gen_load(&g, p->given, err, sizeof err) < 0) {
		log_error("reload failed: %s; still running the previous config", err);
		return;
	}
	if (strcmp(g.cfg.state, p->cur.cfg.state) != 0)
		log_warn("[agent] state changed; still using %s until a restart", p->cur.cfg.state);
	prepare(p, &g.cfg);
	if (p->have_next)
		gen_free(&p->next);
	g.n = p->cur.n + 1;
	p->next = g;
	p->have_next = true;
	struct child *s = &p->roles[ROLE_STATE];
	if (s->st == RS_UP && msg_conn_alive(s->conn))
		send_config(s, &p->next, MSG_RELOAD);
	else {
		/* no state role to ask: the next ones start on it */
		adopt_next(p);
		struct child *d = &p->roles[ROLE_DELIVERY];
		if (d->st == RS_UP) {
			d->replace = true;
			d->st = RS_STOPPING;
			kill_role(d, SIGTERM);
		}
	}
}

/* test hook: DRISHTI_TEST_HOOKS set and SIGUSR1 (state) or SIGUSR2
 * (delivery): that role makes a forbidden system call */
static void
on_usr(struct parent *p, struct child *r)
{
	struct msg m;

	(void)p;
	m_init(&m, MSG_HOOK);
	m_add_str(&m, "syscall");
	msg_send(r->conn, &m);
}

static void
on_usr1(struct loop *l, void *ud)
{
	struct parent *p = ud;

	(void)l;
	on_usr(p, &p->roles[ROLE_STATE]);
}

static void
on_usr2(struct loop *l, void *ud)
{
	struct parent *p = ud;

	(void)l;
	on_usr(p, &p->roles[ROLE_DELIVERY]);
}

/* ---- the command ------------------------------------------------------------------- */

int
cli_run(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' }, { "help", no_argument, NULL, 'h' },
		{ "allow-root", no_argument, NULL, 'R' }, { NULL, 0, NULL, 0 } };
	static const char usage[] = "usage: drishti run [-c FILE] [--allow-root]\n";
	struct parent p;
	char err[1024];
	int ch;

	memset(&p, 0, sizeof p);
	p.lock_fd = -1;
	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "+c:h", longopts, NULL)) != -1) {
		if (ch == 'c')
			p.given = optarg;
		else if (ch == 'R')
			p.allow_root = true;
		else if (ch == 'h') {
			printf("%s", usage);
			return 0;
		} else {
			fprintf(stderr, "drishti run: unknown option \"%s\"\n%s", argv[optind - 1], usage);
			return EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "drishti run: takes no arguments\n%s", usage);
		return EXIT_USAGE;
	}
	/* the config once for the log, then whole with the secrets */
	struct config boot;
	memset(&boot, 0, sizeof boot);
	if (cli_config(p.given, &boot) < 0)
		return EXIT_CONFIG;
	config_free(&boot);
	if (gen_load(&p.cur, p.given, err, sizeof err) < 0) {
		log_error("%s", err);
		if (log_fd() >= 0)
			fprintf(stderr, "drishti: %s\n", err);
		log_close();
		return EXIT_CONFIG;
	}
	p.cur.n = 1;
	signal(SIGPIPE, SIG_IGN);
	if (pick_user(&p, &p.cur.cfg) < 0) {
		gen_free(&p.cur);
		log_close();
		return EXIT_CONFIG;
	}
	prepare(&p, &p.cur.cfg);
	/* one agent per state file, before the file is touched; the state
	 * role holds the lock too (fd 4), so it outlives a killed parent */
	int lrc = store_lock(p.cur.cfg.state, &p.lock_fd, err, sizeof err);
	if (lrc < 0) {
		log_error("%s", err);
		if (log_fd() >= 0)
			fprintf(stderr, "drishti: %s\n", err);   /* who started us must see it */
		gen_free(&p.cur);
		log_close();
		return lrc == -2 ? EXIT_TEMPFAIL : EXIT_UNAVAILABLE;
	}
	if (p.drop && fchown(p.lock_fd, p.uid, p.gid) < 0)
		log_warn("[agent] state: cannot give the lock file to user %s: %s", p.user,
		    strerror(errno));
	p.loop = loop_new();
	if (p.loop == NULL) {
		close(p.lock_fd);
		gen_free(&p.cur);
		return EXIT_UNAVAILABLE;
	}
	sdnotify_open();
	loop_signal(p.loop, SIGCHLD, on_chld, &p);
	loop_signal(p.loop, SIGTERM, on_term, &p);
	loop_signal(p.loop, SIGINT, on_term, &p);
	loop_signal(p.loop, SIGHUP, on_hup, &p);
	if (getenv("DRISHTI_TEST_HOOKS") != NULL) {
		loop_signal(p.loop, SIGUSR1, on_usr1, &p);
		loop_signal(p.loop, SIGUSR2, on_usr2, &p);
	}
	log_info("starting as %s: state and delivery roles run as %s", geteuid() == 0 ? "root" :
	    p.user, p.user);
	for (int i = ROLE_STATE; i <= ROLE_DELIVERY; i++) {
		p.roles[i].which = (enum role)i;
		p.roles[i].p = &p;
		spawn(&p, &p.roles[i]);
	}
	loop_run(p.loop);
	for (int i = ROLE_STATE; i <= ROLE_DELIVERY; i++) {
		struct child *r = &p.roles[i];
		if (r->pid > 0) {
			kill_role(r, SIGKILL);
			waitpid(r->pid, NULL, 0);
		}
		msg_conn_free(r->conn);
	}
	loop_free(p.loop);
	sdnotify_close();
	close(p.lock_fd);
	gen_free(&p.cur);
	gen_free(&p.next);
	log_close();
	return p.exit_code;
}
