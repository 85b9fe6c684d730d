/* Helpers shared by the data-race fixtures. They are compiled with -fsanitize=thread and run
 * on libconcwatch.so instead of ThreadSanitizer's runtime. Marker comments (an at-sign and a
 * name, only on the line they mark: tests/integration/test_race.py takes the first match)
 * tell the tests the lines the report must show. Every fixture finishes in well under a
 * second and prints only its own results. */
#ifndef RACE_H
#define RACE_H

#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The shared-library variant (libcounter_instrumented.so, run by preload_driver): main is
 * an ordinary exported function the plain driver looks up. */
#ifdef RACE_FIXTURE_LIBRARY
#define main race_fixture_main
int race_fixture_main(int argc, char **argv);
#endif

static inline pthread_t spawn(void *(*fn)(void *), void *arg)
{
  pthread_t t;
  if (pthread_create(&t, NULL, fn, arg) != 0) {
    perror("pthread_create");
    exit(1);
  }
  return t;
}

static inline void join(pthread_t t)
{
  if (pthread_join(t, NULL) != 0) {
    perror("pthread_join");
    exit(1);
  }
}

/* Runs the modes of a multi-mode fixture: argv[1] names one. */
struct mode {
  const char *name;
  void (*run)(void);
};

static inline int run_mode(const struct mode *modes, size_t n, int argc, char **argv)
{
  for (size_t i = 0; argc > 1 && i < n; i++)
    if (!strcmp(argv[1], modes[i].name)) {
      modes[i].run();
      puts("done");
      return 0;
    }
  fprintf(stderr, "usage: %s MODE (", argv[0]);
  for (size_t i = 0; i < n; i++)
    fprintf(stderr, "%s%s", i ? " " : "", modes[i].name);
  fprintf(stderr, ")\n");
  return 2;
}

#define MODES(...)                                                                               \
  int main(int argc, char **argv)                                                                \
  {                                                                                              \
    static const struct mode modes[] = {__VA_ARGS__};                                            \
    return run_mode(modes, sizeof modes / sizeof modes[0], argc, argv);                          \
  }

#endif
