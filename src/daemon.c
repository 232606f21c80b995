/* daemon.c — `drishti run`, placeholder until the next step */
#include "cli.h"
int cli_run(int argc, char **argv) { (void)argc; (void)argv; return EXIT_UNAVAILABLE; }
