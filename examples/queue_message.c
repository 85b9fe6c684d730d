/*
 * queue_message.c - message passing between threads over bounded queues (CORRECT)
 *
 * Chapter 8, section 8.5 "Shared memory vs message passing" > "Message
 * passing model" (メッセージパッシングモデル). Thread version of
 * python/queue_message_passing.py.
 *
 * A "counter actor" thread owns the count as a local variable; nobody else
 * can touch it. Four worker threads send it 10000 "increment" messages
 * each through the `requests` queue. main then sends "get", reads the
 * answer from the `replies` queue (40000) and sends "stop".
 *
 * The queue is a bounded ring buffer guarded by a mutex and two condition
 * variables: senders wait on `not_full` when it is full, receivers wait on
 * `not_empty` when it is empty.
 *
 * What concwatch must report: nothing. Queue contents are only accessed
 * with the queue's lock held, the count is private to one thread, and no
 * thread ever holds two locks at once.
 *
 * EXPECT: none
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdio.h>

#define NUM_WORKERS 4
#define MESSAGES_PER_WORKER 10000
#define QUEUE_CAPACITY 64

enum msg_kind { MSG_INCREMENT, MSG_GET, MSG_STOP, MSG_REPLY };

struct message {
    enum msg_kind kind;
    long value; /* used by MSG_REPLY */
};

struct bounded_queue {
    pthread_mutex_t lock;
    pthread_cond_t not_empty; /* signalled after a put */
    pthread_cond_t not_full;  /* signalled after a get */
    struct message items[QUEUE_CAPACITY];
    int head, count;
};

static void queue_init(struct bounded_queue *q)
{
    pthread_mutex_init(&q->lock, NULL);
    pthread_cond_init(&q->not_empty, NULL);
    pthread_cond_init(&q->not_full, NULL);
    q->head = q->count = 0;
}

static void queue_destroy(struct bounded_queue *q)
{
    pthread_cond_destroy(&q->not_full);
    pthread_cond_destroy(&q->not_empty);
    pthread_mutex_destroy(&q->lock);
}

static void queue_put(struct bounded_queue *q, struct message m)
{
    pthread_mutex_lock(&q->lock);
    while (q->count == QUEUE_CAPACITY)
        pthread_cond_wait(&q->not_full, &q->lock);
    q->items[(q->head + q->count) % QUEUE_CAPACITY] = m;
    q->count++;
    pthread_cond_signal(&q->not_empty);
    pthread_mutex_unlock(&q->lock);
}

static struct message queue_get(struct bounded_queue *q)
{
    pthread_mutex_lock(&q->lock);
    while (q->count == 0)
        pthread_cond_wait(&q->not_empty, &q->lock);
    struct message m = q->items[q->head];
    q->head = (q->head + 1) % QUEUE_CAPACITY;
    q->count--;
    pthread_cond_signal(&q->not_full);
    pthread_mutex_unlock(&q->lock);
    return m;
}

struct bounded_queue requests; /* workers and main -> counter actor */
struct bounded_queue replies;  /* counter actor -> main */

/* Counter actor: its state lives only here. */
static void *counter_actor(void *arg)
{
    long count = 0;
    (void)arg;
    for (;;) {
        struct message m = queue_get(&requests);
        if (m.kind == MSG_INCREMENT)
            count++;
        else if (m.kind == MSG_GET)
            queue_put(&replies, (struct message){ MSG_REPLY, count });
        else if (m.kind == MSG_STOP)
            return NULL;
    }
}

/* Worker: sends "increment" messages. */
static void *worker(void *arg)
{
    (void)arg;
    for (int i = 0; i < MESSAGES_PER_WORKER; i++)
        queue_put(&requests, (struct message){ MSG_INCREMENT, 0 });
    return NULL;
}

int main(void)
{
    pthread_t counter, workers[NUM_WORKERS];

    queue_init(&requests);
    queue_init(&replies);

    pthread_create(&counter, NULL, counter_actor, NULL);
    for (int i = 0; i < NUM_WORKERS; i++)
        pthread_create(&workers[i], NULL, worker, NULL);
    for (int i = 0; i < NUM_WORKERS; i++)
        pthread_join(workers[i], NULL);

    /* Ask for the result */
    queue_put(&requests, (struct message){ MSG_GET, 0 });
    printf("count: %ld\n", queue_get(&replies).value); /* 40000 */

    queue_put(&requests, (struct message){ MSG_STOP, 0 });
    pthread_join(counter, NULL);

    queue_destroy(&replies);
    queue_destroy(&requests);
    return 0;
}
