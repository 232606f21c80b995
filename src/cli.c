/* cli.c — the commands that load rules: `once` and `lint`.
 *
 * `once` runs the chosen checks one after another in this process and prints
 * what they found; it is the operator's "run the daily script now".  `lint`
 * loads everything and runs nothing, so it is safe in a pre-commit hook or
 * before a reload. */
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "cli.h"
#include "utf8.h"
#include "config.h"
#include "engine.h"
#include "report.h"
#include "json.h"
#include "loop.h"
#include "log.h"
#include "ruleset.h"
#include "outbox.h"
#include "units.h"
#include "quiet.h"
#include "store.h"

int
cli_config(const char *given, struct config *cfg)
{
	char err[1024];
	const char *path = config_find(given);
	enum log_level lv;

	if (path == NULL ? config_defaults(cfg, err, sizeof err) :
	    config_load(cfg, path, err, sizeof err)) {
		fprintf(stderr, "%s\n", err);
		if (path == NULL)
			config_free(cfg);
		return -1;
	}
	if (log_level_parse(cfg->log_level, &lv) < 0)
		lv = LOG_LVL_INFO;
	if (log_open(cfg->log, lv, err, sizeof err) < 0) {
		fprintf(stderr, "%s: [agent] log: %s\n", path ? path : "(defaults)", err);
		config_free(cfg);
		return -1;
	}
	return 0;
}

/* -c FILE and the flags a command takes; -1 on a usage error. */
static int
parse_opts(int argc, char **argv, const char **conf, int *json, int *list)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "json", no_argument, NULL, 'j' },
		{ "list", no_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "+c:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			*conf = optarg;
			break;
		case 'j':
			if (json == NULL)
				goto bad;
			*json = 1;
			break;
		case 'l':
			if (list == NULL)
				goto bad;
			*list = 1;
			break;
		case 'h':
			return -2;
		default:
			goto bad;
		}
	}
	return optind;
bad:
	if (optopt == 'c')
		fprintf(stderr, "drishti %s: -c needs a FILE\n", argv[0]);
	else
		fprintf(stderr, "drishti %s: unknown option \"%s\"\n", argv[0],
		    argv[optind - 1]);
	fprintf(stderr, "usage: see drishti help %s\n", argv[0]);
	return -1;
}

static void
print_json_line(const struct rule_decl *d, const struct result *r)
{
	struct json *o = json_new(JSON_OBJECT), *m = json_new(JSON_OBJECT);

	json_add(o, "check", json_new_string(d->name));
	json_add(o, "file", json_new_string(d->file));
	json_add(o, "status", json_new_string(result_status_lower(r->status)));
	json_add(o, "summary", json_new_string(r->summary));
	json_add(o, "started", json_new_number(r->started));
	json_add(o, "duration", json_new_number(r->duration));
	for (int i = 0; i < r->nmetrics; i++) {
		struct json *v = json_new(JSON_OBJECT);
		json_add(v, "value", json_new_number(r->metrics[i].value));
		json_add(v, "unit", json_new_string(r->metrics[i].unit));
		json_add(m, r->metrics[i].name, v);
	}
	json_add(o, "metrics", m);
	char *s = json_print(o, false);
	if (s != NULL)
		printf("%s\n", s);
	free(s);
	json_free(o);
}

static void
fmt_time(double s, char *buf, size_t len)
{
	if (s < 1)
		snprintf(buf, len, "%.1fms", s * 1000);
	else
		snprintf(buf, len, "%.2fs", s);
}

struct once_ctx {
	struct loop *loop;
	struct store *store;        /* the state file, read-only, for history.* */
	const struct config *cfg;
	struct engine *e;
	char  **names;              /* the checks asked for; NULL: all */
	int     nnames;
	int     failed;             /* load errors or an unknown name */
	int     pending;
	int     usage;              /* an unknown name */
	const char *report;         /* `drishti report`: the one report to build */
	char   *doc;                /* ... and its finished document */
	struct result rres;
	/* rule files that did not load: each is an UNKNOWN row rules:FILE */
	struct { char *file, *msg; } broken[64];
	int     nbroken;
};

#define BROKEN_MAX 64

static void
once_load_error(void *ud, const char *file, const char *msg)
{
	struct once_ctx *o = ud;

	for (int i = 0; file != NULL && i < o->nbroken; i++)
		if (strcmp(o->broken[i].file, file) == 0)
			file = NULL;        /* its first error stands for it */
	if (file != NULL && o->nbroken < BROKEN_MAX) {
		o->broken[o->nbroken].file = strdup(file);
		o->broken[o->nbroken].msg = strdup(msg);
		if (o->broken[o->nbroken].file != NULL && o->broken[o->nbroken].msg != NULL)
			o->nbroken++;
		else {
			free(o->broken[o->nbroken].file);
			free(o->broken[o->nbroken].msg);
		}
	}
	fprintf(stderr, "%s\n", msg);
}

static void
once_history(struct engine *e, const struct hist_req *q, struct hist_ans *a, void *ud)
{
	struct once_ctx *o = ud;

	(void)e;
	if (o->store == NULL) {
		a->found = 0;           /* no state file yet: no history */
		return;
	}
	store_answer(o->store, q, (double)o->cfg->raw_ms / 1000.0, a);
}

