/* rules_exec.c — exec() and nagios() for rules: a command from the
 * `[sandbox] exec` allow-list, run without a shell, its output read on the
 * loop while the run is parked (many checks wait at once, as with http).
 *
 * The allow-list is of paths: the command must be absolute and both the
 * path given and the file it resolves to (symlinks, "..") must match one of
 * the globs, so a symlink dropped into the plugin directory cannot lead to
 * /bin/sh.  The command runs in the worker's own sandbox (its user, no new
 * privileges, its Landlock domain, which allows executing only the
 * allow-listed directories and the system's program and library ones), with
 * an empty environment but PATH and LANG, stdin from /dev/null, stdout and
 * stderr into one pipe capped at EXEC_OUTPUT_MAX.  Past its timeout (or the
 * run's deadline) its whole process group is killed.
 *
 * nagios() maps the plugin's exit code to a verdict (0 OK, 1 WARN, 2 CRIT,
 * else UNKNOWN), its first line before "|" to the summary, and its
 * performance data ('label'=value[UOM];warn;crit;min;max) to metrics. */
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <lauxlib.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>
#include "clock.h"
#include "loop.h"
#include "priv.h"
#include "rules_lib.h"
#include "rules_sandbox.h"
#include "units.h"

#define EXEC_OUTPUT_MAX (64u << 10)
#define EXEC_ARGS_MAX 64
#define EXEC_TIMEOUT_DEFAULT 10000      /* ms */

struct exec_op {
	struct rules_op op;             /* first */
	struct loop *loop;
	pid_t   pid;
	int     fd;                     /* the pipe, -1 once at EOF */
	char   *out;
	size_t  len;
	int     truncated;
	int     status, have_status;
	int     timed_out;
	double  t0;
	loop_timer_id deadline_t, poll_t;
	int     nagios;
};

void
rules_exec_dirs(const char *globs, char *out, size_t outlen)
{
	size_t o = 0;
	char *copy = strdup(globs ? globs : ""), *save = NULL;

	out[0] = '\0';
	for (char *t = copy ? strtok_r(copy, ",", &save) : NULL; t != NULL;
	    t = strtok_r(NULL, ",", &save)) {
		while (*t == ' ' || *t == '\t')
			t++;
		/* the directory part before the first wildcard */
		size_t l = strcspn(t, "*?[");
		while (l > 0 && t[l - 1] != '/')
			l--;
		if (l > 1 && t[0] == '/' && o + l + 2 < outlen) {
			o += (size_t)snprintf(out + o, outlen - o, "%s%.*s", o ? "," : "", (int)(l - 1), t);
		}
	}
	free(copy);
}

/* The path given and its real file must both match a glob. */
static int
allowed(const char *globs, const char *path, char *real, char *why, size_t whylen)
{
	if (globs == NULL || *globs == '\0') {
		snprintf(why, whylen, "exec is off: allow commands with [sandbox] exec = /path/*");
		return 0;
	}
	if (path[0] != '/') {
		snprintf(why, whylen, "%s: give the command's absolute path", path);
		return 0;
	}
	if (realpath(path, real) == NULL) {
		snprintf(why, whylen, "%s: %s", path, strerror(errno));
		return 0;
	}
	int path_ok = 0, real_ok = 0;
	char *copy = strdup(globs), *save = NULL;
	for (char *t = copy ? strtok_r(copy, ",", &save) : NULL; t != NULL;
	    t = strtok_r(NULL, ",", &save)) {
		while (*t == ' ' || *t == '\t')
			t++;
		size_t l = strlen(t);
		while (l > 0 && (t[l - 1] == ' ' || t[l - 1] == '\t'))
			t[--l] = '\0';
		path_ok |= fnmatch(t, path, FNM_PATHNAME) == 0;
		real_ok |= fnmatch(t, real, FNM_PATHNAME) == 0;
	}
	free(copy);
	if (!path_ok || !real_ok) {
		snprintf(why, whylen, "%s%s%s is not in [sandbox] exec", path,
		    strcmp(path, real) != 0 ? " -> " : "", strcmp(path, real) != 0 ? real : "");
		return 0;
	}
	return 1;
}

static void finish(struct exec_op *op);

static void
op_free(struct rules_op *o)
{
	struct exec_op *op = (struct exec_op *)o;

	loop_timer_cancel(op->loop, op->deadline_t);
	loop_timer_cancel(op->loop, op->poll_t);
	if (op->fd >= 0) {
		loop_fd_del(op->loop, op->fd);
		close(op->fd);
	}
	if (op->pid > 0 && !op->have_status) {
		/* the run ended first (its deadline, a kill): the command goes too */
		kill(-op->pid, SIGKILL);
		waitpid(op->pid, NULL, 0);
	}
	free(op->out);
	free(op);
}

