/* config.c — the INI config, and the only user of inih.
 *
 * One schema table (section, key, type, offset, default, help) drives the
 * parsing, the defaults and `drishti help config`, so the three cannot drift
 * apart (Fluent Bit's config maps).  We feed inih through our own line reader:
 * it counts lines, so every error names FILE:LINE, refuses lines longer than
 * CONFIG_MAX_LINE instead of letting inih cut them in two (NOTES.md), and sees
 * section headers, so unknown and duplicate sections are caught even when
 * they hold no keys. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <ini.h>
#include <limits.h>
#include <pwd.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "config.h"
#include "cron.h"
#include "file.h"
#include "paths.h"
#include "log.h"
#include "units.h"

/* T_PATH and T_PATHS (comma-separated) are strings whose relative paths are
 * made relative to the config file's directory, not to wherever drishti was
 * started: a unit, cron and a shell in another directory read the same
 * files. */
/* T_REPEAT: a reporter key that may be given many times (header =), kept as
 * a list by its own code; the schema row is its documentation. */
enum ctype { T_STR, T_PATH, T_PATHS, T_BOOL, T_DUR, T_SIZE, T_COUNT, T_LEVEL, T_ENUM, T_LIST,
	T_REPEAT };

struct schema {
	const char *section;        /* "reporter" for every reporter section */
	const char *key;
	enum ctype  type;
	size_t      off;
	const char *def;            /* NULL: no default; "(...)": computed */
	const char *help;
	const char *choices;        /* T_ENUM and T_LIST: "a|b|c" */
};

#define C(f) offsetof(struct config, f)
#define R(f) offsetof(struct config_reporter, f)
#define M(f) offsetof(struct config_maintenance, f)
static const struct schema schema[] = {
	{ "agent", "name", T_STR, C(name), "(host name)", "name of this agent in every event", NULL },
	{ "agent", "rules", T_PATHS, C(rules), "(the installed rules; ./rules in a source checkout)", "a directory of *.lua rule files, or comma-separated files", NULL },
	{ "agent", "state", T_PATH, C(state), "($XDG_STATE_HOME/drishti/state.db)", "the SQLite state file", NULL },
	{ "agent", "log", T_PATH, C(log), "stderr", "stderr | syslog | FILE", NULL },
	{ "agent", "log_level", T_LEVEL, C(log_level), "info", "error | warn | info | debug", NULL },
	{ "agent", "user", T_STR, C(user), "", "who the roles and rules run as when started as root (empty: drishti, or nobody where there is no such user; root only with run --allow-root)", NULL },
	{ "agent", "watch", T_BOOL, C(watch), "true", "reload a rule file when it is saved", NULL },
	{ "store", "raw", T_DUR, C(raw_ms), "48h", "raw results kept this long", NULL },
	{ "store", "rollup", T_DUR, C(rollup_ms), "400d", "hourly roll-ups kept this long", NULL },
	{ "store", "outbox_max", T_COUNT, C(outbox_max), "10000", "undelivered events kept per reporter; past it the oldest are dropped", NULL },
	{ "store", "outbox_age", T_DUR, C(outbox_age_ms), "7d", "undelivered events older than this are dropped", NULL },
	{ "output", "textfile", T_PATH, C(textfile), "", "Prometheus textfile to write after each run (empty: none)", NULL },
	{ "output", "status_page", T_PATH, C(status_page), "", "a directory: index.html and status.json for the checks rules mark public (empty: none)", NULL },
	{ "output", "status_title", T_STR, C(status_title), "", "the status page's title (empty: \"NAME status\")", NULL },
	{ "sandbox", "memory", T_SIZE, C(memory), "8M", "memory cap per rule file", NULL },
	{ "sandbox", "instructions", T_COUNT, C(instructions), "10M", "Lua instructions per run of a check or report", NULL },
	{ "sandbox", "timeout", T_DUR, C(timeout_ms), "30s", "wall clock per run, I/O waits included", NULL },
	{ "sandbox", "cpu", T_DUR, C(cpu_ms), "2s", "CPU time per run, time inside C functions included (kernel-counted); 0s: no limit", NULL },
	{ "sandbox", "park", T_DUR, C(park_ms), "5m", "a rule file whose checks all run this seldom or less often keeps no worker between runs (a file of reports never does); 0s: workers of checks stay", NULL },
	{ "sandbox", "kill_grace", T_DUR, C(kill_grace_ms), "1s", "past a run's timeout, its worker is killed (a run stuck where no budget reaches)", NULL },
	{ "sandbox", "allow_metadata", T_BOOL, C(allow_metadata), "false", "let rules connect to link-local and cloud metadata addresses (169.254.0.0/16, fe80::/10, fd00:ec2::254)", NULL },
	{ "sandbox", "read_paths", T_PATHS, C(read_paths), "/var/log, /backups", "what fs.* and log.* may read; nothing else", NULL },
	{ "sandbox", "exec", T_STR, C(exec), "", "commands exec() may run (globs); empty: exec is off", NULL },
	{ "reporter", "type", T_ENUM, R(type), NULL, "where events go", "webhook|slack|discord|ntfy|alertmanager|smtp|telegram|pushover|gotify|pagerduty|stdout|file" },
	{ "reporter", "url", T_STR, R(url), "", "receiver URL (smtp://host:port or smtps:// for smtp; telegram, pushover and pagerduty default to the service's own)", NULL },
	{ "reporter", "secret_file", T_PATH, R(secret_file), "", "webhook: HMAC key; telegram: bot token; pushover, gotify: app token; pagerduty: routing key.  Mode 0600 or 0400", NULL },
	{ "reporter", "ca_file", T_PATH, R(ca_file), "", "CA bundle to verify the receiver with", NULL },
	{ "reporter", "pin", T_STR, R(pin), "", "public-key pin, sha256//BASE64", NULL },
	{ "reporter", "events", T_LIST, R(events), REPORTER_EVENTS_DEFAULT, "events sent (silence: silences added, removed, ended)", "alert|resolve|reminder|escalation|deescalation|change|report|test|silence" },
	{ "reporter", "min_severity", T_ENUM, R(min_severity), "warn", "least severity of alerts sent, OK < WARN < CRIT (crit: CRIT only)", "ok|warn|crit|unknown" },
	{ "reporter", "unknown", T_ENUM, R(unknown), "send", "alerts on UNKNOWN (a check that could not tell): send or drop", "send|drop" },
	{ "reporter", "from", T_STR, R(from), "", "smtp: sender address", NULL },
	{ "reporter", "to", T_STR, R(to), "", "smtp: recipients, comma-separated; telegram: chat id; pushover: user key", NULL },
	{ "reporter", "template", T_PATH, R(tmpl), "", "webhook: a body template file, {{check}} {{status}} {{summary}} {{text}} ... JSON-escaped", NULL },
	{ "reporter", "method", T_ENUM, R(method), "POST", "webhook: POST or PUT", "POST|PUT" },
	{ "reporter", "header", T_REPEAT, 0, "", "webhook: a header \"Name: value\" sent with each request; repeatable", NULL },
	{ "reporter", "header_file", T_REPEAT, 0, "", "webhook: \"Name: FILE\", the header's value read from FILE (mode 0600 or 0400); repeatable", NULL },
	{ "reporter", "username", T_STR, R(username), "", "smtp: login", NULL },
	{ "reporter", "password_file", T_PATH, R(password_file), "", "smtp: password file; must be mode 0600 or 0400", NULL },
	{ "reporter", "path", T_PATH, R(path), "", "file: where JSON lines are appended", NULL },
	{ "reporter", "starttls", T_ENUM, R(starttls), "require", "smtp:// only: require | try | off (smtps:// is TLS from the start)", "require|try|off" },
	{ "reporter", "resend", T_DUR, R(resend_ms), "1m", "alertmanager: re-send what is firing this often", NULL },
	{ "reporter", "timeout", T_DUR, R(timeout_ms), "10s", "per delivery attempt", NULL },
	{ "maintenance", "cron", T_STR, M(cron), NULL, "when each window opens (5 fields, local time)", NULL },
	{ "maintenance", "duration", T_DUR, M(duration_ms), NULL, "how long it stays open", NULL },
	{ "maintenance", "checks", T_STR, M(checks), NULL, "what it silences: globs on check names, or label=value, comma-separated", NULL },
};
#undef C
#undef R
#undef M
#define NSCHEMA (sizeof schema / sizeof schema[0])

