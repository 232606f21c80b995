/* main.c — the command line: picks the command, prints help and version.
 * Each command lives in its own file (once.c, lint.c); usage errors exit 64
 * and configuration or rule errors exit 78, as sysexits.h has it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>
#include "cli.h"
#include "delivery.h"
#include "state.h"
#include "config.h"
#include "log.h"
#include "rules.h"
#include "worker.h"

static const struct {
	const char *name, *synopsis, *text;
} commands[] = {
	{ "run", "run [-c FILE] [--allow-root]",
	  "Runs the agent in the foreground (systemd Type=simple or notify): every\n"
	  "check on its schedule, in one worker process per rule file.  Started as\n"
	  "root, only the parent process stays root: the state and delivery\n"
	  "processes and the rule workers run as [agent] user (default drishti,\n"
	  "else nobody), each confined; --allow-root lets that user be root.  SIGHUP\n"
	  "reloads the config and rules (a broken one is logged and the running set\n"
	  "stays); a saved rule file is reloaded by itself when [agent] watch is\n"
	  "true; SIGTERM or SIGINT let runs in flight finish, then exit 0.\n" },
	{ "once", "once [-c FILE] [--json] [--list] [NAME...]",
	  "Runs every check (or the named ones) once and prints a table, or one JSON\n"
	  "object per line with --json.  Exit status: 0 all OK, 1 a WARN, 2 a CRIT,\n"
	  "3 an UNKNOWN (the worst of them, by that number).  --list prints the\n"
	  "check names and runs nothing.  With no [agent] rules set, stderr says\n"
	  "which rules were loaded.\n" },
	{ "lint", "lint [-c FILE] [--strict] [PATH...]",
	  "Loads the config and the rule files (or the files and directories given)\n"
	  "without running a probe.  Every error is printed as FILE:LINE: message;\n"
	  "exit 78 if there is any.  [vars] are checked against the rules' var\n"
	  "declarations: a wrong type, or a path outside [sandbox] read_paths, is an\n"
	  "error; a key no rule declares is a warning (--strict: an error).\n" },
	{ "report", "report [-c FILE] [--format text|json|html] [--send] [--list] NAME",
	  "Builds the report NAME now, with the same history and probes as its\n"
	  "scheduled run, and prints it as text (default), its JSON document, or a\n"
	  "standalone HTML page with inline SVG charts (--format html > week.html).\n"
	  "With --send it also goes through every reporter that takes reports, each\n"
	  "receiver's answer printed.  Exit 0, or 1 when the build failed or a\n"
	  "receiver refused it.  --list (with no NAME) prints the report names.\n" },
	{ "status", "status [-c FILE] [--json]",
	  "Every check's alert state (ok, pending, firing), since when, its last\n"
	  "result and summary; how many alerts fire or wait; the outbox depth and\n"
	  "dead events; quarantined rule files.  Reads the state file only.\n" },
	{ "notify-test", "notify-test [-c FILE] [--list] REPORTER",
	  "Sends one test event (kind \"test\") through one reporter, signed like\n"
	  "any other, and prints the receiver's answer.  Exit 0 when accepted.\n"
	  "Every reporter type is delivered: webhook, slack, discord, ntfy, smtp,\n"
	  "alertmanager, file and stdout.  --list (with no REPORTER) prints the\n"
	  "reporter names.\n" },
	{ "silence", "silence add|list|rm [-c FILE] [PATTERN DURATION [--reason TEXT] | ID]",
	  "Quiet time.  `silence add PATTERN DURATION` (PATTERN a glob on check\n"
	  "names, or label=value) holds back the alerts of the checks it takes for\n"
	  "DURATION: they are recorded and shown in status, not sent; one still\n"
	  "failing when the silence ends is sent then, once.  `silence list` shows\n"
	  "those in force (--all: every one), `silence rm ID` ends one.  The running\n"
	  "agent follows within a second; each add and end is an event (kind\n"
	  "\"silence\").  [maintenance] sections in the config recur the same way.\n" },
	{ "version", "version", "Prints the version of drishti and of Lua.\n" },
	{ "help", "help [COMMAND | config | vars]",
	  "Help on a command; `help config` prints every config key with its\n"
	  "default, as a config file; `help vars` every [vars] key the rules declare,\n"
	  "with its type, default and the file that reads it (--markdown: a table).\n" },
};
#define NCOMMANDS (sizeof commands / sizeof commands[0])

static void
usage(FILE *out)
{
	fprintf(out, "usage: drishti COMMAND [ARGS]\n\ncommands:\n");
	for (size_t i = 0; i < NCOMMANDS; i++)
		fprintf(out, "  drishti %s\n", commands[i].synopsis);
	fprintf(out, "\nConfig: -c FILE, else $DRISHTI_CONFIG, else ./drishti.ini, else\n"
	    "/etc/drishti/drishti.ini, else built-in defaults (the installed rules).\n"
	    "drishti help COMMAND tells more.\n");
}

static int
cmd_help(int argc, char **argv)
{
	if (argc < 2) {
		usage(stdout);
		return 0;
	}
	if (argc > 2 && strcmp(argv[1], "vars") != 0) {
		fprintf(stderr, "drishti: help takes one topic\n");
		return EXIT_USAGE;
	}
	if (strcmp(argv[1], "config") == 0) {
		config_help(stdout);
		return 0;
	}
	if (strcmp(argv[1], "vars") == 0)
		return cli_help_vars(argc - 1, argv + 1);
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (strcmp(argv[1], commands[i].name) == 0) {
			printf("usage: drishti %s\n\n%s", commands[i].synopsis, commands[i].text);
			return 0;
		}
	fprintf(stderr, "drishti: no help on \"%s\"; try drishti help\n", argv[1]);
	return EXIT_USAGE;
}

/* random() draws the schedule's jitter and the outbox's backoff: seeded
 * from the kernel per process, so a fleet of agents (and the workers of one
 * agent) never retry a recovering receiver in lockstep. */
