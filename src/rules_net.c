/* rules_net.c — the network probes a rule calls: http.get/post/head,
 * tcp.connect and tls.cert.  Each starts its I/O on the loop, parks the run
 * (lua_yieldk through rules_wait) and builds its answer in a continuation
 * once the loop wakes the run, so hundreds of checks wait at once on one
 * thread.  A failed probe is a result with `error` set, never a Lua error;
 * a wrong argument, or a probe called where the run cannot wait, is. */
#include <lauxlib.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "clock.h"
#include "http.h"
#include "loop.h"
#include "mem.h"
#include "paths.h"
#include "probe_tls.h"
#include "rules_lib.h"
#include "rules_sandbox.h"
#include "units.h"

#define NET_TIMEOUT_DEFAULT 10000       /* ms */
#define NET_HEADERS_MAX 32

static const char http_mt_key = 0;

enum op_kind { OP_HTTP, OP_TCP, OP_TLS };

struct net_op {
	struct rules_op op;             /* first */
	enum op_kind kind;
	struct loop *loop;
	struct http_xfer *xfer;
	struct probe_tls *tls;
	char   *host;                   /* tls: name to verify */
	char   *ca_file;
	struct sandbox *sb;             /* http: body and headers are charged here */
	size_t  held;                   /* ... this much, so far */
	double  timeout;                /* seconds, the probe's own */
	/* the answer, copied out of the I/O layer */
	long    status;
	double  time;
	char   *body;
	size_t  body_len;
	int     truncated;
	char   *headers;
	char    error[HTTP_ERROR_MAX];
	struct probe_tls_cert cert;
};

static void
op_free(struct rules_op *o)
{
	struct net_op *op = (struct net_op *)o;

	probe_tls_free(op->tls);
	if (op->xfer != NULL) {
		if (op->kind == OP_HTTP)
			http_cancel(op->xfer);
		else
			http_release(op->xfer);
	}
	if (op->sb != NULL)
		sb_release(op->sb, op->held);
	free(op->host);
	free(op->ca_file);
	mem_free(op->body);
	mem_free(op->headers);
	mem_free(op);
}

static struct net_op *
op_new(lua_State *L, enum op_kind kind)
{
	struct net_op *op = mem_calloc(1, sizeof *op);
	if (op == NULL)
		luaL_error(L, "out of memory");
	op->op.free = op_free;
	op->kind = kind;
	op->loop = rules_loop(L);
	return op;
}

/* opts.timeout, bounded by what is left of the run */
static int64_t
opt_timeout(lua_State *L, int idx)
{
	int64_t ms = NET_TIMEOUT_DEFAULT;
	char e[160];

	if (lua_istable(L, idx)) {
		int t = lua_getfield(L, idx, "timeout");
		if (t == LUA_TSTRING) {
			if (units_duration(lua_tostring(L, -1), &ms, e, sizeof e) < 0)
				luaL_argerror(L, idx, e);
		} else if (t == LUA_TNUMBER)
			ms = (int64_t)(lua_tonumber(L, -1) * 1000);
		else if (t != LUA_TNIL)
			luaL_argerror(L, idx, "timeout must be a duration");
		lua_pop(L, 1);
	}
	double left = (rules_deadline(L) - clock_mono()) * 1000;
	if (left < (double)ms)
		ms = left > 1 ? (int64_t)left : 1;
	return ms > 0 ? ms : 1;
}

static int
opt_bool(lua_State *L, int idx, const char *key)
{
	int v = 0;
	if (lua_istable(L, idx)) {
		lua_getfield(L, idx, key);
		v = lua_toboolean(L, -1);
		lua_pop(L, 1);
	}
	return v;
}