static bool
once_wanted(const struct once_ctx *o, const char *name)
{
	if (o->nnames == 0)
		return true;
	for (int i = 0; i < o->nnames; i++)
		if (strcmp(o->names[i], name) == 0)
			return true;
	return false;
}

static void
once_loaded(struct engine *e, int nerrors, void *ud)
{
	struct once_ctx *o = ud;

	/* a broken rule file is a failing row, as in `run`; only an error of
	 * the whole set (no rules at all) stops here */
	if (nerrors > 0 && engine_global_errors(e) > 0) {
		o->failed = 1;
		loop_stop(o->loop);
		return;
	}
	if (o->report != NULL) {
		struct eng_check *c = engine_find(e, o->report);
		if (c == NULL || c->d.kind != RULE_REPORT) {
			fprintf(stderr, "drishti report: no report named \"%s\"\n", o->report);
			o->usage = 1;
		} else if (engine_run_now(e, c) == 0)
			o->pending = 1;
		else
			o->failed = 1;
		if (o->pending == 0)
			loop_stop(o->loop);
		return;
	}
	/* the named checks must all exist before anything runs */
	for (int i = 0; i < o->nnames; i++) {
		struct eng_check *c = engine_find(e, o->names[i]);
		if (c == NULL || c->d.kind != RULE_CHECK) {
			fprintf(stderr, "drishti once: no check named \"%s\"\n", o->names[i]);
			o->usage = 1;
		}
	}
	if (o->usage) {
		loop_stop(o->loop);
		return;
	}
	/* every chosen check starts at once; they wait on I/O side by side */
	for (size_t i = 0; i < engine_count(e); i++) {
		struct eng_check *c = engine_check(e, i);
		if (c->d.kind == RULE_CHECK && once_wanted(o, c->d.name)) {
			o->pending++;
			if (engine_run_now(e, c) < 0) {
				o->pending--;
				result_set(c->last, ST_UNKNOWN, "could not start the run");
				c->has_last = 1;
			}
		}
	}
	if (o->pending == 0)
		loop_stop(o->loop);
}

static void
once_result(struct engine *e, struct eng_check *c, const struct result *r, void *ud)
{
	struct once_ctx *o = ud;

	(void)e;
	if (c->d.kind == RULE_REPORT) {
		o->rres = *r;
		o->doc = report_finish(c->doc, c->d.name, o->cfg->name, r->started,
		    r->status == ST_UNKNOWN ? r->summary : NULL);
	}
	if (--o->pending == 0)
		loop_stop(o->loop);
}

static void
once_ctx_free(struct once_ctx *o)
{
	for (int i = 0; i < o->nbroken; i++) {
		free(o->broken[i].file);
		free(o->broken[i].msg);
	}
	o->nbroken = 0;
}

/* `once` and `report`: the engine over every rule file, the state file
 * read-only for history.*, run until the asked runs are done.  -1 if there
 * is no loop to run it on. */
static int
once_engine(struct once_ctx *o, struct config *cfg, const char *cmd)
{
	o->loop = loop_new();
	if (o->loop == NULL) {
		fprintf(stderr, "drishti %s: cannot make an event loop\n", cmd);
		return -1;
	}
	struct engine_hooks hooks = { .load_error = once_load_error, .loaded = once_loaded,
	    .result = once_result, .history = once_history, .ud = o };
	o->cfg = cfg;
	if (access(cfg->state, F_OK) == 0) {
		char serr[512];
		if (store_open(&o->store, cfg->state, true, NULL, serr, sizeof serr) < 0)
			log_warn("%s; history.* answers nothing", serr);
	}
	o->e = engine_new(o->loop, cfg, &hooks);
	if (o->e == NULL || engine_load(o->e, NULL, 0) < 0)
		o->failed = 1;
	else
		loop_run(o->loop);
	return 0;
}

/* Where the rules came from when no config named them: said on stderr, so
 * a user sees which set ran (stdout stays the table or JSON). */
static int
rules_origin(const struct config *cfg)
{
	if (cfg->rules_from == NULL)
		return 0;
	if (strcmp(cfg->rules_from, "missing") == 0) {
		fprintf(stderr, "drishti: no rules: none installed (%s, nor share/drishti/rules "
		    "beside the binary) and this is not a source checkout; set [agent] rules "
		    "in a config file (drishti help config)\n", cfg->rules);
		return -1;
	}
	fprintf(stderr, "drishti: rules: %s (%s; no [agent] rules set)\n", cfg->rules,
	    cfg->rules_from);
	return 0;
}

/* --list: the names of the checks or reports, one a line, without running
 * anything (for completion and scripts); load errors go to stderr. */
static int
list_rules(struct config *cfg, enum rule_kind kind)
{
	struct ruleset rs;

	int bad = ruleset_load(&rs, cfg, NULL, 0, stderr, NULL) < 0;
	for (size_t i = 0; i < rs.nfiles; i++)
		for (size_t k = 0; k < rules_count(rs.files[i]); k++) {
			const struct rule_decl *d = rules_get(rs.files[i], k);
			if (d->kind == kind)
				printf("%s\n", d->name);
		}
	fflush(stdout);
	ruleset_free(&rs);
	config_free(cfg);
	log_close();
	return bad ? EXIT_CONFIG : 0;
}

