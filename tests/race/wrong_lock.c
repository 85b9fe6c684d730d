/* Each thread updates `total` under a lock, but not the same lock: nothing orders them.
 *   -> one data race on `total`; each access holds its own lock (lock_one / lock_two).
 * Many updates each, so that the race does not hinge on one pair of simultaneous accesses. */
#include "race.h"

#define ROUNDS 10000

long total;
pthread_mutex_t lock_one = PTHREAD_MUTEX_INITIALIZER;
pthread_mutex_t lock_two = PTHREAD_MUTEX_INITIALIZER;
static pthread_barrier_t both;

static void *add_one(void *arg)
{
  (void)arg;
  pthread_barrier_wait(&both);
  for (int i = 0; i < ROUNDS; i++) {
    pthread_mutex_lock(&lock_one);
    total += 1; /* @wrong-lock-one */
    pthread_mutex_unlock(&lock_one);
  }
  return NULL;
}

static void *add_two(void *arg)
{
  (void)arg;
  pthread_barrier_wait(&both);
  for (int i = 0; i < ROUNDS; i++) {
    pthread_mutex_lock(&lock_two);
    total += 2; /* @wrong-lock-two */
    pthread_mutex_unlock(&lock_two);
  }
  return NULL;
}

int main(void)
{
  pthread_barrier_init(&both, NULL, 2);
  pthread_t a = spawn(add_one, NULL), b = spawn(add_two, NULL);
  join(a);
  join(b);
  printf("total=%ld\n", total);
  return 0;
}
