/* A race on a stack variable: its owner passes &local to a thread it creates, then both
 * write it after a barrier (which orders nothing after it), many times each (volatile: every
 * write is a store).
 *   thread  the owner is a created thread, owner()  -> one race, location stack of owner
 *   main    the owner is the main thread (T1)       -> one race, location stack of T1 */
#include "race.h"

#define ROUNDS 1000

static pthread_barrier_t both;

static void *intruder(void *arg)
{
  volatile long *shared = arg;
  pthread_barrier_wait(&both);
  for (int i = 0; i < ROUNDS; i++)
    *shared = i; /* @stack-intruder-write */
  return NULL;
}

static void *owner(void *arg)
{
  (void)arg;
  volatile long local = 0;
  pthread_t t = spawn(intruder, (void *)&local);
  pthread_barrier_wait(&both);
  for (int i = 0; i < ROUNDS; i++)
    local = i; /* @stack-owner-write */
  join(t);
  printf("local at %p = %ld\n", (void *)&local, local);
  return NULL;
}

static void owner_thread(void)
{
  join(spawn(owner, NULL));
}

static void owner_main(void)
{
  volatile long local = 0;
  pthread_t t = spawn(intruder, (void *)&local);
  pthread_barrier_wait(&both);
  for (int i = 0; i < ROUNDS; i++)
    local = i; /* @stack-main-write */
  join(t);
  printf("local at %p = %ld\n", (void *)&local, local);
}

static void init(void) __attribute__((constructor));
static void init(void)
{
  pthread_barrier_init(&both, NULL, 2);
}

MODES({"thread", owner_thread}, {"main", owner_main})
