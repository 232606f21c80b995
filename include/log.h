/* log.h — the agent's own log: stderr, syslog or a file, with levels. */
#ifndef DRISHTI_LOG_H
#define DRISHTI_LOG_H

enum log_level { LOG_LVL_ERROR, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

/* target: "stderr", "syslog" or a file path.  Returns 0 / -1 (err filled). */
int  log_open(const char *target, enum log_level level, char *err, size_t errlen);
void log_close(void);
/* Opens the log file again by its name (after logrotate moved it); the old
 * one stays on failure.  Nothing to do for stderr and syslog. */
int  log_reopen(char *err, size_t errlen);
/* The log file's descriptor (the roles write to it as their stderr), or -1
 * when the log is stderr or syslog. */
int  log_fd(void);
/* A role: the log file is fd (the parent opened it), written as a file. */
int  log_use_fd(int fd);
/* A role's log: [agent] log as the parent set it up (a file arrives as
 * its stderr). */
int  log_open_role(const char *target);
void log_set_level(enum log_level level);
/* Every line goes to fn instead (NULL: back to the target). */
typedef void (*log_sink_fn)(enum log_level level, const char *msg);
void log_set_sink(log_sink_fn fn);
/* Logs msg as it came from elsewhere (a worker), at its level. */
void log_line(enum log_level level, const char *msg);
int  log_level_parse(const char *s, enum log_level *out);

void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
