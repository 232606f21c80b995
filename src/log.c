/* log.c — the agent's own log.  One line per event, prefixed with a level, to
 * stderr (the default), syslog, or a file opened for append.  On a terminal
 * or in a file each line starts with its local time; when stderr is
 * systemd's journal (JOURNAL_STREAM names it) the journal stamps the time
 * and the line starts with a "<N>" priority prefix instead, which the
 * journal reads as the line's level.  log_reopen (SIGHUP) opens the file
 * again by name, so logrotate's rename is followed.  Each failure is logged
 * once where it happens; callers never log an error they only pass on. */
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>
#include "log.h"
#include "utf8.h"

static enum log_level cur_level = LOG_LVL_INFO;
static FILE *log_file;          /* NULL: stderr */
static char *log_path;          /* the file's name, for log_reopen */
static int use_syslog;
static int to_journal;          /* stderr is the journal's stream */
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

/* JOURNAL_STREAM is "DEV:INODE" of the stream systemd connected; it is
 * inherited by children whose stderr may be elsewhere, so it counts only
 * when it names our stderr. */
static int
stderr_is_journal(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (js == NULL || sscanf(js, "%llu:%llu", &dev, &ino) != 2 ||
	    fstat(2, &st) < 0)
		return 0;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

int
log_open(const char *target, enum log_level level, char *err, size_t errlen)
{
	log_close();
	cur_level = level;
	to_journal = stderr_is_journal();
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
	log_path = strdup(target);
	return 0;
}

int
log_reopen(char *err, size_t errlen)
{
	if (log_file == NULL || log_path == NULL)
		return 0;
	FILE *f = fopen(log_path, "ae");
	if (f == NULL) {
		/* keep writing to the old file: a line there beats none */
		snprintf(err, errlen, "%s: cannot reopen log file: %m", log_path);
		return -1;
	}
	setvbuf(f, NULL, _IOLBF, 0);
	fclose(log_file);
	log_file = f;
	return 0;
}

int
log_use_fd(int fd)
{
	int d = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	FILE *f = d >= 0 ? fdopen(d, "a") : NULL;

	if (f == NULL) {
		if (d >= 0)
			close(d);
		return -1;
	}
	setvbuf(f, NULL, _IOLBF, 0);
	if (log_file != NULL)
		fclose(log_file);
	log_file = f;
	return 0;
}

int
log_open_role(const char *target)
{
	char err[256];

	if (target == NULL || strcmp(target, "stderr") == 0) {
		to_journal = stderr_is_journal();
		return 0;
	}
	if (strcmp(target, "syslog") == 0)
		return log_open(target, cur_level, err, sizeof err);
	to_journal = 0;
	return log_use_fd(STDERR_FILENO);
}

int
log_fd(void)
{
	return log_file != NULL ? fileno(log_file) : -1;
}

void
log_close(void)
{
	if (log_file != NULL)
		fclose(log_file);
	log_file = NULL;
	free(log_path);
	log_path = NULL;
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
	if (log_file == NULL && to_journal) {
		fprintf(stderr, "<%d>drishti: %s: %s\n", prio[level], level_names[level], msg);
		return;
	}
	char ts[40];
	struct timespec now;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &now);
	localtime_r(&now.tv_sec, &tm);
	size_t n = strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
	n += (size_t)snprintf(ts + n, sizeof ts - n, ".%03ld", now.tv_nsec / 1000000);
	strftime(ts + n, sizeof ts - n, "%z", &tm);
	if (log_file != NULL)
		fprintf(log_file, "%s %s: %s\n", ts, level_names[level], msg);
	else
		fprintf(stderr, "%s drishti: %s: %s\n", ts, level_names[level], msg);
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
