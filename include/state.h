/* state.h — the state role's entry point (`drishti __state`, exec'd by the
 * parent with its socket on fd 3 and the state file's lock on fd 4). */
#ifndef DRISHTI_STATE_H
#define DRISHTI_STATE_H

int state_main(void);

#endif