int
cli_once(int argc, char **argv)
{
	const char *conf = NULL;
	int json = 0, list = 0, worst = ST_OK;
	struct config cfg;
	int first = parse_opts(argc, argv, &conf, &json, &list);
	if (first == -2) {
		printf("usage: drishti once [-c FILE] [--json] [--list] [NAME...]\n");
		return 0;
	}
	if (first < 0)
		return EXIT_USAGE;
	if (cli_config(conf, &cfg) < 0)
		return EXIT_CONFIG;
	if (list)
		return list_rules(&cfg, RULE_CHECK);
	if (rules_origin(&cfg) < 0) {
		config_free(&cfg);
		log_close();
		return EXIT_CONFIG;
	}
	struct once_ctx o = { .names = argv + first, .nnames = argc - first };
	if (once_engine(&o, &cfg, "once") < 0) {
		config_free(&cfg);
		return EXIT_UNAVAILABLE;
	}
	int rc;
	if (o.failed)
		rc = EXIT_CONFIG;
	else if (o.usage)
		rc = EXIT_USAGE;
	else {
		if (!json)
			printf("%-24s %-8s %9s  %s\n", "CHECK", "STATUS", "TIME", "SUMMARY");
		int shown = 0;
		for (size_t i = 0; i < engine_count(o.e); i++) {
			struct eng_check *c = engine_check(o.e, i);
			if (c->d.kind != RULE_CHECK || !once_wanted(&o, c->d.name) || !c->has_last)
				continue;
			const struct result *r = c->last;
			shown++;
			if ((int)r->status > worst)
				worst = (int)r->status;
			if (json)
				print_json_line(&c->d, r);
			else {
				char t[32], sum[RESULT_SUMMARY_MAX * 4];
				fmt_time(r->duration, t, sizeof t);
				utf8_escape(sum, sizeof sum, r->summary);  /* no raw control bytes */
				printf("%-24s %-8s %9s  %s\n", c->d.name,
				    result_status_name(r->status), t, sum);
			}
		}
		for (int i = 0; i < o.nbroken; i++) {
			const char *b = strrchr(o.broken[i].file, '/');
			char name[300];
			snprintf(name, sizeof name, "rules:%s", b ? b + 1 : o.broken[i].file);
			if (!once_wanted(&o, name) && o.nnames > 0)
				continue;
			shown++;
			worst = ST_UNKNOWN;
			if (json) {
				struct rule_decl d = { .name = name, .file = o.broken[i].file };
				struct result r;
				memset(&r, 0, sizeof r);
				result_set(&r, ST_UNKNOWN, "%s", o.broken[i].msg);
				print_json_line(&d, &r);
			} else {
				char sum[RESULT_SUMMARY_MAX * 4];
				utf8_escape(sum, sizeof sum, o.broken[i].msg);
				printf("%-24s %-8s %9s  %s\n", name, "UNKNOWN", "-", sum);
			}
		}
		if (shown == 0 && !json)
			printf("(no checks)\n");
		fflush(stdout);
		rc = worst;
	}
	engine_free(o.e);
	store_close(o.store);
	loop_free(o.loop);
	config_free(&cfg);
	once_ctx_free(&o);
	log_close();
	return rc;
}

int
cli_report(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "format", required_argument, NULL, 'f' },
		{ "send", no_argument, NULL, 's' },
		{ "list", no_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *conf = NULL, *usage = "usage: drishti report [-c FILE] NAME"
	    " [--format text|json|html] [--send] | --list\n";
	enum report_format fmt = REPORT_TEXT;
	int ch, send = 0, list = 0;
	struct config cfg;

	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "c:f:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			conf = optarg;
			break;
		case 'f':
			if (report_format_parse(optarg, &fmt) < 0) {
				fprintf(stderr, "drishti report: --format %s: use text, json or html\n%s",
				    optarg, usage);
				return EXIT_USAGE;
			}
			break;
		case 's':
			send = 1;
			break;
		case 'l':
			list = 1;
			break;
		case 'h':
			printf("%s", usage);
			return 0;
		default:
			fprintf(stderr, "drishti report: bad option \"%s\"\n%s", argv[optind - 1], usage);
			return EXIT_USAGE;
		}
	}
	if (list && argc == optind) {
		if (cli_config(conf, &cfg) < 0)
			return EXIT_CONFIG;
		return list_rules(&cfg, RULE_REPORT);
	}
	if (argc - optind != 1 || list) {
		fprintf(stderr, "drishti report: name one report\n%s", usage);
		return EXIT_USAGE;
	}
	if (cli_config(conf, &cfg) < 0)
		return EXIT_CONFIG;
	struct once_ctx o = { .report = argv[optind] };
	if (once_engine(&o, &cfg, "report") < 0) {
		config_free(&cfg);
		return EXIT_UNAVAILABLE;
	}
	int rc = o.failed ? EXIT_CONFIG : o.usage ? EXIT_USAGE : 0;
	if (rc == 0 && o.doc == NULL) {
		fprintf(stderr, "drishti report: %s: no document\n", o.report);
		rc = 1;
	}
	if (rc == 0) {
		char err[256];
		char *out = report_render(o.doc, fmt, err, sizeof err);
		if (out == NULL) {
			fprintf(stderr, "drishti report: %s\n", err);
			rc = 1;
		} else {
			fputs(out, stdout);
			if (fmt == REPORT_JSON)
				fputc('\n', stdout);
			fflush(stdout);
			free(out);
		}
		if (o.rres.status == ST_UNKNOWN) {
			fprintf(stderr, "drishti report: %s did not finish: %s\n", o.report,
			    o.rres.summary);
			rc = 1;
		}
	}
	/* the workers go before anything is sent: no rule runs beside a secret */
	engine_free(o.e);
	o.e = NULL;
	once_ctx_free(&o);
	if (rc == 0 && send) {
		char head[RESULT_SUMMARY_MAX];
		report_headline(o.doc, head, sizeof head);
		/* the answers go to stderr: stdout holds the report itself */
		fflush(stdout);
		int saved = dup(STDOUT_FILENO);
		if (saved >= 0 && dup2(STDERR_FILENO, STDOUT_FILENO) >= 0) {
			rc = outbox_send_report(o.loop, &cfg, o.report, head, o.doc);
			fflush(stdout);
			dup2(saved, STDOUT_FILENO);
		}
		if (saved >= 0)
			close(saved);
	}
	free(o.doc);
	store_close(o.store);
	loop_free(o.loop);
	config_free(&cfg);
	log_close();
	return rc;
}

