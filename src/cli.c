/* cli.c — the commands that load rules: `once` and `lint`.
 *
 * `once` runs the chosen checks one after another in this process and prints
 * what they found; it is the operator's "run the daily script now".  `lint`
 * loads everything and runs nothing, so it is safe in a pre-commit hook or
 * before a reload. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "cli.h"
#include "config.h"
#include "http.h"
#include "json.h"
#include "loop.h"
#include "log.h"
#include "ruleset.h"

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
parse_opts(int argc, char **argv, const char **conf, int *json)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "json", no_argument, NULL, 'j' },
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
	static const char *const lower[] = { "ok", "warn", "crit", "unknown" };

	json_add(o, "check", json_new_string(d->name));
	json_add(o, "file", json_new_string(d->file));
	json_add(o, "status", json_new_string(lower[r->status]));
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

struct once_slot {
	const struct rule_decl *d;
	struct result res;
	int done;
};

struct once_ctx {
	struct loop *loop;
	int pending;
};

static void
once_done(struct rule_run *run, const struct result *res, void *ud)
{
	struct once_slot *s = ud;

	(void)run;
	s->res = *res;
	s->done = 1;
}

static void
once_check_end(struct loop *l, void *ud)
{
	(void)ud;
	loop_stop(l);
}

int
cli_once(int argc, char **argv)
{
	const char *conf = NULL;
	int json = 0, worst = ST_OK;
	struct config cfg;
	struct ruleset rs;
	char err[256];

	int first = parse_opts(argc, argv, &conf, &json);
	if (first == -2) {
		printf("usage: drishti once [-c FILE] [--json] [NAME...]\n");
		return 0;
	}
	if (first < 0)
		return EXIT_USAGE;
	if (cli_config(conf, &cfg) < 0)
		return EXIT_CONFIG;
	struct loop *loop = loop_new();
	if (loop == NULL || http_init(loop, err, sizeof err) < 0) {
		fprintf(stderr, "drishti once: %s\n", loop ? err : "cannot make an event loop");
		loop_free(loop);
		config_free(&cfg);
		return EXIT_UNAVAILABLE;
	}
	if (ruleset_load(&rs, &cfg, NULL, 0, stderr, loop) < 0) {
		ruleset_free(&rs);
		http_shutdown();
		loop_free(loop);
		config_free(&cfg);
		return EXIT_CONFIG;
	}
	/* the named checks must all exist before anything runs */
	for (int i = first; i < argc; i++) {
		const struct rule_decl *d = ruleset_find(&rs, argv[i], NULL);
		if (d == NULL || d->kind != RULE_CHECK) {
			fprintf(stderr, "drishti once: no check named \"%s\"\n", argv[i]);
			ruleset_free(&rs);
			http_shutdown();
			loop_free(loop);
			config_free(&cfg);
			return EXIT_USAGE;
		}
	}
	size_t nslots = 0, total = 0;
	for (size_t i = 0; i < rs.nfiles; i++)
		total += rules_count(rs.files[i]);
	struct once_slot *slots = calloc(total ? total : 1, sizeof *slots);
	/* every chosen check starts at once; they wait on I/O side by side */
	for (size_t i = 0; slots != NULL && i < rs.nfiles; i++)
		for (size_t k = 0; k < rules_count(rs.files[i]); k++) {
			const struct rule_decl *d = rules_get(rs.files[i], k);
			bool wanted = first == argc;
			for (int a = first; a < argc && !wanted; a++)
				wanted = strcmp(argv[a], d->name) == 0;
			if (d->kind != RULE_CHECK || !wanted)
				continue;
			struct once_slot *s = &slots[nslots++];
			s->d = d;
			if (rules_start(rs.files[i], d, once_done, s) == NULL) {
				result_set(&s->res, ST_UNKNOWN, "could not start the run");
				s->done = 1;
			}
		}
	for (;;) {
		size_t left = 0;
		for (size_t i = 0; i < nslots; i++)
			left += !slots[i].done;
		if (left == 0)
			break;
		/* wake at least every 100 ms to look again */
		loop_timer_at(loop, loop_update_now(loop) + 0.1, once_check_end, NULL);
		loop_run(loop);
	}
	if (!json)
		printf("%-24s %-8s %9s  %s\n", "CHECK", "STATUS", "TIME", "SUMMARY");
	for (size_t i = 0; i < nslots; i++) {
		const struct result *r = &slots[i].res;
		if ((int)r->status > worst)
			worst = (int)r->status;
		if (json)
			print_json_line(slots[i].d, r);
		else {
			char t[32];
			fmt_time(r->duration, t, sizeof t);
			printf("%-24s %-8s %9s  %s\n", slots[i].d->name,
			    result_status_name(r->status), t, r->summary);
		}
	}
	if (nslots == 0 && !json)
		printf("(no checks)\n");
	fflush(stdout);
	free(slots);
	ruleset_free(&rs);
	http_shutdown();
	loop_free(loop);
	config_free(&cfg);
	log_close();
	return worst;
}

int
cli_lint(int argc, char **argv)
{
	const char *conf = NULL;
	struct config cfg;
	struct ruleset rs;
	size_t checks = 0, reports = 0;

	int first = parse_opts(argc, argv, &conf, NULL);
	if (first == -2) {
		printf("usage: drishti lint [-c FILE] [PATH...]\n");
		return 0;
	}
	if (first < 0)
		return EXIT_USAGE;
	if (cli_config(conf, &cfg) < 0)
		return EXIT_CONFIG;
	int bad = ruleset_load(&rs, &cfg, argv + first, (size_t)(argc - first), stderr, NULL) < 0;
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
	ruleset_free(&rs);
	config_free(&cfg);
	log_close();
	return bad ? EXIT_CONFIG : 0;
}
