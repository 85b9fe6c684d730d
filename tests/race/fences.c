/* Message passing: a writer fills `payload` (plain data), then raises `flag`; the reader
 * waits for the flag, then reads and overwrites the payload.
 *   acq-rel  __atomic_store_n(RELEASE) / __atomic_load_n(ACQUIRE) on the flag  -> nothing
 *   fence    relaxed flag accesses with __atomic_thread_fence(RELEASE) before the store
 *            and __atomic_thread_fence(ACQUIRE) after the load                 -> nothing
 *            (ThreadSanitizer itself does not model fences and reports this one)
 *   relaxed  control: relaxed flag accesses and no fence: nothing orders the payload
 *            accesses (a real data race in C11)                                 -> one race on
 *            `payload`, relaxed-write line against relaxed-read line */
#include <sched.h>

#include "race.h"

/* gcc warns that ThreadSanitizer does not support fences; concwatch does. */
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 11
#pragma GCC diagnostic ignored "-Wtsan"
#endif

long payload;
int flag;

static void *acq_rel_writer(void *arg)
{
  (void)arg;
  payload = 42;
  __atomic_store_n(&flag, 1, __ATOMIC_RELEASE);
  return NULL;
}

static void *acq_rel_reader(void *arg)
{
  (void)arg;
  while (!__atomic_load_n(&flag, __ATOMIC_ACQUIRE))
    sched_yield();
  long v = payload;
  payload = v + 1;
  return (void *)v;
}

static void *fence_writer(void *arg)
{
  (void)arg;
  payload = 42;
  __atomic_thread_fence(__ATOMIC_RELEASE);
  __atomic_store_n(&flag, 1, __ATOMIC_RELAXED);
  return NULL;
}

static void *fence_reader(void *arg)
{
  (void)arg;
  while (!__atomic_load_n(&flag, __ATOMIC_RELAXED))
    sched_yield();
  __atomic_thread_fence(__ATOMIC_ACQUIRE);
  long v = payload;
  payload = v + 1;
  return (void *)v;
}

static void *relaxed_writer(void *arg)
{
  (void)arg;
  payload = 42; /* @relaxed-write */
  __atomic_store_n(&flag, 1, __ATOMIC_RELAXED);
  return NULL;
}

static void *relaxed_reader(void *arg)
{
  (void)arg;
  while (!__atomic_load_n(&flag, __ATOMIC_RELAXED))
    sched_yield();
  return (void *)payload; /* @relaxed-read */
}

static void pass(void *(*writer)(void *), void *(*reader)(void *))
{
  void *got;
  pthread_t r = spawn(reader, NULL), w = spawn(writer, NULL);
  join(w);
  pthread_join(r, &got);
  printf("reader got %ld\n", (long)got);
}

static void mode_acq_rel(void) { pass(acq_rel_writer, acq_rel_reader); }
static void mode_fence(void) { pass(fence_writer, fence_reader); }
static void mode_relaxed(void) { pass(relaxed_writer, relaxed_reader); }

MODES({"acq-rel", mode_acq_rel}, {"fence", mode_fence}, {"relaxed", mode_relaxed})