int
cli_lint(int argc, char **argv)
{
	const char *conf = NULL;
	struct config cfg;
	struct ruleset rs;
	size_t checks = 0, reports = 0;
	int strict = 0, warnings = 0;

	/* --strict: warnings (an undeclared [vars] key) are errors too */
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--strict") == 0) {
			strict = 1;
			memmove(argv + i, argv + i + 1, (size_t)(argc - i) * sizeof *argv);
			argc--;
			i--;
		}
	int first = parse_opts(argc, argv, &conf, NULL, NULL);
	if (first == -2) {
		printf("usage: drishti lint [-c FILE] [--strict] [PATH...]\n");
		return 0;
	}
	if (first < 0)
		return EXIT_USAGE;
	if (cli_config(conf, &cfg) < 0)
		return EXIT_CONFIG;
	if (first == argc && rules_origin(&cfg) < 0) {
		config_free(&cfg);
		log_close();
		return EXIT_CONFIG;
	}
	int bad = ruleset_load(&rs, &cfg, argv + first, (size_t)(argc - first), stderr, NULL) < 0;
	int verrors = 0;
	if (first == argc)          /* the config's own rules: its [vars] are theirs */
		ruleset_check_vars(&rs, &cfg, &verrors, &warnings);
	rs.nerrors += verrors + (strict ? warnings : 0);
	bad |= verrors > 0 || (strict && warnings > 0);
	for (size_t i = 0; i < rs.nfiles; i++) {
		size_t c = 0, r = 0;
		for (size_t k = 0; k < rules_count(rs.files[i]); k++)
			rules_get(rs.files[i], k)->kind == RULE_CHECK ? c++ : r++;
		/* what a file's state holds after loading: what [sandbox] memory
		 * must leave room above */
		printf("%s: %zu check%s, %zu report%s, %.1f KiB loaded\n",
		    rules_path(rs.files[i]), c, c == 1 ? "" : "s", r, r == 1 ? "" : "s",
		    (double)rules_memory(rs.files[i]) / 1024);
		checks += c;
		reports += r;
	}
	if (!bad)
		printf("%zu rule file%s, %zu check%s, %zu report%s: ok\n", rs.nfiles,
		    rs.nfiles == 1 ? "" : "s", checks, checks == 1 ? "" : "s",
		    reports, reports == 1 ? "" : "s");
	else
		fprintf(stderr, "%d error%s\n", rs.nerrors, rs.nerrors == 1 ? "" : "s");
	if (warnings > 0 && !strict)
		fprintf(stderr, "%d warning%s (lint --strict makes them errors)\n", warnings,
		    warnings == 1 ? "" : "s");
	ruleset_free(&rs);
	config_free(&cfg);
	log_close();
	return bad ? EXIT_CONFIG : 0;
}

/* ---- help vars -------------------------------------------------------------------- */

struct vars_ctx {
	int markdown;
	int n;
};

/* a table cell: | escaped, code in backticks; none says "(unset)" */
static void
md_cell(const char *s, int code)
{
	if (s == NULL) {
		fputs(code ? "(unset)" : "", stdout);
		return;
	}
	if (code)
		putchar('`');
	for (; *s; s++) {
		if (*s == '|')
			putchar('\\');
		putchar(*s);
	}
	if (code)
		putchar('`');
}