static void
on_poll(struct loop *l, void *ud)
{
	struct exec_op *op = ud;

	op->poll_t = 0;
	if (waitpid(op->pid, &op->status, WNOHANG) == op->pid) {
		op->have_status = 1;
		finish(op);
		return;
	}
	/* its output is closed but it has not exited yet: look again soon */
	op->poll_t = loop_timer_at(l, loop_update_now(l) + 0.005, on_poll, op);
}

static void
finish(struct exec_op *op)
{
	loop_timer_cancel(op->loop, op->deadline_t);
	op->deadline_t = 0;
	rules_wake(&op->op);
}

static void
on_deadline(struct loop *l, void *ud)
{
	struct exec_op *op = ud;

	(void)l;
	op->deadline_t = 0;
	op->timed_out = 1;
	kill(-op->pid, SIGKILL);
	if (op->fd >= 0) {
		loop_fd_del(op->loop, op->fd);
		close(op->fd);
		op->fd = -1;
	}
	op->have_status = waitpid(op->pid, &op->status, 0) == op->pid;
	loop_timer_cancel(op->loop, op->poll_t);
	op->poll_t = 0;
	rules_wake(&op->op);
}

static void
on_output(struct loop *l, int fd, uint32_t events, void *ud)
{
	struct exec_op *op = ud;
	char buf[4096];

	(void)events;
	for (;;) {
		ssize_t n = read(fd, buf, sizeof buf);
		if (n > 0) {
			size_t room = EXEC_OUTPUT_MAX - op->len, take = (size_t)n < room ? (size_t)n : room;
			memcpy(op->out + op->len, buf, take);
			op->len += take;
			if (take < (size_t)n)
				op->truncated = 1;      /* read on, keep nothing: it must not block */
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		break;                  /* EOF or an error: the output is over */
	}
	loop_fd_del(l, fd);
	close(fd);
	op->fd = -1;
	on_poll(l, op);
}

static int
exec_cont(lua_State *L, int status, lua_KContext ctx)
{
	struct exec_op *op = (struct exec_op *)ctx;

	(void)status;
	lua_createtable(L, 0, 6);
	lua_pushlstring(L, op->out, op->len);
	lua_setfield(L, -2, "stdout");
	lua_pushnumber(L, clock_mono() - op->t0);
	lua_setfield(L, -2, "time");
	lua_pushboolean(L, op->truncated);
	lua_setfield(L, -2, "truncated");
	if (op->timed_out) {
		lua_pushliteral(L, "timeout");
		lua_setfield(L, -2, "error");
	} else if (op->have_status && WIFEXITED(op->status)) {
		lua_pushinteger(L, WEXITSTATUS(op->status));
		lua_setfield(L, -2, "code");
	} else if (op->have_status && WIFSIGNALED(op->status)) {
		lua_pushinteger(L, WTERMSIG(op->status));
		lua_setfield(L, -2, "signal");
		lua_pushfstring(L, "killed by signal %d", WTERMSIG(op->status));
		lua_setfield(L, -2, "error");
	}
	int nag = op->nagios;
	rules_op_done(L, &op->op);
	if (!nag)
		return 1;
	/* nagios(): the table is on the stack; turn it into a verdict */
	lua_getfield(L, LUA_REGISTRYINDEX, "drishti.nagios");
	lua_insert(L, -2);
	lua_call(L, 1, 1);
	return 1;
}

static int
start(lua_State *L, int nagios)
{
	const struct rules_env *env = rules_env_of(L);
	char real[PATH_MAX], why[PATH_MAX * 2 + 64];
	const char *path = luaL_checkstring(L, 1);
	int top = lua_gettop(L), nargs = top - 1;
	int64_t ms = EXEC_TIMEOUT_DEFAULT;
	char e[160];

	if (nargs > 0 && lua_istable(L, top)) {
		/* the last argument may be the options */
		int t = lua_getfield(L, top, "timeout");
		if (t == LUA_TSTRING) {
			if (units_duration(lua_tostring(L, -1), &ms, e, sizeof e) < 0)
				return luaL_argerror(L, top, e);
		} else if (t == LUA_TNUMBER)
			ms = (int64_t)(lua_tonumber(L, -1) * 1000);
		else if (t != LUA_TNIL)
			return luaL_argerror(L, top, "timeout must be a duration");
		lua_pop(L, 1);
		nargs--;
	}
	if (nargs > EXEC_ARGS_MAX)
		return luaL_error(L, "exec: at most %d arguments", EXEC_ARGS_MAX);
	const char *argv[EXEC_ARGS_MAX + 2];
	argv[0] = path;
	for (int i = 1; i <= nargs; i++) {
		int ty = lua_type(L, i + 1);
		if (ty != LUA_TSTRING && ty != LUA_TNUMBER)
			return luaL_argerror(L, i + 1, "arguments are strings or numbers");
		argv[i] = lua_tostring(L, i + 1);
	}
	argv[nargs + 1] = NULL;
	if (!allowed(env->exec, path, real, why, sizeof why))
		return luaL_error(L, "exec: %s", why);
	rules_check_can_wait(L, "exec");
	double left = (rules_deadline(L) - clock_mono()) * 1000;
	if (left < (double)ms)
		ms = left > 1 ? (int64_t)left : 1;

	int pfd[2];
	if (pipe2(pfd, O_CLOEXEC) < 0)
		return luaL_error(L, "exec: pipe: %s", strerror(errno));
	struct exec_op *op = calloc(1, sizeof *op);
	char *out = malloc(EXEC_OUTPUT_MAX);
	if (op == NULL || out == NULL) {
		free(op);
		free(out);
		close(pfd[0]);
		close(pfd[1]);
		return luaL_error(L, "out of memory");
	}
	op->op.free = op_free;
	op->loop = rules_loop(L);
	op->out = out;
	op->fd = pfd[0];
	op->nagios = nagios;
	op->t0 = clock_mono();
	long maxfd = priv_fd_limit();
	static char *const envp[] = { "PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin",
		"LANG=C", NULL };
	pid_t p = fork();
	if (p == 0) {
		/* the child: only system calls from here to execve */
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		setpgid(0, 0);
		/* a worker killed past its deadline takes the command with it */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		int null = open("/dev/null", O_RDONLY);
		if (null >= 0)
			dup2(null, 0);
		dup2(pfd[1], 1);
		dup2(pfd[1], 2);
		priv_close_above(2, maxfd);
		execve(real, (char *const *)argv, envp);
		_exit(127);
	}
	close(pfd[1]);
	if (p < 0) {
		close(pfd[0]);
		free(out);
		free(op);
		return luaL_error(L, "exec: fork: %s", strerror(errno));
	}
	op->pid = p;
	setpgid(p, p);          /* also here: no race with the kill below */
	fcntl(op->fd, F_SETFL, O_NONBLOCK);
	if (loop_fd_add(op->loop, op->fd, LOOP_IN, on_output, op) < 0 ||
	    (op->deadline_t = loop_timer_at(op->loop, loop_update_now(op->loop) +
	    (double)ms / 1000.0, on_deadline, op)) == 0) {
		op_free(&op->op);
		return luaL_error(L, "exec: cannot wait for the command");
	}
	return rules_wait(L, &op->op, exec_cont);
}

static int
l_exec(lua_State *L)
{
	return start(L, 0);
}

static int
l_nagios(lua_State *L)
{
	return start(L, 1);
}

/* The plugin convention, in Lua (it runs in the rule's own budget):
 * exit code -> verdict, first line before "|" -> summary, perfdata ->
 * metric().  Compiled once into the registry by rules_exec_open. */
static const char nagios_lua[] =
    "local ok, warn, crit, unknown, metric = ...\n"
    "local verdicts = { [0] = ok, warn, crit }\n"
    "return function(r)\n"
    "  if r.code == nil then\n"
    "    return unknown('plugin %s', r.error or 'gave no exit code')\n"
    "  end\n"
    "  local first = r.stdout:match('^[^\\n]*') or ''\n"
    "  local text, perf = first:match('^(.-)%s*|%s*(.*)$')\n"
    "  text = text or first\n"
    "  -- quoted labels may hold spaces; then the items are space-separated\n"
    "  perf = (perf or ''):gsub(\"'([^']*)'\", function(l) return (l:gsub('%s', '_')) end)\n"
    "  for item in perf:gmatch('%S+') do\n"
    "    local label, value, uom = item:match('^([^=]+)=(-?[%d%.]+)([%a%%]*)')\n"
    "    if label then\n"
    "      label = label:gsub('^/+', ''):gsub('[^%w_:%.]', '_'):gsub('^[^%a_]', '_')\n"
    "      if label == '' then label = 'root' end\n"
    "      local v = tonumber(value)\n"
    "      if v and #label < 64 then metric(label, v, uom:sub(1, 15)) end\n"
    "    end\n"
    "  end\n"
    "  if text == '' then text = ('plugin exited %d'):format(r.code) end\n"
    "  local f = verdicts[r.code] or unknown\n"
    "  return f('%s', text)\n"
    "end\n";

int
rules_exec_open(lua_State *L)
{
	lua_pushglobaltable(L);
	lua_pushcfunction(L, l_exec);
	lua_setfield(L, -2, "exec");
	lua_pushcfunction(L, l_nagios);
	lua_setfield(L, -2, "nagios");
	if (luaL_loadbufferx(L, nagios_lua, sizeof nagios_lua - 1, "=nagios", "t") != LUA_OK)
		return lua_error(L);
	const char *fns[] = { "ok", "warn", "crit", "unknown", "metric" };
	for (int i = 0; i < 5; i++)
		lua_getfield(L, -2 - i, fns[i]);
	lua_call(L, 5, 1);
	lua_setfield(L, LUA_REGISTRYINDEX, "drishti.nagios");
	lua_pop(L, 1);
	return 0;
}