static const char *const sections[] = { "agent", "store", "output", "sandbox", "vars" };

#define MAX_KEYS 4096           /* keys per file: a cap on what we remember */

struct parse {
	struct config *cfg;
	FILE   *f;
	const char *path;
	int     lineno;
	char   *line;               /* getline's buffer */
	size_t  linecap;
	char    section[128];       /* current section as written, "" before any */
	struct config_reporter *rep;/* current reporter section, or NULL */
	struct config_maintenance *mnt; /* current maintenance section, or NULL */
	char  **seen;               /* "section\nkey" and "[section" already read */
	size_t  nseen;
	char   *err;
	size_t  errlen;
	int     failed;
	char    dir[PATH_MAX];      /* the config file's directory, absolute */
};

static void
perr(struct parse *p, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void
perr(struct parse *p, const char *key, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (p->failed)
		return;
	p->failed = 1;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (key != NULL)
		snprintf(p->err, p->errlen, "%s:%d: [%s] %s: %s", p->path, p->lineno,
		    p->section, key, msg);
	else if (p->section[0] != '\0')
		snprintf(p->err, p->errlen, "%s:%d: [%s]: %s", p->path, p->lineno,
		    p->section, msg);
	else
		snprintf(p->err, p->errlen, "%s:%d: %s", p->path, p->lineno, msg);
}

/* Records s; returns -1 if it was already there. */
static int
seen_add(struct parse *p, const char *s)
{
	for (size_t i = 0; i < p->nseen; i++)
		if (strcmp(p->seen[i], s) == 0)
			return -1;
	if (p->nseen >= MAX_KEYS) {
		perr(p, NULL, "more than %d keys and sections", MAX_KEYS);
		return -1;
	}
	char **n = realloc(p->seen, (p->nseen + 1) * sizeof *n);
	char *d = strdup(s);
	if (n == NULL || d == NULL) {
		free(d);
		if (n != NULL)
			p->seen = n;
		perr(p, NULL, "out of memory");
		return -1;
	}
	p->seen = n;
	p->seen[p->nseen++] = d;
	return 0;
}

static bool
valid_name(const char *s, bool dots)
{
	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++)
		if (!isalnum((unsigned char)*s) && *s != '_' && *s != '-' &&
		    !(dots && *s == '.'))
			return false;
	return true;
}