static void
print_var(const struct rule_var *v, const char *file, void *ud)
{
	struct vars_ctx *x = ud;
	const char *base = strrchr(file, '/');

	base = base ? base + 1 : file;
	x->n++;
	if (x->markdown) {
		printf("| `%s` | %s | ", v->name, rules_var_type_name(v->type));
		md_cell(v->def, 1);
		printf(" | %s | ", base);
		md_cell(v->doc, 0);
		printf(" |\n");
	} else
		printf("%-20s %-9s %-16s %-12s %s\n", v->name, rules_var_type_name(v->type),
		    v->def ? v->def : "(unset)", base, v->doc ? v->doc : "");
}

/* drishti help vars [--markdown]: every var the rules declare; the docs'
 * table is this output, so the two cannot drift */
int
cli_help_vars(int argc, char **argv)
{
	struct vars_ctx x = { 0 };
	struct config cfg;
	struct ruleset rs;
	const char *conf = NULL;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--markdown") == 0)
			x.markdown = 1;
		else if (strcmp(argv[i], "-c") == 0 && i + 1 < argc)
			conf = argv[++i];
		else {
			fprintf(stderr, "usage: drishti help vars [-c FILE] [--markdown]\n");
			return EXIT_USAGE;
		}
	}
	if (cli_config(conf, &cfg) < 0)
		return EXIT_CONFIG;
	FILE *quiet = fopen("/dev/null", "we");
	int bad = ruleset_load(&rs, &cfg, NULL, 0, quiet ? quiet : stderr, NULL) < 0;
	if (x.markdown)
		printf("| var | type | default | read by | what |\n|---|---|---|---|---|\n");
	else
		printf("%-20s %-9s %-16s %-12s %s\n", "VAR", "TYPE", "DEFAULT", "FILE", "WHAT");
	ruleset_each_var(&rs, print_var, &x);
	if (bad)
		fprintf(stderr, "drishti help vars: some rule files did not load (drishti lint says why)\n");
	ruleset_free(&rs);
	if (quiet)
		fclose(quiet);
	config_free(&cfg);
	log_close();
	return bad ? EXIT_CONFIG : 0;
}

/* ---- status ------------------------------------------------------------------- */

struct status_ctx {
	int      json;
	struct json *checks, *files, *quiet;
	int      firing, pending, n;
	double   now;
};

/* "in 42s", "in 5m", "in 3h", "due" */
static void
fmt_in(double secs, char *buf, size_t len)
{
	if (secs < 1)
		snprintf(buf, len, "due");
	else if (secs < 120)
		snprintf(buf, len, "in %.0fs", secs);
	else if (secs < 7200)
		snprintf(buf, len, "in %.0fm", secs / 60);
	else if (secs < 172800)
		snprintf(buf, len, "in %.0fh", secs / 3600);
	else
		snprintf(buf, len, "in %.0fd", secs / 86400);
}

static void
fmt_ago(double secs, char *buf, size_t len)
{
	if (secs < 120)
		snprintf(buf, len, "%.0fs ago", secs);
	else if (secs < 7200)
		snprintf(buf, len, "%.0fm ago", secs / 60);
	else if (secs < 172800)
		snprintf(buf, len, "%.0fh ago", secs / 3600);
	else
		snprintf(buf, len, "%.0fd ago", secs / 86400);
}

static void
status_check(const struct store_check *c, void *ud)
{
	struct status_ctx *x = ud;
	char since[32], last[32];

	x->n++;
	x->firing += c->alert.state == AL_FIRING;
	x->pending += c->alert.state == AL_PENDING;
	if (x->json) {
		struct json *o = json_new(JSON_OBJECT);
		json_add(o, "check", json_new_string(c->check));
		json_add(o, "state", json_new_string(alert_state_name(c->alert.state)));
		json_add(o, "alert_status", json_new_string(result_status_lower(c->alert.status)));
		json_add(o, "since", json_new_number((double)c->alert.since_ms / 1000));
		json_add(o, "status", json_new_string(result_status_lower(c->last_status)));
		json_add(o, "summary", json_new_string(c->last_summary ? c->last_summary : ""));
		json_add(o, "last_run", json_new_number(c->last_ts));
		json_add(o, "duration", json_new_number(c->last_duration));
		json_add(o, "note", json_new_string(c->note ? c->note : ""));
		json_add(o, "next_run", c->next_at > 0 ? json_new_number(c->next_at) :
		    json_new(JSON_NULL));
		json_add(o, "owed", json_new(c->alert.owed ? JSON_TRUE : JSON_FALSE));
		json_add(x->checks, NULL, o);
		return;
	}
	fmt_ago(x->now - (double)c->alert.since_ms / 1000, since, sizeof since);
	fmt_ago(x->now - c->last_ts, last, sizeof last);
	char sum[RESULT_SUMMARY_MAX * 4];
	utf8_escape(sum, sizeof sum, c->last_summary ? c->last_summary : "");
	char next[32] = "-";
	if (c->next_at > 0)
		fmt_in(c->next_at - x->now, next, sizeof next);
	printf("%-24s %-8s %-8s %-10s %-10s %-10s %s%s%s%s\n", c->check,
	    alert_state_name(c->alert.state), result_status_name(c->last_status), since, last, next,
	    sum,
	    c->note && *c->note ? " [" : "", c->note ? c->note : "", c->note && *c->note ? "]" : "");
}

