/* log.c — the agent's own log.  One line per event, prefixed with a level, to
 * stderr (the default, what systemd's journal collects), syslog, or a file
 * opened for append.  Each failure is logged once where it happens; callers
 * never log an error they only pass on. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include "log.h"
#include "utf8.h"

static enum log_level cur_level = LOG_LVL_INFO;
static FILE *log_file;          /* NULL: stderr */
static int use_syslog;
static log_sink_fn sink;        /* a worker sends its log to the supervisor */

static const char *const level_names[] = { "error", "warn", "info", "debug" };

int
log_level_parse(const char *s, enum log_level *out)
{
	for (int i = 0; i <= LOG_LVL_DEBUG; i++)
		if (strcmp(s, level_names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	return -1;
}

void
log_set_sink(log_sink_fn fn)
{
	sink = fn;
}

void
log_set_level(enum log_level level)
{
	cur_level = level;
}

int
log_open(const char *target, enum log_level level, char *err, size_t errlen)
{
	log_close();
	cur_level = level;
	if (target == NULL || strcmp(target, "stderr") == 0)
		return 0;
	if (strcmp(target, "syslog") == 0) {
		openlog("drishti", LOG_PID, LOG_DAEMON);
		use_syslog = 1;
		return 0;
	}
	log_file = fopen(target, "ae");
	if (log_file == NULL) {
		snprintf(err, errlen, "%s: cannot open log file: %m", target);
		return -1;
	}
	setvbuf(log_file, NULL, _IOLBF, 0);
	return 0;
}

void
log_close(void)
{
	if (log_file != NULL)
		fclose(log_file);
	log_file = NULL;
	if (use_syslog)
		closelog();
	use_syslog = 0;
}

static void
log_emit(enum log_level level, const char *fmt, va_list ap)
{
	static const int prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };
	char raw[2048], msg[4096];

	if (level > cur_level)
		return;
	vsnprintf(raw, sizeof raw, fmt, ap);
	if (sink != NULL) {
		sink(level, raw);       /* the supervisor escapes it */
		return;
	}
	/* a rule's text or a file name may carry control characters or bad
	 * bytes: one line per event, printable, valid UTF-8 */
	utf8_escape(msg, sizeof msg, raw);
	if (use_syslog) {
		syslog(prio[level], "%s", msg);
		return;
	}
	FILE *f = log_file != NULL ? log_file : stderr;
	if (log_file != NULL) {
		char ts[32];
		time_t now = time(NULL);
		struct tm tm;
		localtime_r(&now, &tm);
		strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S%z", &tm);
		fprintf(f, "%s %s: %s\n", ts, level_names[level], msg);
	} else
		fprintf(f, "drishti: %s: %s\n", level_names[level], msg);
}

#define LOG_FN(name, lvl)                               \
	void name(const char *fmt, ...)                 \
	{                                               \
		va_list ap;                             \
		va_start(ap, fmt);                      \
		log_emit(lvl, fmt, ap);                 \
		va_end(ap);                             \
	}
LOG_FN(log_error, LOG_LVL_ERROR)
LOG_FN(log_warn, LOG_LVL_WARN)
LOG_FN(log_info, LOG_LVL_INFO)
LOG_FN(log_debug, LOG_LVL_DEBUG)

void
log_line(enum log_level level, const char *msg)
{
	if (level > LOG_LVL_DEBUG)
		level = LOG_LVL_DEBUG;
	switch (level) {
	case LOG_LVL_ERROR: log_error("%s", msg); break;
	case LOG_LVL_WARN: log_warn("%s", msg); break;
	case LOG_LVL_INFO: log_info("%s", msg); break;
	default: log_debug("%s", msg); break;
	}
}