/* A reporter section is written [reporter "NAME"] or [reporter.NAME]. */
static int
section_name(const char *sec, const char *kind, char *name, size_t len)
{
	const char *q;
	size_t kl = strlen(kind);

	if (strncmp(sec, kind, kl) == 0 && sec[kl] == '.')
		q = sec + kl + 1;
	else if (strncmp(sec, kind, kl) == 0) {
		q = sec + kl;
		while (*q == ' ' || *q == '\t')
			q++;
		size_t l = strlen(q);
		if (q == sec + kl || l < 3 || q[0] != '"' || q[l - 1] != '"' || l - 2 >= len)
			return -1;
		memcpy(name, q + 1, l - 2);
		name[l - 2] = '\0';
		return valid_name(name, true) ? 0 : -1;
	} else
		return -1;
	if (strlen(q) >= len)
		return -1;
	snprintf(name, len, "%s", q);
	return valid_name(name, true) ? 0 : -1;
}

static void
section_begin(struct parse *p, const char *sec)
{
	char key[160], name[128];

	snprintf(p->section, sizeof p->section, "%s", sec);
	p->rep = NULL;
	p->mnt = NULL;
	if (strncmp(sec, "maintenance", 11) == 0) {
		if (section_name(sec, "maintenance", name, sizeof name) < 0) {
			perr(p, NULL, "bad maintenance section: write [maintenance \"NAME\"], "
			    "NAME of letters, digits, . _ -");
			return;
		}
		for (size_t i = 0; i < p->cfg->nmaint; i++)
			if (strcmp(p->cfg->maint[i].name, name) == 0) {
				perr(p, NULL, "duplicate maintenance window \"%s\" (first at line %d)",
				    name, p->cfg->maint[i].line);
				return;
			}
		struct config_maintenance *m = realloc(p->cfg->maint,
		    (p->cfg->nmaint + 1) * sizeof *m);
		if (m == NULL) {
			perr(p, NULL, "out of memory");
			return;
		}
		p->cfg->maint = m;
		p->mnt = &m[p->cfg->nmaint++];
		memset(p->mnt, 0, sizeof *p->mnt);
		p->mnt->name = strdup(name);
		p->mnt->line = p->lineno;
		return;
	}
	if (strncmp(sec, "reporter", 8) == 0) {
		if (section_name(sec, "reporter", name, sizeof name) < 0) {
			perr(p, NULL, "bad reporter section: write [reporter \"NAME\"] "
			    "or [reporter.NAME], NAME of letters, digits, . _ -");
			return;
		}
		for (size_t i = 0; i < p->cfg->nreporters; i++)
			if (strcmp(p->cfg->reporters[i].name, name) == 0) {
				perr(p, NULL, "duplicate reporter \"%s\" (first at line %d)",
				    name, p->cfg->reporters[i].line);
				return;
			}
		struct config_reporter *r = realloc(p->cfg->reporters,
		    (p->cfg->nreporters + 1) * sizeof *r);
		if (r == NULL) {
			perr(p, NULL, "out of memory");
			return;
		}
		p->cfg->reporters = r;
		p->rep = &r[p->cfg->nreporters++];
		memset(p->rep, 0, sizeof *p->rep);
		p->rep->name = strdup(name);
		p->rep->line = p->lineno;
		for (size_t i = 0; i < NSCHEMA; i++) {
			const struct schema *s = &schema[i];
			if (strcmp(s->section, "reporter") != 0 || s->def == NULL || s->type == T_REPEAT)
				continue;
			char *base = (char *)p->rep;
			if (s->type == T_DUR) {
				char e[128];
				units_duration(s->def, (int64_t *)(void *)(base + s->off), e, sizeof e);
			} else
				*(char **)(void *)(base + s->off) = strdup(s->def);
		}
		return;
	}
	for (size_t i = 0; i < sizeof sections / sizeof sections[0]; i++)
		if (strcmp(sec, sections[i]) == 0) {
			snprintf(key, sizeof key, "[%s", sec);
			if (seen_add(p, key) < 0)
				perr(p, NULL, "duplicate section");
			return;
		}
	perr(p, NULL, "unknown section (known: agent, store, output, sandbox, "
	    "vars, reporter \"NAME\", maintenance \"NAME\")");
}

/* inih's reader: one whole line per call, counted and checked. */
static char *
cfg_reader(char *str, int num, void *stream)
{
	struct parse *p = stream;
	ssize_t n;

	if (p->failed)
		return NULL;
	n = getline(&p->line, &p->linecap, p->f);
	if (n < 0)
		return NULL;
	p->lineno++;
	if (n > CONFIG_MAX_LINE || n + 1 >= num) {
		perr(p, NULL, "line is longer than %d bytes", CONFIG_MAX_LINE);
		return NULL;
	}
	if (memchr(p->line, '\0', (size_t)n) != NULL) {
		perr(p, NULL, "NUL byte in line");
		return NULL;
	}
	const char *s = p->line;
	while (isspace((unsigned char)*s))
		s++;
	if (*s == '[') {
		const char *e = strchr(s, ']');
		if (e == NULL) {
			perr(p, NULL, "section header without ']'");
			return NULL;
		}
		char sec[128];
		size_t l = (size_t)(e - s - 1);
		if (l >= sizeof sec) {
			perr(p, NULL, "section name too long");
			return NULL;
		}
		memcpy(sec, s + 1, l);
		sec[l] = '\0';
		section_begin(p, sec);
		if (p->failed)
			return NULL;
	}
	memcpy(str, p->line, (size_t)n + 1);
	return str;
}

/* One path made absolute against the config file's directory; "" and the
 * log's own words stay as they are. */