static void
fmt_when(double t, char *out, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;
	localtime_r(&tt, &tm);
	strftime(out, len, "%Y-%m-%d %H:%M", &tm);
}

static void
status_silence(const struct store_silence *si, void *ud)
{
	struct status_ctx *x = ud;
	char until[40];

	if (si->removed > 0 || si->ends <= x->now)
		return;
	fmt_when(si->ends, until, sizeof until);
	if (x->json) {
		struct json *o = json_new(JSON_OBJECT);
		json_add(o, "silence", json_new_number((double)si->id));
		json_add(o, "pattern", json_new_string(si->pattern));
		json_add(o, "reason", json_new_string(si->reason));
		json_add(o, "ends", json_new_number(si->ends));
		json_add(x->quiet, NULL, o);
	} else
		printf("silence #%lld: %s until %s%s%s%s\n", (long long)si->id, si->pattern, until,
		    *si->reason ? " (" : "", si->reason, *si->reason ? ")" : "");
}

/* silences in force, and each maintenance window: open until, or next */
static void
status_quiet(struct store *st, const struct config *cfg, struct status_ctx *x)
{
	char when[40];

	store_each_silence(st, false, status_silence, x);
	for (size_t i = 0; i < cfg->nmaint; i++) {
		int open;
		double at = quiet_window_at(&cfg->maint[i], x->now, &open);
		if (at > 0)
			fmt_when(at, when, sizeof when);
		else
			snprintf(when, sizeof when, "never");
		if (x->json) {
			struct json *o = json_new(JSON_OBJECT);
			json_add(o, "maintenance", json_new_string(cfg->maint[i].name));
			json_add(o, "checks", json_new_string(cfg->maint[i].checks));
			json_add(o, "open", json_new(open ? JSON_TRUE : JSON_FALSE));
			json_add(o, open ? "closes" : "opens", json_new_number(at));
			json_add(x->quiet, NULL, o);
		} else
			printf("maintenance \"%s\" (%s): %s %s\n", cfg->maint[i].name,
			    cfg->maint[i].checks, open ? "open until" : "next", when);
	}
}

static void
status_file(const char *path, const char *state, double since, const char *reason, void *ud)
{
	struct status_ctx *x = ud;
	char ago[32];

	if (x->json) {
		struct json *o = json_new(JSON_OBJECT);
		json_add(o, "file", json_new_string(path));
		json_add(o, "state", json_new_string(state));
		json_add(o, "since", json_new_number(since));
		json_add(o, "reason", json_new_string(reason ? reason : ""));
		json_add(x->files, NULL, o);
		return;
	}
	fmt_ago(x->now - since, ago, sizeof ago);
	printf("%s: %s %s (%s)\n", path, state, ago, reason ? reason : "");
}

int
cli_status(int argc, char **argv)
{
	const char *conf = NULL;
	int json = 0;
	struct config cfg;
	struct store *st;
	char err[1024];

	int first = parse_opts(argc, argv, &conf, &json, NULL);
	if (first == -2) {
		printf("usage: drishti status [-c FILE] [--json]\n");
		return 0;
	}
	if (first < 0)
		return EXIT_USAGE;
	if (first < argc) {
		fprintf(stderr, "drishti status: takes no names\n");
		return EXIT_USAGE;
	}
	if (cli_config(conf, &cfg) < 0)
		return EXIT_CONFIG;
	if (access(cfg.state, F_OK) < 0) {
		if (json)
			printf("{\"state\":\"%s\",\"checks\":[],\"note\":\"no state file yet\"}\n", cfg.state);
		else
			printf("no state file at %s yet: the agent has not run (drishti run)\n", cfg.state);
		config_free(&cfg);
		return 0;
	}
	if (store_open(&st, cfg.state, true, NULL, err, sizeof err) < 0) {
		fprintf(stderr, "%s\n", err);
		config_free(&cfg);
		return EXIT_UNAVAILABLE;
	}
	struct status_ctx x = { .json = json, .now = (double)time(NULL) };
	long depth = 0, dead = 0;
	double oldest = 0;
	if (json) {
		x.checks = json_new(JSON_ARRAY);
		x.files = json_new(JSON_ARRAY);
	} else
		printf("%-24s %-8s %-8s %-10s %-10s %-10s %s\n", "CHECK", "ALERT", "LAST", "SINCE",
		    "LAST RUN", "NEXT RUN", "SUMMARY");
	int rc = store_each_check(st, status_check, &x);
	store_outbox(st, &depth, &oldest, &dead);
	long pid;
	char note[200];
	int running = store_agent(cfg.state, &pid, note, sizeof note);
	long dropped = store_dropped(st);
	if (json) {
		struct json *o = json_new(JSON_OBJECT), *ob = json_new(JSON_OBJECT);
		json_add(o, "state", json_new_string(cfg.state));
		json_add(o, "checks", x.checks);
		json_add(o, "firing", json_new_number(x.firing));
		json_add(o, "pending", json_new_number(x.pending));
		json_add(ob, "depth", json_new_number((double)depth));
		json_add(ob, "oldest_age", json_new_number(depth > 0 ? x.now - oldest : 0));
		json_add(ob, "dead", json_new_number((double)dead));
		json_add(ob, "dropped", json_new_number((double)dropped));
		json_add(o, "outbox", ob);
		struct json *ag = json_new(JSON_OBJECT);
		json_add(ag, "running", json_new(running ? JSON_TRUE : JSON_FALSE));
		if (running) {
			json_add(ag, "pid", json_new_number((double)pid));
			json_add(ag, "state_file", json_new_string(note));
		}
		json_add(o, "agent", ag);
		store_each_file(st, status_file, &x);
		json_add(o, "files", x.files);
		x.quiet = json_new(JSON_ARRAY);
		status_quiet(st, &cfg, &x);
		json_add(o, "quiet", x.quiet);
		char *s = json_print(o, false);
		if (s != NULL)
			printf("%s\n", s);
		free(s);
		json_free(o);
	} else {
		if (x.n == 0)
			printf("(no check has run yet)\n");
		printf("\nalerts: %d firing, %d pending\n", x.firing, x.pending);
		if (depth > 0) {
			char ago[32];
			fmt_ago(x.now - oldest, ago, sizeof ago);
			printf("outbox: %ld event%s waiting, oldest %s; %ld dead", depth,
			    depth == 1 ? "" : "s", ago, dead);
		} else
			printf("outbox: empty; %ld dead", dead);
		printf(dropped > 0 ? "; %ld dropped (outbox bounds)\n" : "\n", dropped);
		/* what the file cannot say while it refuses writes, the agent does */
		if (!running)
			printf("agent: not running\n");
		else if (strcmp(note, "ok") == 0)
			printf("agent: running (pid %ld); state file: ok\n", pid);
		else
			printf("agent: running (pid %ld); state file: %s; what it holds is delivered"
			    " from memory, and this table may be behind\n", pid, note);
		store_each_file(st, status_file, &x);
		status_quiet(st, &cfg, &x);
	}
	store_close(st);
	config_free(&cfg);
	log_close();
	return rc < 0 ? EXIT_UNAVAILABLE : 0;
}