/* A CA bundle may come from /etc/ssl or the read_paths. */
static const char *
opt_ca(lua_State *L, int idx, char *real)
{
	const char *ca = NULL;
	char e[PATH_MAX + 64];

	if (lua_istable(L, idx) && lua_getfield(L, idx, "ca_file") != LUA_TNIL) {
		ca = luaL_checkstring(L, -1);
		if (paths_check("/etc/ssl", ca, real, e, sizeof e) < 0 &&
		    paths_check(rules_env_of(L)->read_paths, ca, real, e, sizeof e) < 0)
			luaL_argerror(L, idx, e);
		ca = real;
		lua_pop(L, 1);
	}
	return ca;
}

/* ---- http ------------------------------------------------------------------- */

static void
http_done(struct http_xfer *x, const struct http_response *r, void *ud)
{
	struct net_op *op = ud;

	op->xfer = NULL;                /* http.c frees it after we return */
	op->status = r->status;
	op->time = r->time;
	op->truncated = r->truncated;
	snprintf(op->error, sizeof op->error, "%s", r->error);
	if (op->kind == OP_HTTP) {
		/* the body changes hands, not copied: one copy, within the
		 * reservation made for it */
		op->body = http_take_body(x);
		op->body_len = op->body != NULL ? r->body_len : 0;
		op->headers = mem_strdup(r->headers);
	}
	rules_wake(&op->op);
}

static void
push_headers(lua_State *L, const char *h)
{
	lua_newtable(L);
	while (h != NULL && *h != '\0') {
		const char *eol = strchr(h, '\n');
		size_t len = eol ? (size_t)(eol - h) : strlen(h);
		const char *colon = memchr(h, ':', len);
		if (colon != NULL && colon > h) {
			char name[128];
			size_t nl = (size_t)(colon - h);
			if (nl < sizeof name) {
				for (size_t i = 0; i < nl; i++)
					name[i] = (char)((h[i] >= 'A' && h[i] <= 'Z') ? h[i] + 32 : h[i]);
				name[nl] = '\0';
				const char *v = colon + 1;
				while (v < h + len && (*v == ' ' || *v == '\t'))
					v++;
				size_t vl = (size_t)(h + len - v);
				while (vl > 0 && (v[vl - 1] == '\r' || v[vl - 1] == ' '))
					vl--;
				lua_pushlstring(L, v, vl);
				lua_setfield(L, -2, name);
			}
		}
		h = eol ? eol + 1 : NULL;
	}
}

static int
http_cont(lua_State *L, int status, lua_KContext ctx)
{
	struct net_op *op = (struct net_op *)ctx;

	(void)status;
	lua_createtable(L, 0, 7);
	lua_pushinteger(L, op->status);
	lua_setfield(L, -2, "status");
	lua_pushnumber(L, op->time);
	lua_setfield(L, -2, "time");
	/* the body's reservation still holds while it becomes a Lua string:
	 * both copies fit the file's cap together */
	lua_pushlstring(L, op->body ? op->body : "", op->body_len);
	lua_setfield(L, -2, "body");
	mem_free(op->body);
	op->body = NULL;
	sb_release(op->sb, op->held);   /* the body is a Lua string now */
	op->held = 0;
	lua_pushboolean(L, op->truncated);
	lua_setfield(L, -2, "truncated");
	push_headers(L, op->headers);
	lua_setfield(L, -2, "headers");
	if (op->error[0] != '\0') {
		lua_pushstring(L, op->error);
		lua_setfield(L, -2, "error");
	}
	lua_rawgetp(L, LUA_REGISTRYINDEX, &http_mt_key);
	lua_setmetatable(L, -2);
	rules_op_done(L, &op->op);
	return 1;
}

/* curl's buffers for this op grow by n: charged to the rule file */
static int
charge_body(void *ud, size_t n)
{
	struct net_op *op = ud;

	if (sb_hold(op->sb, n) < 0)
		return -1;
	op->held += n;
	return 0;
}

