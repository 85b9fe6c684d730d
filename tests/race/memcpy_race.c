/* Two threads memcpy into the same global buffer (100 times each) with nothing ordering the
 * copies.
 *   -> a data race on `buffer`, both sides writes made by the memcpy (memcpy-call marker).
 * The length is read from a global at run time, so the compilers keep the library call
 * (a constant-size copy could be expanded inline after instrumentation). */
#include "race.h"

char buffer[256];
size_t copy_len = sizeof buffer;
static pthread_barrier_t both;

static void *copier(void *arg)
{
  char src[sizeof buffer];
  memset(src, (int)(long)arg, sizeof src);
  pthread_barrier_wait(&both);
  for (int i = 0; i < 100; i++)
    memcpy(buffer, src, copy_len); /* @memcpy-call */
  return NULL;
}

int main(void)
{
  pthread_barrier_init(&both, NULL, 2);
  printf("buffer at %p\n", (void *)buffer);
  pthread_t a = spawn(copier, (void *)'a'), b = spawn(copier, (void *)'b');
  join(a);
  join(b);
  printf("buffer[0]=%c\n", buffer[0]);
  return 0;
}
