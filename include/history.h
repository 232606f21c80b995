/* history.h — what a rule asks of the past (history.uptime ...) and the
 * answer: plain data that crosses from a worker to the supervisor and back. */
#ifndef DRISHTI_HISTORY_H
#define DRISHTI_HISTORY_H
#include <stdint.h>

enum hist_fn {                  /* crosses the socket: append only */
	HIST_UPTIME = 1, HIST_AVG = 2, HIST_MAX = 3, HIST_MIN = 4, HIST_PERCENTILE = 5,
	HIST_COUNT = 6, HIST_LAST = 7, HIST_SUM = 8,
	HIST_STATUS = 9,            /* a check's last status (value) and when (ts) */
	HIST_WORST = 10,            /* the worst status among firing alerts */
	HIST_INCIDENTS = 11,        /* resolved and open incidents: JSON in list */
};

#define HIST_LIST_MAX (16u << 10)

struct hist_req {
	int32_t fn;
	int32_t status;             /* HIST_COUNT: 0..3, or -1 for every failing run */
	double  window;             /* seconds */
	double  p;                  /* HIST_PERCENTILE: 0..100 */
	char    name[128];          /* a check or a metric */
	double  ago;                /* the window ends this many seconds before now */
};

struct hist_ans {
	int32_t found;              /* 1 value set, 0 no data, -1 error */
	double  value;
	double  ts;                 /* HIST_LAST: when */
	int32_t list_len;           /* bytes used in list (a JSON array), 0: none */
	char    list[HIST_LIST_MAX];    /* only list_len bytes cross the socket */
};

#endif
