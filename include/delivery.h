/* delivery.h — the delivery role's entry point (`drishti __delivery`,
 * exec'd by the parent with its socket on fd 3). */
#ifndef DRISHTI_DELIVERY_H
#define DRISHTI_DELIVERY_H

int delivery_main(void);

#endif
