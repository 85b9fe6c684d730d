/* pthread_barrier_*: forwarded; the engine learns of barriers for deadlock and race
 * detection (later issues) through these entry points. */
#include <pthread.h>

#include "interpose.h"

CW_REAL(pthread_barrier_init);
CW_REAL(pthread_barrier_destroy);
CW_REAL(pthread_barrier_wait);

CW_EXPORT int pthread_barrier_init(pthread_barrier_t *b, const pthread_barrierattr_t *attr, unsigned n)
{
  CW_ENSURE(pthread_barrier_init);
  return real_pthread_barrier_init(b, attr, n);
}

CW_EXPORT int pthread_barrier_destroy(pthread_barrier_t *b)
{
  CW_ENSURE(pthread_barrier_destroy);
  return real_pthread_barrier_destroy(b);
}

CW_EXPORT int pthread_barrier_wait(pthread_barrier_t *b)
{
  CW_ENSURE(pthread_barrier_wait);
  return real_pthread_barrier_wait(b);
}
