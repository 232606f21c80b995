/* config.h — the INI config (DESIGN.md §4) and its built-in defaults. */
#ifndef DRISHTI_CONFIG_H
#define DRISHTI_CONFIG_H
#include <stdbool.h>
#include <stdio.h>
#include <stddef.h>
#include <stdint.h>

#define CONFIG_MAX_LINE 8192    /* long webhook URLs with tokens fit */
/* what a reporter is sent when its config does not say */
#define REPORTER_EVENTS_DEFAULT "alert, resolve, reminder, escalation, deescalation, change, report, test"

struct config_var {
	char *key;
	char *value;
	int   line;             /* where the config file sets it */
};

struct config_reporter {
	char   *name;
	int     line;               /* where its section starts, for messages */
	char   *type;               /* webhook slack discord ntfy alertmanager smtp stdout file */
	char   *url;
	char   *secret_file;
	char   *ca_file;
	char   *pin;
	char   *events;             /* comma list */
	char   *min_severity;
	char   *unknown;            /* send | drop: alerts on UNKNOWN */
	char   *from;
	char   *to;
	char   *username;
	char   *password_file;
	char   *path;               /* type = file */
	char   *starttls;           /* smtp: require try off */
	char   *tmpl;               /* webhook: body template file */
	char   *method;             /* webhook: POST | PUT */
	char  **headers;            /* webhook: "HName: value" or "FName: FILE" */
	size_t  nheaders;
	int64_t resend_ms;          /* alertmanager */
	int64_t timeout_ms;
};

/* [maintenance "NAME"]: a silence that recurs (cron, in local time) */
struct config_maintenance {
	char   *name;
	int     line;
	char   *cron;
	int64_t duration_ms;
	char   *checks;             /* comma list: globs on check names, or label=value */
};

struct config {
	char   *path;               /* the file read, NULL for built-in defaults */
	/* [agent] */
	char   *name;
	char   *rules;
	const char *rules_from;     /* rules not from the file: "installed", "source checkout" */
	char   *state;
	char   *log;
	char   *log_level;
	char   *user;
	bool    watch;
	/* [store] */
	int64_t raw_ms;
	int64_t rollup_ms;
	uint64_t outbox_max;
	int64_t outbox_age_ms;
	/* [output] */
	char   *textfile;
	char   *status_page;        /* a directory, or "" */
	char   *status_title;
	/* [sandbox] */
	uint64_t memory;
	uint64_t instructions;
	int64_t  timeout_ms;
	int64_t  kill_grace_ms;     /* past timeout, before the worker is killed */
	int64_t  cpu_ms;            /* CPU time per run (kernel-counted); 0: no limit */
	int64_t  park_ms;           /* files of checks this rare keep no worker; 0: never */
	char   *read_paths;         /* comma list */
	int     read_paths_line;    /* where the config sets it (0: the default) */
	char   *exec;               /* comma list of globs; empty: exec is off */
	bool    allow_metadata;     /* rules may reach 169.254.0.0/16 and the like */
	/* [vars] */
	struct config_var *vars;
	size_t  nvars;
	/* [reporter "NAME"] */
	struct config_reporter *reporters;
	size_t  nreporters;
	/* [maintenance "NAME"] */
	struct config_maintenance *maint;
	size_t  nmaint;
};

/* Fills cfg with the built-in defaults (DESIGN.md §3). */
int  config_defaults(struct config *cfg, char *err, size_t errlen);
/* Reads path over the defaults.  On error err holds one line
 * "FILE:LINE: [section] key: what is wrong" and cfg is freed. */
int  config_load(struct config *cfg, const char *path, char *err, size_t errlen);
/* The same from text read before (path names it and anchors relative
 * paths); check_files false skips the checks of the secret files (a role:
 * the parent made them, and cannot see them). */
int  config_load_text(struct config *cfg, const char *path, const char *text, size_t textlen,
    bool check_files, char *err, size_t errlen);
void config_free(struct config *cfg);
/* The file drishti would read: -c, $DRISHTI_CONFIG, ./drishti.ini,
 * /etc/drishti/drishti.ini, SYSCONFDIR/drishti/drishti.ini; NULL for built-in
 * defaults. */
const char *config_find(const char *given);
/* Prints every key with its default and help, as a valid config file. */
void config_help(FILE *out);
const char *config_var(const struct config *cfg, const char *key);

#endif