/* http.get(url, opts), http.head(url, opts), http.post(url, body, opts) */
static int
http_call(lua_State *L, const char *method, int has_body)
{
	const char *url = luaL_checkstring(L, 1);
	size_t blen = 0;
	const char *body = has_body ? luaL_optlstring(L, 2, "", &blen) : NULL;
	int o = has_body ? 3 : 2;
	const char *hdrs[NET_HEADERS_MAX];
	char real[PATH_MAX], e[256];
	size_t nh = 0;
	uint64_t max_body = HTTP_BODY_DEFAULT;

	if (!lua_isnoneornil(L, o))
		luaL_checktype(L, o, LUA_TTABLE);
	rules_check_can_wait(L, "http");
	luaL_checkstack(L, NET_HEADERS_MAX + 8, "http headers");
	struct http_request rq = { .method = method, .url = url, .body = body,
	    .body_len = blen, .timeout_ms = opt_timeout(L, o),
	    .follow = opt_bool(L, o, "follow"), .insecure = opt_bool(L, o, "insecure"),
	    .reuse = opt_bool(L, o, "reuse"), .ca_file = opt_ca(L, o, real) };
	if (lua_istable(L, o)) {
		if (lua_getfield(L, o, "max_body") != LUA_TNIL &&
		    units_size(luaL_checkstring(L, -1), &max_body, e, sizeof e) < 0)
			luaL_argerror(L, o, e);
		if (max_body == 0 || max_body > (256u << 20))
			luaL_argerror(L, o, "max_body must be 1 to 256M");
		lua_pop(L, 1);
		/* headers = { ["Content-Type"] = "application/json" } */
		if (lua_getfield(L, o, "headers") == LUA_TTABLE) {
			int ht = lua_gettop(L);
			lua_pushnil(L);
			while (lua_next(L, ht) != 0) {
				if (nh == NET_HEADERS_MAX)
					luaL_argerror(L, o, "too many headers");
				if (lua_type(L, -2) != LUA_TSTRING || lua_type(L, -1) != LUA_TSTRING)
					luaL_argerror(L, o, "headers are name = \"value\" strings");
				const char *h = lua_pushfstring(L, "%s: %s", lua_tostring(L, -2),
				    lua_tostring(L, -1));
				if (strpbrk(h, "\r\n") != NULL)
					luaL_argerror(L, o, "a header may not hold a line break");
				hdrs[nh++] = h;
				/* keep the string on the stack below the key while we go on */
				lua_insert(L, -3);
				lua_pop(L, 1);
			}
		} else
			lua_pop(L, 1);
	}
	rq.headers = hdrs;
	rq.nheaders = nh;
	rq.max_body = (size_t)max_body;
	struct net_op *op = op_new(L, OP_HTTP);
	/* what curl fills for this rule is charged to its memory as it
	 * arrives; a max_body the file cannot hold fails at once */
	op->sb = sb_get(L);
	if ((size_t)max_body > sb_left(op->sb)) {
		char mb[32], left[32], cap[32];
		units_fmt_size(max_body, mb, sizeof mb);
		units_fmt_size(sb_left(op->sb), left, sizeof left);
		units_fmt_size(op->sb->mem_limit, cap, sizeof cap);
		snprintf(op->error, sizeof op->error, "max_body %s: this rule file has %s left"
		    " of its memory (%s)", mb, left, cap);
		rules_wake(&op->op);
		return rules_wait(L, &op->op, http_cont);
	}
	rq.charge = charge_body;
	rq.no_metadata = !rules_env_of(L)->allow_metadata;
	rq.charge_ud = op;
	op->xfer = http_start(&rq, http_done, op, e, sizeof e);
	if (op->xfer == NULL) {
		/* could not even start: answer at once, no wait */
		snprintf(op->error, sizeof op->error, "%s", e);
		rules_wake(&op->op);
	}
	return rules_wait(L, &op->op, http_cont);
}

static int l_http_get(lua_State *L) { return http_call(L, "GET", 0); }
static int l_http_head(lua_State *L) { return http_call(L, "HEAD", 0); }
static int l_http_post(lua_State *L) { return http_call(L, "POST", 1); }

