/* Race-free programs, one per argument: every pair of conflicting accesses is ordered by
 * synchronization concwatch must understand, or the accesses do not conflict.
 *   mutex         4 threads increment under one mutex
 *   rwlock        3 readers read a table under read locks while a writer updates it
 *   spinlock      4 threads increment under a spinlock
 *   semaphore     a slot handed back and forth with two semaphores (plain reads and writes)
 *   condvar       a message written outside the lock, handed over with a condition variable
 *   barrier       phases: write own slot | read all slots | overwrite own slot
 *   once          4 threads pthread_once an initializer, then read what it wrote
 *   create-join   main writes before pthread_create, the thread reads and writes, main reads
 *                 and writes after pthread_join
 *   atomics       4 threads fetch_add (relaxed and seq_cst) and load the same counters
 *   private       thread-private data: own heap block, __thread variable, stack, own slot
 *   adjacent      4 threads each write their own byte of the same 8-byte word
 *   reuse         thread A writes a malloc'd block and frees it; thread B mallocs a block of
 *                 the same size (prints "same address" when it got A's) and writes it. Only
 *                 a relaxed flag (no happens-before) tells B that A is done. Tries again
 *                 with new threads (at most 8 times) until B gets A's block.
 *   thread-reuse  detached threads one after the other write their stack and __thread data;
 *                 glibc hands the next thread the dead one's stack (prints "same stack")
 * Each prints "done" at the end.  -> no finding, exit status 0 */
#include <malloc.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <unistd.h>

#include <sys/socket.h>
#include <unistd.h>

#include "race.h"

#define NT 4

static pthread_barrier_t start_line;

/* Runs fn in NT threads (argument: the thread's index) that start together. */
static void run_all(void *(*fn)(void *))
{
  pthread_t t[NT];
  pthread_barrier_init(&start_line, NULL, NT);
  for (long i = 0; i < NT; i++)
    t[i] = spawn(fn, (void *)i);
  for (int i = 0; i < NT; i++)
    join(t[i]);
  pthread_barrier_destroy(&start_line);
}

/* ---- locks ---- */

long shared_count;
pthread_mutex_t count_lock = PTHREAD_MUTEX_INITIALIZER;
pthread_spinlock_t count_spin;

static void *mutex_worker(void *arg)
{
  (void)arg;
  pthread_barrier_wait(&start_line);
  for (int i = 0; i < 20000; i++) {
    pthread_mutex_lock(&count_lock);
    shared_count++;
    pthread_mutex_unlock(&count_lock);
  }
  return NULL;
}

static void mode_mutex(void)
{
  run_all(mutex_worker);
  printf("count=%ld\n", shared_count);
}

long table[8];
pthread_rwlock_t table_lock = PTHREAD_RWLOCK_INITIALIZER;

static void *rwlock_worker(void *arg)
{
  long id = (long)arg, sum = 0;
  pthread_barrier_wait(&start_line);
  for (int i = 0; i < 5000; i++) {
    if (id == 0) {
      pthread_rwlock_wrlock(&table_lock);
      table[i % 8]++;
      pthread_rwlock_unlock(&table_lock);
    } else {
      pthread_rwlock_rdlock(&table_lock);
      for (int j = 0; j < 8; j++)
        sum += table[j];
      pthread_rwlock_unlock(&table_lock);
    }
  }
  return (void *)sum;
}

static void mode_rwlock(void)
{
  run_all(rwlock_worker);
  printf("table[0]=%ld\n", table[0]);
}

static void *spin_worker(void *arg)
{
  (void)arg;
  pthread_barrier_wait(&start_line);
  for (int i = 0; i < 20000; i++) {
    pthread_spin_lock(&count_spin);
    shared_count++;
    pthread_spin_unlock(&count_spin);
  }
  return NULL;
}

static void mode_spinlock(void)
{
  pthread_spin_init(&count_spin, PTHREAD_PROCESS_PRIVATE);
  run_all(spin_worker);
  pthread_spin_destroy(&count_spin);
  printf("count=%ld\n", shared_count);
}

/* ---- hand-offs ---- */

#define HANDOFFS 2000
long slot;
sem_t slot_empty, slot_full;

static void *sem_producer(void *arg)
{
  (void)arg;
  for (long i = 1; i <= HANDOFFS; i++) {
    sem_wait(&slot_empty);
    slot = i;
    sem_post(&slot_full);
  }
  return NULL;
}

static void *sem_consumer(void *arg)
{
  long sum = 0;
  (void)arg;
  for (int i = 0; i < HANDOFFS; i++) {
    sem_wait(&slot_full);
    sum += slot;
    slot = 0; /* the consumer writes too: the order must hold both ways */
    sem_post(&slot_empty);
  }
  printf("sum=%ld\n", sum);
  return NULL;
}

static void mode_semaphore(void)
{
  sem_init(&slot_empty, 0, 1);
  sem_init(&slot_full, 0, 0);
  pthread_t p = spawn(sem_producer, NULL), c = spawn(sem_consumer, NULL);
  join(p);
  join(c);
  sem_destroy(&slot_empty);
  sem_destroy(&slot_full);
}

