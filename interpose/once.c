/* pthread_once: everything the init routine did happens before every return from
 * pthread_once on the same control. */
#include <pthread.h>

#include "interpose.h"

CW_REAL(pthread_once);

static __thread void (*pending_init)(void) __attribute__((tls_model("initial-exec")));
static __thread pthread_once_t *pending_once __attribute__((tls_model("initial-exec")));

static void init_then_release(void)
{
  void (*init)(void) = pending_init;
  pthread_once_t *once = pending_once;
  init();
  cw_race_release(cw_thread_current(), (uintptr_t)once);
}

CW_EXPORT int pthread_once(pthread_once_t *once, void (*init)(void))
{
  CW_ENSURE(pthread_once);
  if (!cw_race_enabled)
    return real_pthread_once(once, init);
  void (*saved_init)(void) = pending_init;
  pthread_once_t *saved_once = pending_once;
  pending_init = init;
  pending_once = once;
  int rc = real_pthread_once(once, init_then_release);
  pending_init = saved_init;
  pending_once = saved_once;
  cw_race_acquire(cw_thread_current(), (uintptr_t)once);
  return rc;
}
