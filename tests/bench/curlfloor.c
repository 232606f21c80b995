/* curlfloor.c — the raw curl-multi floor for the benchmark: N GET requests
 * started every second on a fixed grid, each on a fresh connection (as
 * drishti's probes do), for D seconds, with nothing else: no Lua, no
 * processes, no scheduling beyond the grid.
 * usage: curlfloor N SECONDS URL   (prints: completed LATENESS_P50_MS LATENESS_P99_MS)
 * Linked with mimalloc (the static floor, as the product is), curl gets it
 * as its allocator, as drishti's src/mem.c gives it. */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

extern void *mi_malloc(size_t n) __attribute__((weak));
extern void *mi_calloc(size_t k, size_t n) __attribute__((weak));
extern void *mi_realloc(void *p, size_t n) __attribute__((weak));
extern char *mi_strdup(const char *s) __attribute__((weak));
extern void  mi_free(void *p) __attribute__((weak));

static double
mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static size_t
discard(char *p, size_t s, size_t n, void *u)
{
	(void)p;
	(void)u;
	return s * n;
}

static int
cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

int
main(int argc, char **argv)
{
	if (argc != 4)
		return 64;
	int n = atoi(argv[1]), secs = atoi(argv[2]);
	const char *url = argv[3];
	CURLM *m;
	double t0 = mono(), *late = calloc((size_t)secs + 1, sizeof *late);
	long completed = 0;
	int running = 0, tick = 0;

	if (mi_malloc != NULL)
		curl_global_init_mem(CURL_GLOBAL_DEFAULT, mi_malloc, mi_free, mi_realloc, mi_strdup,
		    mi_calloc);
	else
		curl_global_init(CURL_GLOBAL_DEFAULT);
	m = curl_multi_init();
	while (tick < secs || running > 0) {
		double now = mono();
		if (tick < secs && now >= t0 + tick) {
			late[tick] = now - (t0 + tick);
			for (int i = 0; i < n; i++) {
				CURL *e = curl_easy_init();
				curl_easy_setopt(e, CURLOPT_URL, url);
				curl_easy_setopt(e, CURLOPT_USERAGENT, "curlfloor");
				curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard);
				curl_easy_setopt(e, CURLOPT_FRESH_CONNECT, 1L);
				curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L);
				curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 10000L);
				curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
				curl_multi_add_handle(m, e);
			}
			tick++;
		}
		curl_multi_perform(m, &running);
		CURLMsg *msg;
		int left;
		while ((msg = curl_multi_info_read(m, &left)) != NULL)
			if (msg->msg == CURLMSG_DONE) {
				long code = 0;
				curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &code);
				completed += msg->data.result == CURLE_OK && code == 200;
				curl_multi_remove_handle(m, msg->easy_handle);
				curl_easy_cleanup(msg->easy_handle);
			}
		double next = t0 + tick;
		int wait = tick < secs ? (int)((next - mono()) * 1000) : 100;
		if (wait < 0)
			wait = 0;
		curl_multi_poll(m, NULL, 0, wait > 1000 ? 1000 : wait, NULL);
	}
	qsort(late, (size_t)secs, sizeof *late, cmp);
	printf("%ld %.2f %.2f\n", completed, late[secs / 2] * 1000,
	    late[(int)(secs * 0.99) < secs ? (int)(secs * 0.99) : secs - 1] * 1000);
	curl_multi_cleanup(m);
	curl_global_cleanup();
	free(late);
	return 0;
}