long message;
int message_ready;
pthread_mutex_t message_lock = PTHREAD_MUTEX_INITIALIZER;
pthread_cond_t message_put = PTHREAD_COND_INITIALIZER, message_taken = PTHREAD_COND_INITIALIZER;

static void *cond_producer(void *arg)
{
  (void)arg;
  for (long i = 1; i <= HANDOFFS; i++) {
    pthread_mutex_lock(&message_lock);
    while (message_ready)
      pthread_cond_wait(&message_taken, &message_lock);
    pthread_mutex_unlock(&message_lock);
    message = i; /* outside the lock: ordered by the hand-off only */
    pthread_mutex_lock(&message_lock);
    message_ready = 1;
    pthread_cond_signal(&message_put);
    pthread_mutex_unlock(&message_lock);
  }
  return NULL;
}

static void *cond_consumer(void *arg)
{
  long sum = 0;
  (void)arg;
  for (int i = 0; i < HANDOFFS; i++) {
    pthread_mutex_lock(&message_lock);
    while (!message_ready)
      pthread_cond_wait(&message_put, &message_lock);
    pthread_mutex_unlock(&message_lock);
    sum += message; /* outside the lock */
    message = -1;
    pthread_mutex_lock(&message_lock);
    message_ready = 0;
    pthread_cond_signal(&message_taken);
    pthread_mutex_unlock(&message_lock);
  }
  printf("sum=%ld\n", sum);
  return NULL;
}

static void mode_condvar(void)
{
  pthread_t p = spawn(cond_producer, NULL), c = spawn(cond_consumer, NULL);
  join(p);
  join(c);
}

/* ---- barrier phases ---- */

long slots[NT];
static pthread_barrier_t phase;

static void *phase_worker(void *arg)
{
  long id = (long)arg, sum = 0;
  for (int round = 0; round < 100; round++) {
    slots[id] = id + round;
    pthread_barrier_wait(&phase);
    for (int j = 0; j < NT; j++)
      sum += slots[j];
    pthread_barrier_wait(&phase); /* the reads above come before the next round's writes */
  }
  return (void *)sum;
}

static void mode_barrier(void)
{
  pthread_barrier_init(&phase, NULL, NT);
  run_all(phase_worker);
  pthread_barrier_destroy(&phase);
  printf("slots[0]=%ld\n", slots[0]);
}

/* ---- pthread_once ---- */

struct config {
  int verbose;
  long limit;
  char name[16];
} config;
static pthread_once_t config_once = PTHREAD_ONCE_INIT;

static void init_config(void)
{
  config.verbose = 1;
  config.limit = 1000;
  strcpy(config.name, "configured");
}

static void *once_worker(void *arg)
{
  (void)arg;
  pthread_barrier_wait(&start_line);
  pthread_once(&config_once, init_config);
  return (void *)(config.limit + config.verbose + (long)strlen(config.name));
}

static void mode_once(void)
{
  run_all(once_worker);
  printf("%s\n", config.name);
}

/* ---- create / join ---- */

long input, output;

static void *child(void *arg)
{
  (void)arg;
  output = input * 2;
  input = -1;
  return NULL;
}

static void mode_create_join(void)
{
  input = 21;
  pthread_t t = spawn(child, NULL);
  join(t);
  printf("output=%ld\n", output);
  output = 0;
  input = 0;
}

/* ---- atomics ---- */

long hits;
_Atomic long total_hits;

static void *atomic_worker(void *arg)
{
  long seen = 0;
  (void)arg;
  pthread_barrier_wait(&start_line);
  for (int i = 0; i < 20000; i++) {
    __atomic_fetch_add(&hits, 1, __ATOMIC_RELAXED);
    atomic_fetch_add(&total_hits, 1);
    seen += __atomic_load_n(&hits, __ATOMIC_RELAXED) + atomic_load(&total_hits);
  }
  __atomic_store_n(&hits, __atomic_load_n(&hits, __ATOMIC_SEQ_CST), __ATOMIC_SEQ_CST);
  return (void *)seen;
}

static void mode_atomics(void)
{
  run_all(atomic_worker);
  printf("hits=%ld total=%ld\n", __atomic_load_n(&hits, __ATOMIC_RELAXED),
         atomic_load(&total_hits));
}

/* ---- data that is not shared ---- */

static __thread long tls_counter;
long own_slot[NT];

static void *private_worker(void *arg)
{
  long id = (long)arg;
  volatile long on_stack[16];
  long *mine = malloc(64 * sizeof *mine);
  pthread_barrier_wait(&start_line);
  for (int i = 0; i < 10000; i++) {
    mine[i % 64] += i;
    on_stack[i % 16] = i;
    tls_counter++;
    own_slot[id] += on_stack[i % 16];
  }
  long r = mine[0] + tls_counter;
  free(mine);
  return (void *)r;
}

static void mode_private(void)
{
  run_all(private_worker);
  printf("own_slot[1]=%ld\n", own_slot[1]);
}

char bytes[8] __attribute__((aligned(8)));