static int
resolve_one(struct parse *p, const struct schema *s, const char *v, size_t n,
    char *out, size_t outlen)
{
	int w;

	if (n == 0 || v[0] == '/' || p->dir[0] == '\0' ||
	    (strcmp(s->key, "log") == 0 && ((n == 6 && strncmp(v, "stderr", 6) == 0) ||
	    (n == 6 && strncmp(v, "syslog", 6) == 0))))
		w = snprintf(out, outlen, "%.*s", (int)n, v);
	else {
		while (n >= 2 && v[0] == '.' && v[1] == '/')
			v += 2, n -= 2;
		if (n == 1 && v[0] == '.')
			n = 0;
		w = snprintf(out, outlen, "%s%s%.*s", p->dir, n > 0 ? "/" : "", (int)n, v);
	}
	if (w < 0 || (size_t)w >= outlen) {
		perr(p, s->key, "path too long");
		return -1;
	}
	return 0;
}

static char *
resolve_paths(struct parse *p, const struct schema *s, const char *v)
{
	size_t cap = strlen(v) + 1 + (s->type == T_PATHS ? 64 : 1) * (strlen(p->dir) + 2);
	char *out = malloc(cap), one[PATH_MAX];
	size_t len = 0;

	if (out == NULL) {
		perr(p, s->key, "out of memory");
		return NULL;
	}
	out[0] = '\0';
	if (s->type == T_PATH) {
		if (resolve_one(p, s, v, strlen(v), one, sizeof one) < 0) {
			free(out);
			return NULL;
		}
		snprintf(out, cap, "%s", one);
		return out;
	}
	for (const char *c = v; *c != '\0';) {
		while (*c == ' ' || *c == '\t' || *c == ',')
			c++;
		size_t n = strcspn(c, ",");
		const char *next = c + n;
		while (n > 0 && (c[n - 1] == ' ' || c[n - 1] == '\t'))
			n--;
		if (n > 0) {
			if (resolve_one(p, s, c, n, one, sizeof one) < 0) {
				free(out);
				return NULL;
			}
			size_t ol = strlen(one);
			if (len + ol + 3 > cap) {
				char *g = realloc(out, cap = (len + ol + 3) * 2);
				if (g == NULL) {
					free(out);
					perr(p, s->key, "out of memory");
					return NULL;
				}
				out = g;
			}
			len += (size_t)snprintf(out + len, cap - len, "%s%s", len ? ", " : "", one);
		}
		c = next;
	}
	return out;
}

static int
set_value(struct parse *p, const struct schema *s, void *base, const char *v)
{
	char e[256];
	void *field = (char *)base + s->off;

	switch (s->type) {
	case T_REPEAT:
		return -1;          /* add_header takes these */
	case T_PATH:
	case T_PATHS: {
		char *r = resolve_paths(p, s, v);
		if (r == NULL)
			return -1;
		free(*(char **)field);
		*(char **)field = r;
		if (base == (void *)p->cfg && s->off == offsetof(struct config, rules))
			p->cfg->rules_from = NULL;
		if (base == (void *)p->cfg && s->off == offsetof(struct config, read_paths))
			p->cfg->read_paths_line = p->lineno;
		return 0;
	}
	case T_STR:
	case T_LEVEL:
	case T_ENUM:
	case T_LIST:
		if (s->type == T_LEVEL) {
			enum log_level lv;
			if (log_level_parse(v, &lv) < 0) {
				perr(p, s->key, "bad level \"%s\" (want error, warn, info or debug)", v);
				return -1;
			}
		}
		if (s->type == T_ENUM || s->type == T_LIST) {
			/* every item must be one of the choices */
			char *copy = strdup(v), *save = NULL;
			int bad = copy == NULL || (s->type == T_ENUM && *v == '\0');
			for (char *t = copy ? strtok_r(copy, ", \t", &save) : NULL;
			    t != NULL && !bad; t = strtok_r(NULL, ", \t", &save)) {
				const char *c = s->choices;
				size_t tl = strlen(t);
				bool found = false;
				while (*c != '\0') {
					size_t cl = strcspn(c, "|");
					if (cl == tl && strncmp(c, t, tl) == 0)
						found = true;
					c += cl + (c[cl] == '|');
				}
				if (!found || (s->type == T_ENUM && save != NULL && *save != '\0'))
					bad = 1;
			}
			free(copy);
			if (bad) {
				perr(p, s->key, "bad value \"%s\" (one%s of: %s)", v,
				    s->type == T_LIST ? " or more" : "", s->choices);
				return -1;
			}
		}
		free(*(char **)field);
		*(char **)field = strdup(v);
		return 0;
	case T_BOOL:
		if (strcmp(v, "true") == 0 || strcmp(v, "yes") == 0 || strcmp(v, "on") == 0)
			*(bool *)field = true;
		else if (strcmp(v, "false") == 0 || strcmp(v, "no") == 0 || strcmp(v, "off") == 0)
			*(bool *)field = false;
		else {
			perr(p, s->key, "bad boolean \"%s\" (want true or false)", v);
			return -1;
		}
		return 0;
	case T_DUR:
		if (units_duration(v, (int64_t *)field, e, sizeof e) < 0) {
			perr(p, s->key, "%s", e);
			return -1;
		}
		return 0;
	case T_SIZE:
		if (units_size(v, (uint64_t *)field, e, sizeof e) < 0) {
			perr(p, s->key, "%s", e);
			return -1;
		}
		return 0;
	case T_COUNT: {
		/* counts use decimal multipliers: 10M instructions = 10,000,000 */
		char *end;
		errno = 0;
		unsigned long long n = strtoull(v, &end, 10);
		unsigned long long mul = 1;
		if (*end == 'K' || *end == 'k') mul = 1000ULL, end++;
		else if (*end == 'M') mul = 1000000ULL, end++;
		else if (*end == 'G') mul = 1000000000ULL, end++;
		if (!isdigit((unsigned char)*v) || *end != '\0' || errno != 0 ||
		    n > UINT64_MAX / mul) {
			perr(p, s->key, "bad count \"%s\" (want e.g. 500K, 10M)", v);
			return -1;
		}
		*(uint64_t *)field = n * mul;
		return 0;
	}
	}
	return -1;
}

