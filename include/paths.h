/* paths.h — the read_paths fence around every file a rule may read. */
#ifndef DRISHTI_PATHS_H
#define DRISHTI_PATHS_H
#include <stdbool.h>
#include <stddef.h>

/* Resolves path (symlinks, "..") into resolved (PATH_MAX bytes) and checks it
 * lies under one of the comma-separated roots.  -1 with err otherwise. */
int  paths_check(const char *roots, const char *path, char *resolved,
    char *err, size_t errlen);
bool paths_under(const char *roots, const char *resolved);

#endif
