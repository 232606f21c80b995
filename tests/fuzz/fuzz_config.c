/* fuzz_config.c — libFuzzer target: the INI config parser (config.c, inih
 * behind our own line reader) on arbitrary bytes, as a file on disk. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char path[64];
	struct config cfg;
	char err[1024];

	if (path[0] == '\0')
		snprintf(path, sizeof path, "/tmp/drishti-fuzz-config.%d.ini", (int)getpid());
	FILE *f = fopen(path, "w");
	if (f == NULL)
		return 0;
	fwrite(data, 1, size, f);
	fclose(f);
	if (config_load(&cfg, path, err, sizeof err) == 0)
		config_free(&cfg);
	return 0;
}