/* header = Name: value (header_file = Name: FILE): the name a token, the
 * value one line; kept in order, "F" before a file's, "H" before a value */
static int
add_header(struct parse *p, const char *key, const char *value)
{
	struct config_reporter *r = p->rep;
	const char *colon = strchr(value, ':');
	bool file = strcmp(key, "header_file") == 0;

	if (colon == NULL || colon == value) {
		perr(p, key, "want \"Name: %s\"", file ? "FILE" : "value");
		return 0;
	}
	for (const char *c = value; c < colon; c++)
		if (!isalnum((unsigned char)*c) && strchr("!#$%&'*+-.^_`|~", *c) == NULL) {
			perr(p, key, "a header name is letters, digits and -");
			return 0;
		}
	for (const char *c = value; *c; c++)
		if ((unsigned char)*c < 0x20 && *c != '\t') {
			perr(p, key, "control characters in a header");
			return 0;
		}
	if (r->nheaders >= 16) {
		perr(p, key, "more than 16 headers");
		return 0;
	}
	const char *v = colon + 1;
	while (*v == ' ' || *v == '\t')
		v++;
	char path[PATH_MAX];
	static const struct schema pathkey = { "reporter", "header_file", T_PATH, 0, NULL, NULL, NULL };
	if (file && resolve_one(p, &pathkey, v, strlen(v), path, sizeof path) < 0)
		return 0;
	size_t len = (size_t)(colon - value) + strlen(file ? path : v) + 4;
	char *h = malloc(len), **list = realloc(r->headers, (r->nheaders + 1) * sizeof *list);
	if (list != NULL)
		r->headers = list;
	if (h == NULL || list == NULL) {
		free(h);
		perr(p, key, "out of memory");
		return 0;
	}
	snprintf(h, len, "%c%.*s: %s", file ? 'F' : 'H', (int)(colon - value), value,
	    file ? path : v);
	r->headers[r->nheaders++] = h;
	return 1;
}

static int
cfg_handler(void *user, const char *section, const char *key, const char *value)
{
	struct parse *p = user;
	char sk[300];

	if (p->failed)
		return 0;
	if (section[0] == '\0') {
		perr(p, NULL, "key \"%s\" outside any section", key);
		return 0;
	}
	bool repeat = p->rep != NULL && (strcmp(key, "header") == 0 ||
	    strcmp(key, "header_file") == 0);
	snprintf(sk, sizeof sk, "%s\n%s", p->section, key);
	if (!repeat && seen_add(p, sk) < 0) {
		perr(p, key, "duplicate key");
		return 0;
	}
	if (strcmp(section, "vars") == 0) {
		if (!valid_name(key, false) || isdigit((unsigned char)key[0]) ||
		    strchr(key, '-') != NULL) {
			perr(p, key, "a var name is letters, digits and _, not starting with a digit");
			return 0;
		}
		struct config_var *v = realloc(p->cfg->vars, (p->cfg->nvars + 1) * sizeof *v);
		if (v == NULL) {
			perr(p, key, "out of memory");
			return 0;
		}
		p->cfg->vars = v;
		v[p->cfg->nvars].line = p->lineno;
		v[p->cfg->nvars].key = strdup(key);
		v[p->cfg->nvars].value = strdup(value);
		p->cfg->nvars++;
		return 1;
	}
	if (p->rep != NULL && (strcmp(key, "header") == 0 || strcmp(key, "header_file") == 0))
		return add_header(p, key, value);
	const char *sname = p->rep != NULL ? "reporter" : p->mnt != NULL ? "maintenance" : section;
	void *base = p->rep != NULL ? (void *)p->rep : p->mnt != NULL ? (void *)p->mnt :
	    (void *)p->cfg;
	for (size_t i = 0; i < NSCHEMA; i++)
		if (strcmp(schema[i].section, sname) == 0 && strcmp(schema[i].key, key) == 0)
			return set_value(p, &schema[i], base, value) == 0;
	perr(p, key, "unknown key");
	return 0;
}

/* A secret must not be readable by anyone but its owner, and the owner must
 * be whoever starts the agent: root, whose parent process reads it and
 * hands it to the delivery role, so the user the roles and rules run as
 * can never read it (DESIGN §9); or, started as another user, that user. */
static int
check_secret(const char *path, const char *user, char *err, size_t errlen)
{
	struct stat st;
	uid_t uid = geteuid();

	(void)user;
	if (stat(path, &st) < 0) {
		snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s is not a regular file", path);
		return -1;
	}
	if (st.st_mode & 077) {
		snprintf(err, errlen, "%s is mode %04o; refused: a secret must be 0600 or 0400",
		    path, (unsigned)(st.st_mode & 07777));
		return -1;
	}
	if (st.st_uid != uid) {
		struct passwd *pw = getpwuid(st.st_uid);
		snprintf(err, errlen, "%s is owned by %s; refused: a secret must be owned by %s, "
		    "who starts drishti (%s)", path, pw ? pw->pw_name : "another user",
		    uid == 0 ? "root" : "the user", uid == 0 ? "the agent's own user must not be able"
		    " to read it: chown root" : "chown it");
		return -1;
	}
	return 0;
}