/* ---- silence ------------------------------------------------------------------------- */

static void
silence_row(const struct store_silence *si, void *ud)
{
	struct status_ctx *x = ud;
	char made[40], until[40];
	const char *state = si->removed > 0 ? "removed" : si->ends <= x->now ? "ended" : "active";

	if (!x->n && si->removed > 0)
		return;
	if (!x->n && si->ends <= x->now)
		return;
	fmt_when(si->created, made, sizeof made);
	fmt_when(si->removed > 0 ? si->removed : si->ends, until, sizeof until);
	if (x->json) {
		struct json *o = json_new(JSON_OBJECT);
		json_add(o, "id", json_new_number((double)si->id));
		json_add(o, "pattern", json_new_string(si->pattern));
		json_add(o, "reason", json_new_string(si->reason));
		json_add(o, "created", json_new_number(si->created));
		json_add(o, "ends", json_new_number(si->ends));
		json_add(o, "state", json_new_string(state));
		json_add(x->checks, NULL, o);
		return;
	}
	char reason[600];
	utf8_escape(reason, sizeof reason, si->reason);
	printf("%-5lld %-24s %-8s %-17s %-17s %s\n", (long long)si->id, si->pattern, state, made,
	    until, reason);
	x->firing++;
}

/* drishti silence add PATTERN DURATION [--reason TEXT] | list [--all] [--json] | rm ID:
 * written to the state file, where the running agent finds them within a
 * second (and says each add and end as an event of kind "silence"). */
