/* rules.h — the Lua rule host: loads rule files into sandboxed states and
 * runs their checks.  Nothing here assumes it runs in the supervisor: it is
 * meant to live in a rule worker, talking to the rest through plain data. */
#ifndef DRISHTI_RULES_H
#define DRISHTI_RULES_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "config.h"
#include "result.h"
#include "history.h"

enum rule_kind { RULE_CHECK, RULE_REPORT };

struct rule_decl {
	enum rule_kind kind;
	char    *name;
	const char *file;
	int      line;
	int64_t  every_ms;          /* 0 when cron is used */
	char    *cron;
	int64_t  jitter_ms;
	int64_t  timeout_ms;        /* 0: the sandbox timeout */
	int      after_count;       /* fire after this many failing runs ... */
	int64_t  after_ms;          /* ... or after failing this long */
	int      recover;
	int      flap_fails, flap_window;   /* "5/10"; 0/0 when unset */
	int64_t  repeat_ms;
	bool     unknown_ignore;
	char   **notify;            /* NULL: all reporters */
	size_t   nnotify;
	char   **depends;           /* checks whose failure silences this one's */
	size_t   ndepends;
	char   **labels;            /* key, value, key, value ... */
	size_t   nlabels;           /* pairs */
	char    *description;
	char    *public_name;       /* on the status page, as this (NULL: not shown) */
	int      fn;                /* registry ref of run / build */
};

/* var "NAME" { type = ..., default = ..., doc = ... }: what a rule file
 * reads from [vars], typed */
enum var_type { VT_NUMBER, VT_DURATION, VT_SIZE, VT_PERCENT, VT_STRING, VT_URL, VT_PATH,
	VT_GLOB, VT_BOOL, VT_LIST };

struct rule_var {
	char    *name;
	enum var_type type;
	char    *def;               /* the default as written, or NULL (unset: nil) */
	char    *doc;
	int      line;
};

const char *rules_var_type_name(enum var_type t);
/* Whether text is a value of type t; err says why not ("want a duration
 * (e.g. 30s, 5m), not \"2x\""). */
int  rules_var_check(enum var_type t, const char *text, char *err, size_t errlen);

struct loop;

struct rules_env {
	struct loop *loop;              /* runs need one; lint does not */
	const char *read_paths;
	const char *exec;               /* globs of what exec() may run; NULL or "": off */
	bool     allow_metadata;        /* connections to link-local / metadata addresses */
	const struct config_var *vars;
	size_t   nvars;
	const char *config_path;        /* for messages about [vars]; NULL: "(defaults)" */
	const char *const *reporters;   /* names notify may use; NULL: any */
	size_t   nreporters;
	uint64_t memory;                /* bytes per rule file */
	uint64_t instructions;          /* per run */
	int64_t  timeout_ms;            /* per run, and for loading */
	int64_t  cpu_ms;                /* CPU per run (needs sb_cpu_setup); 0: none */
	/* history.*: sends a question to whoever keeps the history; the answer
	 * comes back through rules_history_answer.  NULL: no history here. */
	int    (*history)(void *ud, uint32_t id, const struct hist_req *q);
	void    *history_ud;
	/* load errors, one line each: "FILE:LINE: message" */
	void   (*on_error)(void *ud, const char *msg);
	void    *ud;
};

struct rule_file;

/* Frees what a declaration holds (for copies made outside the host). */
void rules_decl_clear(struct rule_decl *d);

/* NULL when the file has any error; each error went to env->on_error. */
struct rule_file *rules_load(const char *path, const struct rules_env *env);
void   rules_free(struct rule_file *f);
size_t rules_count(const struct rule_file *f);
size_t rules_var_count(const struct rule_file *f);
const struct rule_var *rules_var_get(const struct rule_file *f, size_t i);
const struct rule_decl *rules_get(const struct rule_file *f, size_t i);
const char *rules_path(const struct rule_file *f);
/* Bytes the file's Lua state holds now. */
size_t rules_memory(const struct rule_file *f);
struct rule_run;
/* Called once per run, from the loop, with its verdict: a broken run is
 * UNKNOWN with the reason.  The run is freed after done returns. */
typedef void (*rules_done_fn)(struct rule_run *run, const struct result *res, void *ud);
/* Starts a check; it runs from the loop (done is never called from inside
 * rules_start).  NULL when it cannot start: then done is never called. */
struct rule_run *rules_start(struct rule_file *f, const struct rule_decl *d,
    rules_done_fn done, void *ud);
/* Ends a run now as UNKNOWN why; done is called before this returns. */
void   rules_abort(struct rule_run *run, const char *why);
const char *rules_run_check(const struct rule_run *run);
/* A report run, inside done: its JSON document (NULL for a check). */
const char *rules_run_doc(const struct rule_run *run);
/* log.count {new = true} cursors of a check, as JSON [{p,d,i,o}] (path,
 * device, inode, offset): every cursor of the check if one moved since the
 * last call (malloc'd), else NULL.  The supervisor keeps them in the state
 * file and gives them back with rules_cursors_seek after a restart. */
char  *rules_cursors_take(struct rule_file *f, const char *check);
void   rules_cursors_seek(struct rule_file *f, const char *check, const char *json, size_t len);
/* A number that identifies the run while it runs (sb_cpu_setup's box). */
void   rules_run_tag(struct rule_run *run, uint32_t tag);

/* The rule files named by spec: a directory (its *.lua, sorted) or a comma
 * list of files and directories.  Free with rules_paths_free. */
int    rules_paths(const char *spec, char ***paths, size_t *n, char *err, size_t errlen);
void   rules_paths_free(char **paths, size_t n);



/* The answer to history question id (from env->history). */
void   rules_history_answer(uint32_t id, const struct hist_ans *a);

/* The directories of the exec globs, as a comma list (for Landlock). */
void   rules_exec_dirs(const char *globs, char *out, size_t outlen);

/* "Lua 5.4.4", for `drishti version`. */
const char *rules_lua_version(void);
#endif
