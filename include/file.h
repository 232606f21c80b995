/* file.h — reading the files a user gives us (config, rule files, secrets):
 * regular files only, never blocking, capped, every read error an error. */
#ifndef DRISHTI_FILE_H
#define DRISHTI_FILE_H
#include <stddef.h>

#define FILE_CONFIG_MAX (1024 * 1024)       /* drishti.ini */
#define FILE_RULES_MAX  (4 * 1024 * 1024)   /* one rule file */

/* Reads the whole of path into a malloc'd, NUL-terminated buffer of at
 * most max bytes.  A FIFO, a device, a directory or a socket is refused at
 * once (the open never blocks); so is a file larger than max.
 * 0 / -1 with err ("PATH: why"). */
int file_read(const char *path, size_t max, char **out, size_t *len, char *err, size_t errlen);
/* Makes dir and every missing parent with mode (an existing one is fine).
 * 0 / -1 with errno set. */
int file_mkdirs(const char *dir, unsigned mode);

#endif
