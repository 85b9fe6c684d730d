/* A malloc'd struct with two hammered fields: locked_field only ever under rec->lock,
 * racy_field incremented by both threads without it.
 *   -> exactly one data race, on racy_field (heap, racy-access marker); none on locked_field.
 * The racy increments come after each thread's last unlock: nothing orders any of them
 * against the other thread's, whatever the interleaving, so the race is seen many times over
 * (a single pair of truly simultaneous accesses could slip past a detector). */
#include <stddef.h>

#include "race.h"

#define ROUNDS 20000

struct record {
  long locked_field;
  long racy_field;
  pthread_mutex_t lock;
};

static struct record *rec;
static pthread_barrier_t start_line;

static void *hammer(void *arg)
{
  (void)arg;
  pthread_barrier_wait(&start_line);
  for (int i = 0; i < ROUNDS; i++) {
    pthread_mutex_lock(&rec->lock);
    rec->locked_field++; /* @locked-access */
    pthread_mutex_unlock(&rec->lock);
  }
  for (int i = 0; i < ROUNDS; i++) {
    rec->racy_field++; /* @racy-access */
    __asm__ volatile("" ::: "memory"); /* a load and a store every round, not one in all */
  }
  return NULL;
}

int main(void)
{
  rec = malloc(sizeof *rec); /* @heap-alloc */
  rec->locked_field = 0;
  rec->racy_field = 0;
  pthread_mutex_init(&rec->lock, NULL);
  pthread_barrier_init(&start_line, NULL, 2);
  printf("racy_field at %p\n", (void *)&rec->racy_field);
  printf("locked_field at %p\n", (void *)&rec->locked_field);
  printf("block %zu offset %zu\n", sizeof *rec, offsetof(struct record, racy_field));
  pthread_t a = spawn(hammer, NULL), b = spawn(hammer, NULL);
  join(a);
  join(b);
  printf("locked_field=%ld racy_field=%ld\n", rec->locked_field, rec->racy_field);
  pthread_mutex_destroy(&rec->lock);
  free(rec);
  return 0;
}