static int
check_maintenance(const struct config *cfg, char *err, size_t errlen)
{
	for (size_t i = 0; i < cfg->nmaint; i++) {
		const struct config_maintenance *m = &cfg->maint[i];
		const char *need = m->cron == NULL ? "cron" : m->duration_ms <= 0 ? "duration" :
		    m->checks == NULL || *m->checks == '\0' ? "checks" : NULL;
		char e[160];
		struct cron cr;
		if (need != NULL) {
			snprintf(err, errlen, "%s:%d: [maintenance \"%s\"] %s: missing (required)",
			    cfg->path, m->line, m->name, need);
			return -1;
		}
		if (cron_parse(m->cron, &cr, e, sizeof e) < 0) {
			snprintf(err, errlen, "%s:%d: [maintenance \"%s\"] cron: %s", cfg->path,
			    m->line, m->name, e);
			return -1;
		}
	}
	return 0;
}

static int
check_reporters(struct config *cfg, bool check_files, char *err, size_t errlen)
{
	char e[512];

	for (size_t i = 0; i < cfg->nreporters; i++) {
		struct config_reporter *r = &cfg->reporters[i];
		const char *need = NULL;
		/* the services with one address of their own */
		static const char *const home[][2] = {
			{ "telegram", "https://api.telegram.org" },
			{ "pushover", "https://api.pushover.net/1/messages.json" },
			{ "pagerduty", "https://events.pagerduty.com/v2/enqueue" },
		};
		for (size_t k = 0; r->type != NULL && k < sizeof home / sizeof home[0]; k++)
			if (strcmp(r->type, home[k][0]) == 0 && *r->url == '\0') {
				free(r->url);
				r->url = strdup(home[k][1]);
			}
		if (r->type == NULL)
			need = "type";
		else if (strcmp(r->type, "telegram") == 0 || strcmp(r->type, "pushover") == 0) {
			if (*r->secret_file == '\0') need = "secret_file";
			else if (*r->to == '\0') need = "to";
		} else if (strcmp(r->type, "gotify") == 0 || strcmp(r->type, "pagerduty") == 0) {
			if (*r->url == '\0') need = "url";
			else if (*r->secret_file == '\0') need = "secret_file";
		} else if (strcmp(r->type, "smtp") == 0) {
			if (*r->url == '\0') need = "url";
			else if (*r->from == '\0') need = "from";
			else if (*r->to == '\0') need = "to";
		} else if (strcmp(r->type, "file") == 0) {
			if (*r->path == '\0') need = "path";
		} else if (strcmp(r->type, "stdout") != 0 && *r->url == '\0')
			need = "url";
		if (need != NULL) {
			snprintf(err, errlen, "%s:%d: [reporter \"%s\"] %s: missing (required%s%s)",
			    cfg->path, r->line, r->name, need,
			    r->type ? " for type = " : "", r->type ? r->type : "");
			return -1;
		}
		const char *bad = NULL, *key = NULL;
		if (strcmp(r->type, "webhook") != 0 && (r->nheaders > 0 || *r->tmpl != '\0' ||
		    strcmp(r->method, "POST") != 0)) {
			key = r->nheaders > 0 ? "header" : *r->tmpl ? "template" : "method";
			bad = "only for type = webhook";
		} else if (r->pin && *r->pin && strncmp(r->pin, "sha256//", 8) != 0) {
			key = "pin";
			bad = "must be sha256//BASE64 of the receiver's public key (see docs/config.md)";
		} else if (strcmp(r->type, "smtp") == 0 && strncmp(r->url, "smtp://", 7) != 0 &&
		    strncmp(r->url, "smtps://", 8) != 0) {
			key = "url";
			bad = "must start with smtp:// (STARTTLS) or smtps://";
		} else if (*r->url && strcmp(r->type, "smtp") != 0 &&
		    strncmp(r->url, "http://", 7) != 0 && strncmp(r->url, "https://", 8) != 0) {
			key = "url";
			bad = "must start with https:// or http://";
		}
		if (bad != NULL) {
			snprintf(err, errlen, "%s:%d: [reporter \"%s\"] %s: %s", cfg->path, r->line,
			    r->name, key, bad);
			return -1;
		}
		if (!check_files)   /* a role: the parent checked and read them */
			continue;
		for (size_t k = 0; k < r->nheaders; k++)
			if (r->headers[k][0] == 'F' &&
			    check_secret(strchr(r->headers[k], ':') + 2, cfg->user, e, sizeof e) < 0) {
				snprintf(err, errlen, "%s:%d: [reporter \"%s\"] header_file: %s",
				    cfg->path, r->line, r->name, e);
				return -1;
			}
		const char *files[][2] = { { "secret_file", r->secret_file },
		    { "password_file", r->password_file } };
		/* a secret a rule could read is no secret: not under read_paths
		 * (resolved, so a symlink or ".." cannot hide it) */
		for (size_t k = 0; k < 2 + r->nheaders; k++) {
			const char *fkey = k < 2 ? files[k][0] : "header_file";
			const char *f = k < 2 ? files[k][1] : r->headers[k - 2][0] == 'F' ?
			    strchr(r->headers[k - 2], ':') + 2 : "";
			char real[PATH_MAX];
			if (*f == '\0' || realpath(f, real) == NULL || !paths_under(cfg->read_paths, real))
				continue;
			char where[PATH_MAX + 32];
			if (cfg->read_paths_line)
				snprintf(where, sizeof where, "%s:%d", cfg->path, cfg->read_paths_line);
			else
				snprintf(where, sizeof where, "the default");
			snprintf(err, errlen, "%s:%d: [reporter \"%s\"] %s: %s is under [sandbox]"
			    " read_paths (%s: %s), so a rule could read it; keep secrets out of"
			    " read_paths", cfg->path, r->line, r->name, fkey, f, where, cfg->read_paths);
			return -1;
		}
		for (size_t k = 0; k < 2; k++)
			if (*files[k][1] != '\0' &&
			    check_secret(files[k][1], cfg->user, e, sizeof e) < 0) {
				snprintf(err, errlen, "%s:%d: [reporter \"%s\"] %s: %s",
				    cfg->path, r->line, r->name, files[k][0], e);
				return -1;
			}
	}
	return 0;
}

