/* fuzz_text.c — libFuzzer target: the parsers of small outside text:
 * JSON (receivers' answers, a business file), durations and sizes, cron
 * expressions, UTF-8 cleaning and escaping, and a webhook body template
 * checked and filled for an event. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "cron.h"
#include "json.h"
#include "reporter.h"
#include "units.h"
#include "utf8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256], *s = malloc(size + 1), out[512];
	int64_t ms;
	uint64_t b;
	struct cron c;

	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	struct json *j = json_parse(s, size, err, sizeof err);
	if (j != NULL) {
		char *p = json_print(j, false);
		free(p);
		json_free(j);
	}
	units_duration(s, &ms, err, sizeof err);
	units_size(s, &b, err, sizeof err);
	if (cron_parse(s, &c, err, sizeof err) == 0)
		cron_next(&c, 1796100000);
	utf8_clean(out, sizeof out, s, size);
	utf8_escape(out, sizeof out, s);
	if (reporter_template_check(s, err, sizeof err) == 0 && strlen(s) == size) {
		static const struct config_reporter rc = { .name = "f", .type = "webhook",
		    .url = "http://127.0.0.1:9/x/{{id}}", .method = "PUT" };
		struct reporter_ctx ctx = { .cfg = &rc, .agent = "fuzz", .tmpl = s };
		struct store_event ev;
		memset(&ev, 0, sizeof ev);
		strcpy(ev.kind, "alert");
		strcpy(ev.check, "a.b");
		strcpy(ev.id, "id-1");
		strcpy(ev.metrics, "{}");
		snprintf(ev.summary, sizeof ev.summary, "%.*s", (int)(size < 200 ? size : 200), s);
		struct reporter_msg m;
		if (reporter_build(&ctx, &ev, NULL, 1, &m, err, sizeof err) == 0)
			reporter_msg_free(&m);
	}
	free(s);
	return 0;
}