static void *byte_worker(void *arg)
{
  long id = (long)arg;
  pthread_barrier_wait(&start_line);
  for (int i = 0; i < 10000; i++)
    bytes[id] = (char)(bytes[id] + 1);
  return NULL;
}

static void mode_adjacent(void)
{
  run_all(byte_worker);
  printf("bytes[3]=%d\n", bytes[3]);
}

/* ---- memory reused ---- */

#define BLOCK (256 * 1024)
static void *first_block;
static int block_freed; /* relaxed atomics only: says when, orders nothing */

static void *reuse_a(void *arg)
{
  (void)arg;
  char *p = malloc(BLOCK);
  memset(p, 'a', BLOCK);
  p[100] = 'A';
  first_block = p; /* read by main after the joins */
  free(p);
  __atomic_store_n(&block_freed, 1, __ATOMIC_RELAXED);
  return NULL;
}

static void *reuse_b(void *arg)
{
  (void)arg;
  free(malloc(16)); /* the thread's malloc arena is set up before A's block goes */
  while (!__atomic_load_n(&block_freed, __ATOMIC_RELAXED))
    sched_yield();
  char *q = malloc(BLOCK);
  memset(q, 'b', BLOCK);
  q[100] = 'B';
  return q;
}

static void mode_reuse(void)
{
  /* A fixed threshold: blocks this large are mmapped and unmapped, so B's block usually
   * lands where A's was (glibc's per-thread caches would keep A's block from B). Up to 8
   * tries, each with a new pair of threads (the joins order one try after the other). */
  mallopt(M_MMAP_THRESHOLD, 64 * 1024);
  int tries = 0;
  void *second = NULL;
  do {
    if (tries++)
      free(second);
    __atomic_store_n(&block_freed, 0, __ATOMIC_RELAXED);
    pthread_t a = spawn(reuse_a, NULL), b = spawn(reuse_b, NULL);
    join(a);
    pthread_join(b, &second);
  } while (second != first_block && tries < 8);
  if (second == first_block)
    printf("same address (try %d)\n", tries);
  else
    puts("other address");
  free(second);
}

static __thread long tls_scratch[8];
static int thread_done; /* relaxed */
static void *stack_addr[2];

static void *detached_worker(void *arg)
{
  long id = (long)arg;
  volatile long frame[32];
  for (int i = 0; i < 32; i++)
    frame[i] = id;
  for (int i = 0; i < 8; i++)
    tls_scratch[i] += frame[i];
  __atomic_store_n(&stack_addr[id], (void *)frame, __ATOMIC_RELAXED);
  __atomic_store_n(&thread_done, 1, __ATOMIC_RELAXED);
  return NULL;
}

static void mode_thread_reuse(void)
{
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  for (long id = 0; id < 2; id++) {
    pthread_t t;
    __atomic_store_n(&thread_done, 0, __ATOMIC_RELAXED);
    if (pthread_create(&t, &attr, detached_worker, (void *)id) != 0)
      exit(1);
    while (!__atomic_load_n(&thread_done, __ATOMIC_RELAXED))
      sched_yield();
    usleep(20000); /* let the thread finish exiting so that its stack is cached */
  }
  pthread_attr_destroy(&attr);
  void *first = __atomic_load_n(&stack_addr[0], __ATOMIC_RELAXED);
  puts(first == __atomic_load_n(&stack_addr[1], __ATOMIC_RELAXED) ? "same stack" : "other stack");
}

/* Message passing: the sender fills a buffer, then writes one byte to a pipe or a socket; the
 * receiver reads the byte, then reads the buffer. The channel orders them. */
static long parcel[16];
static int channel[2];

static void *sender(void *arg)
{
  (void)arg;
  for (int i = 0; i < 16; i++)
    parcel[i] = i * 3; /* @message-fill */
  char byte = 1;
  if (write(channel[1], &byte, 1) != 1)
    exit(1);
  return NULL;
}

static void *receiver(void *arg)
{
  (void)arg;
  char byte;
  if (read(channel[0], &byte, 1) != 1)
    exit(1);
  long sum = 0;
  for (int i = 0; i < 16; i++)
    sum += parcel[i]; /* @message-read */
  return (void *)sum;
}

static void pass_message(void)
{
  pthread_t r = spawn(receiver, NULL), w = spawn(sender, NULL);
  join(w);
  join(r);
  close(channel[0]);
  close(channel[1]);
}

static void mode_pipe(void)
{
  if (pipe(channel) != 0)
    exit(1);
  pass_message();
}

static void mode_socket(void)
{
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, channel) != 0)
    exit(1);
  pass_message();
}

MODES({"mutex", mode_mutex}, {"rwlock", mode_rwlock}, {"spinlock", mode_spinlock},
      {"semaphore", mode_semaphore}, {"condvar", mode_condvar}, {"barrier", mode_barrier},
      {"once", mode_once}, {"create-join", mode_create_join}, {"atomics", mode_atomics},
      {"private", mode_private}, {"adjacent", mode_adjacent}, {"reuse", mode_reuse},
      {"thread-reuse", mode_thread_reuse}, {"pipe", mode_pipe}, {"socket", mode_socket})