static char *
default_state(void)
{
	char buf[PATH_MAX];
	const char *x = getenv("XDG_STATE_HOME");
	const char *home = getenv("HOME");

	if (x != NULL && *x == '/')
		snprintf(buf, sizeof buf, "%s/drishti/state.db", x);
	else if (home != NULL && *home == '/')
		snprintf(buf, sizeof buf, "%s/.local/state/drishti/state.db", home);
	else
		snprintf(buf, sizeof buf, "/var/lib/drishti/state.db");
	return strdup(buf);
}

static bool
is_dir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* With no rules key: the installed rules, found beside the binary
 * (PREFIX/bin/drishti reads PREFIX/share/drishti/rules, so the Debian
 * package, make install and a copied tree all work), else at the compiled-in
 * place; ./rules only when the working directory is a drishti source
 * checkout, so the rules loaded never depend on where a user stands. */
static char *
default_rules(const char **from)
{
	char exe[PATH_MAX], buf[PATH_MAX + 32];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);

	*from = "installed";
	if (n > 0) {
		exe[n] = '\0';
		char *sl = strrchr(exe, '/');
		if (sl != NULL) {
			*sl = '\0';
			sl = strrchr(exe, '/');
			if (sl != NULL && strcmp(sl, "/bin") == 0) {
				*sl = '\0';
				snprintf(buf, sizeof buf, "%s/share/drishti/rules", exe);
				if (is_dir(buf))
					return strdup(buf);
			}
		}
	}
	if (is_dir(DRISHTI_SHAREDIR "/rules"))
		return strdup(DRISHTI_SHAREDIR "/rules");
	if (is_dir("rules") && access("src/state.c", F_OK) == 0 &&
	    access("cross/build.sh", F_OK) == 0 && realpath("rules", exe) != NULL) {
		*from = "source checkout";
		return strdup(exe);
	}
	*from = "missing";
	return strdup(DRISHTI_SHAREDIR "/rules");
}

