/*
 * channel_wait_group.c - Go-style channel, WaitGroup and close (CORRECT)
 *
 * Chapter 8, section 8.5 "Shared memory vs message passing" > "Go channels"
 * (Go言語のチャネル). C port of go/channel_count.go.
 *
 * Four sender threads ("goroutines") each send the value 1 ten thousand
 * times into `ch`. A closer thread waits on the wait group until all
 * senders are done and then closes the channel. main receives until the
 * channel is closed and empty ("for val := range ch") and adds up the
 * values: 40000. The channel has a small buffer (Go's example uses an
 * unbuffered one; the result is the same).
 *
 * What concwatch must report: nothing. The channel buffer and its closed
 * flag are only touched with ch.lock held, the wait group counter only with
 * wg.lock held, and no thread holds both locks at the same time.
 *
 * EXPECT: none
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdio.h>

#define NUM_SENDERS 4
#define SENDS_PER_SENDER 10000
#define CHANNEL_CAPACITY 64

/* A channel of ints: a bounded buffer that can be closed. */
struct channel {
    pthread_mutex_t lock;
    pthread_cond_t not_empty;
    pthread_cond_t not_full;
    int buf[CHANNEL_CAPACITY];
    int head, count;
    int closed;
};

/* Go's sync.WaitGroup */
struct wait_group {
    pthread_mutex_t lock;
    pthread_cond_t all_done;
    int pending;
};

struct channel ch = {
    .lock = PTHREAD_MUTEX_INITIALIZER,
    .not_empty = PTHREAD_COND_INITIALIZER,
    .not_full = PTHREAD_COND_INITIALIZER,
};
struct wait_group wg = {
    .lock = PTHREAD_MUTEX_INITIALIZER,
    .all_done = PTHREAD_COND_INITIALIZER,
};

static void chan_send(struct channel *c, int value) /* c <- value */
{
    pthread_mutex_lock(&c->lock);
    while (c->count == CHANNEL_CAPACITY)
        pthread_cond_wait(&c->not_full, &c->lock);
    c->buf[(c->head + c->count) % CHANNEL_CAPACITY] = value;
    c->count++;
    pthread_cond_signal(&c->not_empty);
    pthread_mutex_unlock(&c->lock);
}

/* value, ok := <-c ; returns 0 once the channel is closed and drained. */
static int chan_recv(struct channel *c, int *value)
{
    pthread_mutex_lock(&c->lock);
    while (c->count == 0 && !c->closed)
        pthread_cond_wait(&c->not_empty, &c->lock);
    int ok = c->count > 0;
    if (ok) {
        *value = c->buf[c->head];
        c->head = (c->head + 1) % CHANNEL_CAPACITY;
        c->count--;
        pthread_cond_signal(&c->not_full);
    }
    pthread_mutex_unlock(&c->lock);
    return ok;
}

static void chan_close(struct channel *c)
{
    pthread_mutex_lock(&c->lock);
    c->closed = 1;
    pthread_cond_broadcast(&c->not_empty);
    pthread_mutex_unlock(&c->lock);
}

static void wg_add(struct wait_group *g, int n)
{
    pthread_mutex_lock(&g->lock);
    g->pending += n;
    pthread_mutex_unlock(&g->lock);
}

static void wg_done(struct wait_group *g)
{
    pthread_mutex_lock(&g->lock);
    if (--g->pending == 0)
        pthread_cond_broadcast(&g->all_done);
    pthread_mutex_unlock(&g->lock);
}

static void wg_wait(struct wait_group *g)
{
    pthread_mutex_lock(&g->lock);
    while (g->pending > 0)
        pthread_cond_wait(&g->all_done, &g->lock);
    pthread_mutex_unlock(&g->lock);
}

/* sender goroutine */
static void *sender(void *arg)
{
    (void)arg;
    for (int j = 0; j < SENDS_PER_SENDER; j++)
        chan_send(&ch, 1);
    wg_done(&wg); /* defer wg.Done() */
    return NULL;
}

/* closer goroutine */
static void *closer(void *arg)
{
    (void)arg;
    wg_wait(&wg);
    chan_close(&ch);
    return NULL;
}

int main(void)
{
    pthread_t senders[NUM_SENDERS], closer_thread;

    for (int i = 0; i < NUM_SENDERS; i++) {
        wg_add(&wg, 1);
        pthread_create(&senders[i], NULL, sender, NULL);
    }
    pthread_create(&closer_thread, NULL, closer, NULL);

    /* count */
    int count = 0, val;
    while (chan_recv(&ch, &val))
        count += val;

    printf("count: %d\n", count); /* 40000 */

    for (int i = 0; i < NUM_SENDERS; i++)
        pthread_join(senders[i], NULL);
    pthread_join(closer_thread, NULL);
    return 0;
}
