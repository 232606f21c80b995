/* cli.h — the commands of the drishti binary (DESIGN.md §3). */
#ifndef DRISHTI_CLI_H
#define DRISHTI_CLI_H

/* sysexits.h values, named here so every command uses the same ones */
#define EXIT_USAGE  64
#define EXIT_UNAVAILABLE 69
#define EXIT_CONFIG 78
#define EXIT_TEMPFAIL 75       /* another agent holds the state file */

int cli_once(int argc, char **argv);
int cli_lint(int argc, char **argv);
int cli_report(int argc, char **argv);
int cli_run(int argc, char **argv);
int cli_status(int argc, char **argv);
int cli_notify_test(int argc, char **argv);
int cli_silence(int argc, char **argv);
int cli_help_vars(int argc, char **argv);
/* Loads the config the command line and environment point at, or the
 * built-in defaults; prints the error and returns -1 on failure. */
struct config;
int cli_config(const char *given, struct config *cfg);

#endif