static void
seed_random(void)
{
	unsigned int seed;

	if (getrandom(&seed, sizeof seed, GRND_NONBLOCK) != (ssize_t)sizeof seed) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		seed = (unsigned int)ts.tv_nsec ^ (unsigned int)ts.tv_sec ^ ((unsigned int)getpid() << 16);
	}
	srandom(seed);
}

int
main(int argc, char **argv)
{
	const char *cmd;

	seed_random();

	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	cmd = argv[1];
	if (strcmp(cmd, "__worker") == 0 && argc <= 3)
		return worker_main();
	if (strcmp(cmd, "__state") == 0 && argc == 2)
		return state_main();
	if (strcmp(cmd, "__delivery") == 0 && argc == 2)
		return delivery_main();
	if (strcmp(cmd, "run") == 0)
		return cli_run(argc - 1, argv + 1);
	if (strcmp(cmd, "once") == 0)
		return cli_once(argc - 1, argv + 1);
	if (strcmp(cmd, "notify-test") == 0)
		return cli_notify_test(argc - 1, argv + 1);
	if (strcmp(cmd, "status") == 0)
		return cli_status(argc - 1, argv + 1);
	if (strcmp(cmd, "lint") == 0)
		return cli_lint(argc - 1, argv + 1);
	if (strcmp(cmd, "report") == 0)
		return cli_report(argc - 1, argv + 1);
	if (strcmp(cmd, "silence") == 0)
		return cli_silence(argc - 1, argv + 1);
	if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0)
		return cmd_help(argc - 1, argv + 1);
	if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
		if (argc > 2) {
			fprintf(stderr, "drishti: version takes no arguments\n");
			return EXIT_USAGE;
		}
		printf("drishti %s (%s)\n", DRISHTI_VERSION, rules_lua_version());
		return 0;
	}
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (strcmp(cmd, commands[i].name) == 0) {
			fprintf(stderr, "drishti: %s is not in this version yet "
			    "(see drishti help %s)\n", cmd, cmd);
			return EXIT_UNAVAILABLE;
		}
	fprintf(stderr, "drishti: unknown command \"%s\"\n", cmd);
	usage(stderr);
	return EXIT_USAGE;
}