int
cli_silence(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "reason", required_argument, NULL, 'r' },
		{ "json", no_argument, NULL, 'j' },
		{ "all", no_argument, NULL, 'a' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *conf = NULL, *reason = "", *usage = "usage: drishti silence add [-c FILE]"
	    " PATTERN DURATION [--reason TEXT]\n       drishti silence list [-c FILE] [--all]"
	    " [--json]\n       drishti silence rm [-c FILE] ID\n";
	int ch, json = 0, all = 0;
	struct config cfg;
	char err[1024];

	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "c:r:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c': conf = optarg; break;
		case 'r': reason = optarg; break;
		case 'j': json = 1; break;
		case 'a': all = 1; break;
		case 'h': printf("%s", usage); return 0;
		default:
			fprintf(stderr, "drishti silence: bad option \"%s\"\n%s", argv[optind - 1], usage);
			return EXIT_USAGE;
		}
	}
	const char *op = optind < argc ? argv[optind] : "";
	int nargs = argc - optind - 1;
	if (!((strcmp(op, "add") == 0 && nargs == 2) || (strcmp(op, "list") == 0 && nargs == 0) ||
	    (strcmp(op, "rm") == 0 && nargs == 1))) {
		fprintf(stderr, "drishti silence: %s\n%s", *op ? "wrong arguments" : "add, list or rm?",
		    usage);
		return EXIT_USAGE;
	}
	int64_t dur = 0, id = 0;
	if (strcmp(op, "add") == 0) {
		const char *pat = argv[optind + 1];
		if (units_duration(argv[optind + 2], &dur, err, sizeof err) < 0 || dur < 1000) {
			fprintf(stderr, "drishti silence add: %s\n",
			    dur < 1000 && err[0] == '\0' ? "a silence lasts at least 1s" : err);
			return EXIT_USAGE;
		}
		if (*pat == '\0' || strlen(pat) > 200 || strlen(reason) > 200 ||
		    !utf8_valid(pat, strlen(pat)) || !utf8_valid(reason, strlen(reason))) {
			fprintf(stderr, "drishti silence add: the pattern and the reason are 1 to 200"
			    " bytes of UTF-8\n");
			return EXIT_USAGE;
		}
	} else if (strcmp(op, "rm") == 0) {
		char *end;
		id = strtoll(argv[optind + 1], &end, 10);
		if (*end != '\0' || id <= 0) {
			fprintf(stderr, "drishti silence rm: \"%s\" is not a silence id\n",
			    argv[optind + 1]);
			return EXIT_USAGE;
		}
	}
	if (cli_config(conf, &cfg) < 0)
		return EXIT_CONFIG;
	struct store *st = NULL;
	int rc = 0;
	bool ro = strcmp(op, "list") == 0;
	if (ro && access(cfg.state, F_OK) < 0) {
		printf(json ? "[]\n" : "no silences (no state file yet)\n");
		goto out;
	}
	/* as root, write the state file as its owner (the agent's user): a
	 * file SQLite makes beside it (-wal, -shm) must stay the agent's */
	struct stat sst;
	if (!ro && geteuid() == 0 && stat(cfg.state, &sst) == 0 && sst.st_uid != 0 &&
	    (setgroups(0, NULL) < 0 || setgid(sst.st_gid) < 0 || setuid(sst.st_uid) < 0)) {
		fprintf(stderr, "drishti silence: cannot become the state file's owner: %s\n",
		    strerror(errno));
		rc = EXIT_UNAVAILABLE;
		goto out;
	}
	if (store_open(&st, cfg.state, ro, NULL, err, sizeof err) < 0) {
		fprintf(stderr, "drishti silence: %s\n", err);
		rc = EXIT_UNAVAILABLE;
		goto out;
	}
	struct status_ctx x = { .json = json, .now = (double)time(NULL), .n = all };
	if (strcmp(op, "add") == 0) {
		char until[40];
		if (store_silence_add(st, argv[optind + 1], reason, x.now + (double)dur / 1000.0, &id,
		    err, sizeof err) < 0) {
			fprintf(stderr, "drishti silence add: %s\n", err);
			rc = EXIT_UNAVAILABLE;
		} else {
			fmt_when(x.now + (double)dur / 1000.0, until, sizeof until);
			printf("silence #%lld on %s until %s\n", (long long)id, argv[optind + 1], until);
		}
	} else if (strcmp(op, "rm") == 0) {
		int r = store_silence_rm(st, id, err, sizeof err);
		if (r < 0) {
			fprintf(stderr, "drishti silence rm: %s\n", err);
			rc = EXIT_UNAVAILABLE;
		} else if (r == 1) {
			fprintf(stderr, "drishti silence rm: no silence #%lld in force\n", (long long)id);
			rc = 1;
		} else
			printf("silence #%lld removed\n", (long long)id);
	} else {
		if (json)
			x.checks = json_new(JSON_ARRAY);
		else
			printf("%-5s %-24s %-8s %-17s %-17s %s\n", "ID", "PATTERN", "STATE", "MADE",
			    "UNTIL", "REASON");
		store_each_silence(st, true, silence_row, &x);
		if (json) {
			char *js = json_print(x.checks, false);
			if (js != NULL)
				printf("%s\n", js);
			free(js);
			json_free(x.checks);
		} else if (x.firing == 0)
			printf("(none in force)\n");
	}
out:
	if (st != NULL)
		store_close(st);
	config_free(&cfg);
	log_close();
	return rc;
}

int
cli_notify_test(int argc, char **argv)
{
	const char *conf = NULL;
	struct config cfg;
	int list = 0;

	int first = parse_opts(argc, argv, &conf, NULL, &list);
	if (first == -2) {
		printf("usage: drishti notify-test [-c FILE] REPORTER | --list\n");
		return 0;
	}
	if (first < 0)
		return EXIT_USAGE;
	if (list) {
		/* the reporter names notify-test takes: the config's, else the
		 * built-in stdout */
		if (cli_config(conf, &cfg) < 0)
			return EXIT_CONFIG;
		for (size_t i = 0; i < cfg.nreporters; i++)
			printf("%s\n", cfg.reporters[i].name);
		if (cfg.nreporters == 0)
			printf("stdout\n");
		config_free(&cfg);
		log_close();
		return 0;
	}
	if (first != argc - 1) {
		fprintf(stderr, "drishti notify-test: name one reporter\nusage: drishti notify-test [-c FILE] REPORTER\n");
		return EXIT_USAGE;
	}
	if (cli_config(conf, &cfg) < 0)
		return EXIT_CONFIG;
	struct loop *l = loop_new();
	int rc = l ? outbox_test(l, &cfg, argv[first]) : EXIT_UNAVAILABLE;
	loop_free(l);
	config_free(&cfg);
	log_close();
	return rc;
}
