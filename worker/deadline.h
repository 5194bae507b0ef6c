/* deadline.h — absolute CLOCK_REALTIME times, for pthread_cond_timedwait and
 * pthread_timedjoin_np. */
#ifndef CD_DEADLINE_H
#define CD_DEADLINE_H

#include <stdint.h>
#include <time.h>

/* *ts = now + ms (ms >= 0). */
void cd_deadline(struct timespec *ts, int64_t ms);

#endif