/* r:json() */
static int
l_resp_json(lua_State *L)
{
	luaL_checktype(L, 1, LUA_TTABLE);
	lua_getglobal(L, "json");
	if (lua_getfield(L, -1, "decode") != LUA_TFUNCTION)
		return luaL_error(L, "json.decode is gone");
	lua_getfield(L, 1, "body");
	lua_call(L, 1, 2);
	return 2;
}

/* ---- tcp.connect and tls.cert ------------------------------------------------- */

static void
tls_done(struct probe_tls *p, const struct probe_tls_cert *c, void *ud)
{
	struct net_op *op = ud;

	(void)p;
	op->cert = *c;
	/* the handshake is over: the connection can go */
	http_release(op->xfer);
	op->xfer = NULL;
	rules_wake(&op->op);
}

static void
connect_done(struct http_xfer *x, const struct http_response *r, void *ud)
{
	struct net_op *op = ud;
	char e[256];

	op->time = r->connect_time > 0 ? r->connect_time : r->time;
	snprintf(op->error, sizeof op->error, "%s", r->error);
	if (op->kind == OP_TLS && r->error[0] == '\0' && r->socket < 0)
		snprintf(op->error, sizeof op->error, "connected, but the socket is gone");
	else if (op->kind == OP_TLS && r->error[0] == '\0') {
		/* the handshake gets what the connect left of the timeout */
		double left = op->timeout - op->time;
		op->tls = probe_tls_start(op->loop, r->socket, op->host, op->ca_file,
		    left > 0.001 ? left : 0.001, tls_done, op, e, sizeof e);
		if (op->tls != NULL)
			return;         /* the handshake wakes the run */
		snprintf(op->error, sizeof op->error, "%s", e);
	}
	http_release(x);
	op->xfer = NULL;
	rules_wake(&op->op);
}

static int
start_connect(lua_State *L, struct net_op *op, const char *host, lua_Integer port,
    int64_t timeout)
{
	char url[600], e[256];

	if (port < 1 || port > 65535)
		luaL_argerror(L, 2, "port must be 1 to 65535");
	if (strlen(host) == 0 || strlen(host) > 512 || strpbrk(host, "/@?#[] \t\r\n") != NULL) {
		/* an IPv6 literal comes bare ("::1") and is bracketed here */
		if (strchr(host, ':') == NULL || strpbrk(host, "/@?#[] \t\r\n") != NULL)
			luaL_argerror(L, 1, "not a host name or address");
	}
	if (strchr(host, ':') != NULL)
		snprintf(url, sizeof url, "http://[%s]:%lld/", host, (long long)port);
	else
		snprintf(url, sizeof url, "http://%s:%lld/", host, (long long)port);
	struct http_request rq = { .url = url, .timeout_ms = timeout, .connect_only = 1,
	    .no_metadata = !rules_env_of(L)->allow_metadata };
	op->timeout = (double)timeout / 1000.0;
	op->xfer = http_start(&rq, connect_done, op, e, sizeof e);
	if (op->xfer == NULL) {
		snprintf(op->error, sizeof op->error, "%s", e);
		rules_wake(&op->op);
	}
	return 0;
}

static int
tcp_cont(lua_State *L, int status, lua_KContext ctx)
{
	struct net_op *op = (struct net_op *)ctx;

	(void)status;
	lua_createtable(L, 0, 3);
	lua_pushboolean(L, op->error[0] == '\0');
	lua_setfield(L, -2, "ok");
	lua_pushnumber(L, op->time);
	lua_setfield(L, -2, "time");
	if (op->error[0] != '\0') {
		lua_pushstring(L, op->error);
		lua_setfield(L, -2, "error");
	}
	rules_op_done(L, &op->op);
	return 1;
}

static int
l_tcp_connect(lua_State *L)
{
	const char *host = luaL_checkstring(L, 1);
	lua_Integer port = luaL_checkinteger(L, 2);

	if (!lua_isnoneornil(L, 3))
		luaL_checktype(L, 3, LUA_TTABLE);
	rules_check_can_wait(L, "tcp.connect");
	int64_t timeout = opt_timeout(L, 3);
	struct net_op *op = op_new(L, OP_TCP);
	start_connect(L, op, host, port, timeout);
	return rules_wait(L, &op->op, tcp_cont);
}