int
config_defaults(struct config *cfg, char *err, size_t errlen)
{
	char host[256];

	memset(cfg, 0, sizeof *cfg);
	for (size_t i = 0; i < NSCHEMA; i++) {
		const struct schema *s = &schema[i];
		if (strcmp(s->section, "reporter") == 0)
			continue;
		struct parse p = { .cfg = cfg, .path = "(defaults)", .err = err, .errlen = errlen };
		if (s->def != NULL && s->def[0] != '(' &&
		    set_value(&p, s, cfg, s->def) < 0)
			return -1;
	}
	if (gethostname(host, sizeof host) < 0)
		snprintf(host, sizeof host, "localhost");
	host[sizeof host - 1] = '\0';
	cfg->name = strdup(host);
	cfg->rules = default_rules(&cfg->rules_from);
	cfg->state = default_state();
	if (cfg->name == NULL || cfg->rules == NULL || cfg->state == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

/* The directory relative paths in the file at path are taken from. */
static int
config_dir(const char *path, char *dir, size_t len, char *err, size_t errlen)
{
	char cwd[PATH_MAX];
	const char *sl = strrchr(path, '/');
	int n;

	if (path[0] == '/')
		n = snprintf(dir, len, "%.*s", sl == path ? 1 : (int)(sl - path), path);
	else if (getcwd(cwd, sizeof cwd) == NULL) {
		snprintf(err, errlen, "%s: cannot tell the working directory: %s", path,
		    strerror(errno));
		return -1;
	} else if (sl == NULL)
		n = snprintf(dir, len, "%s", cwd);
	else
		n = snprintf(dir, len, "%s%s%.*s", cwd, strcmp(cwd, "/") ? "/" : "",
		    (int)(sl - path), path);
	if (n < 0 || (size_t)n >= len) {
		snprintf(err, errlen, "%s: path too long", path);
		return -1;
	}
	return 0;
}

int
config_load_text(struct config *cfg, const char *path, const char *text, size_t textlen,
    bool check_files, char *err, size_t errlen)
{
	struct parse p = { .cfg = cfg, .path = path, .err = err, .errlen = errlen };
	int rc;

	if (config_defaults(cfg, err, errlen) < 0) {
		config_free(cfg);
		return -1;
	}
	cfg->path = strdup(path);
	if (config_dir(path, p.dir, sizeof p.dir, err, errlen) < 0) {
		config_free(cfg);
		return -1;
	}
	p.f = textlen > 0 ? fmemopen((char *)text, textlen, "r") : fopen("/dev/null", "re");
	if (p.f == NULL) {
		snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
		config_free(cfg);
		return -1;
	}
	/* inih's defaults cut lines at 200 bytes and read indented lines as
	 * continuations; we want whole lines and no surprises. */
	ini_max_line = CONFIG_MAX_LINE + 3;
	ini_initial_alloc = CONFIG_MAX_LINE + 3;
	ini_use_stack = false;
	ini_allow_realloc = false;
	ini_allow_multiline = false;
	rc = ini_parse_stream(cfg_reader, &p, cfg_handler, &p);
	if (!p.failed && ferror(p.f))
		snprintf(err, errlen, "%s: read error: %s", path, strerror(errno)), p.failed = 1;
	if (!p.failed && rc > 0) {
		p.lineno = rc;
		p.section[0] = '\0';
		perr(&p, NULL, "syntax error: expected \"key = value\" or \"[section]\"");
	} else if (!p.failed && rc < 0) {
		snprintf(err, errlen, "%s: out of memory", path);
		p.failed = 1;
	}
	fclose(p.f);
	free(p.line);
	for (size_t i = 0; i < p.nseen; i++)
		free(p.seen[i]);
	free(p.seen);
	if (!p.failed && (check_reporters(cfg, check_files, err, errlen) < 0 ||
	    check_maintenance(cfg, err, errlen) < 0))
		p.failed = 1;
	if (p.failed) {
		config_free(cfg);
		return -1;
	}
	return 0;
}

int
config_load(struct config *cfg, const char *path, char *err, size_t errlen)
{
	char *text;
	size_t textlen;

	/* read whole and bounded first: a FIFO, a device or a huge file is
	 * refused here, and the parser reads only memory */
	if (file_read(path, FILE_CONFIG_MAX, &text, &textlen, err, errlen) < 0) {
		memset(cfg, 0, sizeof *cfg);
		return -1;
	}
	int rc = config_load_text(cfg, path, text, textlen, true, err, errlen);
	free(text);
	return rc;
}

void
config_free(struct config *cfg)
{
	for (size_t i = 0; i < NSCHEMA; i++) {
		const struct schema *s = &schema[i];
		if (s->type == T_BOOL || s->type == T_DUR || s->type == T_SIZE ||
		    s->type == T_COUNT || s->type == T_REPEAT)
			continue;
		if (strcmp(s->section, "reporter") == 0) {
			for (size_t r = 0; r < cfg->nreporters; r++)
				free(*(char **)(void *)((char *)&cfg->reporters[r] + s->off));
		} else if (strcmp(s->section, "maintenance") == 0) {
			for (size_t m = 0; m < cfg->nmaint; m++)
				free(*(char **)(void *)((char *)&cfg->maint[m] + s->off));
		} else
			free(*(char **)(void *)((char *)cfg + s->off));
	}
	for (size_t r = 0; r < cfg->nreporters; r++) {
		free(cfg->reporters[r].name);
		for (size_t h = 0; h < cfg->reporters[r].nheaders; h++)
			free(cfg->reporters[r].headers[h]);
		free(cfg->reporters[r].headers);
	}
	free(cfg->reporters);
	for (size_t m = 0; m < cfg->nmaint; m++)
		free(cfg->maint[m].name);
	free(cfg->maint);
	for (size_t i = 0; i < cfg->nvars; i++) {
		free(cfg->vars[i].key);
		free(cfg->vars[i].value);
	}
	free(cfg->vars);
	free(cfg->path);
	memset(cfg, 0, sizeof *cfg);
}

const char *
config_find(const char *given)
{
	const char *env = getenv("DRISHTI_CONFIG");

	if (given != NULL)
		return given;
	if (env != NULL && *env != '\0')
		return env;
	if (access("drishti.ini", F_OK) == 0)
		return "drishti.ini";
	if (access("/etc/drishti/drishti.ini", F_OK) == 0)
		return "/etc/drishti/drishti.ini";
	if (access(DRISHTI_SYSCONFDIR "/drishti/drishti.ini", F_OK) == 0)
		return DRISHTI_SYSCONFDIR "/drishti/drishti.ini";
	return NULL;
}

const char *
config_var(const struct config *cfg, const char *key)
{
	for (size_t i = 0; i < cfg->nvars; i++)
		if (strcmp(cfg->vars[i].key, key) == 0)
			return cfg->vars[i].value;
	return NULL;
}

void
config_help(FILE *out)
{
	const char *cur = "";

	fprintf(out, "; drishti configuration: every key, its default and what it does.\n"
	    "; This text is itself a valid config file.  Durations: 500ms 30s 5m 2h 7d;\n"
	    "; sizes: 512K 8M 1G; counts: 500K 10M.  Keys shown commented out have a\n"
	    "; computed default.\n");
	for (size_t i = 0; i < NSCHEMA; i++) {
		const struct schema *s = &schema[i];
		if (strcmp(s->section, cur) != 0) {
			if (strcmp(s->section, "reporter") == 0) {
				fprintf(out, "\n[vars]\n; NAME = VALUE, read-only in rules as vars.NAME\n");
				fprintf(out, "\n; [reporter \"NAME\"]  (also [reporter.NAME]); one section per receiver\n");
			} else if (strcmp(s->section, "maintenance") == 0)
				fprintf(out, "\n; [maintenance \"NAME\"]  a silence that recurs: alerts of the checks it\n"
				    "; names are recorded, not sent, while it is open (drishti status shows\n"
				    "; the next one), e.g. cron = 0 3 * * sun, duration = 30m, checks = daily.*\n");
			else
				fprintf(out, "\n[%s]\n", s->section);
			cur = s->section;
		}
		bool rep = strcmp(s->section, "reporter") == 0 ||
		    strcmp(s->section, "maintenance") == 0;
		const char *c = rep || (s->def != NULL && s->def[0] == '(') ? "; " : "";
		fprintf(out, "%s%-13s = %s", c, s->key, s->type == T_REPEAT ? "(repeatable)" :
		    s->def ? s->def : "(required)");
		fprintf(out, "%*s; %s%s%s\n", 2, "", s->help,
		    s->choices ? ": " : "", s->choices ? s->choices : "");
	}
}
