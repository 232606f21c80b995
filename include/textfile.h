/* textfile.h — the Prometheus textfile: checks, metrics, agent health. */
#ifndef DRISHTI_TEXTFILE_H
#define DRISHTI_TEXTFILE_H
#include <stddef.h>

struct engine;
struct store;

/* Writes path atomically (a temporary file renamed over it).  0 / -1 err. */
int textfile_write(const char *path, struct engine *e, struct store *s, char *err, size_t errlen);

#endif