static int
tls_cont(lua_State *L, int status, lua_KContext ctx)
{
	struct net_op *op = (struct net_op *)ctx;
	const struct probe_tls_cert *c = &op->cert;

	(void)status;
	lua_createtable(L, 0, 9);
	if (op->error[0] == '\0' && c->error[0] == '\0') {
		lua_pushnumber(L, c->not_after);
		lua_setfield(L, -2, "not_after");
		lua_pushnumber(L, c->not_before);
		lua_setfield(L, -2, "not_before");
		lua_pushnumber(L, floor(c->days_left * 100) / 100);
		lua_setfield(L, -2, "days_left");
		lua_pushstring(L, c->subject);
		lua_setfield(L, -2, "subject");
		lua_pushstring(L, c->issuer);
		lua_setfield(L, -2, "issuer");
		lua_pushboolean(L, c->verified);
		lua_setfield(L, -2, "verified");
		if (!c->verified) {
			lua_pushstring(L, c->why);
			lua_setfield(L, -2, "why");
		}
	} else {
		lua_pushboolean(L, 0);
		lua_setfield(L, -2, "verified");
		lua_pushstring(L, op->error[0] ? op->error : c->error);
		lua_setfield(L, -2, "error");
	}
	lua_pushnumber(L, op->time);
	lua_setfield(L, -2, "time");
	rules_op_done(L, &op->op);
	return 1;
}

static int
l_tls_cert(lua_State *L)
{
	const char *host = luaL_checkstring(L, 1);
	lua_Integer port = luaL_optinteger(L, 2, 443);
	char real[PATH_MAX];

	if (!lua_isnoneornil(L, 3))
		luaL_checktype(L, 3, LUA_TTABLE);
	rules_check_can_wait(L, "tls.cert");
	int64_t timeout = opt_timeout(L, 3);
	const char *ca = opt_ca(L, 3, real);
	const char *sni = host;
	if (lua_istable(L, 3) && lua_getfield(L, 3, "servername") != LUA_TNIL)
		sni = luaL_checkstring(L, -1);
	struct net_op *op = op_new(L, OP_TLS);
	op->host = strdup(sni);
	op->ca_file = ca ? strdup(ca) : NULL;
	if (op->host == NULL) {
		op_free(&op->op);
		return luaL_error(L, "out of memory");
	}
	start_connect(L, op, host, port, timeout);
	return rules_wait(L, &op->op, tls_cont);
}

int
rules_net_open(lua_State *L)
{
	static const luaL_Reg http_fns[] = { { "get", l_http_get }, { "head", l_http_head },
		{ "post", l_http_post }, { NULL, NULL } };
	static const luaL_Reg tcp_fns[] = { { "connect", l_tcp_connect }, { NULL, NULL } };
	static const luaL_Reg tls_fns[] = { { "cert", l_tls_cert }, { NULL, NULL } };

	lua_pushglobaltable(L);
	lua_newtable(L);
	luaL_setfuncs(L, http_fns, 0);
	lua_setfield(L, -2, "http");
	lua_newtable(L);
	luaL_setfuncs(L, tcp_fns, 0);
	lua_setfield(L, -2, "tcp");
	lua_newtable(L);
	luaL_setfuncs(L, tls_fns, 0);
	lua_setfield(L, -2, "tls");
	lua_pop(L, 1);
	/* responses share a metatable whose __index gives r:json() */
	lua_createtable(L, 0, 2);
	lua_createtable(L, 0, 1);
	lua_pushcfunction(L, l_resp_json);
	lua_setfield(L, -2, "json");
	lua_setfield(L, -2, "__index");
	lua_pushliteral(L, "http response");
	lua_setfield(L, -2, "__metatable");
	lua_rawsetp(L, LUA_REGISTRYINDEX, &http_mt_key);
	return 0;
}
